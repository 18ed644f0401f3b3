"""SQLite under concurrent writers: the daemon plus officers' CLI processes at once.

The daemon runs as a real process (a slot every minute, a short lease) while several CLI
processes hammer the same database file for about twenty seconds: `queue add`, `queue
import`, `queue approve`, `queue cancel`, `pause`/`resume` and readers. The work is
partitioned so that every call's outcome can be predicted — each is expected to exit 0 —
and afterwards the database must hold every change exactly once: every added post once,
every cancel cancelled, every approval approved, one audit row per change, a consistent
pause history, and a clean integrity check. No output anywhere may mention "database is
locked" or show a traceback.

`outreach db backup FILE` runs in the middle of it all; each copy passes the integrity
check, has the schema revision of the live file, holds every post added before the backup
began, and opens with `outreach --config <a config pointing at the copy> queue list`.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from outreach.actions.posts import add_post, cancel_post
from outreach.config.load import load_settings
from outreach.runtime import Runtime
from outreach.store.db import HEAD
from tests.conftest import Result, local_config
from tests.daemon_process import query, start_daemon, stop_daemon, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

Cli = Callable[..., Result]

HAMMER_SECONDS = 20.0
MIN_CALLS = 20  # CLI processes the officers start: two CPUs run about this many in 20 s
APPROVED_TIPS = ("fraud-four-rules-zh", "fraud-antifraud-app-zh")


@dataclass
class Call:
    worker: str
    args: tuple[str, ...]
    code: int
    out: str
    err: str
    started: float
    ended: float

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Log:
    """Every CLI call made, from every thread."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, ws: Path, worker: str, *args: str, user: str = "officer-a") -> Call:
        env = dict(os.environ, OUTREACH_CONFIG=str(ws / "config.toml"), OUTREACH_USER=user,
                   COLUMNS="200")
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "outreach", *args], cwd=ws, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
        call = Call(worker, args, proc.returncode, proc.stdout, proc.stderr, started,
                    time.monotonic())
        with self.lock:
            self.calls.append(call)
        return call

    def of(self, *prefix: str) -> list[Call]:
        return [c for c in self.calls if c.args[:len(prefix)] == prefix]



class Hammer:
    """The workers. Each added post goes to exactly one of the approver or the canceller,
    so no call races another over the same post and every call is expected to succeed."""

    def __init__(self, ws: Path, log: Log, deadline: float) -> None:
        self.ws, self.log, self.deadline = ws, log, deadline
        self.to_approve: queue.Queue[int] = queue.Queue()
        self.to_cancel: queue.Queue[int] = queue.Queue()
        self.texts: dict[int, str] = {}  # post id -> its unique text
        self.counter = itertools.count()
        self.lib_counter = itertools.count()
        self.lock = threading.Lock()
        self.pauses = 0
        self.resumes: list[Call] = []
        self.backups: list[tuple[Path, float, Call]] = []
        self.lib_cancelled: list[int] = []
        self.lib_errors: list[str] = []

    def more(self) -> bool:
        """Until the deadline, and on a loaded machine past it (up to twice as long) until
        the officers' processes have made enough calls to overlap the daemon's writes."""
        now = time.monotonic()
        if now < self.deadline:
            return True
        return len(self.log.calls) < MIN_CALLS and now < self.deadline + HAMMER_SECONDS

    def adder(self, name: str) -> None:
        while self.more():
            n = next(self.counter)
            text = f"并发第{n}条：夜间出行注意安全（{name}）"
            when = "now" if n % 3 == 0 else f"+{n % 20 + 2}h"
            call = self.log.run(self.ws, name, "queue", "add", "--account", "pingan-local",
                                "--text", text, "--at", when, "--json")
            if call.code != 0:
                continue
            post_id = call.json["id"]
            with self.lock:
                self.texts[post_id] = text
            # posts due now may be published at any moment: only approve those
            (self.to_cancel if n % 3 == 2 else self.to_approve).put(post_id)

    def importer(self, name: str) -> None:
        i = 0
        while self.more():
            i += 1
            path = self.ws / f"import-{name}-{i}.jsonl"
            rows = [{"account": "pingan-local", "at": "+30h",
                     "text": f"批量导入{name}-{i}-{k}：防范电信诈骗"} for k in range(3)]
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                            encoding="utf-8")
            call = self.log.run(self.ws, name, "queue", "import", str(path), "--json")
            if call.code == 0:
                with self.lock:
                    for post in call.json:
                        self.texts[post["id"]] = post["text"]

    def drain(self, name: str, source: queue.Queue[int], *command: str, user: str) -> None:
        while self.more() or not source.empty():
            try:
                post_id = source.get(timeout=0.5)
            except queue.Empty:
                continue
            self.log.run(self.ws, name, *command, str(post_id), user=user)

    def pauser(self, name: str) -> None:
        i = 0
        while self.more():
            i += 1
            call = self.log.run(self.ws, name, "pause", "--reason", f"演练{i}")
            if call.code == 0:
                self.pauses += 1
            time.sleep(0.3)
            self.resumes.append(self.log.run(self.ws, name, "resume"))

    def reader(self, name: str) -> None:
        while self.more():
            for args in (("queue", "list", "--json", "--limit", "0"), ("status", "--json")):
                self.log.run(self.ws, name, *args)

    def library_writer(self, name: str) -> None:
        """Many small write transactions a second, from this process: add, then cancel."""
        rt = Runtime(load_settings(self.ws / "config.toml"))
        try:
            while self.more():
                n = next(self.lib_counter)
                text = f"库内写入第{n}条：注意防火（{name}）"
                try:
                    post = add_post(rt, "pingan-local", tip=None, text=text, at="+40h",
                                    by="officer-d")
                    assert post.id is not None
                    with self.lock:
                        self.texts[post.id] = text
                    cancel_post(rt, post.id, by="officer-d", reason=f"{name} {n}")
                    with self.lock:
                        self.lib_cancelled.append(post.id)
                except Exception as exc:  # noqa: BLE001 - every failure is the finding
                    with self.lock:
                        self.lib_errors.append(f"{name}: {type(exc).__name__}: {exc}")
        finally:
            rt.close()

    def backer_up(self, name: str) -> None:
        for i in range(2):
            time.sleep(HAMMER_SECONDS / 3)
            target = self.ws / f"backup-{i}.db"
            began = time.monotonic()
            call = self.log.run(self.ws, name, "db", "backup", str(target))
            self.backups.append((target, began, call))

    def run(self) -> None:
        threads = [threading.Thread(target=fn, args=(name,), name=name) for name, fn in (
            ("adder-1", self.adder), ("adder-2", self.adder), ("adder-3", self.adder),
            ("importer", self.importer), ("pauser", self.pauser), ("reader", self.reader),
            ("backup", self.backer_up), ("library-1", self.library_writer),
            ("library-2", self.library_writer),
        )]
        threads += [
            threading.Thread(target=self.drain, name="approver",
                             args=("approver", self.to_approve, "queue", "approve"),
                             kwargs={"user": "officer-b"}),
            threading.Thread(target=self.drain, name="canceller",
                             args=("canceller", self.to_cancel, "queue", "cancel"),
                             kwargs={"user": "officer-c"}),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=HAMMER_SECONDS + 180)
            assert not t.is_alive(), f"worker {t.name} hung"


def test_daemon_and_officers_write_at_once(workspace: Path, cli: Cli) -> None:
    ws = workspace
    # catch-up of five minutes: the first run's late slots are never "overdue" (ten minutes),
    # so `status` is healthy throughout and exits 0
    text = local_config(slots='{ cron = "* * * * *" }', min_gap=0).replace(
        "lease_seconds = 60", "lease_seconds = 5").replace(
        "catch_up_minutes = 60", "catch_up_minutes = 5")
    (ws / "config.toml").write_text(text, encoding="utf-8")
    r = cli("content", "approve", *APPROVED_TIPS, "--by", "chief")  # slots have tips to draw
    assert r.code == 0, r.err
    daemon = start_daemon(ws)
    log = Log()
    try:
        wait_for(lambda: bool(query(ws, "SELECT 1 FROM daemon_heartbeats")), 30,
                 "the daemon's first heartbeat")
        hammer = Hammer(ws, log, time.monotonic() + HAMMER_SECONDS)
        hammer.run()
        assert daemon.poll() is None, "the daemon stopped while officers worked"
    finally:
        code, daemon_out = stop_daemon(daemon)

    # --- what every process said ---------------------------------------------------------
    assert code == 0, daemon_out[-3000:]
    everything = [daemon_out] + [c.out + c.err for c in log.calls]
    for text_ in everything:
        assert "database is locked" not in text_.lower(), text_[-2000:]
        assert "Traceback" not in text_, text_[-2000:]
    failed = [(c.worker, c.args, c.code, c.err[-500:], c.out[-1500:]) for c in log.calls
              if c.code != 0]
    assert failed == []
    assert hammer.lib_errors == []
    # the library writers add many more writes than the CLI processes
    assert len(log.calls) >= MIN_CALLS, f"only {len(log.calls)} calls in {2 * HAMMER_SECONDS} s"
    assert len(hammer.lib_cancelled) >= 50, len(hammer.lib_cancelled)

    # --- no lost update ------------------------------------------------------------------
    adds = log.of("queue", "add")
    imports = log.of("queue", "import")
    approves = log.of("queue", "approve")
    cancels = log.of("queue", "cancel")
    assert adds and imports and approves and cancels and hammer.pauses
    posts = {row[0]: row[1:] for row in query(
        ws, "SELECT id, text, status, approved_by FROM posts WHERE kind = 'adhoc'")}
    assert set(posts) == set(hammer.texts)
    for post_id, wanted in hammer.texts.items():
        assert posts[post_id][0] == wanted
        assert query(ws, "SELECT count(*) FROM posts WHERE text = ?", wanted) == [(1,)]
    cancelled = [int(c.args[-1]) for c in cancels] + hammer.lib_cancelled
    for post_id in cancelled:
        assert posts[post_id][1] == "cancelled", post_id
    for c in approves:
        text_, status, approved_by = posts[int(c.args[-1])]
        assert approved_by == "officer-b" and status in ("queued", "publishing", "published",
                                                         "unconfirmed"), (c.args, status)

    def audit(action: str) -> list[tuple[Any, ...]]:
        return query(ws, "SELECT post_id, actor FROM audit_log WHERE action = ?", action)

    added_ids = sorted(hammer.texts)
    assert sorted(p for p, _ in audit("queue_add")) == added_ids  # one row per post
    assert len(audit("queue_import")) == len(imports)
    assert sorted(p for p, _ in audit("queue_approve")) == sorted(int(c.args[-1]) for c in approves)
    assert sorted(p for p, _ in audit("queue_cancel")) == sorted(cancelled)
    assert len(audit("pause")) == hammer.pauses
    resumed = [c for c in hammer.resumes if "resumed" in c.err]
    assert len(audit("resume")) == len(resumed) == hammer.pauses
    assert query(ws, "SELECT count(*) FROM pauses") == [(hammer.pauses,)]
    assert query(ws, "SELECT count(*) FROM pauses WHERE ended_at IS NULL") == [(0,)]

    # the daemon did its own work meanwhile, exactly once
    published = query(ws, "SELECT remote_id FROM posts WHERE status = 'published'")
    assert len({r for (r,) in published}) == len(published)
    beats = query(ws, "SELECT last_tick_error, stopped_at FROM daemon_heartbeats")
    assert len(beats) == 1 and beats[0][0] is None and beats[0][1] is not None
    assert query(ws, "PRAGMA integrity_check") == [("ok",)]

    # --- the backups taken while all this ran ---------------------------------------------
    assert len(hammer.backups) == 2
    for target, began, call in hammer.backups:
        assert call.code == 0 and "backed up" in call.err, call.err
        conn = sqlite3.connect(target)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
            copied = {i for (i,) in conn.execute("SELECT id FROM posts")}
        finally:
            conn.close()
        before = {c.json["id"] for c in adds if c.ended < began}
        assert before <= copied, sorted(before - copied)
        config = ws / f"{target.stem}.toml"
        config.write_text(text.replace('database = "sqlite:///outreach.db"',
                                       f'database = "sqlite:///{target.name}"'), "utf-8")
        assert f"sqlite:///{target.name}" in config.read_text("utf-8")
        r = cli("--config", str(config), "queue", "list", "--json", "--limit", "0")
        assert r.code == 0, r.err
        assert {p["id"] for p in r.json} == copied
