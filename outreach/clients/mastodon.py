"""Mastodon: one account on one instance, over the REST API with a bearer token.

What differs from the contract in ``base.py`` is declared here: the length rule
(URLs count ``characters_reserved_per_url``, a remote mention ``@user@domain``
counts as ``@user``), the ``visibility`` option, and how counts are batched:
paging the account's own statuses 40 at a time, or ``GET /api/v1/statuses?id[]=``
in chunks of 20 (Mastodon ≥ 4.3) when the wanted posts are few and old.

Every failure is translated in one place, ``MastodonClient._failure``. Rate
limits are remembered per bucket (posting has its own budget) from the
``X-RateLimit-*`` headers, whose reset is ISO 8601 on Mastodon and epoch
seconds on some other servers; an exhausted bucket refuses locally, without a
request, until its reset.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from outreach.clients.base import (
    URL_RE,
    AccountCounts,
    AccountInfo,
    Counts,
    HttpClientOwner,
    Published,
    RemoteComment,
    as_int,
    normalise_text,
    utcnow,
)
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    OutreachError,
    RateLimited,
    RemoteError,
    TransientError,
)

if TYPE_CHECKING:
    import httpx

    from outreach.config.secrets import Secret
    from outreach.config.settings import AccountSettings

log = logging.getLogger(__name__)

VISIBILITIES = ("public", "unlisted", "private", "direct")
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_WEIGHT = 23
PAGE_SIZE = 40  # the cap of /api/v1/accounts/:id/statuses and /notifications
IDS_CHUNK = 20  # the cap of GET /api/v1/statuses?id[]= on Mastodon ≥ 4.3
MAX_BODY_BYTES = 32 * 1024 * 1024  # a larger answer is not one Mastodon would send
MAX_FIND_PAGES = 50  # reconciliation looks back at most 2,000 statuses
MAX_MENTION_PAGES = 25  # one comments sweep reads at most 1,000 mentions
DEFAULT_RETRY = timedelta(minutes=5)
LIMITS_RETRY = timedelta(minutes=10)  # ask /api/v2/instance again after a passing failure
_REFUSED_LOOKUP = frozenset({400, 404, 405, 422})  # GET /api/v1/statuses?id[]= unsupported

_STATUSES = "/api/v1/statuses"
_URL_TRAILING = ".,:;!?)]}'\"»”’…"
# Mastodon's mention pattern (app/models/account.rb MENTION_RE), for the length rule.
_MENTION_RE = re.compile(
    r"(?<![/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w)?", re.IGNORECASE
)


@dataclass(frozen=True)
class _Own:
    id: str
    acct: str
    username: str


@dataclass
class _Bucket:
    remaining: int | None = None
    reset: datetime | None = None


class _Unreadable(Exception):
    """An answer whose body we will not use (too large, not JSON, wrong shape)."""


class MastodonClient(HttpClientOwner):
    """A Mastodon account. ``api_base`` is the instance URL, e.g. https://mastodon.social."""

    platform: ClassVar[str] = "mastodon"
    config_keys: ClassVar[frozenset[str]] = frozenset({"visibility"})
    needs_token: ClassVar[bool] = True
    counts_batch_size: ClassVar[int] = PAGE_SIZE
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)  # as Mastodon keeps keys
    simulated: ClassVar[bool] = False

    def __init__(
        self,
        account: AccountSettings,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._account = account
        self._use_http(http)
        self._clock = clock
        self._limits: dict[str, int] | None = None  # max_characters, url_weight
        self._limits_retry: datetime | None = None  # when to ask again after a failure
        self._own_cache: _Own | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._ids_lookup: bool | None = None  # None: not tried yet
        self._secret: Secret | None = None  # the last token sent, only to scrub messages

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> tuple[str, str] | None:
        """Check the platform's own account keys; a problem is (key, message)."""
        visibility = options.get("visibility", "public")
        if visibility not in VISIBILITIES:
            return "visibility", f"must be one of {', '.join(VISIBILITIES)}, got {visibility!r}"
        return None

    def __repr__(self) -> str:
        account = self._account
        return f"MastodonClient(account={account.name!r}, api_base={account.api_base!r})"

    # --- length ------------------------------------------------------------------------

    @property
    def max_length(self) -> int:
        if self._account.max_length is not None:
            return self._account.max_length
        return self._instance_limits()["max_characters"]

    @property
    def url_weight(self) -> int:
        return self._instance_limits()["url_weight"]

    def text_problems(self, text: str) -> list[str]:
        return []

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        return comment_remote_id  # a reply is a status in reply to the comment's status

    def text_length(self, text: str) -> int:
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
        count = urls * self.url_weight if urls else 0  # no instance lookup without a URL
        rest.append(text[pos:])
        plain = "".join(rest)
        plain = _MENTION_RE.sub(lambda m: "@" + m.group(1), plain)
        return count + len(plain)

    def _instance_limits(self) -> dict[str, int]:
        """The instance's length rule, read once; the defaults while it cannot be read.

        A definite answer (even an unusable one) is kept for the client's life; after a
        failure that may pass (no connection, rate limit, 5xx) it is asked again later.
        """
        now = self._clock()
        if self._limits is not None and (self._limits_retry is None or now < self._limits_retry):
            return self._limits
        limits = {"max_characters": DEFAULT_MAX_CHARACTERS, "url_weight": DEFAULT_URL_WEIGHT}
        self._limits_retry = None
        if self._account.api_base and self._has_token():  # unconfigured: never contacted
            try:
                body = self._get_json("/api/v2/instance", auth=False)
                config = body.get("configuration")
                statuses = config.get("statuses") if isinstance(config, dict) else None
                if not isinstance(statuses, dict):
                    raise _Unreadable("no configuration.statuses object")
                max_chars = as_int(statuses.get("max_characters"))
                weight = as_int(statuses.get("characters_reserved_per_url"))
                if max_chars is not None and max_chars > 0:
                    limits["max_characters"] = max_chars
                if weight is not None and weight >= 0:
                    limits["url_weight"] = weight
            except (OutreachError, _Unreadable) as exc:
                if isinstance(exc, TransientError | RateLimited):
                    self._limits_retry = now + LIMITS_RETRY
                log.warning(
                    "mastodon %s: instance limits unavailable (%s); using %s/%s",
                    self._account.name, exc, DEFAULT_MAX_CHARACTERS, DEFAULT_URL_WEIGHT,
                )
        self._limits = limits
        return limits

    def _has_token(self) -> bool:
        try:
            return self._account.token() is not None
        except OutreachError:  # a token file others can read: refused elsewhere, loudly
            return False

    # --- account -----------------------------------------------------------------------

    def verify(self) -> AccountInfo:
        me = self._verify_credentials()
        own = self._own_cache
        assert own is not None
        return AccountInfo(
            remote_id=own.id, handle=own.acct, followers_count=as_int(me.get("followers_count"))
        )

    def fetch_account(self) -> AccountCounts:
        me = self._verify_credentials()
        return AccountCounts(
            followers=as_int(me.get("followers_count")),
            following=as_int(me.get("following_count")),
            statuses=as_int(me.get("statuses_count")),
        )

    def _verify_credentials(self) -> dict[str, Any]:
        me = self._get_json("/api/v1/accounts/verify_credentials")
        own_id = _str_id(me.get("id"))
        if own_id is None:
            raise self._failure("GET", "/api/v1/accounts/verify_credentials", write=False,
                                reason="the answer has no account id")
        username = me.get("username") if isinstance(me.get("username"), str) else ""
        acct = me.get("acct") if isinstance(me.get("acct"), str) else username
        self._own_cache = _Own(id=own_id, acct=str(acct), username=str(username or acct))
        return me

    def _own(self) -> _Own:
        if self._own_cache is None:
            self._verify_credentials()
        assert self._own_cache is not None
        return self._own_cache

    # --- writes ------------------------------------------------------------------------

    def publish(self, text: str, *, idempotency_key: str) -> Published:
        return self._post_status(text, idempotency_key=idempotency_key)

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        return self._post_status(text, idempotency_key=idempotency_key, in_reply_to=remote_id)

    def _post_status(
        self, text: str, *, idempotency_key: str, in_reply_to: str | None = None
    ) -> Published:
        key = idempotency_key
        if not key or not key.isascii() or not key.isprintable():
            raise ValueError("idempotency_key must be non-empty printable ASCII")
        if not text.strip():
            raise ContentRejected("the text is blank")
        length, limit = self.text_length(text), self.max_length
        if length > limit:
            raise ContentRejected(f"the text is {length} characters; Mastodon takes {limit}")
        payload: dict[str, Any] = {
            "status": text,
            "visibility": self._account.options.get("visibility", "public"),
            "language": self._account.lang,
        }
        if in_reply_to is not None:
            payload["in_reply_to_id"] = in_reply_to
        body = self._call_json(
            "POST", _STATUSES, payload=payload, headers={"Idempotency-Key": idempotency_key},
            write=True,
        )
        if not isinstance(body, dict) or _str_id(body.get("id")) is None:
            raise self._failure("POST", _STATUSES, write=True,
                                reason="the answer has no status id")
        published = self._published(body)
        log.info("mastodon %s: posted status %s", self._account.name, published.remote_id)
        return published

    def delete(self, remote_id: str) -> None:
        path = f"{_STATUSES}/{_seg(remote_id)}"
        try:
            self._call_json("DELETE", path, write=True)
        except RemoteError as exc:
            if exc.code != 404:
                raise
            log.info("mastodon %s: status %s was already gone", self._account.name, remote_id)
            return
        log.info("mastodon %s: deleted status %s", self._account.name, remote_id)

    # --- reads -------------------------------------------------------------------------

    def find_published(self, text: str, since: datetime) -> Published | None:
        since = _aware(since)
        want = normalise_text(text)
        for page in self._own_pages(max_pages=MAX_FIND_PAGES):
            older = False
            for st in page:
                created = _parse_time(st.get("created_at"))
                if created is not None and created < since:
                    older = True
                    continue
                if normalise_text(html_to_text(st.get("content"))) == want:
                    return self._published(st)
            if older:
                break
        return None

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        """Our own status with this text among the replies to ``target`` (its context's
        descendants), posted at or after ``since``."""
        since = _aware(since) - timedelta(minutes=1)
        want = normalise_text(text)
        own = self._own()
        try:
            context = self._get_json(f"{_STATUSES}/{_seg(target)}/context")
        except RemoteError as exc:
            if exc.code != 404:
                raise
            return None
        descendants = context.get("descendants") if isinstance(context, dict) else None
        found: list[Published] = []
        for st in descendants if isinstance(descendants, list) else []:
            if not isinstance(st, dict) or _str_id(st.get("in_reply_to_id")) != str(target):
                continue
            account = st.get("account")
            if not isinstance(account, dict) or _str_id(account.get("id")) != own.id:
                continue
            created = _parse_time(st.get("created_at"))
            if created is None or created < since:
                continue
            shown = html_to_text(st.get("content"))
            if want in (normalise_text(shown), normalise_text(_LEADING_MENTIONS.sub("", shown))):
                found.append(self._published(st))
        return min(found, key=lambda p: p.created_at) if found else None

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        pending = {str(i) for i in remote_ids if i is not None and str(i)}
        result: dict[str, Counts] = {}
        if not pending:
            return result
        if len(pending) <= IDS_CHUNK and self._lookup_counts(pending, result):
            return result
        numeric = all(_numeric(i) for i in pending)
        oldest = min(int(i) for i in pending) if numeric else None
        seen = 0
        total: int | None = None
        newest: int | None = None
        for page in self._own_pages():
            for st in page:
                sid = _str_id(st.get("id"))
                if sid is None:
                    continue
                seen += 1
                if sid in pending:
                    pending.discard(sid)
                    result[sid] = _counts(st)
            if total is None:
                account = page[0].get("account")
                total = as_int(account.get("statuses_count")) if isinstance(account, dict) else None
            last = _str_id(page[-1].get("id")) or ""
            if newest is None and (first := _str_id(page[0].get("id"))) and _numeric(first):
                newest = int(first)
            if not pending or len(page) < PAGE_SIZE or (total is not None and seen >= total):
                break
            if oldest is not None and _numeric(last) and int(last) <= oldest:
                break  # past the oldest wanted post: the ones not seen were deleted
            pages_left = _pages_left(seen, total, newest, last, oldest)
            if math.ceil(len(pending) / IDS_CHUNK) < pages_left and self._lookup_counts(
                pending, result
            ):
                break
        return result

    def _lookup_counts(self, pending: set[str], result: dict[str, Counts]) -> bool:
        """Counts by ``GET /api/v1/statuses?id[]=`` in chunks; False if the server refuses it."""
        if self._ids_lookup is False:
            return False
        ids = sorted(pending, key=_id_key)
        for start in range(0, len(ids), IDS_CHUNK):
            chunk = ids[start : start + IDS_CHUNK]
            try:
                body = self._get_json(_STATUSES, params={"id[]": chunk}, expect=list)
            except RemoteError as exc:
                if self._ids_lookup is None and exc.code in _REFUSED_LOOKUP:
                    log.info("mastodon %s: no GET /api/v1/statuses?id[] (%s); paging instead",
                             self._account.name, exc.code)
                    self._ids_lookup = False
                    return False
                raise
            self._ids_lookup = True
            for st in body:
                sid = _str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is not None and sid in pending:
                    pending.discard(sid)
                    result[sid] = _counts(st)
        pending.clear()  # what the server did not return is gone
        return True

    def _own_pages(self, max_pages: int | None = None) -> Iterable[list[dict[str, Any]]]:
        """The account's own statuses, newest first, one page at a time."""
        path = f"/api/v1/accounts/{_seg(self._own().id)}/statuses"
        params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        pages = 0
        while max_pages is None or pages < max_pages:
            page = [st for st in self._get_json(path, params=params, expect=list)
                    if isinstance(st, dict)]
            pages += 1
            if not page:
                return
            yield page
            last = _str_id(page[-1].get("id"))
            if last is None or last == params.get("max_id") or len(page) < PAGE_SIZE:
                return
            params = {**params, "max_id": last}
        log.warning("mastodon %s: stopped after %s pages of own statuses",
                    self._account.name, pages)

    def fetch_comments(
        self, remote_ids: Sequence[str], since_id: str | None
    ) -> list[RemoteComment]:
        roots = list(dict.fromkeys(str(r) for r in remote_ids if r is not None and str(r)))
        if not roots:
            return []
        own = self._own()
        root_set = set(roots)
        root_of: dict[str, str] = {}  # comment id -> the post of ours it hangs under
        statuses: dict[str, dict[str, Any]] = {}
        mentions = self._recent_mentions(since_id)
        for root in roots:
            try:
                context = self._get_json(f"{_STATUSES}/{_seg(root)}/context")
            except RemoteError as exc:
                if exc.code != 404:
                    raise
                log.info("mastodon %s: status %s is gone; no replies read",
                         self._account.name, root)
                continue
            descendants = context.get("descendants")
            for st in descendants if isinstance(descendants, list) else []:
                sid = _str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is not None and sid not in root_set:
                    root_of.setdefault(sid, root)
                    statuses.setdefault(sid, st)
        for st in sorted(mentions, key=lambda s: _id_key(_str_id(s.get("id")) or "")):
            sid = _str_id(st.get("id"))
            parent = _str_id(st.get("in_reply_to_id"))
            if sid is None or parent is None or sid in root_set:
                continue
            under = parent if parent in root_set else root_of.get(parent)
            if under is not None:
                root_of.setdefault(sid, under)
                statuses.setdefault(sid, st)

        comments: list[RemoteComment] = []
        for sid, st in statuses.items():
            if not _newer(sid, since_id):
                continue
            comment = self._comment(st, sid, root_of[sid], root_set, own)
            if comment is not None:
                comments.append(comment)
        comments.sort(key=lambda c: (c.created_at, _id_key(c.remote_id)))
        return comments

    def _recent_mentions(self, since_id: str | None) -> list[dict[str, Any]]:
        """Statuses that mention us, newest first, down to ``since_id`` (a status id).

        Notification ids are a sequence of their own on Mastodon, so ``since_id`` is not
        sent as the notifications cursor: pages are read until a mention is not newer.
        """
        params: dict[str, Any] = {"types[]": ["mention"], "limit": PAGE_SIZE}
        found: list[dict[str, Any]] = []
        for _ in range(MAX_MENTION_PAGES):
            page = self._get_json("/api/v1/notifications", params=params, expect=list)
            reached = False
            for note in page:
                if not isinstance(note, dict) or note.get("type", "mention") != "mention":
                    continue
                st = note.get("status")
                sid = _str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is None or not isinstance(st, dict):
                    continue
                if not _newer(sid, since_id):
                    reached = True
                    continue
                found.append(st)
            last = _str_id(page[-1].get("id")) if page and isinstance(page[-1], dict) else None
            if reached or len(page) < PAGE_SIZE or last is None or last == params.get("max_id"):
                return found
            params = {**params, "max_id": last}
        log.warning("mastodon %s: stopped after %s pages of mentions",
                    self._account.name, MAX_MENTION_PAGES)
        return found

    def _comment(
        self, st: dict[str, Any], sid: str, root: str, roots: set[str], own: _Own
    ) -> RemoteComment | None:
        created = _parse_time(st.get("created_at"))
        if created is None:
            log.warning("mastodon %s: reply %s has no readable created_at; skipped",
                        self._account.name, sid)
            return None
        account: dict[str, Any] = st["account"] if isinstance(st.get("account"), dict) else {}
        author_id = _str_id(account.get("id"))
        author = account.get("acct") if isinstance(account.get("acct"), str) else ""
        parent = _str_id(st.get("in_reply_to_id"))
        url = st.get("url") or st.get("uri")
        return RemoteComment(
            remote_id=sid,
            post_remote_id=root,
            author=str(author),
            text=_drop_leading_mention(html_to_text(st.get("content")), own.username),
            url=url if isinstance(url, str) else None,
            created_at=created,
            in_reply_to_remote_id=None if parent is None or parent in roots else parent,
            is_own=author_id == own.id,
        )

    def _published(self, body: dict[str, Any]) -> Published:
        url = body.get("url") or body.get("uri")
        return Published(
            remote_id=str(_str_id(body.get("id"))),
            url=url if isinstance(url, str) else None,
            created_at=_parse_time(body.get("created_at")) or self._clock(),
        )

    # --- HTTP --------------------------------------------------------------------------

    def _get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        expect: type = dict,
        auth: bool = True,
    ) -> Any:
        body = self._call_json("GET", path, params=params, auth=auth)
        if not isinstance(body, expect):
            raise self._failure("GET", path, write=False,
                                reason=f"expected a JSON {expect.__name__}")
        return body

    def _call_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        auth: bool = True,
    ) -> Any:
        """One request; the parsed JSON answer of a 2xx, else the translated error."""
        base = self._account.api_base
        if not base:
            raise ConfigError(
                f"accounts.{self._account.name}.api_base: required for Mastodon "
                "(the instance URL, e.g. https://mastodon.social)"
            )
        bucket = "statuses_post" if method == "POST" and path == _STATUSES else "default"
        state = self._buckets.get(bucket)
        now = self._clock()
        if state and state.remaining is not None and state.remaining <= 0 and state.reset:
            if state.reset > now:
                raise RateLimited(
                    f"mastodon {method} {path}: the {bucket} rate limit is used up "
                    f"until {state.reset.isoformat()}", retry_at=state.reset,
                )
        import httpx  # here, not at import time: commands that never call out start faster

        sent = {"Accept": "application/json", **(headers or {})}
        if auth:
            sent["Authorization"] = f"Bearer {self._token()}"
        from outreach.clients.http import send

        try:
            resp, body = send(self._http, method, base.rstrip("/") + path,
                              max_bytes=MAX_BODY_BYTES, params=params, json=payload,
                              headers=sent)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._failure(method, path, write=write, exc=exc) from exc
        status, resp_headers = resp.status_code, resp.headers
        self._remember_limits(bucket, resp_headers)
        if body is None:
            raise self._failure(method, path, write=write,
                                reason=f"the answer is larger than {MAX_BODY_BYTES} bytes")
        raw = body
        log.debug("mastodon %s: %s %s -> %s", self._account.name, method, path, status)
        if not 200 <= status < 300:
            raise self._failure(method, path, write=write, status=status,
                                headers=resp_headers, body=raw, bucket=bucket)
        try:
            return _loads(raw)
        except _Unreadable as exc:
            raise self._failure(method, path, write=write, reason=str(exc)) from None

    def _token(self) -> str:
        secret = self._account.token()
        if secret is None:
            hint = (f"set the environment variable {self._account.token_env}"
                    if self._account.token_env
                    else f"set accounts.{self._account.name}.token_env")
            raise AuthError(
                f"no access token for Mastodon account {self._account.name!r}: {hint} "
                f"(or store one in {self._account.token_file})"
            )
        token = secret.reveal()
        if not token.isascii() or not token.isprintable():
            raise AuthError(f"the access token of Mastodon account {self._account.name!r} "
                            "contains characters a token cannot have")
        self._secret = secret
        return token

    def _remember_limits(self, bucket: str, headers: httpx.Headers) -> None:
        remaining = as_int(headers.get("X-RateLimit-Remaining"))
        reset = _parse_reset(headers.get("X-RateLimit-Reset"))
        if remaining is not None or reset is not None:
            self._buckets[bucket] = _Bucket(remaining=remaining, reset=reset)

    def _failure(
        self,
        method: str,
        path: str,
        *,
        write: bool,
        exc: Exception | None = None,
        status: int | None = None,
        headers: httpx.Headers | None = None,
        body: bytes = b"",
        bucket: str = "default",
        reason: str | None = None,
    ) -> ClientError | ConfigError:
        """The one translation of a failed request into the exception tree.

        ``write`` marks a request that changes something (posting, deleting): once it may
        have reached the server, its failure is ambiguous rather than transient.
        """
        import httpx

        what = f"mastodon {method} {path}"
        if exc is not None:
            kind = type(exc).__name__
            if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
                return ConfigError(
                    f"accounts.{self._account.name}.api_base: not a usable URL ({kind})"
                )
            from outreach.clients.http import describe, may_have_left

            kind = describe(exc)
            if not may_have_left(exc):
                return TransientError(f"{what}: the request did not leave ({kind})")
            if write:
                return AmbiguousOutcome(f"{what}: no answer, it may have been applied ({kind})")
            return TransientError(f"{what}: no answer ({kind})")
        if status is None:
            detail = self._scrub(reason or "unreadable answer")
            if write:
                return AmbiguousOutcome(f"{what}: {detail}; it may have been applied")
            return TransientError(f"{what}: {detail}")
        message = self._scrub(_error_text(body))
        said = f"{what}: {status}" + (f" {message}" if message else "")
        if status in (401, 403):
            return AuthError(f"{said} (the token is invalid, revoked or lacks a scope)")
        if status == 429:
            retry_at = self._retry_at(headers or httpx.Headers())
            self._buckets[bucket] = _Bucket(remaining=0, reset=retry_at)
            return RateLimited(f"{said}; retry at {retry_at.isoformat()}", retry_at=retry_at)
        if status == 422 and write:  # on a read, 422 refuses the query, not our text
            lowered = message.casefold()
            if "duplicate" in lowered or "already" in lowered:
                return DuplicateContent(said)
            return ContentRejected(said)
        if status >= 500:
            if write:
                return AmbiguousOutcome(f"{said}; it may have been applied")
            return TransientError(said)
        return RemoteError(said, code=status)

    def _retry_at(self, headers: httpx.Headers) -> datetime:
        now = self._clock()
        reset = _parse_reset(headers.get("X-RateLimit-Reset"))
        if reset is not None and reset > now:
            return reset
        after = headers.get("Retry-After")
        if after:
            seconds = as_int(after.strip())
            if seconds is not None:
                return now + timedelta(seconds=max(seconds, 0))
            try:
                return _aware(parsedate_to_datetime(after))
            except (TypeError, ValueError, IndexError):
                pass
        return now + DEFAULT_RETRY

    def _scrub(self, text: str) -> str:
        token = self._secret.reveal() if self._secret is not None else ""
        if len(token) >= 6:  # a shorter "token" would garble every message, not hide much
            text = text.replace(token, "********")
        return text


# --- helpers -----------------------------------------------------------------------------


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise _Unreadable("the answer is not JSON") from None


def _error_text(body: bytes) -> str:
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


def _parse_reset(value: str | None) -> datetime | None:
    """``X-RateLimit-Reset``: ISO 8601 (Mastodon) or epoch seconds (some other servers)."""
    if not value:
        return None
    value = value.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        return _aware(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _str_id(value: Any) -> str | None:
    """A Mastodon id (a string, sometimes an integer elsewhere); None when absent or odd."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value and len(value) <= 64 and value.isprintable():
        return value
    return None


def _numeric(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _seg(remote_id: str) -> str:
    """An id as one path segment, whatever it contains."""
    return quote(str(remote_id), safe="")


def _id_key(remote_id: str) -> tuple[int, int, str]:
    return (0, int(remote_id), "") if _numeric(remote_id) else (1, 0, remote_id)


def _newer(status_id: str, since_id: str | None) -> bool:
    if since_id is None:
        return True
    if _numeric(status_id) and _numeric(since_id):
        return int(status_id) > int(since_id)
    return status_id != since_id


def _counts(st: dict[str, Any]) -> Counts:
    return Counts(
        reposts=as_int(st.get("reblogs_count")),
        comments=as_int(st.get("replies_count")),
        likes=as_int(st.get("favourites_count")),
    )


def _pages_left(
    seen: int, total: int | None, newest: int | None, last: str, oldest: int | None
) -> float:
    """How many more pages paging would take to reach the oldest wanted post (an estimate).

    At most what the account has left; with numeric ids, the ids seen so far give how
    densely the account posts, and the id distance to the oldest wanted post is scaled
    by it.
    """
    bound = math.ceil(max(total - seen, 0) / PAGE_SIZE) if total is not None else math.inf
    if oldest is None or newest is None or not _numeric(last) or newest <= int(last):
        return bound
    per_id = seen / (newest - int(last))
    estimate = math.ceil((int(last) - oldest) * per_id / PAGE_SIZE)
    return min(bound, max(estimate, 1))


class _TextExtractor(HTMLParser):
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


_LEADING_MENTIONS = re.compile(r"^(?:@[\w.-]+(?:@[\w.-]+\w)?\s+)+")


def _drop_leading_mention(text: str, username: str) -> str:
    if not username:
        return text
    pattern = rf"^@{re.escape(username)}(?:@[\w.-]+\w)?(?![\w@])\s*"
    return re.sub(pattern, "", text, count=1, flags=re.IGNORECASE)
