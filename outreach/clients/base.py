"""The contract every microblog client fulfils, documented once here.

A client talks to one account on one platform. It takes an injected
``httpx.Client`` (explicit connect/read timeouts; each request goes through
``outreach.clients.http.send``, which gives the whole of it a deadline) and the
account's settings,
and translates every failure into one ``ClientError`` subclass of
``outreach.errors``:

- ``AuthError``: the token is expired or invalid; never retried.
- ``RateLimited(retry_at)``: the post waits; the daemon never sleeps.
- ``DuplicateContent``: the platform already has this text.
- ``ContentRejected``: too long, sensitive, blank.
- ``TransientError``: the request never left (connect error, connect or pool
  timeout, a deadline that passed before a byte was sent); safe to retry.
- ``AmbiguousOutcome``: the request may have been applied (read timeout, a
  deadline that passed after it was sent, dropped connection, 5xx or an
  unparseable 200 on a write); the publisher
  reconciles with ``find_published`` before any retry.
- ``MediaExpired``: an upload id given to ``publish`` is unknown to the server (unattached
  uploads expire); the publisher uploads those pictures again and retries.
- ``RemoteError``: anything else, with the platform's code.

Nothing outside ``clients/`` knows which platform it talks to: what differs is
declared on the contract — class attributes (``platform``, ``config_keys``,
``needs_token``, ``counts_batch_size``, ``idempotency_window``, ``simulated``,
``uploads_media``), the
``validate_options`` class method, instance attributes (``counts_fallback``,
``token_expires_at``) — and behind the methods below. Callers read these directly,
never by probing a client.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

from outreach.config.secrets import Secret
from outreach.media.limits import MediaLimits
from outreach.times import utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.clients.http import HttpClient
    from outreach.config.settings import AccountSettings

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Attachment:
    """One picture for ``publish``: its checked bytes and alt text, and — for a platform
    that uploads first — the id of an earlier upload of it (None: not uploaded yet)."""

    data: bytes
    mime: str
    alt: str
    remote_id: str | None = None


@dataclass(frozen=True)
class AccountInfo:
    """Who the token belongs to, as ``verify()`` learns it."""

    remote_id: str
    handle: str
    followers_count: int | None


@dataclass(frozen=True)
class Published:
    """A status that exists on the platform."""

    remote_id: str
    url: str | None
    created_at: datetime  # aware UTC


@dataclass(frozen=True)
class Counts:
    """Engagement of one status. A figure the platform does not give is None, never 0."""

    reposts: int | None
    comments: int | None
    likes: int | None


@dataclass(frozen=True)
class AccountCounts:
    """The account's own figures."""

    followers: int | None
    following: int | None
    statuses: int | None


@dataclass(frozen=True)
class RemoteComment:
    """A comment or reply under one of our statuses.

    ``post_remote_id`` is the status of ours it belongs to; ``in_reply_to_remote_id``
    is the comment it answers, if any; ``is_own`` is True when the account itself
    wrote it (a reply made on the platform).
    """

    remote_id: str
    post_remote_id: str
    author: str
    text: str  # plain text (HTML already stripped)
    url: str | None
    created_at: datetime  # aware UTC
    in_reply_to_remote_id: str | None = None
    is_own: bool = False


@runtime_checkable
class MicroblogClient(Protocol):
    """One account on one platform."""

    platform: ClassVar[str]
    """Registry name: "weibo", "mastodon" or "local"."""

    config_keys: ClassVar[frozenset[str]]
    """Account keys this platform adds to config.toml (unknown keys are errors)."""

    needs_token: ClassVar[bool]
    """Whether an account without a token is ``unconfigured``."""

    counts_batch_size: ClassVar[int]
    """How many status ids one ``fetch_counts`` request covers at most."""

    idempotency_window: ClassVar[timedelta | None]
    """How long the platform remembers an idempotency key (None: it does not). Within it an
    ambiguous publish is resent with the same key; after it, ``find_published`` looks first."""

    simulated: ClassVar[bool]
    """True when the audience is simulated (the local platform): reports say so."""

    uploads_media: ClassVar[bool]
    """True when pictures are uploaded first (``upload_media``) and ``publish`` names them
    by ``Attachment.remote_id`` (Mastodon); False when their bytes go with the status
    itself (Weibo's multipart ``pic``, the local platform)."""

    counts_fallback: bool
    """True once the platform refused batched counts and they come one request a post
    (Weibo's statuses/count → statuses/show); ``accounts check`` records it."""

    token_expires_at: datetime | None
    """When the token expires, as far as ``verify()`` learnt it (None: unknown or never)."""

    def __init__(self, account: AccountSettings, *, http: httpx.Client | None = None,
                 clock: Clock = utcnow) -> None:
        """A client for one account; ``http`` carries explicit timeouts (injected in tests)."""
        ...

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> tuple[str, str] | None:
        """The first bad platform key (of ``config_keys``) in an account's options, as
        (key, message); None when they are all good."""
        ...

    def close(self) -> None:
        """Release what the client holds (an HTTP client it made, a file it opened)."""
        ...

    @property
    def max_length(self) -> int:
        """The longest text the platform takes, by ``text_length``."""
        ...

    def text_length(self, text: str) -> int:
        """The length of ``text`` by the platform's own counting rule."""
        ...

    def text_problems(self, text: str) -> list[str]:
        """Rules of the platform beyond length (e.g. Weibo's share API forbids #topics#)."""
        ...

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        """The id ``reply`` takes to answer this comment under this post."""
        ...

    def verify(self) -> AccountInfo:
        """Check the token and learn who it belongs to."""
        ...

    def media_limits(self) -> MediaLimits:
        """What this account's platform accepts on one post: how many pictures, of which
        types, how many bytes and pixels each (may ask the server once, then cached)."""
        ...

    def upload_media(self, data: bytes, *, mime: str, alt: str) -> str:
        """Upload one picture with its alt text and wait until the server has processed it
        (with a deadline); return its id for ``Attachment.remote_id``. Only called when
        ``uploads_media``."""
        ...

    def publish(self, text: str, *, idempotency_key: str,
                media: Sequence[Attachment] = ()) -> Published:
        """Post ``text`` (with its pictures, in order) once. The same key is sent on every
        retry of the same post."""
        ...

    def find_published(self, text: str, since: datetime) -> Published | None:
        """Find our own status with this text posted at or after ``since`` (reconciliation)."""
        ...

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        """Find our own reply with this text to ``target`` (the id ``reply`` was given)
        made at or after ``since`` (reconciling a reply: replies are comments, which the
        account's timeline never holds)."""
        ...

    def delete(self, remote_id: str) -> None:
        """Delete one of our statuses (retraction). Deleting a missing status is not an error."""
        ...

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        """Answer a comment (or a status) ``remote_id`` once."""
        ...

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        """Counts for many of our statuses, batched; missing (deleted) ids are left out."""
        ...

    def fetch_account(self) -> AccountCounts:
        """Followers, following and statuses of the account."""
        ...

    def fetch_comments(
        self, remote_ids: Sequence[str], since_id: str | None
    ) -> list[RemoteComment]:
        """Comments under these statuses newer than ``since_id`` (all when None), oldest first."""
        ...


# --- helpers shared by the clients -------------------------------------------------

URL_RE = re.compile(r"https?://[^\s<>\"'，。！？【】（）]+")
_SPACE_RE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Text as compared during reconciliation: URLs removed, width and spaces folded."""
    text = unicodedata.normalize("NFKC", text)
    text = URL_RE.sub("", text)
    return _SPACE_RE.sub("", text).casefold()


# Blocks whose every code point is East Asian Wide or Fullwidth (a test checks each one
# against unicodedata): CJK radicals to punctuation, kana and ideographs to Yi, Hangul
# syllables, compatibility ideographs, full-width forms. Counting them is one regex pass.
_COMMON_WIDE = (r"[\u2e80-\u303e\u3040-\u3247\u3250-\u4dbf\u4e00-\ua4cf"
                r"\uac00-\ud7a3\uf900-\ufaff\uff01-\uff60\uffe0-\uffe6]")


@functools.cache
def _width_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled on first use (~3 ms): commands that never measure a text do not pay it."""
    return re.compile(_COMMON_WIDE), re.compile(r"[^\x00-\x7f]")


def weibo_length(text: str) -> int:
    """Weibo's rule: a full-width character counts 1, a half-width one ½, rounded up."""
    common_wide, non_ascii = _width_patterns()
    rest, wide = common_wide.subn("", text)
    for ch in non_ascii.findall(rest):  # "—", "…", emoji, other scripts: ask unicodedata
        if unicodedata.east_asian_width(ch) in ("F", "W"):
            wide += 1
    return math.ceil((len(text) + wide) / 2)


# --- the HTTP layer, ``outreach.clients.http``, imported on first use -----------------------
# It imports httpx, which costs every command that loads the settings (they import the
# client registry) about 50 ms of CPU — 8 % of `queue list` — though most never call a
# platform. The functions below are the only way to it from outside the module.


def default_http_client(timeout_connect: float = 5.0, timeout_read: float = 20.0, *,
                        request_deadline: float | None = None) -> HttpClient:
    """An httpx client with explicit timeouts and a deadline for each whole request (see
    ``outreach.clients.http``), as every client expects."""
    from outreach.clients.http import DEFAULT_DEADLINE, http_client

    return http_client(connect=timeout_connect, read=timeout_read,
                       request_deadline=request_deadline or DEFAULT_DEADLINE)


def exchange(http: httpx.Client, method: str, url: str, *, max_bytes: int, what: str,
             write: bool, url_key: str, **kwargs: Any) -> tuple[httpx.Response, bytes | None]:
    """One request through ``outreach.clients.http.exchange``: the answer and its body
    (None when larger than ``max_bytes``), or the contract's error for a failure without
    an answer (``what`` names the request in messages, ``url_key`` the setting holding the
    base URL, ``write`` whether it changes something)."""
    from outreach.clients.http import exchange as send_once

    return send_once(http, method, url, max_bytes=max_bytes, what=what, write=write,
                     url_key=url_key, **kwargs)


def request_deadline(http: httpx.Client) -> float:
    """The longest one request on ``http`` may take, in seconds (what ``send`` holds it to):
    the deadline of an ``HttpClient``, else the default."""
    from outreach.clients.http import DEFAULT_DEADLINE, HttpClient

    return http.request_deadline if isinstance(http, HttpClient) else DEFAULT_DEADLINE


def cancel_requests(http: httpx.Client) -> int:
    """End every request in flight on ``http`` now and refuse new ones (the daemon
    stopping); returns how many were running. Only an ``HttpClient`` (what
    ``default_http_client`` makes) can; any other client has nothing to cancel."""
    from outreach.clients.http import HttpClient

    return http.cancel() if isinstance(http, HttpClient) else 0


MASK = "********"
MIN_SECRET = 4  # a shorter "secret" would garble every message, not hide much


def scrub(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """``text`` with every secret in it masked: the one scrubber of the clients, applied to
    every remote text that may reach a message or a log line (before any cut, so no part
    of a secret survives it)."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and len(value) >= MIN_SECRET:
            text = text.replace(value, MASK)
    return text


class WeiboTextRules:
    """Weibo's length rule and its "STATUSID:COMMENTID" reply targets: the Weibo client's,
    and the local platform's, which behaves like Weibo."""

    account: AccountSettings
    default_max_length: ClassVar[int] = 140

    @property
    def max_length(self) -> int:
        return self.account.max_length or self.default_max_length

    def text_length(self, text: str) -> int:
        return weibo_length(text)

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        return f"{post_remote_id}:{comment_remote_id}" if post_remote_id else comment_remote_id


class HttpClientOwner:
    """For clients on httpx: keep the injected client, or make one with explicit timeouts
    and close it (only then) on ``close()`` / leaving a ``with`` block."""

    _http: httpx.Client
    _owns_http: bool

    def _use_http(self, http: httpx.Client | None) -> None:
        self._owns_http = http is None
        self._http = http if http is not None else default_http_client()

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_int(value: Any) -> int | None:
    """A count that may come as an int, a numeric string or not at all."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
