"""Weibo's hourly call budget, as one client process knows it.

Weibo counts calls per authorised user per hour (150 when we know no better). The budget
counts this client's own calls in the current clock hour and learns the real figures from
``account/rate_limit_status`` and from rate-limit answers. Reads stop while only the last
10 % of the hour is left, so publishing (and reconciling) keeps its share.
The count lives in this process only: another process using the same token spends the
same budget unseen, which Weibo's own rate-limit answers then reveal.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from outreach.clients.base import Clock
from outreach.clients.weibo.parse import count, next_hour
from outreach.errors import RateLimited

DEFAULT_USER_LIMIT = 150  # calls per user per hour when Weibo has told us nothing better
PUBLISH_RESERVE = 0.10  # the share of the hourly budget reads never touch


class RateBudget:
    """Calls used and allowed in the current hour; safe to share between threads."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.limit = DEFAULT_USER_LIMIT
        self._used = 0
        self._window_end: datetime | None = None

    def _roll(self, now: datetime) -> datetime:
        """Start a new window when the current one has ended; return its end. Holds the lock."""
        if self._window_end is None or now >= self._window_end:
            self._window_end = next_hour(now)
            self._used = 0
        return self._window_end

    def _reserve(self) -> int:
        return max(1, math.ceil(self.limit * PUBLISH_RESERVE))

    def remaining(self) -> int:
        """Calls left this hour, as far as this process knows."""
        with self._lock:
            self._roll(self._clock())
            return max(0, self.limit - self._used)

    def check_read(self, path: str) -> None:
        """Refuse a read (RateLimited) while only the publishing reserve is left."""
        with self._lock:
            reset = self._roll(self._clock())
            remaining = max(0, self.limit - self._used)
            if remaining <= self._reserve():
                raise RateLimited(
                    f"Weibo {path}: only {remaining} of {self.limit} calls are left this hour "
                    f"and they are kept for publishing; reads resume at {reset:%H:%M} UTC",
                    retry_at=reset,
                )

    def spend(self) -> None:
        with self._lock:
            self._roll(self._clock())
            self._used += 1

    def exhausted(self) -> None:
        """Weibo refused every call until the hour resets."""
        with self._lock:
            self._roll(self._clock())
            self._used = self.limit

    def retry_at(self) -> datetime:
        """When the current window ends."""
        with self._lock:
            return self._roll(self._clock())

    def learn(self, body: Mapping[str, Any]) -> int:
        """Take the figures of an ``account/rate_limit_status`` answer; return the calls left."""
        limit = count(body.get("user_limit"))
        remaining = count(body.get("remaining_user_hits"))
        reset_in = count(body.get("reset_time_in_seconds"))
        with self._lock:
            now = self._clock()
            if reset_in is not None and 0 <= reset_in <= 86_400:
                self._window_end = now + timedelta(seconds=reset_in)
            else:
                self._roll(now)
            if limit is not None and limit > 0:
                self.limit = limit
            if remaining is not None and remaining >= 0:
                self._used = max(0, self.limit - remaining)
            return max(0, self.limit - self._used)
