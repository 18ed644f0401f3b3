"""Mastodon: one account on one instance, over the REST API with a bearer token.

What differs from the contract in ``base.py`` is declared here: the length rule
(URLs count ``characters_reserved_per_url``, a remote mention ``@user@domain``
counts as ``@user``), the ``visibility`` option, and how counts are batched:
paging the account's own statuses 40 at a time, or ``GET /api/v1/statuses?id[]=``
in chunks of 20 (Mastodon ≥ 4.3) when the wanted posts are few and old.

Requests, rate-limit buckets and the translation of every failure are ``api.py``
(with ``errors.py``); the bodies are read by ``parse.py``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from outreach.clients.base import (
    AccountCounts,
    AccountInfo,
    Attachment,
    Clock,
    Counts,
    HttpClientOwner,
    Published,
    RemoteComment,
    as_int,
    normalise_text,
    request_deadline,
)
from outreach.clients.mastodon.api import STATUSES, Api
from outreach.clients.mastodon.instance import Instance
from outreach.clients.mastodon.media import Sleep, attached, status_key
from outreach.clients.mastodon.media import upload as media_upload
from outreach.clients.mastodon.parse import (
    LEADING_MENTIONS,
    PAGE_SIZE,
    Own,
    comment_of,
    counts_of,
    html_to_text,
    id_key,
    is_numeric,
    newer,
    pages_left,
    parse_time,
    published_of,
    seg,
    str_id,
)
from outreach.clients.mastodon.parse import text_length as mastodon_length
from outreach.errors import ContentRejected, MediaExpired, RemoteError
from outreach.i18n import _
from outreach.media.limits import MediaLimits
from outreach.times import aware, utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings

log = logging.getLogger(__name__)

VISIBILITIES = ("public", "unlisted", "private", "direct")
IDS_CHUNK = 20  # the cap of GET /api/v1/statuses?id[]= on Mastodon ≥ 4.3
MAX_FIND_PAGES = 50  # reconciliation looks back at most 2,000 statuses
MAX_MENTION_PAGES = 25  # one comments sweep reads at most 1,000 mentions
_REFUSED_LOOKUP = frozenset({400, 404, 405, 422})  # GET /api/v1/statuses?id[]= unsupported


class MastodonClient(HttpClientOwner):
    """A Mastodon account. ``api_base`` is the instance URL, e.g. https://mastodon.social."""

    platform: ClassVar[str] = "mastodon"
    config_keys: ClassVar[frozenset[str]] = frozenset({"visibility"})
    needs_token: ClassVar[bool] = True
    counts_batch_size: ClassVar[int] = PAGE_SIZE
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)  # as Mastodon keeps keys
    uploads_media: ClassVar[bool] = True
    simulated: ClassVar[bool] = False

    def __init__(self, account: AccountSettings, *, http: httpx.Client | None = None,
                 clock: Clock = utcnow, sleep: Sleep = time.sleep) -> None:
        self._account = account
        self._use_http(http)
        self._clock = clock
        self._api = Api(account, self._http, clock)
        self._instance = Instance(account, self._api, clock)
        self._sleep = sleep  # while the server processes an upload (injected in tests)
        self._own_cache: Own | None = None
        self._ids_lookup: bool | None = None  # None: not tried yet
        self.counts_fallback = False  # counts always come in batches
        self.token_expires_at: datetime | None = None  # Mastodon tokens do not expire

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
        return self._instance.limits().max_characters

    @property
    def url_weight(self) -> int:
        return self._instance.limits().url_weight

    def text_problems(self, text: str) -> list[str]:
        return []

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        return comment_remote_id  # a reply is a status in reply to the comment's status

    def text_length(self, text: str) -> int:
        return mastodon_length(text, lambda: self.url_weight)

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
        me: dict[str, Any] = self._api.get_json("/api/v1/accounts/verify_credentials")
        own_id = str_id(me.get("id"))
        if own_id is None:
            raise self._api.unreadable("GET", "/api/v1/accounts/verify_credentials",
                                       "the answer has no account id", write=False)
        username = me.get("username") if isinstance(me.get("username"), str) else ""
        acct = me.get("acct") if isinstance(me.get("acct"), str) else username
        self._own_cache = Own(id=own_id, acct=str(acct), username=str(username or acct))
        return me

    def _own(self) -> Own:
        if self._own_cache is None:
            self._verify_credentials()
        assert self._own_cache is not None
        return self._own_cache

    # --- writes ------------------------------------------------------------------------

    def media_limits(self) -> MediaLimits:
        return self._instance.limits().media

    def upload_media(self, data: bytes, *, mime: str, alt: str) -> str:
        return media_upload(self._api, data, mime=mime, alt=alt, clock=self._clock,
                            deadline=request_deadline(self._http), sleep=self._sleep)

    def publish(self, text: str, *, idempotency_key: str,
                media: Sequence[Attachment] = ()) -> Published:
        return self._post_status(text, idempotency_key=idempotency_key, media=media)

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        return self._post_status(text, idempotency_key=idempotency_key, in_reply_to=remote_id)

    def _post_status(self, text: str, *, idempotency_key: str, in_reply_to: str | None = None,
                     media: Sequence[Attachment] = ()) -> Published:
        key = idempotency_key
        if not key or not key.isascii() or not key.isprintable():
            raise ValueError("idempotency_key must be non-empty printable ASCII")
        if not text.strip():
            raise ContentRejected(_("the text is blank"))
        length, limit = self.text_length(text), self.max_length
        if length > limit:
            raise ContentRejected(_("the text is {length} characters; Mastodon takes {limit}").format(
                length=length, limit=limit))
        payload: dict[str, Any] = {
            "status": text,
            "visibility": self._account.options.get("visibility", "public"),
            "language": self._account.lang,
        }
        if in_reply_to is not None:
            payload["in_reply_to_id"] = in_reply_to
        ids = [m.remote_id for m in media if m.remote_id]
        if len(ids) != len(media):
            raise ValueError("Mastodon names pictures by their upload ids: upload them first")
        if ids:
            payload["media_ids"] = ids
        body = self._api.call_json(
            "POST", STATUSES, payload=payload, write=True,
            headers={"Idempotency-Key": status_key(idempotency_key, media)})
        if not isinstance(body, dict) or str_id(body.get("id")) is None:
            raise self._api.unreadable("POST", STATUSES, "the answer has no status id",
                                       write=True)
        published = published_of(body, self._clock)
        if missing := set(ids) - attached(body):
            self._drop_incomplete(published.remote_id, missing)
        log.info("mastodon %s: posted status %s", self._account.name, published.remote_id)
        return published

    def _drop_incomplete(self, remote_id: str, missing: set[str]) -> None:
        """A status the server made without some of its pictures (an older Mastodon leaves
        out an upload it no longer knows) must not stay: it is deleted, and the pictures
        are uploaded again (``MediaExpired``)."""
        log.warning("mastodon %s: status %s came back without picture(s) %s; deleting it",
                    self._account.name, remote_id, ", ".join(sorted(missing)))
        self.delete(remote_id)
        raise MediaExpired(_("mastodon: the server does not know picture(s) {value} (posted without "
                             "them; deleted)").format(
            value=', '.join(sorted(missing))))

    def delete(self, remote_id: str) -> None:
        path = f"{STATUSES}/{seg(remote_id)}"
        try:
            self._api.call_json("DELETE", path, write=True)
        except RemoteError as exc:
            if exc.code != 404:
                raise
            log.info("mastodon %s: status %s was already gone", self._account.name, remote_id)
            return
        log.info("mastodon %s: deleted status %s", self._account.name, remote_id)

    # --- reads -------------------------------------------------------------------------

    def find_published(self, text: str, since: datetime) -> Published | None:
        since = aware(since)
        want = normalise_text(text)
        for page in self._own_pages(max_pages=MAX_FIND_PAGES):
            older = False
            for st in page:
                created = parse_time(st.get("created_at"))
                if created is not None and created < since:
                    older = True
                    continue
                if normalise_text(html_to_text(st.get("content"))) == want:
                    return published_of(st, self._clock)
            if older:
                break
        return None

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        """Our own status with this text among the replies to ``target`` (its context's
        descendants), posted at or after ``since``."""
        since = aware(since) - timedelta(minutes=1)
        want = normalise_text(text)
        own = self._own()
        try:
            context = self._api.get_json(f"{STATUSES}/{seg(target)}/context")
        except RemoteError as exc:
            if exc.code != 404:
                raise
            return None
        descendants = context.get("descendants") if isinstance(context, dict) else None
        found: list[Published] = []
        for st in descendants if isinstance(descendants, list) else []:
            if not isinstance(st, dict) or str_id(st.get("in_reply_to_id")) != str(target):
                continue
            account = st.get("account")
            if not isinstance(account, dict) or str_id(account.get("id")) != own.id:
                continue
            created = parse_time(st.get("created_at"))
            if created is None or created < since:
                continue
            shown = html_to_text(st.get("content"))
            if want in (normalise_text(shown), normalise_text(LEADING_MENTIONS.sub("", shown))):
                found.append(published_of(st, self._clock))
        return min(found, key=lambda p: p.created_at) if found else None

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        pending = {str(i) for i in remote_ids if i is not None and str(i)}
        result: dict[str, Counts] = {}
        if not pending:
            return result
        if len(pending) <= IDS_CHUNK and self._lookup_counts(pending, result):
            return result
        numeric = all(is_numeric(i) for i in pending)
        oldest = min(int(i) for i in pending) if numeric else None
        seen = 0
        total: int | None = None
        newest: int | None = None
        for page in self._own_pages():
            for st in page:
                sid = str_id(st.get("id"))
                if sid is None:
                    continue
                seen += 1
                if sid in pending:
                    pending.discard(sid)
                    result[sid] = counts_of(st)
            if total is None:
                account = page[0].get("account")
                total = as_int(account.get("statuses_count")) if isinstance(account, dict) else None
            last = str_id(page[-1].get("id")) or ""
            if newest is None and (first := str_id(page[0].get("id"))) and is_numeric(first):
                newest = int(first)
            if not pending or len(page) < PAGE_SIZE or (total is not None and seen >= total):
                break
            if oldest is not None and is_numeric(last) and int(last) <= oldest:
                break  # past the oldest wanted post: the ones not seen were deleted
            left = pages_left(seen, total, newest, last, oldest)
            if math.ceil(len(pending) / IDS_CHUNK) < left and self._lookup_counts(
                pending, result
            ):
                break
        return result

    def _lookup_counts(self, pending: set[str], result: dict[str, Counts]) -> bool:
        """Counts by ``GET /api/v1/statuses?id[]=`` in chunks; False if the server refuses it."""
        if self._ids_lookup is False:
            return False
        ids = sorted(pending, key=id_key)
        for start in range(0, len(ids), IDS_CHUNK):
            chunk = ids[start : start + IDS_CHUNK]
            try:
                body = self._api.get_json(STATUSES, params={"id[]": chunk}, expect=list)
            except RemoteError as exc:
                if self._ids_lookup is None and exc.code in _REFUSED_LOOKUP:
                    log.info("mastodon %s: no GET /api/v1/statuses?id[] (%s); paging instead",
                             self._account.name, exc.code)
                    self._ids_lookup = False
                    return False
                raise
            self._ids_lookup = True
            for st in body:
                sid = str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is not None and sid in pending:
                    pending.discard(sid)
                    result[sid] = counts_of(st)
        pending.clear()  # what the server did not return is gone
        return True

    def _own_pages(self, max_pages: int | None = None) -> Iterable[list[dict[str, Any]]]:
        """The account's own statuses, newest first, one page at a time."""
        path = f"/api/v1/accounts/{seg(self._own().id)}/statuses"
        params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        pages = 0
        while max_pages is None or pages < max_pages:
            page = [st for st in self._api.get_json(path, params=params, expect=list)
                    if isinstance(st, dict)]
            pages += 1
            if not page:
                return
            yield page
            last = str_id(page[-1].get("id"))
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
                context = self._api.get_json(f"{STATUSES}/{seg(root)}/context")
            except RemoteError as exc:
                if exc.code != 404:
                    raise
                log.info("mastodon %s: status %s is gone; no replies read",
                         self._account.name, root)
                continue
            descendants = context.get("descendants")
            for st in descendants if isinstance(descendants, list) else []:
                sid = str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is not None and sid not in root_set:
                    root_of.setdefault(sid, root)
                    statuses.setdefault(sid, st)
        for st in sorted(mentions, key=lambda s: id_key(str_id(s.get("id")) or "")):
            sid = str_id(st.get("id"))
            parent = str_id(st.get("in_reply_to_id"))
            if sid is None or parent is None or sid in root_set:
                continue
            under = parent if parent in root_set else root_of.get(parent)
            if under is not None:
                root_of.setdefault(sid, under)
                statuses.setdefault(sid, st)

        comments: list[RemoteComment] = []
        for sid, st in statuses.items():
            if not newer(sid, since_id):
                continue
            comment = comment_of(st, sid, root_of[sid], root_set, own)
            if comment is None:
                log.warning("mastodon %s: reply %s has no readable created_at; skipped",
                            self._account.name, sid)
            else:
                comments.append(comment)
        comments.sort(key=lambda c: (c.created_at, id_key(c.remote_id)))
        return comments

    def _recent_mentions(self, since_id: str | None) -> list[dict[str, Any]]:
        """Statuses that mention us, newest first, down to ``since_id`` (a status id).

        Notification ids are a sequence of their own on Mastodon, so ``since_id`` is not
        sent as the notifications cursor: pages are read until a mention is not newer.
        """
        params: dict[str, Any] = {"types[]": ["mention"], "limit": PAGE_SIZE}
        found: list[dict[str, Any]] = []
        for _page in range(MAX_MENTION_PAGES):
            page = self._api.get_json("/api/v1/notifications", params=params, expect=list)
            reached = False
            for note in page:
                if not isinstance(note, dict) or note.get("type", "mention") != "mention":
                    continue
                st = note.get("status")
                sid = str_id(st.get("id")) if isinstance(st, dict) else None
                if sid is None or not isinstance(st, dict):
                    continue
                if not newer(sid, since_id):
                    reached = True
                    continue
                found.append(st)
            last = str_id(page[-1].get("id")) if page and isinstance(page[-1], dict) else None
            if reached or len(page) < PAGE_SIZE or last is None or last == params.get("max_id"):
                return found
            params = {**params, "max_id": last}
        log.warning("mastodon %s: stopped after %s pages of mentions",
                    self._account.name, MAX_MENTION_PAGES)
        return found
