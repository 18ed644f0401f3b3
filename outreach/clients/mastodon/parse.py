"""Mastodon's answer bodies as our types, and the small parsers they need.

Every parser here is total: hostile input gives None (or an empty value), never an
exception that escapes as a crash.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from outreach.clients.base import URL_RE, Counts, Published, RemoteComment, as_int
from outreach.i18n import _
from outreach.times import aware

PAGE_SIZE = 40  # the cap of /api/v1/accounts/:id/statuses and /notifications
_URL_TRAILING = ".,:;!?)]}'\"»”’…"
# Mastodon's mention pattern (app/models/account.rb MENTION_RE), for the length rule.
_MENTION_RE = re.compile(
    r"(?<![/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w)?", re.IGNORECASE
)


@dataclass(frozen=True)
class Own:
    """The account itself, as verify_credentials gives it."""

    id: str
    acct: str
    username: str


class Unreadable(Exception):
    """An answer whose body we will not use (too large, not JSON, wrong shape)."""


def text_length(text: str, url_weight: Callable[[], int]) -> int:
    """Mastodon's length rule: a URL counts ``url_weight()`` (asked only when the text has
    one), a remote mention ``@user@domain`` counts as ``@user``."""
    urls = 0
    rest: list[str] = []
    pos = 0
    for m in URL_RE.finditer(text):
        url = m.group(0).rstrip(_URL_TRAILING)
        host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        if "." not in host:  # Mastodon links only real domains
            continue
        rest.append(text[pos : m.start()])
        urls += 1
        pos = m.start() + len(url)
    count = urls * url_weight() if urls else 0  # no instance lookup without a URL
    rest.append(text[pos:])
    plain = "".join(rest)
    plain = _MENTION_RE.sub(lambda m: "@" + m.group(1), plain)
    return count + len(plain)


def published_of(body: dict[str, Any], now: Callable[[], datetime]) -> Published:
    """A status as ``Published``."""
    url = body.get("url") or body.get("uri")
    return Published(
        remote_id=str(str_id(body.get("id"))),
        url=url if isinstance(url, str) else None,
        created_at=parse_time(body.get("created_at")) or now(),
    )


def comment_of(st: dict[str, Any], sid: str, root: str, roots: set[str],
               own: Own) -> RemoteComment | None:
    """A reply ``sid`` under our status ``root``; None when its time cannot be read."""
    created = parse_time(st.get("created_at"))
    if created is None:
        return None
    account: dict[str, Any] = st["account"] if isinstance(st.get("account"), dict) else {}
    author_id = str_id(account.get("id"))
    author = account.get("acct") if isinstance(account.get("acct"), str) else ""
    parent = str_id(st.get("in_reply_to_id"))
    url = st.get("url") or st.get("uri")
    return RemoteComment(
        remote_id=sid,
        post_remote_id=root,
        author=str(author),
        text=drop_leading_mention(html_to_text(st.get("content")), own.username),
        url=url if isinstance(url, str) else None,
        created_at=created,
        in_reply_to_remote_id=None if parent is None or parent in roots else parent,
        is_own=author_id == own.id,
    )


def loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Unreadable(_("the answer is not JSON")) from None


def error_text(body: bytes) -> str:
    """The platform's error message, short and printable, from an error answer."""
    try:
        data = json.loads(body[:65536])
    except (ValueError, RecursionError):
        return ""
    message = data.get("error") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return ""
    message = "".join(ch if ch.isprintable() else " " for ch in message).strip()
    return message[:200]


def parse_reset(value: str | None) -> datetime | None:
    """``X-RateLimit-Reset``: ISO 8601 (Mastodon) or epoch seconds (some other servers)."""
    if not value:
        return None
    value = value.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        return aware(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def str_id(value: Any) -> str | None:
    """A Mastodon id (a string, sometimes an integer elsewhere); None when absent or odd."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value and len(value) <= 64 and value.isprintable():
        return value
    return None


def is_numeric(value: str) -> bool:
    return value.isascii() and value.isdigit()


def seg(remote_id: str) -> str:
    """An id as one path segment, whatever it contains."""
    return quote(str(remote_id), safe="")


def id_key(remote_id: str) -> tuple[int, int, str]:
    return (0, int(remote_id), "") if is_numeric(remote_id) else (1, 0, remote_id)


def newer(status_id: str, since_id: str | None) -> bool:
    if since_id is None:
        return True
    if is_numeric(status_id) and is_numeric(since_id):
        return int(status_id) > int(since_id)
    return status_id != since_id


def counts_of(st: dict[str, Any]) -> Counts:
    return Counts(
        reposts=as_int(st.get("reblogs_count")),
        comments=as_int(st.get("replies_count")),
        likes=as_int(st.get("favourites_count")),
    )


def pages_left(
    seen: int, total: int | None, newest: int | None, last: str, oldest: int | None
) -> float:
    """How many more pages paging would take to reach the oldest wanted post (an estimate).

    At most what the account has left; with numeric ids, the ids seen so far give how
    densely the account posts, and the id distance to the oldest wanted post is scaled
    by it.
    """
    bound = math.ceil(max(total - seen, 0) / PAGE_SIZE) if total is not None else math.inf
    if oldest is None or newest is None or not is_numeric(last) or newest <= int(last):
        return bound
    per_id = seen / (newest - int(last))
    estimate = math.ceil((int(last) - oldest) * per_id / PAGE_SIZE)
    return min(bound, max(estimate, 1))


class _TextExtractor(HTMLParser):
    """Text and line breaks of status HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.parts.append("\n")
            self._paragraphs += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: Any) -> str:
    """Mastodon's status HTML as plain text: tags stripped, <br> and paragraphs as newlines."""
    if not isinstance(content, str) or not content:
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(content)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # a parser bug on hostile markup must not escape as a crash
        text = unescape(re.sub(r"<[^>]*>", "", content))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


LEADING_MENTIONS = re.compile(r"^(?:@[\w.-]+(?:@[\w.-]+\w)?\s+)+")


def drop_leading_mention(text: str, username: str) -> str:
    if not username:
        return text
    pattern = rf"^@{re.escape(username)}(?:@[\w.-]+\w)?(?![\w@])\s*"
    return re.sub(pattern, "", text, count=1, flags=re.IGNORECASE)
