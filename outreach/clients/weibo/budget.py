"""Weibo's hourly call budget, as one client process knows it.

Weibo counts calls per authorised user per hour (150 when we know no better). The budget
counts this client's own calls in the current clock hour and learns the real figures from
``account/rate_limit_status`` and from rate-limit answers. Reads stop while only the last
10 % of the hour is left, so publishing (and reconciling) keeps its share.
The count lives in this process only: another process using the same token spends the
same budget unseen, which Weibo's own rate-limit answers then reveal.

An app's budget (``app`` and ``app_calls_per_hour`` in the account's config) is shared by
every account and every daemon using the app, so it is kept where they all see it: a
:class:`SharedBudget` given from above (the database, one row per app and hour, taken by
one conditional update). A call takes its place there *before* it leaves: when the hour's
calls are all taken the call is not made (``RateLimited`` until the hour resets), and reads
stop while only the publishing reserve is left.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from outreach.clients.base import Clock
from outreach.clients.weibo.parse import count, next_hour
from outreach.errors import RateLimited
from outreach.i18n import _

DEFAULT_USER_LIMIT = 150  # calls per user per hour when Weibo has told us nothing better
PUBLISH_RESERVE = 0.10  # the share of the hourly budget reads never touch
APP_KEYS = frozenset({"app", "app_calls_per_hour"})  # an account's share of its app's budget


class SharedBudget(Protocol):
    """Calls of one app in one hour, counted where every process sees them."""

    def take(self, app: str, window_end: datetime, limit: int) -> bool:
        """Count one call of ``app`` in the hour ending at ``window_end`` unless ``limit``
        calls are counted already; whether it was counted. Atomic across processes."""
        ...


class AppBudget:
    """One account's view of its app's shared hourly budget."""

    def __init__(self, shared: SharedBudget, app: str, limit: int, clock: Clock) -> None:
        self.shared, self.app, self.limit, self._clock = shared, app, limit, clock

    def take(self, path: str, *, read: bool) -> None:
        """Take this call's place in the app's hour, or refuse it (``RateLimited``): reads
        leave the publishing reserve alone."""
        reset = next_hour(self._clock())
        reserve = max(1, math.ceil(self.limit * PUBLISH_RESERVE)) if read else 0
        if not self.shared.take(self.app, reset, max(0, self.limit - reserve)):
            kept = _(" (the rest is kept for publishing)") if read else ""
            raise RateLimited(_("Weibo {path}: the app {app!r} has used its {limit} calls this "
                                "hour{kept}; calls resume at {reset:%H:%M} UTC").format(
                path=path, app=self.app, limit=self.limit, kept=kept, reset=reset), retry_at=reset)


def app_problem(options: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first bad ``app``/``app_calls_per_hour`` option as (key, message), else None."""
    app, per_hour = options.get("app"), options.get("app_calls_per_hour")
    if app is not None and (not isinstance(app, str) or not app.strip() or len(app) > 100):
        return "app", "expected the app's name (a short string; not its secret)"
    if per_hour is not None and (isinstance(per_hour, bool) or not isinstance(per_hour, int)
                                 or per_hour < 1):
        return "app_calls_per_hour", f"expected a positive whole number, got {per_hour!r}"
    if (app is None) != (per_hour is None):
        return ("app" if app is None else "app_calls_per_hour",
                "app and app_calls_per_hour go together")
    return None


def app_budget(options: Mapping[str, Any], shared: SharedBudget | None,
               clock: Clock) -> AppBudget | None:
    """The account's share of its app's budget (None: no app configured, or nothing shared)."""
    app, per_hour = options.get("app"), options.get("app_calls_per_hour")
    if shared is None or not app or not per_hour:
        return None
    return AppBudget(shared, str(app), int(per_hour), clock)


class RateBudget:
    """Calls used and allowed in the current hour; safe to share between threads."""

    def __init__(self, clock: Clock, app: AppBudget | None = None) -> None:
        self._clock = clock
        self.app = app  # the app's budget shared with every process (None: none configured)
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

    def before_call(self, path: str, *, read: bool) -> None:
        """Refuse a call this hour's budgets cannot take (``RateLimited``): a read while only
        the publishing reserve is left, any call when the app's hour is used up. The app's
        place is taken here, before the call leaves."""
        if read:
            self.check_read(path)
        if self.app is not None:
            self.app.take(path, read=read)

    def check_read(self, path: str) -> None:
        """Refuse a read (RateLimited) while only the publishing reserve is left."""
        with self._lock:
            reset = self._roll(self._clock())
            remaining = max(0, self.limit - self._used)
            if remaining <= self._reserve():
                raise RateLimited(
                    _("Weibo {path}: only {remaining} of {limit} calls are left this hour and they are "
                      "kept for publishing; reads resume at {reset:%H:%M} UTC").format(
                        path=path, remaining=remaining, limit=self.limit, reset=reset),
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
