"""Sina Weibo (Open API v2) client.

Posts go out with ``statuses/share`` (the text must carry a link on the app's safe
domain, ``share_url``, and the operator's IP, ``rip``); counts come from
``statuses/count`` (100 ids a call) or, where the app may not call it, one
``statuses/show`` per post; comments from ``comments/show``; followers from
``users/show``. Facts and what is UNVERIFIED: ``reference/weibo-api.md``.

The token travels only in the ``Authorization: OAuth2 …`` header, never in a URL
or a form, and no message, log line or repr shows it.

Weibo has no idempotency key: a publish whose outcome is unknown is reconciled by
``find_published``, which reads the account's newest statuses (Weibo returns only
the newest 5 to third-party apps, so reconcile soon).

Rate budget: Weibo counts calls per authorised user per hour (150 when we know no
better). The client counts its own calls in the current clock hour and learns the
real figures from ``account/rate_limit_status`` and from rate-limit answers. Reads
stop while only the last 10 % of the hour is left, so publishing (and reconciling
with ``find_published``) keeps its share.
The count lives in this process only: another process using the same token spends
the same budget unseen, which Weibo's own rate-limit answers then reveal.

Error translation for every HTTP answer is ``_raise_for``; for transport failures,
``_transport_error``.
"""

from __future__ import annotations

import contextlib
import html
import ipaddress
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from outreach.clients.base import (
    URL_RE,
    AccountCounts,
    AccountInfo,
    Clock,
    Counts,
    HttpClientOwner,
    Published,
    RemoteComment,
    as_int,
    normalise_text,
    utcnow,
    weibo_length,
)
from outreach.config.secrets import Secret
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    InputError,
    RateLimited,
    RemoteError,
    TransientError,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

API_BASE = "https://api.weibo.com"
_REPLY_PREFIX = re.compile(r"^回复@[^:]+:")  # how a reply to a comment shows (normalised)
WEB_BASE = "https://weibo.com"
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # parsed by hand: strptime's %a/%b follow the locale

DEFAULT_USER_LIMIT = 150  # calls per user per hour when Weibo has told us nothing better
PUBLISH_RESERVE = 0.10  # the share of the hourly budget reads never touch
COMMENTS_PAGE = 50
MAX_COMMENT_PAGES = 100  # per status per sweep: a guard against a server that ignores max_id
TIMELINE_COUNT = 100
RECONCILE_SLACK = timedelta(minutes=1)
MESSAGE_LIMIT = 200
MAX_BODY_BYTES = 8 * 1024 * 1024  # a page of 100 statuses with users is well under 1 MB

SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
COUNT = "/2/statuses/count.json"
SHOW = "/2/statuses/show.json"
TIMELINE = "/2/statuses/user_timeline.json"
COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_CREATE = "/2/comments/create.json"
COMMENTS_REPLY = "/2/comments/reply.json"
USERS_SHOW = "/2/users/show.json"
RATE_LIMIT_STATUS = "/2/account/rate_limit_status.json"
TOKEN_INFO = "/oauth2/get_token_info"
ACCESS_TOKEN = "/oauth2/access_token"
AUTHORIZE = "/oauth2/authorize"

# Weibo's error codes (reference/weibo-api.md §3), by what they mean for us.
RATE_CODES = frozenset({10022, 10023, 10024, 20016})
HOURLY_LIMIT_CODES = frozenset({10022, 10023})  # every call is refused, not just one endpoint
DUPLICATE_CODES = frozenset({20017, 20019, 20111})
REJECTED_CODES = frozenset({10017, 20008, 20012, 20013, 20018, 20020, 20021})
AUTH_CODES = frozenset({21301, 21314, 21315, 21316, 21317, 21319, 21327, 21332})
EXPIRED_HINT_CODES = frozenset({10006})  # "appkey missing", in practice an expired token
TRANSIENT_CODES = frozenset({21331})
PERMISSION_CODES = frozenset({10014})
MISSING_CODES = frozenset({20101})


class PermissionDenied(RemoteError):
    """10014 or a bare HTTP 403: the app may not call this endpoint."""


class StatusMissing(RemoteError):
    """20101: the status does not exist (any more)."""


class HourlyLimitReached(RateLimited):
    """10022/10023: every call is refused until the hour resets, not just one endpoint."""


@dataclass(frozen=True)
class TokenGrant:
    """What ``oauth2/access_token`` hands out. ``Secret`` keeps the token out of repr."""

    token: Secret
    expires_at: datetime | None
    uid: str | None


@dataclass(frozen=True)
class TokenInfo:
    """What ``oauth2/get_token_info`` says about a token."""

    uid: str
    appkey: str | None
    expires_at: datetime | None
    created_at: datetime | None = None


_TOPIC_RE = re.compile(r"#[^#\s][^#\n]{0,60}?#")


class WeiboClient(HttpClientOwner):
    """One Weibo account. See ``outreach.clients.base.MicroblogClient`` for the contract."""

    platform: ClassVar[str] = "weibo"
    config_keys: ClassVar[frozenset[str]] = frozenset({"share_url", "rip", "uid"})
    needs_token: ClassVar[bool] = True
    counts_batch_size: ClassVar[int] = 100
    default_max_length: ClassVar[int] = 140
    idempotency_window: ClassVar[timedelta | None] = None  # Weibo has no idempotency keys
    simulated: ClassVar[bool] = False

    def __init__(
        self,
        account: AccountSettings,
        *,
        http: httpx.Client | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.account = account
        self.api_base = (account.api_base or API_BASE).rstrip("/")
        self._use_http(http)
        self._clock = clock
        self._uid: str | None = _id_scalar(account.options.get("uid"))
        self.counts_fallback = False
        """True once statuses/count was refused: counts then come one statuses/show a post."""
        self.token_expires_at: datetime | None = None
        """Learnt by ``verify()`` from oauth2/get_token_info."""
        self._lock = threading.Lock()
        self._limit = DEFAULT_USER_LIMIT
        self._used = 0
        self._window_end: datetime | None = None

    def __repr__(self) -> str:
        return f"WeiboClient(account={self.account.name!r}, api_base={self.api_base!r})"

    # --- configuration ---------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> tuple[str, str] | None:
        """The first bad Weibo key in an account's options as (key, message), else None."""
        share_url = options.get("share_url")
        if share_url is not None:
            if not isinstance(share_url, str) or _host(share_url) is None:
                return "share_url", f"not an http(s) URL: {share_url!r}"
        rip = options.get("rip")
        if rip is not None:
            try:
                ipaddress.ip_address(str(rip).strip())
            except ValueError:
                return "rip", f"not an IP address: {rip!r}"
        uid = options.get("uid")
        if uid is not None and _id_scalar(uid) is None:
            return "uid", f"expected the numeric Weibo user id, got {uid!r}"
        return None

    @property
    def max_length(self) -> int:
        return self.account.max_length or self.default_max_length

    def text_length(self, text: str) -> int:
        return weibo_length(text)

    def text_problems(self, text: str) -> list[str]:
        # statuses/share: "文本中不能包含“#话题词#”" — a 【title】 stands in for a topic
        topic = _TOPIC_RE.search(text)
        return [f"Weibo's share API forbids #topics#: {topic.group(0)}"] if topic else []

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        return f"{post_remote_id}:{comment_remote_id}" if post_remote_id else comment_remote_id

    def _where(self, key: str) -> str:
        return f"accounts.{self.account.name}.{key}"

    def _rip(self) -> str:
        rip = self.account.options.get("rip")
        if rip is None or not str(rip).strip():
            raise ConfigError(
                f"{self._where('rip')}: Weibo's statuses/share needs the operator's public IP "
                "address (rip); set it in config.toml"
            )
        return str(rip).strip()

    def _share_url(self) -> str | None:
        value = self.account.options.get("share_url")
        return value.strip() if isinstance(value, str) and value.strip() else None

    def _token(self) -> Secret:
        token = self.account.token()
        if token is None:
            name = self.account.name
            env = f"${self.account.token_env}" if self.account.token_env else "token_env"
            raise AuthError(f"no token: set {env} or run `outreach auth weibo --account {name}`")
        return token

    # --- the rate budget -------------------------------------------------------------

    def _roll(self, now: datetime) -> datetime:
        """Start a new window when the current one has ended; return its end. Holds the lock."""
        if self._window_end is None or now >= self._window_end:
            self._window_end = _next_hour(now)
            self._used = 0
        return self._window_end

    def _reserve(self) -> int:
        return max(1, math.ceil(self._limit * PUBLISH_RESERVE))

    def budget_remaining(self) -> int:
        """Calls left this hour, as far as this process knows."""
        with self._lock:
            self._roll(self._clock())
            return max(0, self._limit - self._used)

    def _check_read_budget(self, path: str) -> None:
        with self._lock:
            reset = self._roll(self._clock())
            remaining = max(0, self._limit - self._used)
            if remaining <= self._reserve():
                raise RateLimited(
                    f"Weibo {path}: only {remaining} of {self._limit} calls are left this hour "
                    f"and they are kept for publishing; reads resume at {reset:%H:%M} UTC",
                    retry_at=reset,
                )

    def _spend(self) -> None:
        with self._lock:
            self._roll(self._clock())
            self._used += 1

    def _retry_at(self) -> datetime:
        with self._lock:
            return self._roll(self._clock())

    def refresh_budget(self) -> int:
        """Learn the hourly limit from ``account/rate_limit_status``; return the calls left."""
        body = _expect(self._send("GET", RATE_LIMIT_STATUS, metered=False), dict, RATE_LIMIT_STATUS)
        limit = _count(body.get("user_limit"))
        remaining = _count(body.get("remaining_user_hits"))
        reset_in = _count(body.get("reset_time_in_seconds"))
        with self._lock:
            now = self._clock()
            if reset_in is not None and 0 <= reset_in <= 86_400:
                self._window_end = now + timedelta(seconds=reset_in)
            else:
                self._roll(now)
            if limit is not None and limit > 0:
                self._limit = limit
            if remaining is not None and remaining >= 0:
                self._used = max(0, self._limit - remaining)
            left = max(0, self._limit - self._used)
        log.debug("weibo %s: %s of %s calls left this hour", self.account.name, left, self._limit)
        return left

    # --- one request -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        write: bool = False,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        metered: bool = True,
        for_publishing: bool = False,
        token_in_body: bool = False,
    ) -> Any:
        """One call, counted against the hour's budget when ``metered``. Reads stop at the
        publishing reserve unless they serve publishing themselves (reconciliation)."""
        token = self._token()
        if metered and not write and not for_publishing:
            self._check_read_budget(path)
        log.debug("weibo %s: %s %s", self.account.name, method, path)
        try:
            return _request(
                self._http, method, self.api_base + path, write=write, token=token,
                params=params, data=data, retry_at=self._retry_at(), token_in_body=token_in_body,
            )
        except HourlyLimitReached:
            with self._lock:
                self._roll(self._clock())
                self._used = self._limit
            raise
        finally:
            if metered:
                self._spend()

    # --- publishing ------------------------------------------------------------------

    def _with_share_url(self, text: str) -> str:
        share_url = self._share_url()
        urls = [m.group(0) for m in URL_RE.finditer(text)]
        if share_url is None:
            if urls:
                return text
            raise ConfigError(
                f"{self._where('share_url')}: Weibo's statuses/share needs a link on the app's "
                "safe domain in every post; set share_url in config.toml"
            )
        host = _host(share_url)
        if host is not None and any(_host(url) == host for url in urls):
            return text
        return f"{text.rstrip()} {share_url}"

    def _check_text(self, text: str, limit: int, *, sent: str | None = None) -> None:
        if not text.strip():
            raise ContentRejected("blank text: nothing to post")
        sent = text if sent is None else sent
        length = self.text_length(sent)
        if length > limit:
            extra = " with the share link" if sent != text else ""
            raise ContentRejected(
                f"text is {length} characters{extra} by Weibo's count; the limit is {limit}"
            )

    def publish(self, text: str, *, idempotency_key: str) -> Published:
        # Weibo takes no idempotency key: an unknown outcome is reconciled by find_published.
        rip = self._rip()
        status = self._with_share_url(text)
        self._check_text(text, self.max_length, sent=status)
        body = self._send("POST", SHARE, write=True, data={"status": status, "rip": rip})
        published = self._published(body, SHARE)
        log.info("weibo %s: published %s", self.account.name, published.remote_id)
        return published

    def _published(self, body: Any, path: str) -> Published:
        remote_id = _id_of(body) if isinstance(body, dict) else None
        if not isinstance(body, dict) or remote_id is None:
            raise AmbiguousOutcome(
                f"Weibo {path}: the answer carries no status id; "
                "the post may exist, reconcile before any retry"
            )
        return self._status(body, remote_id)

    def _status(self, status: Mapping[str, Any], remote_id: str) -> Published:
        created = parse_created_at(status.get("created_at")) or self._clock()
        uid = _id_of(status.get("user")) or _id_scalar(status.get("uid")) or self._uid
        mid = _id_scalar(status.get("mid")) or remote_id
        url = f"{WEB_BASE}/{uid}/{mid}" if uid else None
        return Published(remote_id=remote_id, url=url, created_at=created)

    def find_published(self, text: str, since: datetime) -> Published | None:
        wanted = normalise_text(text)
        if not wanted:
            return None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        earliest = since - RECONCILE_SLACK
        body = self._send("GET", TIMELINE, params={"count": TIMELINE_COUNT, "trim_user": 1},
                          for_publishing=True)
        statuses = _expect(body, dict, TIMELINE).get("statuses")
        found: list[Published] = []
        for status in statuses if isinstance(statuses, list) else []:
            if not isinstance(status, dict) or not isinstance(status.get("text"), str):
                continue
            raw = status["text"]
            if wanted not in (normalise_text(raw), normalise_text(html.unescape(raw))):
                continue
            created = parse_created_at(status.get("created_at"))
            remote_id = _id_of(status)
            if created is None or created < earliest or remote_id is None:
                continue
            found.append(self._status(status, remote_id))
        return min(found, key=lambda p: p.created_at) if found else None

    def delete(self, remote_id: str) -> None:
        status_id = _require_id(remote_id, "status id")
        try:
            self._send("POST", DESTROY, write=True, data={"id": status_id})
        except StatusMissing:
            log.info("weibo %s: status %s was already gone", self.account.name, status_id)

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        """Comment on a status: ``remote_id`` is "STATUSID" (a new comment on the status) or
        "STATUSID:COMMENTID" (a reply to that comment). The result's ``remote_id`` is the new
        comment's id, as ``fetch_comments`` reports comments."""
        status_part, sep, comment_part = remote_id.partition(":")
        status_id = _require_id(status_part, "status id")
        comment_id = _require_id(comment_part, "comment id") if sep else None
        # Comments stay within 140 even where an account posts long statuses.
        self._check_text(text, min(self.max_length, self.default_max_length))
        data = {"id": status_id, "comment": text}
        rip = self.account.options.get("rip")
        if rip:
            data["rip"] = str(rip).strip()
        path = COMMENTS_CREATE
        if comment_id is not None:
            data["cid"] = comment_id
            path = COMMENTS_REPLY
        body = self._send("POST", path, write=True, data=data)
        new_id = _id_of(body) if isinstance(body, dict) else None
        if not isinstance(body, dict) or new_id is None:
            raise AmbiguousOutcome(
                f"Weibo {path}: the answer carries no comment id; "
                "the comment may exist, check before any retry"
            )
        created = parse_created_at(body.get("created_at")) or self._clock()
        return Published(remote_id=new_id, url=self._post_url(status_id), created_at=created)

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        """Read the comments of the status (``comments/show``, newest first, back to
        ``since``) for our own comment with this text, answering the comment in ``target``
        when it names one. Weibo shows a reply as "回复@name:text"; the prefix is ignored."""
        wanted = normalise_text(text)
        status_part, sep, comment_part = target.partition(":")
        status_id = _require_id(status_part, "status id")
        comment_id = _require_id(comment_part, "comment id") if sep else None
        if not wanted:
            return None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        earliest = since - RECONCILE_SLACK
        own_uid = self._learn_uid()
        found: list[Published] = []
        max_id: int | None = None
        for _ in range(MAX_COMMENT_PAGES):
            params: dict[str, Any] = {"id": status_id, "count": COMMENTS_PAGE}
            if max_id is not None:
                params["max_id"] = max_id
            body = _expect(self._send("GET", COMMENTS_SHOW, params=params, for_publishing=True),
                           dict, COMMENTS_SHOW)
            page = body.get("comments")
            page = [c for c in page if isinstance(c, dict)] if isinstance(page, list) else []
            older = False
            for raw in page:
                created = parse_created_at(raw.get("created_at"))
                if created is not None and created < earliest:
                    older = True
                    continue
                new_id = _id_of(raw)
                if new_id is None or _id_of(raw.get("user")) != own_uid:
                    continue
                answers = raw.get("reply_comment")
                if comment_id is not None and (
                        not isinstance(answers, dict) or _id_of(answers) != comment_id):
                    continue
                shown = normalise_text(html.unescape(plain_text(raw.get("text"))))
                if _REPLY_PREFIX.sub("", shown, count=1) != wanted and shown != wanted:
                    continue
                found.append(Published(remote_id=new_id, url=self._post_url(status_id),
                                       created_at=created or self._clock()))
            ids = [int(i) for c in page if (i := _id_of(c)) is not None]
            if older or len(page) < COMMENTS_PAGE or not ids:
                break
            if max_id is not None and min(ids) - 1 >= max_id:
                break
            max_id = min(ids) - 1
        return min(found, key=lambda p: p.created_at) if found else None

    def _post_url(self, status_id: str) -> str | None:
        return f"{WEB_BASE}/{self._uid}/{status_id}" if self._uid else None

    # --- metrics ---------------------------------------------------------------------

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        ids = _unique_ids(remote_ids)
        counts: dict[str, Counts] = {}
        if self.counts_fallback:
            return self._counts_one_by_one(ids, counts)
        size = self.counts_batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            try:
                body = self._send("GET", COUNT, params={"ids": ",".join(chunk)})
            except PermissionDenied as exc:
                self.counts_fallback = True
                log.warning(
                    "weibo %s: statuses/count refused (%s); counting with statuses/show, "
                    "one call a post", self.account.name, exc.code,
                )
                return self._counts_one_by_one(ids[start:], counts)
            wanted = set(chunk)
            for item in _expect(body, list, COUNT):
                status_id = _id_of(item) if isinstance(item, dict) else None
                if status_id is not None and status_id in wanted:
                    counts[status_id] = Counts(
                        reposts=_count(item.get("reposts")),
                        comments=_count(item.get("comments")),
                        likes=_count(item.get("attitudes")),
                    )
        return counts

    def _counts_one_by_one(
        self, ids: Sequence[str], counts: dict[str, Counts]
    ) -> dict[str, Counts]:
        for status_id in ids:
            try:
                body = self._send("GET", SHOW, params={"id": status_id})
            except StatusMissing:
                continue
            except RateLimited:
                if not counts:
                    raise
                log.info(
                    "weibo %s: counted %s of %s posts; the rest of the hour is kept for "
                    "publishing", self.account.name, len(counts), len(ids),
                )
                break
            status = _expect(body, dict, SHOW)
            counts[status_id] = Counts(
                reposts=_count(status.get("reposts_count")),
                comments=_count(status.get("comments_count")),
                likes=_count(status.get("attitudes_count")),
            )
        return counts

    def _token_info(self) -> TokenInfo:
        body = self._send("POST", TOKEN_INFO, token_in_body=True)
        return _parse_token_info(body, self._clock())

    def _learn_uid(self) -> str:
        if self._uid is None:
            self._uid = self._token_info().uid
        return self._uid

    def fetch_account(self) -> AccountCounts:
        uid = self._learn_uid()
        user = _expect(self._send("GET", USERS_SHOW, params={"uid": uid}), dict, USERS_SHOW)
        return AccountCounts(
            followers=_count(user.get("followers_count")),
            following=_count(user.get("friends_count")),
            statuses=_count(user.get("statuses_count")),
        )

    def verify(self) -> AccountInfo:
        info = self._token_info()
        configured = _id_scalar(self.account.options.get("uid"))
        if configured is not None and configured != info.uid:
            raise ConfigError(
                f"{self._where('uid')}: set to {configured}, but the token belongs to "
                f"Weibo user {info.uid}"
            )
        self._uid = info.uid
        self.token_expires_at = info.expires_at
        if info.expires_at is not None and info.expires_at <= self._clock():
            raise AuthError(
                f"the Weibo token has expired; run `outreach auth weibo --account "
                f"{self.account.name}`"
            )
        user = _expect(self._send("GET", USERS_SHOW, params={"uid": info.uid}), dict, USERS_SHOW)
        try:
            self.refresh_budget()
        except (RemoteError, TransientError, RateLimited) as exc:
            log.info("weibo %s: rate limit status unavailable: %s", self.account.name, exc)
        return AccountInfo(
            remote_id=info.uid,
            handle=_clip(user.get("screen_name")) or info.uid,
            followers_count=_count(user.get("followers_count")),
        )

    # --- comments --------------------------------------------------------------------

    def fetch_comments(
        self, remote_ids: Sequence[str], since_id: str | None
    ) -> list[RemoteComment]:
        since = _id_scalar(since_id) if since_id is not None else None
        if since_id is not None and since is None:
            log.warning("weibo %s: ignoring a non-numeric since_id", self.account.name)
        found: dict[str, RemoteComment] = {}
        for status_id in _unique_ids(remote_ids):
            for raw in self._comment_pages(status_id, since):
                comment = self._comment(raw, status_id)
                if comment is None or (since is not None and int(comment.remote_id) <= int(since)):
                    continue
                found.setdefault(comment.remote_id, comment)
        return sorted(found.values(), key=lambda c: (c.created_at, int(c.remote_id)))

    def _comment_pages(self, status_id: str, since: str | None) -> Iterator[Any]:
        """Every comment under one status newer than ``since``, a page (newest first) at a time."""
        max_id: int | None = None
        for _ in range(MAX_COMMENT_PAGES):
            params: dict[str, Any] = {"id": status_id, "count": COMMENTS_PAGE}
            if since is not None:
                params["since_id"] = since
            if max_id is not None:
                params["max_id"] = max_id
            body = _expect(self._send("GET", COMMENTS_SHOW, params=params), dict, COMMENTS_SHOW)
            page = body.get("comments")
            page = page if isinstance(page, list) else []
            yield from page
            ids = [int(i) for c in page if isinstance(c, dict) and (i := _id_of(c)) is not None]
            if len(page) < COMMENTS_PAGE or not ids:
                return
            next_max = min(ids) - 1
            if (max_id is not None and next_max >= max_id) or (
                since is not None and next_max <= int(since)
            ):
                return
            max_id = next_max

    def _comment(self, raw: Any, status_id: str) -> RemoteComment | None:
        if not isinstance(raw, dict):
            return None
        comment_id = _id_of(raw)
        if comment_id is None:
            return None
        user = raw.get("user")
        user = user if isinstance(user, dict) else {}
        author = next(
            (v for v in (user.get("screen_name"), user.get("name")) if isinstance(v, str) and v),
            _id_of(user) or "?",
        )
        reply_to = raw.get("reply_comment")
        own_uid = self._learn_uid()
        return RemoteComment(
            remote_id=comment_id,
            post_remote_id=status_id,
            author=_clip(author),
            text=plain_text(raw.get("text")),
            url=f"{WEB_BASE}/{own_uid}/{status_id}",  # comments have no page of their own
            created_at=parse_created_at(raw.get("created_at")) or self._clock(),
            in_reply_to_remote_id=_id_of(reply_to) if isinstance(reply_to, dict) else None,
            is_own=_id_of(user) == own_uid,
        )


# --- OAuth helpers (used by `outreach auth weibo`) -------------------------------------


def authorize_url(
    app_key: str, redirect_uri: str, state: str | None = None, api_base: str = API_BASE
) -> str:
    """The page where the account holder lets the app post; it redirects with ?code=."""
    params = {"client_id": app_key, "redirect_uri": redirect_uri, "response_type": "code"}
    if state:
        params["state"] = state
    return f"{api_base.rstrip('/')}{AUTHORIZE}?{urlencode(params)}"


def parse_code(code_or_redirected_url: str) -> str:
    """The authorisation code, from the bare code or the whole redirected URL."""
    value = code_or_redirected_url.strip()
    if "?" in value or "=" in value or "://" in value:
        query = parse_qs(urlsplit(value).query if "?" in value or "://" in value else value)
        if "error" in query:
            reason = (query.get("error_description") or query["error"])[0]
            raise InputError(f"Weibo refused the authorisation: {_clip(reason)}")
        codes = query.get("code")
        if not codes:
            raise InputError("no ?code= in that URL: paste the address Weibo redirected to")
        value = codes[0].strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", value):
        raise InputError("that does not look like a Weibo authorisation code")
    return value


def exchange_code(
    http: httpx.Client,
    api_base: str,
    app_key: str,
    app_secret: Secret,
    code: str,
    redirect_uri: str,
    *,
    clock: Clock = utcnow,
) -> TokenGrant:
    """Trade an authorisation code for an access token (``oauth2/access_token``)."""
    now = clock()
    body = _request(
        http, "POST", api_base.rstrip("/") + ACCESS_TOKEN, write=False,
        data={
            "client_id": app_key,
            "client_secret": app_secret.reveal(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        },
        retry_at=_next_hour(now), hide=(app_secret.reveal(), code),
    )
    body = _expect(body, dict, ACCESS_TOKEN)
    token = body.get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise RemoteError(f"Weibo {ACCESS_TOKEN}: the answer carries no access_token")
    expires_in = _count(body.get("expires_in"))
    return TokenGrant(
        token=Secret(token.strip()),
        expires_at=_after(now, expires_in),
        uid=_id_scalar(body.get("uid")),
    )


def token_info(
    http: httpx.Client, api_base: str, token: Secret, *, clock: Clock = utcnow
) -> TokenInfo:
    """Who a token belongs to and when it expires (``oauth2/get_token_info``)."""
    now = clock()
    body = _request(
        http, "POST", api_base.rstrip("/") + TOKEN_INFO, write=False, token=token,
        retry_at=_next_hour(now), token_in_body=True,
    )
    return _parse_token_info(body, now)


def _parse_token_info(body: Any, now: datetime) -> TokenInfo:
    body = _expect(body, dict, TOKEN_INFO)
    uid = _id_scalar(body.get("uid"))
    if uid is None:
        raise RemoteError(f"Weibo {TOKEN_INFO}: the answer carries no uid")
    # expire_in (expires_in in older pages) is the lifetime left, in seconds.
    left = _count(body.get("expire_in", body.get("expires_in")))
    created = _count(body.get("create_at"))
    created_at = None
    if created is not None and 0 < created < 10**11:
        created_at = datetime.fromtimestamp(created, UTC)
    return TokenInfo(
        uid=uid,
        appkey=_id_scalar(body.get("appkey")),
        expires_at=_after(now, left),
        created_at=created_at,
    )


def save_token(account: AccountSettings, token: Secret) -> Path:
    """Store the token on line 1 of the account's token file: mode 0600, in a 0700 folder,
    replaced atomically."""
    value = token.reveal().strip()
    if not value or any(c in value for c in "\r\n"):
        raise InputError("the token is empty or spans several lines")
    path = account.token_file
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(
            f"cannot write the token file: {exc.strerror or exc}", where=str(path)
        ) from None
    return path


# --- translation: HTTP answers and transport failures → OutreachError ------------------

_NOT_JSON = object()



def _request(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    write: bool,
    retry_at: datetime,
    token: Secret | None = None,
    params: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    hide: tuple[str, ...] = (),
    token_in_body: bool = False,
) -> Any:
    """One call to Weibo: its JSON body, or the ClientError that says what went wrong.

    The token goes in the ``Authorization`` header; the OAuth2 endpoints document it as an
    ``access_token`` form field, so those calls (``token_in_body``) carry it there as well.
    Never in the URL."""
    headers = {"Authorization": f"OAuth2 {token.reveal()}"} if token is not None else None
    if token_in_body and token is not None:
        data = {**(data or {}), "access_token": token.reveal()}
    import httpx  # here, not at import time: commands that never call Weibo start faster

    secrets = (*hide, token.reveal()) if token is not None else hide
    from outreach.clients.http import send

    try:  # the body is None when it is larger than any answer Weibo gives
        response, raw = send(http, method, url, max_bytes=MAX_BODY_BYTES, params=params,
                             data=data, headers=headers)
    except httpx.HTTPError as exc:
        raise _transport_error(exc, method, urlsplit(url).path, write=write) from exc
    return _raise_for(response, raw, write=write, retry_at=retry_at, hide=secrets)


def _transport_error(exc: httpx.HTTPError, method: str, path: str, *, write: bool) -> ClientError:
    from outreach.clients.http import describe, may_have_left

    name = describe(exc)
    # The request cannot have reached Weibo: safe to retry even for a write.
    if not may_have_left(exc):
        return TransientError(f"Weibo {path}: {name}; the request never reached Weibo")
    if write:
        return AmbiguousOutcome(
            f"Weibo {method} {path}: {name} after the request was sent; "
            "it may have been applied, reconcile before any retry"
        )
    return TransientError(f"Weibo {path}: {name}; try again later")


def _raise_for(
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
    code = _count(raw_code)
    text = _clip(body.get("error"), hide) if is_error else ""
    said = f"{text} (code {code})" if text else f"code {code}"
    where = f"Weibo {path}"

    if code in RATE_CODES:
        kind = HourlyLimitReached if code in HOURLY_LIMIT_CODES else RateLimited
        raise kind(f"{where}: rate limited: {said}; retry after {retry_at:%H:%M} UTC",
                   retry_at=retry_at)
    if code in DUPLICATE_CODES:
        raise DuplicateContent(f"{where}: Weibo already has this text: {said}")
    if code in REJECTED_CODES:
        raise ContentRejected(f"{where}: Weibo refused the text: {said}")
    if code in AUTH_CODES:
        raise AuthError(f"{where}: Weibo refused the token: {said}; "
                        "run `outreach auth weibo` to authorise again")
    if code in EXPIRED_HINT_CODES:
        raise AuthError(f"{where}: {said}; the token has most likely expired, "
                        "run `outreach auth weibo` to authorise again")
    if code in TRANSIENT_CODES:
        raise TransientError(f"{where}: Weibo is temporarily unavailable: {said}")
    if code in PERMISSION_CODES:
        raise PermissionDenied(f"{where}: the app may not call this: {text}", code=code)
    if code in MISSING_CODES:
        raise StatusMissing(f"{where}: {text or 'no such status'}", code=code)

    if status >= 500 or 200 <= status < 300:
        # A failing server or an unreadable success: a write may have been applied.
        detail = f"HTTP {status}" + (f", {said}" if is_error else "")
        if write:
            raise AmbiguousOutcome(f"{where}: {detail}; it may have been applied, "
                                   "reconcile before any retry")
        raise TransientError(f"{where}: {detail}; try again later")
    if code is not None or is_error:
        shown = code if code is not None else (_clip(raw_code, hide, 20) or None)
        raise RemoteError(f"{where}: HTTP {status}: {text or 'error'}", code=shown)
    # No Weibo error body at all: the HTTP status is all we have.
    if status == 401:
        raise AuthError(f"{where}: HTTP 401; run `outreach auth weibo` to authorise again")
    if status == 403:
        raise PermissionDenied(f"{where}: HTTP 403", code=403)
    if status == 429:
        raise RateLimited(f"{where}: HTTP 429; retry after {retry_at:%H:%M} UTC",
                          retry_at=retry_at)
    raise RemoteError(f"{where}: HTTP {status} with a body that is not Weibo's error JSON",
                      code=status)


# --- small parsers, all of them total: hostile input gives None, never an exception ----

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_CREATED_AT_RE = re.compile(
    r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})"
)
_TAG_RE = re.compile(r"<[^>]*>")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\s]+")


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


def _count(value: Any) -> int | None:
    try:
        return as_int(value)
    except ValueError:  # "²" passes isdigit(); 5,000 digits pass too but int() refuses them
        return None


def _id_scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 10**30:
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        if 0 < len(value) <= 30 and value.isascii() and value.isdigit():
            return value
    return None


def _id_of(value: Any) -> str | None:
    """A status/comment/user id: ``idstr``, else ``id``; an int or digit string as is."""
    if isinstance(value, dict):
        return _id_scalar(value.get("idstr")) or _id_scalar(value.get("id"))
    return _id_scalar(value)


def _require_id(value: str, what: str) -> str:
    found = _id_scalar(value)
    if found is None:
        raise InputError(f"not a Weibo {what}: {_clip(value)!r}")
    return found


def _unique_ids(remote_ids: Sequence[str]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for value in remote_ids:
        found = _id_scalar(value)
        if found is None:
            log.warning("weibo: skipping a status id that is not numeric: %r", _clip(value))
        elif found not in seen:
            seen.add(found)
            ids.append(found)
    return ids


def _expect(body: Any, kind: type, path: str) -> Any:
    if not isinstance(body, kind):
        raise RemoteError(f"Weibo {path}: unexpected answer (a JSON {type(body).__name__})")
    return body


def _clip(value: Any, hide: tuple[str, ...] = (), limit: int = MESSAGE_LIMIT) -> str:
    """A remote string made safe for a message: one line, short, secrets masked."""
    if not isinstance(value, str | int):
        return ""
    text = str(value)
    for secret in hide:  # before cutting, so no part of a secret survives the cut
        if secret:
            text = text.replace(secret, "***")
    text = _CONTROL_RE.sub(" ", text[: limit * 4]).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    return host if parts.scheme in ("http", "https") and host else None


def _after(now: datetime, seconds: int | None) -> datetime | None:
    """``now`` plus a lifetime in seconds; None when the figure is missing or absurd."""
    if seconds is None or abs(seconds) > 10**10:
        return None
    return now + timedelta(seconds=seconds)


def _next_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
