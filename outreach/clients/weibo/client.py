"""Sina Weibo (Open API v2) client.

Posts go out with ``statuses/share`` (the text must carry a link on the app's safe
domain, ``share_url``, and the operator's IP, ``rip``); counts come from
``statuses/count`` (100 ids a call) or, where the app may not call it, one
``statuses/show`` per post; comments from ``comments/show``; followers from
``users/show``. Facts and what is UNVERIFIED: ``reference/weibo-api.md``.

Weibo has no idempotency key: a publish whose outcome is unknown is reconciled by
``find_published``, which reads the account's newest statuses (Weibo returns only
the newest 5 to third-party apps, so reconcile soon).

Every call counts against the hour's budget (``budget.py``); one call and its translation are
``api.py`` and ``errors.py``; the bodies are read by ``parse.py``."""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from outreach.clients.base import (
    URL_RE,
    AccountCounts,
    AccountInfo,
    Attachment,
    Clock,
    Counts,
    HttpClientOwner,
    Published,
    RemoteComment,
    WeiboTextRules,
    normalise_text,
)
from outreach.clients.weibo import api
from outreach.clients.weibo.api import API_BASE as API_BASE  # for callers of the client module
from outreach.clients.weibo.budget import APP_KEYS, RateBudget, SharedBudget, app_budget, app_problem
from outreach.clients.weibo.errors import HourlyLimitReached, PermissionDenied, StatusMissing
from outreach.clients.weibo.media import WEIBO_MEDIA as WEIBO_MEDIA  # re-exported: the contract's constant
from outreach.clients.weibo.media import pic_part
from outreach.clients.weibo.parse import (
    WEB_BASE,
    TokenInfo,
    account_counts_of,
    clip,
    comment_of,
    count,
    counts_of,
    expect,
    host,
    id_of,
    id_scalar,
    page_ids,
    parse_created_at,
    plain_text,
    published_of,
    require_id,
    token_info_of,
    unique_ids,
)
from outreach.config.secrets import Secret
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ConfigError,
    ContentRejected,
    RateLimited,
    RemoteError,
    TransientError,
)
from outreach.i18n import _
from outreach.media.limits import MediaLimits
from outreach.times import aware, utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings

log = logging.getLogger(__name__)

_REPLY_PREFIX = re.compile(r"^回复@[^:]+:")  # how a reply to a comment shows (normalised)
_TOPIC_RE = re.compile(r"#[^#\s][^#\n]{0,60}?#")
COMMENTS_PAGE = 50
MAX_COMMENT_PAGES = 100  # per status per sweep: a guard against a server that ignores max_id
TIMELINE_COUNT = 100
RECONCILE_SLACK = timedelta(minutes=1)


class WeiboClient(WeiboTextRules, HttpClientOwner):
    """One Weibo account. See ``outreach.clients.base.MicroblogClient`` for the contract."""

    platform: ClassVar[str] = "weibo"
    config_keys: ClassVar[frozenset[str]] = frozenset({"share_url", "rip", "uid"}) | APP_KEYS
    shares_rate_budget: ClassVar[bool] = True  # an app's hourly budget, across processes
    needs_token: ClassVar[bool] = True
    counts_batch_size: ClassVar[int] = 100
    counts_per_call = property(lambda c: 1 if c.counts_fallback else c.counts_batch_size)  # now
    idempotency_window: ClassVar[timedelta | None] = None  # Weibo has no idempotency keys
    uploads_media: ClassVar[bool] = False
    simulated: ClassVar[bool] = False

    def __init__(self, account: AccountSettings, *, http: httpx.Client | None = None,
                 clock: Clock = utcnow, shared_budget: SharedBudget | None = None) -> None:
        self.account = account
        self.api_base = (account.api_base or API_BASE).rstrip("/")
        self._use_http(http)
        self._clock = clock
        self._uid: str | None = id_scalar(account.options.get("uid"))
        self.counts_fallback = False  # True once statuses/count was refused
        self.token_expires_at: datetime | None = None  # learnt by verify()
        self._budget = RateBudget(clock, app_budget(account.options, shared_budget, clock))

    def __repr__(self) -> str:
        return f"WeiboClient(account={self.account.name!r}, api_base={self.api_base!r})"

    # --- configuration ---------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> tuple[str, str] | None:
        """The first bad Weibo key in an account's options as (key, message), else None."""
        share_url = options.get("share_url")
        if share_url is not None:
            if not isinstance(share_url, str) or host(share_url) is None:
                return "share_url", f"not an http(s) URL: {share_url!r}"
        rip = options.get("rip")
        if rip is not None:
            try:
                ipaddress.ip_address(str(rip).strip())
            except ValueError:
                return "rip", f"not an IP address: {rip!r}"
        uid = options.get("uid")
        if uid is not None and id_scalar(uid) is None:
            return "uid", f"expected the numeric Weibo user id, got {uid!r}"
        return app_problem(options)

    def text_problems(self, text: str) -> list[str]:
        # statuses/share: "文本中不能包含“#话题词#”" — a 【title】 stands in for a topic
        topic = _TOPIC_RE.search(text)
        return [f"Weibo's share API forbids #topics#: {topic.group(0)}"] if topic else []

    def _where(self, key: str) -> str:
        return f"accounts.{self.account.name}.{key}"

    def _rip(self) -> str:
        rip = self.account.options.get("rip")
        if rip is None or not str(rip).strip():
            raise ConfigError(f"{self._where('rip')}: " + _(
                "Weibo's statuses/share needs the operator's public IP address (rip); set it in "
                "config.toml"))
        return str(rip).strip()

    def _share_url(self) -> str | None:
        value = self.account.options.get("share_url")
        return value.strip() if isinstance(value, str) and value.strip() else None

    def _token(self) -> Secret:
        token = self.account.token()
        if token is None:
            name = self.account.name
            env = f"${self.account.token_env}" if self.account.token_env else "token_env"
            raise AuthError(_("no token: set {env} or run `outreach auth weibo --account "
                              "{name}`").format(env=env, name=name))
        return token

    # --- the rate budget and one request ---------------------------------------------

    def budget_remaining(self) -> int:
        """Calls left this hour, as far as this process knows."""
        return self._budget.remaining()

    def refresh_budget(self) -> int:
        """Learn the hourly limit from ``account/rate_limit_status``; return the calls left."""
        body = expect(self._send("GET", api.RATE_LIMIT_STATUS, metered=False), dict,
                      api.RATE_LIMIT_STATUS)
        left = self._budget.learn(body)
        log.debug("weibo %s: %s of %s calls left this hour", self.account.name, left,
                  self._budget.limit)
        return left

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
        files: Mapping[str, Any] | None = None,
    ) -> Any:
        """One call, counted against the hour's budget when ``metered``. Reads stop at the
        publishing reserve unless they serve publishing themselves (reconciliation)."""
        token = self._token()
        if metered:  # reads keep the publishing reserve; the app's place is taken first
            self._budget.before_call(path, read=not write and not for_publishing)
        log.debug("weibo %s: %s %s", self.account.name, method, path)
        try:
            return api.call(
                self._http, method, self.api_base + path, write=write, token=token,
                params=params, data=data, files=files, retry_at=self._budget.retry_at(),
                token_in_body=token_in_body, url_key=self._where("api_base"),
            )
        except HourlyLimitReached:
            self._budget.exhausted()
            raise
        finally:
            if metered:
                self._budget.spend()

    # --- publishing ------------------------------------------------------------------

    def _with_share_url(self, text: str) -> str:
        share_url = self._share_url()
        urls = [m.group(0) for m in URL_RE.finditer(text)]
        if share_url is None:
            if urls:
                return text
            raise ConfigError(f"{self._where('share_url')}: " + _(
                "Weibo's statuses/share needs a link on the app's safe domain in every post; set "
                "share_url in config.toml"))
        safe = host(share_url)
        if safe is not None and any(host(url) == safe for url in urls):
            return text
        return f"{text.rstrip()} {share_url}"

    def _check_text(self, text: str, limit: int, *, sent: str | None = None) -> None:
        if not text.strip():
            raise ContentRejected(_("blank text: nothing to post"))
        sent = text if sent is None else sent
        length = self.text_length(sent)
        if length > limit:
            extra = _(" with the share link") if sent != text else ""
            raise ContentRejected(
                _("text is {length} characters{extra} by Weibo's count; the limit is "
                  "{limit}").format(length=length, extra=extra, limit=limit)
            )

    def media_limits(self) -> MediaLimits:
        return WEIBO_MEDIA

    def upload_media(self, data: bytes, *, mime: str, alt: str) -> str:
        raise ContentRejected(_("Weibo takes a picture with the status (statuses/share's pic), not as a "
                                "separate upload"))

    def publish(self, text: str, *, idempotency_key: str,
                media: Sequence[Attachment] = ()) -> Published:
        # Weibo takes no idempotency key: an unknown outcome is reconciled by find_published.
        rip = self._rip()
        status = self._with_share_url(text)
        self._check_text(text, self.max_length, sent=status)
        body = self._send("POST", api.SHARE, write=True, data={"status": status, "rip": rip},
                          files=pic_part(media))
        remote_id = id_of(body) if isinstance(body, dict) else None
        if not isinstance(body, dict) or remote_id is None:
            raise AmbiguousOutcome(
                _("Weibo {SHARE}: the answer carries no status id; the post may exist, reconcile before "
                  "any retry").format(SHARE=api.SHARE)
            )
        published = published_of(body, remote_id, self._uid, self._clock())
        log.info("weibo %s: published %s", self.account.name, published.remote_id)
        return published

    def find_published(self, text: str, since: datetime) -> Published | None:
        wanted = normalise_text(text)
        if not wanted:
            return None
        earliest = aware(since) - RECONCILE_SLACK
        body = self._send("GET", api.TIMELINE, params={"count": TIMELINE_COUNT, "trim_user": 1},
                          for_publishing=True)
        statuses = expect(body, dict, api.TIMELINE).get("statuses")
        found: list[Published] = []
        for status in statuses if isinstance(statuses, list) else []:
            if not isinstance(status, dict) or not isinstance(status.get("text"), str):
                continue
            raw = status["text"]
            if wanted not in (normalise_text(raw), normalise_text(html.unescape(raw))):
                continue
            created = parse_created_at(status.get("created_at"))
            remote_id = id_of(status)
            if created is None or created < earliest or remote_id is None:
                continue
            found.append(published_of(status, remote_id, self._uid, self._clock()))
        return min(found, key=lambda p: p.created_at) if found else None

    def delete(self, remote_id: str) -> None:
        status_id = require_id(remote_id, "status id")
        try:
            self._send("POST", api.DESTROY, write=True, data={"id": status_id})
        except StatusMissing:
            log.info("weibo %s: status %s was already gone", self.account.name, status_id)

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        """Comment on a status: ``remote_id`` is "STATUSID" (a new comment on the status) or
        "STATUSID:COMMENTID" (a reply to that comment). The result's ``remote_id`` is the new
        comment's id, as ``fetch_comments`` reports comments."""
        status_id, comment_id = _target(remote_id)
        # Comments stay within 140 even where an account posts long statuses.
        self._check_text(text, min(self.max_length, self.default_max_length))
        data = {"id": status_id, "comment": text}
        rip = self.account.options.get("rip")
        if rip:
            data["rip"] = str(rip).strip()
        path = api.COMMENTS_CREATE
        if comment_id is not None:
            data["cid"] = comment_id
            path = api.COMMENTS_REPLY
        body = self._send("POST", path, write=True, data=data)
        new_id = id_of(body) if isinstance(body, dict) else None
        if not isinstance(body, dict) or new_id is None:
            raise AmbiguousOutcome(
                _("Weibo {path}: the answer carries no comment id; the comment may exist, check before "
                  "any retry").format(path=path)
            )
        created = parse_created_at(body.get("created_at")) or self._clock()
        return Published(remote_id=new_id, url=self._post_url(status_id), created_at=created)

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        """Read the comments of the status (``comments/show``, newest first, back to
        ``since``) for our own comment with this text, answering the comment in ``target``
        when it names one. Weibo shows a reply as "回复@name:text"; the prefix is ignored."""
        wanted = normalise_text(text)
        status_id, comment_id = _target(target)
        if not wanted:
            return None
        earliest = aware(since) - RECONCILE_SLACK
        own_uid = self._learn_uid()
        found: list[Published] = []
        for page in self._comment_pages(status_id, None, for_publishing=True):
            older = False
            for raw in page:
                created = parse_created_at(raw.get("created_at"))
                if created is not None and created < earliest:
                    older = True
                    continue
                new_id = id_of(raw)
                if new_id is None or id_of(raw.get("user")) != own_uid:
                    continue
                answers = raw.get("reply_comment")
                if comment_id is not None and (
                        not isinstance(answers, dict) or id_of(answers) != comment_id):
                    continue
                shown = normalise_text(html.unescape(plain_text(raw.get("text"))))
                if _REPLY_PREFIX.sub("", shown, count=1) != wanted and shown != wanted:
                    continue
                found.append(Published(remote_id=new_id, url=self._post_url(status_id),
                                       created_at=created or self._clock()))
            if older:
                break
        return min(found, key=lambda p: p.created_at) if found else None

    def _post_url(self, status_id: str) -> str | None:
        return f"{WEB_BASE}/{self._uid}/{status_id}" if self._uid else None

    # --- metrics ---------------------------------------------------------------------

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        ids = unique_ids(remote_ids)
        counts: dict[str, Counts] = {}
        if self.counts_fallback:
            return self._counts_one_by_one(ids, counts)
        size = self.counts_batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            try:
                body = self._send("GET", api.COUNT, params={"ids": ",".join(chunk)})
            except PermissionDenied as exc:
                self.counts_fallback = True
                log.warning(
                    "weibo %s: statuses/count refused (%s); counting with statuses/show, "
                    "one call a post", self.account.name, exc.code,
                )
                return self._counts_one_by_one(ids[start:], counts)
            wanted = set(chunk)
            for item in expect(body, list, api.COUNT):
                status_id = id_of(item) if isinstance(item, dict) else None
                if status_id is not None and status_id in wanted:
                    counts[status_id] = counts_of(item)
        return counts

    def _counts_one_by_one(
        self, ids: Sequence[str], counts: dict[str, Counts]
    ) -> dict[str, Counts]:
        for status_id in ids:
            try:
                body = self._send("GET", api.SHOW, params={"id": status_id})
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
            counts[status_id] = counts_of(expect(body, dict, api.SHOW), show=True)
        return counts

    def _token_info(self) -> TokenInfo:
        body = self._send("POST", api.TOKEN_INFO, token_in_body=True)
        return token_info_of(body, self._clock())

    def _learn_uid(self) -> str:
        if self._uid is None:
            self._uid = self._token_info().uid
        return self._uid

    def _user(self, uid: str) -> dict[str, Any]:
        return expect(self._send("GET", api.USERS_SHOW, params={"uid": uid}), dict, api.USERS_SHOW)

    def fetch_account(self) -> AccountCounts:
        return account_counts_of(self._user(self._learn_uid()))

    def verify(self) -> AccountInfo:
        info = self._token_info()
        configured = id_scalar(self.account.options.get("uid"))
        if configured is not None and configured != info.uid:
            raise ConfigError(
                f"{self._where('uid')}: " + _("set to {configured}, but the token belongs to Weibo "
                                             "user {uid}").format(configured=configured, uid=info.uid)
            )
        self._uid = info.uid
        self.token_expires_at = info.expires_at
        if info.expires_at is not None and info.expires_at <= self._clock():
            raise AuthError(
                _("the Weibo token has expired; run `outreach auth weibo --account {name}`").format(
                    name=self.account.name)
            )
        user = self._user(info.uid)
        try:
            self.refresh_budget()
        except (RemoteError, TransientError, RateLimited) as exc:
            log.info("weibo %s: rate limit status unavailable: %s", self.account.name, exc)
        return AccountInfo(
            remote_id=info.uid,
            handle=clip(user.get("screen_name")) or info.uid,
            followers_count=count(user.get("followers_count")),
        )

    # --- comments --------------------------------------------------------------------

    def fetch_comments(
        self, remote_ids: Sequence[str], since_id: str | None
    ) -> list[RemoteComment]:
        since = id_scalar(since_id) if since_id is not None else None
        if since_id is not None and since is None:
            log.warning("weibo %s: ignoring a non-numeric since_id", self.account.name)
        found: dict[str, RemoteComment] = {}
        for status_id in unique_ids(remote_ids):
            for page in self._comment_pages(status_id, since):
                for raw in page:
                    comment = comment_of(raw, status_id, self._learn_uid, self._clock)
                    if comment is None or (
                            since is not None and int(comment.remote_id) <= int(since)):
                        continue
                    found.setdefault(comment.remote_id, comment)
        return sorted(found.values(), key=lambda c: (c.created_at, int(c.remote_id)))

    def _comment_pages(self, status_id: str, since: str | None, *,
                       for_publishing: bool = False) -> Iterator[list[Any]]:
        """The comments under one status newer than ``since``, a page (newest first) at a
        time. For reconciliation (``for_publishing``) the pages hold only JSON objects."""
        max_id: int | None = None
        for _page in range(MAX_COMMENT_PAGES):
            params: dict[str, Any] = {"id": status_id, "count": COMMENTS_PAGE}
            if since is not None:
                params["since_id"] = since
            if max_id is not None:
                params["max_id"] = max_id
            body = expect(self._send("GET", api.COMMENTS_SHOW, params=params,
                                     for_publishing=for_publishing), dict, api.COMMENTS_SHOW)
            page = body.get("comments")
            page = page if isinstance(page, list) else []
            if for_publishing:
                page = [c for c in page if isinstance(c, dict)]
            yield page
            ids = page_ids(page)
            if len(page) < COMMENTS_PAGE or not ids:
                return
            next_max = min(ids) - 1
            if (max_id is not None and next_max >= max_id) or (
                since is not None and next_max <= int(since)
            ):
                return
            max_id = next_max


def _target(target: str) -> tuple[str, str | None]:
    """"STATUSID" or "STATUSID:COMMENTID" as (status id, comment id or None)."""
    status_part, sep, comment_part = target.partition(":")
    status_id = require_id(status_part, "status id")
    comment_id = require_id(comment_part, "comment id") if sep else None
    return status_id, comment_id
