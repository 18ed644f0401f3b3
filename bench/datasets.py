"""Workspaces the benchmarks run on, built through the project's own code and cached.

A workspace is what a department has on disk: ``config.toml`` (N accounts on the local
platform, three slots a day), ``content/`` (the shipped categories, calendar, templates,
blocklist and opinion rules, plus a generated library of T valid tips cloned from the
shipped ones) and ``outreach.db``.

The database is created by ``outreach.db.Database.ensure_schema`` (the project's
migrations); accounts and tip approvals go in through ``outreach.actions``; texts are
rendered by ``Runtime.render``. A year of history is then generated straight into the
tables with set-based inserts (SQLAlchemy Core ``executemany``): 6 posts a day per account,
change-only ``post_metrics`` snapshots (a post's counts change a few times in its first
days, then freeze), one ``account_metrics`` row a day, the public's comments (texts older
than ``keep_days`` already forgotten) and the daemon's ``published`` audit rows.

Workspaces are cached under the cache dir, keyed by their shape, the day the history ends
(today, UTC) and a hash of this file, so a rerun the same day reuses them.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import ROOT

ZONE = "Asia/Shanghai"
SLOTS: tuple[tuple[str, list[str]], ...] = (
    ("0 8 * * *", ["fraud"]), ("30 12 * * *", []), ("0 20 * * *", []))
# local times of a day's posts: the three slots first, then ad-hoc posts
POST_TIMES = (time(8, 0), time(12, 30), time(20, 0), time(10, 0), time(15, 30), time(18, 0),
              time(9, 15), time(16, 45))
SNAPSHOT_HOURS = (0.5, 2, 6, 24, 72)  # when a young post's counts change
KEEP_DAYS = 180
_COMMENT_POOL = {
    "praise": (["说得太好了，转给爸妈看看", "感谢警察同志的提醒！", "很实用，已收藏"],
               ["Thanks for the reminder!", "Great advice, thank you officers."]),
    "inquiry": (["请问96110可以直接打吗？要不要加区号？", "如果已经转账了，多久之内报警还有用？"],
                ["How do I report a scam call?", "Is there a number for non-emergencies?"]),
    "help": (["我刚刚被骗了2000块，现在该怎么办", "孩子的游戏账号被盗了，能报案吗"],
             ["I think I just got scammed, what should I do now?"]),
    "tip": (["举报：小区门口有人在发刷单兼职传单"], ["Someone is handing out fake job flyers."]),
    "complaint": (["上周打110半天没人接，这个怎么解释"], ["Reported a break-in and heard nothing."]),
    "suggestion": (["建议多发一些针对老年人的视频"], ["Could you post these in other languages?"]),
    "negative": (["天天发这些有什么用，骗子还是那么多"], ["Posting tips won't stop the scammers."]),
    "chatter": (["来了来了", "转发", "路过"], ["First!", "Nice."]),
    "spam_abuse": (["加V看福利 vx8888"], ["Follow me for crypto gains!!!"]),
    "emergency": (["救命，有人在砸我家门"], ["Help, someone is breaking in right now!"]),
}
_CLASS_WEIGHTS = {"praise": 30, "inquiry": 16, "chatter": 18, "suggestion": 7, "negative": 8,
                  "complaint": 6, "help": 6, "tip": 5, "spam_abuse": 3, "emergency": 1}
_NEEDS_REPLY = {"emergency", "help", "tip", "complaint", "inquiry"}


@dataclass(frozen=True)
class Shape:
    """How big a department is."""

    accounts: int = 50
    days: int = 365
    posts_per_day: int = 6
    tips: int = 1000
    comments_per_post: float = 3.0
    queued_per_account: int = 6  # ad-hoc posts queued two days ahead (for `queue list --status queued`)
    history: bool = True

    @property
    def posts(self) -> int:
        return self.accounts * (self.days * self.posts_per_day * self.history + self.queued_per_account)


@dataclass(frozen=True)
class Workspace:
    root: Path
    shape: Shape
    end: datetime  # the history ends here (today 00:00 UTC)

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "outreach.db"

    @property
    def content(self) -> Path:
        return self.root / "content"

    def account_names(self) -> list[str]:
        return account_names(self.shape.accounts)

    def db_files(self) -> list[Path]:
        return [self.db_path, self.db_path.with_name("outreach.db-wal"),
                self.db_path.with_name("outreach.db-shm")]


def account_names(n: int) -> list[str]:
    return [f"dept{i:02d}" for i in range(n)]


def account_lang(i: int) -> str:
    return "en" if i % 5 == 4 else "zh"  # 4 in 5 accounts are Chinese-language


def today_utc() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- the library -----------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def shipped_tips() -> list[dict[str, Any]]:
    """The shipped tips, interleaved by language and category (so a small library still has
    every category in both languages)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path in sorted((ROOT / "content" / "tips").glob("*.toml")):
        for tip in tomllib.loads(path.read_text(encoding="utf-8")).get("tip", []):
            groups.setdefault((tip.get("lang", ""), tip.get("category", "")), []).append(tip)
    out: list[dict[str, Any]] = []
    queues = list(groups.values())
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def write_library(content: Path, n_tips: int) -> None:
    """The shipped taxonomy, calendar, templates and rules, and ``n_tips`` valid tips: the
    shipped ones first, then clones with their own id and a numbered text (so every tip
    renders to its own text, as in a real library)."""
    src = ROOT / "content"
    content.mkdir(parents=True, exist_ok=True)
    for name in ("categories.toml", "calendar.toml", "blocklist.txt", "opinions.toml"):
        if (src / name).exists():
            shutil.copy2(src / name, content / name)
    shutil.copytree(src / "templates", content / "templates", dirs_exist_ok=True)
    base = shipped_tips()
    tips_dir = content / "tips"
    tips_dir.mkdir(exist_ok=True)
    chunk: list[str] = []
    files = 0
    for i in range(n_tips):
        tip = dict(base[i % len(base)])
        k = i // len(base)
        if k:
            tip["id"] = f"{tip['id']}-r{k}"
            suffix = f"（{k}）" if tip.get("lang") == "zh" else f" ({k})"
            tip["text"] = tip["text"] + suffix
            if tip.get("variants"):
                tip["variants"] = [v + suffix for v in tip["variants"]]
        chunk.append("[[tip]]\n" + "".join(f"{_key(key)} = {_toml(v)}\n" for key, v in tip.items()))
        if len(chunk) == 100 or i == n_tips - 1:
            (tips_dir / f"bench_{files:03d}.toml").write_text("\n".join(chunk), encoding="utf-8")
            chunk, files = [], files + 1


# --- the config ------------------------------------------------------------------------------


HOTLINES = {"police": "110", "fraud": "96110", "fire": "119", "traffic": "122", "medical": "120"}


def config_text(names: list[str], *, database: str = "sqlite:///outreach.db",
                platform: str = "local", extra_account: dict[str, Any] | None = None,
                slots: bool = True, policy: dict[str, Any] | None = None,
                lang: str | None = None) -> str:
    lines = ["[outreach]", f"database = {_toml(database)}", f"timezone = {_toml(ZONE)}",
             'content_dir = "content"', 'data_dir = "data"', ""]
    for i, name in enumerate(names):
        acc_lang = lang or account_lang(i)
        city, tag = ("北京", "平安北京") if acc_lang == "zh" else ("Beijing", "SafeBeijing")
        lines += [f"[accounts.{name}]", f"platform = {_toml(platform)}", f"lang = {_toml(acc_lang)}",
                  f"vars = {_toml({'city': city, 'hashtag': tag, 'hotline': HOTLINES})}"]
        if platform == "local":
            lines.append(f"seed = {2011 + i}")
        for key, value in (extra_account or {}).items():
            lines.append(f"{key} = {_toml(value)}")
        if slots:
            cells = [f"{{ cron = {_toml(cron)}" + (f", categories = {_toml(cats)}" if cats else "")
                     + " }" for cron, cats in SLOTS]
            lines.append("slots = [" + ", ".join(cells) + "]")
        lines.append("")
    # min_gap_minutes 0: the publishing benches put many posts of one account due at once
    # to measure throughput; spacing would hold all but one of them
    pol = {"require_approval": True, "allow_self_approval": False, "lease_seconds": 60,
           "cooldown_days": 30, "catch_up_minutes": 60, "min_gap_minutes": 0, "max_attempts": 5,
           "materialise_hours": 24, "quiet_hours": "23:00-07:00", **(policy or {})}
    lines += ["[policy]"] + [f"{k} = {_toml(v)}" for k, v in pol.items()] + [""]
    lines += ["[opinions]", f"keep_days = {KEEP_DAYS}", 'alert_command = ""', ""]
    return "\n".join(lines)


# --- cache -----------------------------------------------------------------------------------


def _code_hash() -> str:
    import inspect

    from outreach.store.db import MIGRATIONS

    h = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):  # the schema, indexes included
        h.update(path.read_bytes())
    for part in (write_library, config_text, populate, _History, _toml, _key):
        h.update(inspect.getsource(part).encode())
    h.update(repr((SLOTS, POST_TIMES, SNAPSHOT_HOURS, KEEP_DAYS, _COMMENT_POOL, _CLASS_WEIGHTS,
                   HOTLINES)).encode())
    for path in sorted((ROOT / "content").rglob("*")):
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def cached(cache: Path, kind: str, params: dict[str, Any],
           build: Callable[[Path], None]) -> tuple[Path, float]:
    """The directory for these parameters, built by ``build(tmp)`` when missing.

    Returns the directory and the build time (0.0 when it came from the cache)."""
    import time

    key = hashlib.sha256(json.dumps({**params, "code": _code_hash()}, sort_keys=True,
                                    default=str).encode()).hexdigest()[:12]
    target = cache / f"{kind}-{key}"
    if (target / ".complete").exists():
        return target, 0.0
    if target.exists():
        shutil.rmtree(target)
    tmp = cache / f".{kind}-{key}.{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        build(tmp)
        (tmp / ".complete").write_text(json.dumps(params, default=str))
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(cache, kind, keep=target)
    return target, time.perf_counter() - t0


def _prune(cache: Path, kind: str, keep: Path) -> None:
    """Keep at most three workspaces of a kind (older days' data is never used again)."""
    olds = sorted((p for p in cache.glob(f"{kind}-*") if p != keep),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for p in olds[2:]:
        shutil.rmtree(p, ignore_errors=True)


def department(cache: Path, shape: Shape, end: datetime | None = None) -> tuple[Workspace, float]:
    """The cached department workspace of this shape whose history ends at ``end``."""
    end = end or today_utc()

    def build(tmp: Path) -> None:
        write_library(tmp / "content", shape.tips)
        (tmp / "config.toml").write_text(config_text(account_names(shape.accounts)),
                                         encoding="utf-8")
        populate(Workspace(tmp, shape, end))

    root, seconds = cached(cache, "dept", {**asdict(shape), "end": end.isoformat()}, build)
    return Workspace(root, shape, end), seconds


def copy_workspace(ws: Workspace, dest: Path) -> Workspace:
    """A private copy to change (the daemon writes to its database)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ws.root, dest, ignore=shutil.ignore_patterns(".complete"))
    return Workspace(dest, ws.shape, ws.end)


# --- the history -----------------------------------------------------------------------------


def load(root: Path) -> Any:
    """The workspace's settings, read by the project's own config loader."""
    from outreach.config.load import load_settings

    return load_settings(root / "config.toml")


def runtime(ws: Workspace | Path, clock: datetime | None = None) -> Any:
    from outreach.runtime import Runtime

    root = ws.root if isinstance(ws, Workspace) else ws
    settings = load(root)
    if clock is None:
        return Runtime(settings)
    return Runtime(settings, clock=lambda: clock)


def approve_all(rt: Any) -> int:
    """Accounts get their rows and every valid tip is approved (the project's own code)."""
    from outreach.actions.accounts import sync_accounts
    from outreach.actions.tips import approve_tips

    sync_accounts(rt)
    lib = rt.library
    broken = {p.tip_id for p in lib.errors if p.tip_id} | set(lib.broken_tips)
    ids = [t.id for t in lib.tips.values() if t.id not in broken and not _render_problems(rt, t)]
    approve_tips(rt, ids, by="bench-supervisor")
    return len(ids)


def _render_problems(rt: Any, tip: Any) -> list[str]:
    """What ``approve_tips`` refuses a tip for (too long for an account of its language), checked
    on one account per language: the department's accounts of a language are alike."""
    from outreach.errors import ContentError
    from outreach.library.texts import render_tip, text_problems

    account = next((a for a in rt.settings.accounts.values() if a.lang == tip.lang), None)
    if account is None:
        return []
    out: list[str] = []
    for variant in range(len(tip.texts)):
        try:
            text = render_tip(rt.library, tip, variant, account)
        except ContentError as exc:
            out.append(exc.message)
            continue
        out.extend(text_problems(text, rt.client(account), rt.library))
    return out


def populate(ws: Workspace) -> None:
    """Schema, accounts, approvals, then a year of history with set-based inserts."""
    from sqlmodel import SQLModel

    shape = ws.shape
    rt = runtime(ws, clock=ws.end)
    try:
        approve_all(rt)
        tables = SQLModel.metadata.tables
        rows = _History(rt, ws)
        with rt.db.engine.begin() as conn:
            for name, batch in rows.batches():
                conn.execute(tables[name].insert(), batch)
        assert shape.posts == rows.post_count, (shape.posts, rows.post_count)
    finally:
        rt.close()
    checkpoint(ws.db_path)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, as SQLite does on its own every 1000 pages."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


class _History:
    """Row generators for posts, post_metrics, comments, account_metrics and audit_log."""

    BATCH = 20_000

    def __init__(self, rt: Any, ws: Workspace) -> None:
        self.rt = rt
        self.ws = ws
        self.rng = random.Random(2011)
        self.post_count = 0
        self._texts: dict[tuple[str, int, str], str] = {}
        lib = rt.library
        self.tips = {lang: [t for t in lib.tips_in(lang) if t.id not in lib.broken_tips]
                     for lang in ("zh", "en")}

    def _text(self, account: Any, tip: Any, variant: int) -> str:
        key = (tip.id, variant, account.lang)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = self.rt.render(tip.id, account, variant)
        return text

    def batches(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        pending: dict[str, list[dict[str, Any]]] = {}
        for table, row in self._rows():
            batch = pending.setdefault(table, [])
            batch.append(row)
            if len(batch) >= self.BATCH:
                yield table, batch
                pending[table] = []
        for table, batch in pending.items():
            if batch:
                yield table, batch

    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        from outreach.schedule.planner import slot_key

        rng = self.rng
        end = self.ws.end
        shape = self.ws.shape
        settings = self.rt.settings
        post_id = comment_id = 0
        for i, name in enumerate(self.ws.account_names()):
            account = settings.accounts[name]
            zone: ZoneInfo = account.timezone
            tips = self.tips[account.lang]
            zh = account.lang == "zh"
            followers = 8_000 + rng.randrange(20_000)
            statuses = 0
            first_day = end.astimezone(zone).date() - timedelta(days=shape.days)
            for d in range(shape.days if shape.history else 0):
                day = first_day + timedelta(days=d)
                for j in range(shape.posts_per_day):
                    at = datetime.combine(day, POST_TIMES[j % len(POST_TIMES)], zone).astimezone(UTC)
                    if at >= end:
                        continue
                    post_id += 1
                    slot = j < len(SLOTS)
                    tip = tips[(d * shape.posts_per_day + j + 7 * i) % len(tips)]
                    variant = (d // 7) % len(tip.texts)
                    roll = rng.random()
                    status = ("missed" if slot and roll < 0.01 else "failed" if roll < 0.015
                              else "retracted" if roll < 0.025 else "published")
                    row = self._post(post_id, name, at, status, slot_key(name, at) if slot else None,
                                     tip, variant, account)
                    yield "posts", row
                    if status not in ("published", "retracted"):
                        continue
                    statuses += 1
                    yield "audit_log", {"at": row["published_at"], "actor": "daemon",
                                        "action": "published", "account": name, "post_id": post_id,
                                        "target": row["remote_id"], "reason": None, "detail": None}
                    n_comments = min(int(rng.expovariate(1 / shape.comments_per_post)), 60) \
                        if shape.comments_per_post else 0
                    yield from self._snapshots(post_id, row["published_at"], n_comments)
                    for _ in range(n_comments):
                        comment_id += 1
                        yield "comments", self._comment(comment_id, name, post_id, row["published_at"],
                                                        zh)
                # the account's figures, once a day
                followers += rng.randrange(0, 40)
                observed = datetime.combine(day, time(23, 50), zone).astimezone(UTC)
                if observed < end:
                    yield "account_metrics", {"account": name, "observed_at": observed,
                                              "followers": followers, "following": 12,
                                              "statuses": statuses}
            # ad-hoc posts queued two days ahead
            for q in range(shape.queued_per_account):
                post_id += 1
                at = end + timedelta(days=2, minutes=37 * q + i)
                tip = tips[(q + i) % len(tips)]
                yield "posts", self._post(post_id, name, at, "queued", None, tip, 0, account)
        self.post_count = post_id

    def _post(self, post_id: int, name: str, at: datetime, status: str, key: str | None,
              tip: Any, variant: int, account: Any) -> dict[str, Any]:
        rng = self.rng
        went_out = status in ("published", "retracted")
        published = at + timedelta(seconds=rng.randrange(1, 20)) if went_out else None
        missed = status == "missed"
        return {
            "id": post_id, "account": name, "kind": "slot" if key else "adhoc", "status": status,
            "slot_key": key, "scheduled_at": at, "not_before": at,
            "tip_id": None if missed else tip.id, "variant": None if missed else variant,
            "category": "any" if missed else tip.category,
            "text": "" if missed else self._text(account, tip, variant),
            "idempotency_key": f"{rng.getrandbits(128):032x}", "reply_to_comment_id": None,
            "created_by": "planner" if key else "officer-wang",
            "approved_by": None if key else "supervisor-li",
            "approved_at": None if key else at - timedelta(hours=20),
            "remote_id": str(10_000_000 + post_id) if went_out else None,
            "remote_url": f"local://{name}/{10_000_000 + post_id}" if went_out else None,
            "published_at": published, "attempts": 0 if missed or status == "queued" else 1,
            "ambiguous": False, "catch_up": False,
            "last_error": ("exhausted: fraud" if missed else "rejected: too long" if status == "failed"
                           else None),
            "claimed_by": None, "lease_until": None,
            "first_attempt_at": published, "last_attempt_at": published,
            "metrics_checked_at": min(published + timedelta(days=30), self.ws.end) if published else None,
            "created_at": at - timedelta(days=1), "updated_at": published or at,
        }

    def _snapshots(self, post_id: int, published: datetime,
                   n_comments: int) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        final = (int(rng.expovariate(1 / 19)), n_comments, int(rng.expovariate(1 / 40)))
        k = rng.randint(2, len(SNAPSHOT_HOURS))
        hours = sorted(rng.sample(SNAPSHOT_HOURS, k))
        last: tuple[int, int, int] | None = None
        for n, h in enumerate(hours, 1):
            observed = published + timedelta(hours=h)
            if observed >= self.ws.end:
                break
            share = n / k
            figures = tuple(round(f * share) for f in final)
            if figures == last:
                continue  # change-only: no row when nothing changed
            last = figures  # type: ignore[assignment]
            yield "post_metrics", {"post_id": post_id, "observed_at": observed,
                                   "reposts": figures[0], "comments": figures[1], "likes": figures[2]}

    def _comment(self, comment_id: int, account: str, post_id: int, published: datetime,
                 zh: bool) -> dict[str, Any]:
        rng = self.rng
        klass = rng.choices(list(_CLASS_WEIGHTS), weights=list(_CLASS_WEIGHTS.values()))[0]
        created = min(published + timedelta(minutes=rng.randrange(1, 72 * 60)),
                      self.ws.end - timedelta(minutes=1))
        text = rng.choice(_COMMENT_POOL[klass][0 if zh else 1])
        needs = klass in _NEEDS_REPLY
        replied = created + timedelta(hours=rng.randrange(1, 30)) if needs and rng.random() < 0.85 else None
        if replied is not None and replied >= self.ws.end:
            replied = None
        return {
            "account": account, "remote_id": str(50_000_000 + comment_id), "post_id": post_id,
            "in_reply_to_remote_id": None, "author": f"网友{rng.randrange(100_000)}",
            "text": text if created >= self.ws.end - timedelta(days=KEEP_DAYS) else None,
            "url": f"local://{account}/c/{50_000_000 + comment_id}", "created_at": created,
            "fetched_at": created + timedelta(minutes=5), "class": klass, "labels": [],
            "is_own": False, "reply_required": needs, "replied_at": replied,
            "redacted": False,
        }


# --- small workspaces for the platform benchmarks --------------------------------------------


def platform_workspace(root: Path, *, platform: str, name: str, lang: str,
                       account: dict[str, Any], policy: dict[str, Any] | None = None) -> Path:
    """One account on a real platform (the peer or the fake Weibo), the shipped library."""
    if root.exists():
        shutil.rmtree(root)
    write_library(root / "content", len(shipped_tips()))
    text = config_text([name], platform=platform, extra_account=account, slots=False,
                       policy=policy, lang=lang)
    (root / "config.toml").write_text(text, encoding="utf-8")
    return root


def insert_posts(rt: Any, rows: list[dict[str, Any]]) -> None:
    """Posts rows straight into the table (every column given a value)."""
    from sqlmodel import SQLModel

    table = SQLModel.metadata.tables["posts"]
    blank: dict[str, Any] = {c.name: None for c in table.columns if c.name != "id"}
    blank.update(attempts=0, ambiguous=False, catch_up=False, kind="adhoc")
    with rt.db.engine.begin() as conn:
        conn.execute(table.insert(), [blank | r for r in rows])


def published_rows(account: str, remote_ids: list[str], texts: list[str],
                   now: datetime) -> list[dict[str, Any]]:
    """Rows for posts that went out just now (newest last), as the publisher leaves them."""
    n = len(remote_ids)
    out = []
    for i, (rid, text) in enumerate(zip(remote_ids, texts, strict=True)):
        at = now - timedelta(seconds=(n - i) * 2)
        out.append({"account": account, "status": "published", "scheduled_at": at, "not_before": at,
                    "text": text, "idempotency_key": uuid.uuid4().hex, "created_by": "bench",
                    "approved_by": "bench-supervisor", "approved_at": at, "remote_id": rid,
                    "published_at": at, "attempts": 1, "first_attempt_at": at,
                    "last_attempt_at": at, "created_at": at, "updated_at": at})
    return out


def queued_rows(account: str, texts: list[str], at: datetime) -> list[dict[str, Any]]:
    """Approved ad-hoc posts due at ``at``."""
    return [{"account": account, "status": "queued", "scheduled_at": at, "not_before": at,
             "text": text, "idempotency_key": uuid.uuid4().hex, "created_by": "officer-wang",
             "approved_by": "supervisor-li", "approved_at": at, "created_at": at, "updated_at": at}
            for text in texts]


def table_counts(path: Path, tables: tuple[str, ...] = ("post_metrics", "account_metrics",
                                                          "comments")) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()
