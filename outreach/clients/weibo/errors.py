"""Weibo's answers → the contract's error classes (``outreach.errors``).

``raise_for`` reads one HTTP answer: its JSON body when it is a success, else the one
``ClientError`` that says what went wrong, by Weibo's error code
(``reference/weibo-api.md`` §3) and, where there is none, by the HTTP status.
Failures without an answer are translated by ``outreach.clients.http``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from outreach.clients.weibo.parse import clip, count
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    RemoteError,
    TransientError,
)
from outreach.i18n import _

if TYPE_CHECKING:
    import httpx

# Weibo's error codes, by what they mean for us.
RATE_CODES = frozenset({10022, 10023, 10024, 20016})
HOURLY_LIMIT_CODES = frozenset({10022, 10023})  # every call is refused, not just one endpoint
DUPLICATE_CODES = frozenset({20017, 20019, 20111})
REJECTED_CODES = frozenset({10017, 20005, 20006, 20008, 20012, 20013, 20018, 20020, 20021})
AUTH_CODES = frozenset({21301, 21314, 21315, 21316, 21317, 21319, 21327, 21332})
EXPIRED_HINT_CODES = frozenset({10006})  # "appkey missing", in practice an expired token
TRANSIENT_CODES = frozenset({21331})
PERMISSION_CODES = frozenset({10014})
MISSING_CODES = frozenset({20101})

_NOT_JSON = object()


class PermissionDenied(RemoteError):
    """10014 or a bare HTTP 403: the app may not call this endpoint."""


class StatusMissing(RemoteError):
    """20101: the status does not exist (any more)."""


class HourlyLimitReached(RateLimited):
    """10022/10023: every call is refused until the hour resets, not just one endpoint."""


def raise_for(
    response: httpx.Response,
    raw: bytes | None,
    *,
    write: bool,
    retry_at: datetime,
    hide: tuple[str, ...] = (),
) -> Any:
    """Weibo's answer (``raw``: its body, None when oversized) → the JSON body, or the one
    ClientError that says what went wrong.

    ``write`` marks requests that change something (share, destroy, comments): an answer
    we cannot read there means the change may have happened (AmbiguousOutcome).
    """
    path = response.request.url.path
    status = response.status_code
    try:
        body: Any = json.loads(raw) if raw is not None else _NOT_JSON
    except (ValueError, RecursionError):
        body = _NOT_JSON
    is_error = isinstance(body, dict) and ("error_code" in body or "error" in body)
    if 200 <= status < 300 and body is not _NOT_JSON and not is_error:
        return body

    raw_code = body.get("error_code") if is_error else None
    code = count(raw_code)
    text = clip(body.get("error"), hide) if is_error else ""
    said = f"{text} (code {code})" if text else f"code {code}"
    where = f"Weibo {path}"
    _by_code(code, where, said, text, retry_at)

    if status >= 500 or 200 <= status < 300:
        # A failing server or an unreadable success: a write may have been applied.
        detail = f"HTTP {status}" + (f", {said}" if is_error else "")
        if write:
            raise AmbiguousOutcome(_("{where}: {detail}; it may have been applied, reconcile before any "
                                     "retry").format(
                where=where, detail=detail))
        raise TransientError(_("{where}: {detail}; try again later").format(where=where, detail=detail))
    if code is not None or is_error:
        shown = code if code is not None else (clip(raw_code, hide, 20) or None)
        raise RemoteError(_("{where}: HTTP {status}: {value}").format(
            where=where, status=status, value=text or 'error'), code=shown)
    _by_status(status, where, retry_at)


def _by_code(code: int | None, where: str, said: str, text: str, retry_at: datetime) -> None:
    """Raise what a Weibo error code means; return for codes with no class of their own."""
    if code in RATE_CODES:
        kind = HourlyLimitReached if code in HOURLY_LIMIT_CODES else RateLimited
        raise kind(_("{where}: rate limited: {said}; retry after {retry_at:%H:%M} UTC").format(
            where=where, said=said, retry_at=retry_at),
                   retry_at=retry_at)
    if code in DUPLICATE_CODES:
        raise DuplicateContent(_("{where}: Weibo already has this text: {said}").format(
            where=where, said=said))
    if code in REJECTED_CODES:
        raise ContentRejected(_("{where}: Weibo refused the text: {said}").format(where=where, said=said))
    if code in AUTH_CODES:
        raise AuthError(_("{where}: Weibo refused the token: {said}; run `outreach auth weibo` to "
                          "authorise again").format(
            where=where, said=said))
    if code in EXPIRED_HINT_CODES:
        raise AuthError(_("{where}: {said}; the token has most likely expired, run `outreach auth weibo` "
                          "to authorise again").format(
            where=where, said=said))
    if code in TRANSIENT_CODES:
        raise TransientError(_("{where}: Weibo is temporarily unavailable: {said}").format(
            where=where, said=said))
    if code in PERMISSION_CODES:
        raise PermissionDenied(_("{where}: the app may not call this: {text}").format(
            where=where, text=text), code=code)
    if code in MISSING_CODES:
        raise StatusMissing(f"{where}: " + (text or _("no such status")), code=code)


def _by_status(status: int, where: str, retry_at: datetime) -> NoReturn:
    """No Weibo error body at all: the HTTP status is all we have."""
    if status == 401:
        raise AuthError(_("{where}: HTTP 401; run `outreach auth weibo` to authorise again").format(
            where=where))
    if status == 403:
        raise PermissionDenied(_("{where}: HTTP 403").format(where=where), code=403)
    if status == 429:
        raise RateLimited(_("{where}: HTTP 429; retry after {retry_at:%H:%M} UTC").format(
            where=where, retry_at=retry_at),
                          retry_at=retry_at)
    raise RemoteError(_("{where}: HTTP {status} with a body that is not Weibo's error JSON").format(
        where=where, status=status),
                      code=status)
