"""Weibo's answer bodies as our types, and the small parsers they need.

Every parser here is total: hostile input gives None (or an empty value), never an
exception. Recorded bodies for each shape are in ``tests/fixtures/weibo/``.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

from outreach.clients.base import AccountCounts, Counts, Published, RemoteComment, as_int, scrub
from outreach.errors import InputError, RemoteError
from outreach.i18n import _

log = logging.getLogger(__name__)

WEB_BASE = "https://weibo.com"
MESSAGE_LIMIT = 200
TOKEN_INFO = "/oauth2/get_token_info"

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_CREATED_AT_RE = re.compile(
    r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})"
)  # parsed by hand: strptime's %a/%b follow the locale
_TAG_RE = re.compile(r"<[^>]*>")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\s]+")

T = TypeVar("T", dict[str, Any], list[Any])


@dataclass(frozen=True)
class TokenInfo:
    """What ``oauth2/get_token_info`` says about a token."""

    uid: str
    appkey: str | None
    expires_at: datetime | None
    created_at: datetime | None = None


# --- bodies → our types --------------------------------------------------------------------


def token_info_of(body: Any, now: datetime) -> TokenInfo:
    """``oauth2/get_token_info``'s answer, read at ``now``."""
    found = expect(body, dict, TOKEN_INFO)
    uid = id_scalar(found.get("uid"))
    if uid is None:
        raise RemoteError(_("Weibo {TOKEN_INFO}: the answer carries no uid").format(TOKEN_INFO=TOKEN_INFO))
    # expire_in (expires_in in older pages) is the lifetime left, in seconds.
    left = count(found.get("expire_in", found.get("expires_in")))
    created = count(found.get("create_at"))
    created_at = None
    if created is not None and 0 < created < 10**11:
        created_at = datetime.fromtimestamp(created, UTC)
    return TokenInfo(
        uid=uid,
        appkey=id_scalar(found.get("appkey")),
        expires_at=after(now, left),
        created_at=created_at,
    )


def published_of(status: Mapping[str, Any], remote_id: str, uid: str | None,
                 now: datetime) -> Published:
    """A status as ``Published``; ``uid`` (the account's) when the status names no user."""
    created = parse_created_at(status.get("created_at")) or now
    uid = id_of(status.get("user")) or id_scalar(status.get("uid")) or uid
    mid = id_scalar(status.get("mid")) or remote_id
    url = f"{WEB_BASE}/{uid}/{mid}" if uid else None
    return Published(remote_id=remote_id, url=url, created_at=created)


def counts_of(item: Mapping[str, Any], *, show: bool = False) -> Counts:
    """Counts from a ``statuses/count`` item, or from a status (``show``: statuses/show)."""
    suffix = "_count" if show else ""
    return Counts(
        reposts=count(item.get(f"reposts{suffix}")),
        comments=count(item.get(f"comments{suffix}")),
        likes=count(item.get(f"attitudes{suffix}")),
    )


def account_counts_of(user: Mapping[str, Any]) -> AccountCounts:
    """A ``users/show`` answer's figures."""
    return AccountCounts(
        followers=count(user.get("followers_count")),
        following=count(user.get("friends_count")),
        statuses=count(user.get("statuses_count")),
    )


def comment_of(raw: Any, status_id: str, own: Callable[[], str],
               clock: Callable[[], datetime]) -> RemoteComment | None:
    """A ``comments/show`` item under our status ``status_id``; None when it has no id.
    ``own`` gives the account's user id (asked only for a comment with an id)."""
    if not isinstance(raw, dict):
        return None
    comment_id = id_of(raw)
    if comment_id is None:
        return None
    user = raw.get("user")
    user = user if isinstance(user, dict) else {}
    author = next(
        (v for v in (user.get("screen_name"), user.get("name")) if isinstance(v, str) and v),
        id_of(user) or "?",
    )
    reply_to = raw.get("reply_comment")
    own_uid = own()
    return RemoteComment(
        remote_id=comment_id,
        post_remote_id=status_id,
        author=clip(author),
        text=plain_text(raw.get("text")),
        url=f"{WEB_BASE}/{own_uid}/{status_id}",  # comments have no page of their own
        created_at=parse_created_at(raw.get("created_at")) or clock(),
        in_reply_to_remote_id=id_of(reply_to) if isinstance(reply_to, dict) else None,
        is_own=id_of(user) == own_uid,
    )


def page_ids(page: Sequence[Any]) -> list[int]:
    """The numeric ids of the comments on one page."""
    return [int(i) for c in page if isinstance(c, dict) and (i := id_of(c)) is not None]


# --- scalars -------------------------------------------------------------------------------


def parse_created_at(value: Any) -> datetime | None:
    """Weibo's ``created_at`` ("Wed Oct 24 23:49:17 +0800 2012") as aware UTC, else None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    m = _CREATED_AT_RE.fullmatch(value.strip())
    month = _MONTHS.get(m.group(1).lower()) if m else None
    if m is None or month is None:
        return None
    sign = -1 if m.group(6) == "-" else 1
    try:
        zone = timezone(sign * timedelta(hours=int(m.group(7)), minutes=int(m.group(8))))
        local = datetime(int(m.group(9)), month, int(m.group(2)), int(m.group(3)),
                         int(m.group(4)), int(m.group(5)), tzinfo=zone)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def plain_text(value: Any) -> str:
    """Comment text without HTML tags and with entities decoded."""
    if not isinstance(value, str):
        return ""
    return html.unescape(_TAG_RE.sub("", value)).strip()


def count(value: Any) -> int | None:
    """A count, or None; never raises."""
    try:
        return as_int(value)
    except ValueError:  # "²" passes isdigit(); 5,000 digits pass too but int() refuses them
        return None


def id_scalar(value: Any) -> str | None:
    """A numeric id as a string (an int or a digit string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 10**30:
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= 30 and text.isascii() and text.isdigit():
            return text
    return None


def id_of(value: Any) -> str | None:
    """A status/comment/user id: ``idstr``, else ``id``; an int or digit string as is."""
    if isinstance(value, dict):
        return id_scalar(value.get("idstr")) or id_scalar(value.get("id"))
    return id_scalar(value)


def require_id(value: str, what: str) -> str:
    """``value`` as a Weibo id, or an InputError naming ``what``."""
    found = id_scalar(value)
    if found is None:
        raise InputError(_("not a Weibo {what}: {value!r}").format(what=what, value=clip(value)))
    return found


def unique_ids(remote_ids: Sequence[str]) -> list[str]:
    """The numeric ids, each once, in order; others are skipped with a warning."""
    ids: list[str] = []
    seen: set[str] = set()
    for value in remote_ids:
        found = id_scalar(value)
        if found is None:
            log.warning("weibo: skipping a status id that is not numeric: %r", clip(value))
        elif found not in seen:
            seen.add(found)
            ids.append(found)
    return ids


def expect(body: Any, kind: type[T], path: str) -> T:
    """``body`` when it is a JSON ``kind`` (dict or list), else a RemoteError."""
    if not isinstance(body, kind):
        raise RemoteError(_("Weibo {path}: unexpected answer (a JSON {kind})").format(
            path=path, kind=type(body).__name__))
    return body


def clip(value: Any, hide: tuple[str, ...] = (), limit: int = MESSAGE_LIMIT) -> str:
    """A remote string made safe for a message: one line, short, secrets masked."""
    if not isinstance(value, str | int):
        return ""
    text = scrub(str(value), hide)  # before cutting, so no part of a secret survives the cut
    text = _CONTROL_RE.sub(" ", text[: limit * 4]).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def host(url: str) -> str | None:
    """The host of an http(s) URL, else None."""
    try:
        parts = urlsplit(url.strip())
        name = parts.hostname
    except ValueError:
        return None
    return name if parts.scheme in ("http", "https") and name else None


def after(now: datetime, seconds: int | None) -> datetime | None:
    """``now`` plus a lifetime in seconds; None when the figure is missing or absurd."""
    if seconds is None or abs(seconds) > 10**10:
        return None
    return now + timedelta(seconds=seconds)


def next_hour(now: datetime) -> datetime:
    """The start of the next clock hour (UTC): when Weibo's hourly budget resets."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
