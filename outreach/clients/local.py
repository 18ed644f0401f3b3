"""The ``local`` platform: an embedded microblog in its own SQLite file.

A newcomer can run the whole pipeline with no account and no network. Its
audience is *simulated*: each status draws, from a seed and its own id, how many
reposts, comments and likes it will gather (rates in the range of the origin
article: about 19 reposts and 18 comments a post) and when they arrive; followers
grow with engagement and a little every day. Everything is a pure function of
the statuses and the clock, so the same inputs always give the same figures.

It honours idempotency keys, and tests can inject faults and delays per
operation (``LocalPlatform.add_fault``), stored in the platform's file so that a
daemon in another process sees them.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from outreach.clients.base import (
    AccountCounts,
    AccountInfo,
    Clock,
    Counts,
    Published,
    RemoteComment,
    normalise_text,
    utcnow,
    weibo_length,
)
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    TransientError,
)

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
FAULT_KINDS = ("delay", "delay_after", "transient", "ambiguous", "rate_limited", "auth", "rejected",
               "duplicate")

# Comments of the simulated public, by opinion class (zh, en). Personal data in
# some of them is fictitious and exists to exercise redaction.
_COMMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "praise": (
        ("说得太好了，转给爸妈看看", "感谢警察同志的提醒！", "很实用，已收藏", "点赞平安北京，每天都有干货",
         "这个提醒很及时，谢谢"),
        ("Thanks for the reminder!", "Really useful, shared with my parents.",
         "Great advice, thank you officers."),
    ),
    "inquiry": (
        ("请问96110可以直接打吗？要不要加区号？", "想问一下国家反诈中心App在哪里下载？",
         "如果已经转账了，多久之内报警还有用？", "电动车上牌需要带什么材料？"),
        ("How do I report a scam call?", "Is there a number for non-emergencies?",
         "Where can I get my bike marked?"),
    ),
    "help": (
        ("我刚刚被骗了2000块，现在该怎么办", "家里老人总接到陌生电话，怎么帮他设置拦截？",
         "孩子的游戏账号被盗了，能报案吗"),
        ("I think I just got scammed, what should I do now?",
         "My mum keeps getting these calls, how can I block them?"),
    ),
    "tip": (
        ("举报：小区门口有人在发刷单兼职传单", "我们楼下有人冒充燃气公司上门收费，已经好几家了",
         "举报一个诈骗电话，自称是公安局的，号码是13812345678"),
        ("There's a van going door to door selling 'roof repairs' on Elm Street.",
         "Someone is handing out fake job flyers outside the station."),
    ),
    "complaint": (
        ("上周打110半天没人接，这个怎么解释", "路口那个红绿灯坏了一个月了也没人管",
         "报警以后一直没人回访，很失望"),
        ("Reported a break-in two weeks ago and heard nothing back.",
         "The traffic light at the junction has been broken for a month."),
    ),
    "suggestion": (
        ("建议多发一些针对老年人的视频，文字太小了", "可以在社区里多搞几场反诈讲座",
         "建议把这些提示做成方言版"),
        ("Could you post these in other languages too?",
         "Maybe hold a talk at the community centre?"),
    ),
    "negative": (
        ("天天发这些有什么用，骗子还是那么多", "说得容易，真遇到了根本来不及反应",
         "又是老生常谈"),
        ("Posting tips won't stop the scammers.", "Same advice every week, not helpful."),
    ),
    "chatter": (
        ("来了来了", "第一", "哈哈哈哈", "转发", "路过"),
        ("First!", "lol", "Nice."),
    ),
    "spam_abuse": (
        ("加V看福利 vx8888", "兼职日结，私聊我，无需押金", "关注我互粉"),
        ("Follow me for crypto gains!!!", "Click my profile for free money"),
    ),
    "emergency": (
        ("救命，有人在砸我家门，地址是朝阳区某小区3号楼", "我朋友说要跳楼，现在在天台上，怎么办"),
        ("Help, someone is trying to break into my flat right now!",
         "My friend says he wants to end his life, he is on the bridge now"),
    ),
}
_CLASS_WEIGHTS = {"praise": 30, "inquiry": 16, "chatter": 18, "suggestion": 7, "negative": 8,
                  "complaint": 6, "help": 6, "tip": 5, "spam_abuse": 3, "emergency": 1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statuses (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    text TEXT NOT NULL,
    idempotency_key TEXT,
    in_reply_to TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (account, idempotency_key)
);
CREATE INDEX IF NOT EXISTS ix_statuses_account ON statuses (account, id);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    account TEXT,
    op TEXT NOT NULL,
    kind TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    delay_ms INTEGER NOT NULL DEFAULT 0,
    retry_seconds INTEGER NOT NULL DEFAULT 60
);
"""


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class _Audience:
    """What one status will gather, and how fast (a saturating curve)."""

    reposts: int
    comments: int
    likes: int
    followers_gain: int
    tau_hours: float


class LocalPlatform:
    """The embedded platform's file: statuses, and faults injected by tests."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def add_fault(self, op: str, kind: str, *, count: int = 1, account: str | None = None,
                  delay_ms: int = 0, retry_seconds: int = 60) -> None:
        """Make the next ``count`` calls of ``op`` (publish, reply, fetch_counts, …) fail."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO faults (account, op, kind, remaining, delay_ms, retry_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?)", (account, op, kind, count, delay_ms, retry_seconds))

    def take_fault(self, op: str, account: str) -> tuple[str, int, int] | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id, kind, delay_ms, retry_seconds FROM faults WHERE op = ? AND remaining > 0"
                " AND (account IS NULL OR account = ?) ORDER BY id LIMIT 1", (op, account)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row[0],))
            return row[1], row[2], row[3]

    def statuses(self, account: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        sql = ("SELECT id, text, idempotency_key, in_reply_to, created_at, deleted_at FROM statuses"
               " WHERE account = ?" + ("" if include_deleted else " AND deleted_at IS NULL")
               + " ORDER BY id")
        return [dict(zip(("id", "text", "idempotency_key", "in_reply_to", "created_at",
                          "deleted_at"), r, strict=True)) for r in self.query(sql, (account,))]


class LocalClient:
    platform: ClassVar[str] = "local"
    config_keys: ClassVar[frozenset[str]] = frozenset({"seed", "followers"})
    needs_token: ClassVar[bool] = False
    counts_batch_size: ClassVar[int] = 500
    simulated: ClassVar[bool] = True
    idempotency_window: ClassVar[timedelta | None] = None  # keys are honoured, but reconcile
    default_max_length: ClassVar[int] = 140

    def __init__(self, account: AccountSettings, *, http: httpx.Client | None = None,
                 clock: Clock = utcnow) -> None:
        self.account = account
        self.clock = clock
        self.seed = int(account.options.get("seed", 2011))
        self.base_followers = int(account.options.get("followers", 12_000))
        self._delay_after = 0.0
        self._comment_cache: dict[tuple[int, datetime], list[RemoteComment]] = {}
        self._audience_cache: dict[int, _Audience] = {}

    @cached_property
    def platform_db(self) -> LocalPlatform:
        """Opened on first use, so commands that only check texts create no file."""
        return LocalPlatform(self.account.data_dir / "local-platform.db")

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> tuple[str, str] | None:
        for key in ("seed", "followers"):
            if key in options and (not isinstance(options[key], int) or options[key] < 0):
                return key, "must be a non-negative integer"
        return None

    def close(self) -> None:
        if "platform_db" in self.__dict__:
            self.platform_db.close()

    @property
    def max_length(self) -> int:
        return self.account.max_length or self.default_max_length

    def text_length(self, text: str) -> int:
        return weibo_length(text)

    def text_problems(self, text: str) -> list[str]:
        return []

    def reply_target(self, post_remote_id: str | None, comment_remote_id: str) -> str:
        return f"{post_remote_id}:{comment_remote_id}" if post_remote_id else comment_remote_id

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
            raise TransientError(f"local platform: injected connection failure on {op}")
        if kind == "rate_limited":
            raise RateLimited("local platform: injected rate limit",
                              retry_at=self.clock() + timedelta(seconds=retry_seconds))
        if kind == "auth":
            raise AuthError("local platform: injected expired token")
        if kind == "rejected":
            raise ContentRejected("local platform: injected rejection (sensitive content)")
        if kind == "duplicate":
            raise DuplicateContent("local platform: injected duplicate content")
        return kind  # ambiguous

    # --- the contract -------------------------------------------------------------

    def verify(self) -> AccountInfo:
        self._fault("verify")
        return AccountInfo(remote_id=self.account.name, handle=f"@{self.account.name}",
                           followers_count=self.fetch_account().followers)

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise ContentRejected("text is blank")
        length = self.text_length(text)
        if length > self.max_length:
            raise ContentRejected(f"text is {length} long; the limit is {self.max_length}")

    def _create(self, text: str, idempotency_key: str, in_reply_to: str | None) -> Published:
        now = self.clock()
        with self.platform_db.transaction() as conn:
            row = conn.execute(
                "SELECT id, created_at FROM statuses WHERE account = ? AND idempotency_key = ?",
                (self.account.name, idempotency_key)).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO statuses (account, text, idempotency_key, in_reply_to, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (self.account.name, text, idempotency_key, in_reply_to, _iso(now)))
                row = (cur.lastrowid, _iso(now))
        return self._published(int(row[0]), _dt(row[1]))

    def _published(self, status_id: int, created_at: datetime) -> Published:
        return Published(remote_id=str(status_id),
                         url=f"local://{self.account.name}/status/{status_id}",
                         created_at=created_at)

    def publish(self, text: str, *, idempotency_key: str) -> Published:
        self._check_text(text)
        fault = self._fault("publish")
        published = self._create(text, idempotency_key, None)
        if self._delay_after:
            delay, self._delay_after = self._delay_after, 0.0
            time.sleep(delay)
        if fault == "ambiguous":
            raise AmbiguousOutcome("local platform: injected dropped connection after publish")
        return published

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        self._check_text(text)
        fault = self._fault("reply")
        published = self._create(text, idempotency_key, remote_id)
        if fault == "ambiguous":
            raise AmbiguousOutcome("local platform: injected dropped connection after reply")
        return published

    def find_published(self, text: str, since: datetime) -> Published | None:
        self._fault("find_published")
        want = normalise_text(text)
        for s in reversed(self.platform_db.statuses(self.account.name)):
            created = _dt(s["created_at"])
            if created < since - timedelta(minutes=1):
                break
            if s["in_reply_to"] is None and normalise_text(s["text"]) == want:
                return self._published(s["id"], created)
        return None

    def find_reply(self, target: str, text: str, since: datetime) -> Published | None:
        self._fault("find_reply")
        want = normalise_text(text)
        for s in reversed(self.platform_db.statuses(self.account.name)):
            created = _dt(s["created_at"])
            if created < since - timedelta(minutes=1):
                break
            if s["in_reply_to"] == target and normalise_text(s["text"]) == want:
                return self._published(s["id"], created)
        return None

    def delete(self, remote_id: str) -> None:
        self._fault("delete")
        with self.platform_db.transaction() as conn:
            conn.execute("UPDATE statuses SET deleted_at = ? WHERE account = ? AND id = ?"
                         " AND deleted_at IS NULL",
                         (_iso(self.clock()), self.account.name, _int(remote_id)))

    # --- the simulated audience ---------------------------------------------------

    def _audience(self, status_id: int) -> _Audience:
        cached = self._audience_cache.get(status_id)
        if cached is None:
            cached = self._audience_cache[status_id] = self._draw_audience(status_id)
        return cached

    def _draw_audience(self, status_id: int) -> _Audience:
        rng = random.Random(f"{self.seed}:{self.account.name}:{status_id}")
        appeal = rng.lognormvariate(0, 0.6)  # some tips travel further than others
        return _Audience(
            reposts=round(16 * appeal),
            comments=round(15 * appeal),
            likes=round(55 * appeal),
            followers_gain=round(25 * appeal),
            tau_hours=rng.uniform(3, 18),
        )

    @staticmethod
    def _share(aud: _Audience, age: timedelta) -> float:
        hours = max(age.total_seconds() / 3600, 0.0)
        return 1 - math.exp(-hours / aud.tau_hours)

    def fetch_counts(self, remote_ids: Sequence[str]) -> dict[str, Counts]:
        self._fault("fetch_counts")
        now = self.clock()
        wanted = {_int(r) for r in remote_ids}
        out: dict[str, Counts] = {}
        for s in self.platform_db.statuses(self.account.name):
            if s["id"] not in wanted:
                continue
            aud = self._audience(s["id"])
            share = self._share(aud, now - _dt(s["created_at"]))
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
            first = _dt(statuses[0]["created_at"])
            followers += max(0, (now - first).days) * 3  # slow organic growth
        for s in statuses:
            aud = self._audience(s["id"])
            followers += math.floor(aud.followers_gain * self._share(aud, now - _dt(s["created_at"])))
        own = sum(1 for s in statuses if s["in_reply_to"] is None)
        return AccountCounts(followers=followers, following=120, statuses=own)

    def _all_comments(self, status_id: int, created: datetime) -> list[RemoteComment]:
        """Every comment a status will ever get, in arrival order (cached: it never changes)."""
        key = (status_id, created)
        cached = self._comment_cache.get(key)
        if cached is not None:
            return cached
        aud = self._audience(status_id)
        rng = random.Random(f"{self.seed}:{self.account.name}:{status_id}:comments")
        zh = self.account.lang == "zh"
        classes = list(_CLASS_WEIGHTS)
        weights = list(_CLASS_WEIGHTS.values())
        out = []
        for n in range(aud.comments):
            # the n-th comment arrives when the curve reaches (n + 0.5) / total
            share = (n + 0.5) / aud.comments
            at = created + timedelta(hours=-aud.tau_hours * math.log(1 - share))
            klass = rng.choices(classes, weights)[0]
            pool = _COMMENTS[klass][0 if zh else 1]
            text = pool[rng.randrange(len(pool))]
            ms = int((at - EPOCH).total_seconds() * 1000)
            cid = f"{ms:014d}{status_id % 1_000_000:06d}{n:04d}"
            out.append(RemoteComment(
                remote_id=cid, post_remote_id=str(status_id),
                author=f"{'网友' if zh else 'user'}{rng.randrange(10_000, 99_999)}",
                text=text, url=f"local://{self.account.name}/status/{status_id}#c{cid}",
                created_at=at))
        self._comment_cache[key] = out
        return out

    def _comments_until(self, status: dict[str, Any], now: datetime) -> list[RemoteComment]:
        if status["in_reply_to"] is not None:
            return []
        comments = self._all_comments(status["id"], _dt(status["created_at"]))
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
                created = _dt(s["created_at"])
                ms = int((created - EPOCH).total_seconds() * 1000)
                found.append(RemoteComment(
                    remote_id=f"{ms:014d}{s['id'] % 1_000_000:06d}9999",
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
