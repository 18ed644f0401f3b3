"""The ``local`` platform: an embedded microblog in its own SQLite file.

A newcomer can run the whole pipeline with no account and no network. Its audience is
*simulated* (``audience.py``); the statuses and the faults tests inject live in the
platform's file (``platform.py``).

It honours idempotency keys, and tests can inject faults and delays per operation
(``LocalPlatform.add_fault``).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from outreach.clients.base import (
    AccountCounts,
    AccountInfo,
    Attachment,
    Clock,
    Counts,
    Published,
    RemoteComment,
    WeiboTextRules,
    normalise_text,
)
from outreach.clients.local.audience import Audience, all_comments, comment_id, draw_audience
from outreach.clients.local.platform import LocalPlatform, instant, iso
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    TransientError,
)
from outreach.i18n import _
from outreach.media.limits import MediaLimits
from outreach.times import utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings


LOCAL_MEDIA = MediaLimits(max_count=9, max_bytes=10 * 1024 * 1024, max_pixels=None,
                          mimes=frozenset({"image/jpeg", "image/gif", "image/png", "image/webp"}))
"""The local platform takes what a Weibo user's own post may carry: up to nine pictures."""


class LocalClient(WeiboTextRules):
    """One account on the embedded platform; no network, no token."""

    platform: ClassVar[str] = "local"
    config_keys: ClassVar[frozenset[str]] = frozenset({"seed", "followers"})
    needs_token: ClassVar[bool] = False
    counts_batch_size: ClassVar[int] = 500
    uploads_media: ClassVar[bool] = False
    simulated: ClassVar[bool] = True
    idempotency_window: ClassVar[timedelta | None] = None  # keys are honoured, but reconcile

    def __init__(self, account: AccountSettings, *, http: httpx.Client | None = None,
                 clock: Clock = utcnow) -> None:
        self.account = account
        self.clock = clock
        self.seed = int(account.options.get("seed", 2011))
        self.base_followers = int(account.options.get("followers", 12_000))
        self._delay_after = 0.0
        self._comment_cache: dict[tuple[int, datetime], list[RemoteComment]] = {}
        self._audience_cache: dict[int, Audience] = {}
        self.counts_fallback = False  # counts always come in batches
        self.token_expires_at: datetime | None = None  # no token at all

    @cached_property
    def platform_db(self) -> LocalPlatform:
        """Opened on first use, so commands that only check texts create no file."""
        return LocalPlatform.shared(self.account.data_dir / "local-platform.db")

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> tuple[str, str] | None:
        for key in ("seed", "followers"):
            if key in options and (not isinstance(options[key], int) or options[key] < 0):
                return key, "must be a non-negative integer"
        return None

    def close(self) -> None:
        if "platform_db" in self.__dict__:
            self.__dict__.pop("platform_db").release()

    def text_problems(self, text: str) -> list[str]:
        return []

    # --- faults -------------------------------------------------------------------

    def _fault(self, op: str) -> str | None:
        """Apply an injected fault for ``op``; returns "ambiguous" to apply-then-fail."""
        fault = self.platform_db.take_fault(op, self.account.name)
        if fault is None:
            return None
        kind, delay_ms, retry_seconds = fault
        if kind == "delay":
            time.sleep(delay_ms / 1000)  # simulated network latency (tests only)
            return None
        if kind == "delay_after":
            self._delay_after = delay_ms / 1000  # applied, then the answer is slow
            return None
        if kind == "transient":
            raise TransientError(_("local platform: injected connection failure on {op}").format(op=op))
        if kind == "rate_limited":
            raise RateLimited(_("local platform: injected rate limit"),
                              retry_at=self.clock() + timedelta(seconds=retry_seconds))
        if kind == "auth":
            raise AuthError(_("local platform: injected expired token"))
        if kind == "rejected":
            raise ContentRejected(_("local platform: injected rejection (sensitive content)"))
        if kind == "duplicate":
            raise DuplicateContent(_("local platform: injected duplicate content"))
        return kind  # ambiguous

    # --- the contract -------------------------------------------------------------

    def verify(self) -> AccountInfo:
        self._fault("verify")
        return AccountInfo(remote_id=self.account.name, handle=f"@{self.account.name}",
                           followers_count=self.fetch_account().followers)

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise ContentRejected(_("text is blank"))
        length = self.text_length(text)
        if length > self.max_length:
            raise ContentRejected(_("text is {length} long; the limit is {max_length}").format(
                length=length, max_length=self.max_length))

    def _create(self, text: str, idempotency_key: str, in_reply_to: str | None,
                media: Sequence[Attachment] = ()) -> Published:
        now = self.clock()
        with self.platform_db.transaction() as conn:
            row = conn.execute(
                "SELECT id, created_at FROM statuses WHERE account = ? AND idempotency_key = ?",
                (self.account.name, idempotency_key)).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO statuses (account, text, idempotency_key, in_reply_to, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (self.account.name, text, idempotency_key, in_reply_to, iso(now)))
                row = (cur.lastrowid, iso(now))
                conn.executemany(  # the pictures go with the status, in one transaction
                    "INSERT INTO media (status_id, position, mime, alt, sha256, data)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(row[0], n, m.mime, m.alt, hashlib.sha256(m.data).hexdigest(), m.data)
                     for n, m in enumerate(media)])
        return self._published(int(row[0]), instant(row[1]))

    def _published(self, status_id: int, created_at: datetime) -> Published:
        return Published(remote_id=str(status_id),
                         url=f"local://{self.account.name}/status/{status_id}",
                         created_at=created_at)

    def media_limits(self) -> MediaLimits:
        return LOCAL_MEDIA

    def upload_media(self, data: bytes, *, mime: str, alt: str) -> str:
        raise ContentRejected(_("the local platform takes pictures with the status"))

    def _check_media(self, media: Sequence[Attachment]) -> None:
        if len(media) > LOCAL_MEDIA.max_count:
            raise ContentRejected(_("{media} pictures; the local platform takes {max_count}").format(
                media=len(media), max_count=LOCAL_MEDIA.max_count))
        for n, m in enumerate(media, 1):
            if not LOCAL_MEDIA.allows(m.mime) or len(m.data) > LOCAL_MEDIA.max_bytes:
                raise ContentRejected(_("picture {n} ({mime}, {data} bytes) is not one the local "
                                        "platform takes").format(
                    n=n, mime=m.mime, data=len(m.data)))
            if not m.alt.strip():
                raise ContentRejected(_("picture {n} has no alt text").format(n=n))

    def publish(self, text: str, *, idempotency_key: str,
                media: Sequence[Attachment] = ()) -> Published:
        self._check_text(text)
        self._check_media(media)
        fault = self._fault("publish")
        published = self._create(text, idempotency_key, None, media)
        if self._delay_after:
            delay, self._delay_after = self._delay_after, 0.0
            time.sleep(delay)
        if fault == "ambiguous":
            raise AmbiguousOutcome(_("local platform: injected dropped connection after publish"))
        return published

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        self._check_text(text)
        fault = self._fault("reply")
        published = self._create(text, idempotency_key, remote_id)
        if fault == "ambiguous":
            raise AmbiguousOutcome(_("local platform: injected dropped connection after reply"))
        return published

    def find_published(self, text: str, since: datetime) -> Published | None:
        self._fault("find_published")
        return self._find(text, since, None)

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        self._fault("find_reply")
        return self._find(text, since, target)

    def _find(self, text: str, since: datetime, in_reply_to: str | None) -> Published | None:
        """Our newest status with this text (a reply to ``in_reply_to``, or not a reply)
        made at or after ``since`` (a minute's slack)."""
        want = normalise_text(text)
        for s in reversed(self.platform_db.statuses(self.account.name)):
            created = instant(s["created_at"])
            if created < since - timedelta(minutes=1):
                break
            if s["in_reply_to"] == in_reply_to and normalise_text(s["text"]) == want:
                return self._published(s["id"], created)
        return None

    def delete(self, remote_id: str) -> None:
        self._fault("delete")
        with self.platform_db.transaction() as conn:
            conn.execute("UPDATE statuses SET deleted_at = ? WHERE account = ? AND id = ?"
                         " AND deleted_at IS NULL",
                         (iso(self.clock()), self.account.name, _int(remote_id)))

    # --- the simulated audience ---------------------------------------------------

    def _audience(self, status: dict[str, Any]) -> Audience:
        status_id = status["id"]
        cached = self._audience_cache.get(status_id)
        if cached is None:
            cached = self._audience_cache[status_id] = draw_audience(
                self.seed, self.account.name, status_id, status["pictures"])
        return cached

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        self._fault("fetch_counts")
        now = self.clock()
        wanted = {_int(r) for r in remote_ids}
        out: dict[str, Counts] = {}
        for s in self.platform_db.statuses(self.account.name):
            if s["id"] not in wanted:
                continue
            aud = self._audience(s)
            share = aud.share(now - instant(s["created_at"]))
            comments = len(self._comments_until(s, now))
            out[str(s["id"])] = Counts(reposts=math.floor(aud.reposts * share),
                                       comments=comments + self._own_replies(s["id"]),
                                       likes=math.floor(aud.likes * share))
        return out

    def _own_replies(self, status_id: int) -> int:
        rows = self.platform_db.query(
            "SELECT COUNT(*) FROM statuses WHERE account = ? AND in_reply_to LIKE ?"
            " AND deleted_at IS NULL", (self.account.name, f"{status_id}:%"))
        return int(rows[0][0])

    def fetch_account(self) -> AccountCounts:
        self._fault("fetch_account")
        now = self.clock()
        statuses = self.platform_db.statuses(self.account.name)
        followers = self.base_followers
        if statuses:
            first = instant(statuses[0]["created_at"])
            followers += max(0, (now - first).days) * 3  # slow organic growth
        for s in statuses:
            aud = self._audience(s)
            followers += math.floor(aud.followers_gain * aud.share(now - instant(s["created_at"])))
        own = sum(1 for s in statuses if s["in_reply_to"] is None)
        return AccountCounts(followers=followers, following=120, statuses=own)

    def _all_comments(self, status: dict[str, Any]) -> list[RemoteComment]:
        """Every comment a status will ever get, in arrival order (cached: it never changes)."""
        status_id, created = status["id"], instant(status["created_at"])
        key = (status_id, created)
        cached = self._comment_cache.get(key)
        if cached is None:
            cached = self._comment_cache[key] = all_comments(
                self.seed, self.account.name, self.account.lang == "zh", status_id, created,
                self._audience(status))
        return cached

    def _comments_until(self, status: dict[str, Any], now: datetime) -> list[RemoteComment]:
        if status["in_reply_to"] is not None:
            return []
        comments = self._all_comments(status)
        return comments[:bisect.bisect_right([c.created_at for c in comments], now)]

    def fetch_comments(self, remote_ids: Sequence[str], since_id: str | None) -> list[RemoteComment]:
        self._fault("fetch_comments")
        now = self.clock()
        wanted = {_int(r) for r in remote_ids}
        found: list[RemoteComment] = []
        statuses = self.platform_db.statuses(self.account.name)
        for s in statuses:
            if s["id"] in wanted:
                found.extend(self._comments_until(s, now))
        for s in statuses:  # our own replies, made here or through outreach
            target = s["in_reply_to"]
            if target and _int(target.split(":")[0]) in wanted:
                created = instant(s["created_at"])
                found.append(RemoteComment(
                    remote_id=comment_id(created, s["id"], 9999),
                    post_remote_id=target.split(":")[0], author=f"@{self.account.name}",
                    text=s["text"], url=None, created_at=created,
                    in_reply_to_remote_id=target.split(":", 1)[1] if ":" in target else None,
                    is_own=True))
        if since_id is not None:
            found = [c for c in found if int(c.remote_id) > int(since_id)]
        found.sort(key=lambda c: int(c.remote_id))
        return found


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
