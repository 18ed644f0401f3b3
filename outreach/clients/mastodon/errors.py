"""Mastodon's error answers → the contract's error classes (``outreach.errors``).

``answer_error`` reads an HTTP answer that is not a success, ``unreadable`` a success we
cannot use. Failures without an answer are translated by ``outreach.clients.http``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from outreach.clients.base import as_int
from outreach.clients.mastodon.parse import parse_reset
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ContentRejected,
    DuplicateContent,
    MediaExpired,
    RateLimited,
    RemoteError,
    TransientError,
)
from outreach.i18n import _
from outreach.times import aware

if TYPE_CHECKING:
    import httpx

DEFAULT_RETRY = timedelta(minutes=5)
# Mastodon ≥ 4.3 on a status naming an upload it does not know (expired, deleted, another
# account's): 422 "Media 123 not found or already attached to another post"; and on one
# still being processed: 422 "Cannot attach files that have not finished processing…"
_MEDIA_UNKNOWN = re.compile(r"\bmedia\b.*\bnot found\b", re.IGNORECASE | re.DOTALL)
_MEDIA_NOT_READY = re.compile(r"not finished processing", re.IGNORECASE)


def unreadable(what: str, detail: str, *, write: bool) -> ClientError:
    """A success whose body we will not use: a write may have been applied."""
    if write:
        return AmbiguousOutcome(_("{what}: {detail}; it may have been applied").format(
            what=what, detail=detail))
    return TransientError(f"{what}: {detail}")


def answer_error(what: str, status: int, message: str, headers: httpx.Headers, now: datetime,
                 *, write: bool) -> ClientError:
    """An HTTP answer that is not a success; ``message`` is the platform's (scrubbed).

    ``write`` marks a request that changes something (posting, deleting): once it may
    have reached the server, its failure is ambiguous rather than transient."""
    said = f"{what}: {status}" + (f" {message}" if message else "")
    if status in (401, 403):
        return AuthError(_("{said} (the token is invalid, revoked or lacks a scope)").format(said=said))
    if status == 429:
        retry_at = retry_at_of(headers, now)
        return RateLimited(_("{said}; retry at {value}").format(
            said=said, value=retry_at.isoformat()), retry_at=retry_at)
    if status == 422 and write:  # on a read, 422 refuses the query, not our text
        if _MEDIA_UNKNOWN.search(message):
            return MediaExpired(said)
        if _MEDIA_NOT_READY.search(message):
            return TransientError(said)
        lowered = message.casefold()
        if "duplicate" in lowered or "already" in lowered:
            return DuplicateContent(said)
        return ContentRejected(said)
    if status >= 500:
        if write:
            return AmbiguousOutcome(_("{said}; it may have been applied").format(said=said))
        return TransientError(said)
    return RemoteError(said, code=status)


def retry_at_of(headers: httpx.Headers, now: datetime) -> datetime:
    """When a rate-limited request may be sent again: the bucket's reset, Retry-After,
    else a few minutes on."""
    reset = parse_reset(headers.get("X-RateLimit-Reset"))
    if reset is not None and reset > now:
        return reset
    after = headers.get("Retry-After")
    if after:
        seconds = as_int(after.strip())
        if seconds is not None:
            return now + timedelta(seconds=max(seconds, 0))
        try:
            return aware(parsedate_to_datetime(after))
        except (TypeError, ValueError, IndexError):
            pass
    return now + DEFAULT_RETRY
