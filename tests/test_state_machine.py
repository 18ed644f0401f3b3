"""A model-based test of the whole state machine: publisher, collector and inbox.

Hypothesis drives random interleavings of what officers, the platform and the machine do —
queue, cancel, pause, resume, publish, sweep, reply, a clock that moves, and faults: a
connection that never left (transient), a 502 that did not apply, an answer lost after the
platform applied the call, a 429, and a worker abandoned mid-call (the in-process equivalent
of SIGKILL: the call raises a ``BaseException`` nothing in the project catches, so the row
stays as the dead worker left it, and a new worker takes over).

Two local accounts: ``keys`` honours idempotency keys like Mastodon; ``nokeys`` ignores them
like Weibo, so there only reconciliation stands between a lost answer and a second status.

After every step:
- no post or reply has two statuses on the platform;
- nothing was sent while its account was paused;
- no comment is stored twice; no emergency is alerted twice;
- after a publishing pass, no post is still ``publishing`` past its lease.
At the end of each run the faults stop, pauses end and the clock runs on until everything is
settled; then every comment the platform has is stored exactly once, every stored emergency
was alerted exactly once, and nothing is left in flight.

The fast lane runs a short profile; the slow lane a long one (thousands of steps). The step
count and the seed are printed. ``OUTREACH_SM_SEED`` replays a seed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from outreach.clients.base import Attachment, Published, RemoteComment
from outreach.clients.local import LocalClient
from outreach.collect.alerts import deliver_alerts
from outreach.collect.counts import collect
from outreach.config.load import load_settings
from outreach.config.settings import AccountSettings
from outreach.errors import AmbiguousOutcome, OutreachError, RateLimited, TransientError
from outreach.library.starter import write_starter
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from tests.conftest import FIGURES, FakeClock

ACCOUNTS = ("keys", "nokeys")
START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
SEND_FAULTS = ("transient", "502", "lost", "rate_limited", "crash_before", "crash_after")
READ_FAULTS = ("transient", "rate_limited", "crash_before")
SETTLE_ROUNDS = 40

CONFIG = """\
[outreach]
database = "sqlite:///outreach.db"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.keys]
platform = "local"
lang = "zh"
vars = {{ city = "北京", hashtag = "平安北京", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}
slots = [{{ cron = "*/40 * * * *" }}]

[accounts.nokeys]
platform = "local"
lang = "zh"
seed = 7
vars = {{ city = "北京", hashtag = "平安北京", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}
slots = []

[policy]
require_approval = false
lease_seconds = 60
cooldown_days = 0
catch_up_minutes = 60
min_gap_minutes = 0
max_attempts = 5
materialise_hours = 2

[opinions]
alert_command = "{python} {alert}"
"""

ALERT_SCRIPT = """\
import json, sys
comment = json.load(sys.stdin)
with open(sys.argv[0] + ".log", "a", encoding="utf-8") as f:
    f.write(str(comment["id"]) + "\\n")
"""


class Abandon(BaseException):
    """The worker dies mid-call: nothing in the project catches a BaseException."""


class Model:
    """What the test knows independently of the code under test."""

    def __init__(self) -> None:
        self.paused_all = False
        self.paused: set[str] = set()
        self.violations: list[str] = []

    def is_paused(self, account: str) -> bool:
        return self.paused_all or account in self.paused


class FaultyClient(LocalClient):
    """The local client with faults scheduled by the machine."""

    honour_keys: ClassVar[bool] = True

    def __init__(self, account: AccountSettings, *, clock: Callable[[], datetime],
                 model: Model) -> None:
        super().__init__(account, clock=clock)
        self.model = model
        self.faults: dict[str, list[str]] = defaultdict(list)

    def _take(self, op: str) -> str | None:
        pending = self.faults[op]
        return pending.pop(0) if pending else None

    def _create(self, text: str, idempotency_key: str, in_reply_to: str | None,
                media: Sequence[Attachment] = ()) -> Published:
        if self.model.is_paused(self.account.name):
            self.model.violations.append(f"sent on {self.account.name} while paused: {text[:40]}")
        key = idempotency_key if self.honour_keys else f"{idempotency_key}:{uuid.uuid4().hex}"
        return super()._create(text, key, in_reply_to, media)

    def _sending(self, op: str, call: Callable[[], Published]) -> Published:
        fault = self._take(op)
        if fault == "transient":
            raise TransientError(f"injected: connection refused ({op})")
        if fault == "rate_limited":
            raise RateLimited(f"injected: 429 ({op})", retry_at=self.clock() + timedelta(minutes=3))
        if fault == "502":
            raise AmbiguousOutcome(f"injected: 502 before applying ({op})")
        if fault == "crash_before":
            raise Abandon(op)
        published = call()
        if fault == "lost":
            raise AmbiguousOutcome(f"injected: answer lost after applying ({op})")
        if fault == "crash_after":
            raise Abandon(op)
        return published

    def _reading(self, op: str) -> None:
        fault = self._take(op)
        if fault == "transient":
            raise TransientError(f"injected: connection refused ({op})")
        if fault == "rate_limited":
            raise RateLimited(f"injected: 429 ({op})", retry_at=self.clock() + timedelta(minutes=3))
        if fault == "crash_before":
            raise Abandon(op)

    def publish(self, text: str, *, idempotency_key: str,
                media: Sequence[Attachment] = ()) -> Published:
        return self._sending("publish", lambda: super(FaultyClient, self).publish(
            text, idempotency_key=idempotency_key, media=media))

    def reply(self, remote_id: str, text: str, *, idempotency_key: str) -> Published:
        return self._sending("reply", lambda: super(FaultyClient, self).reply(
            remote_id, text, idempotency_key=idempotency_key))

    def find_published(self, text: str, since: datetime) -> Published | None:
        self._reading("find_published")
        return super().find_published(text, since)

    def fetch_comments(self, remote_ids: Any, since_id: str | None) -> list[RemoteComment]:
        self._reading("fetch_comments")
        return super().fetch_comments(remote_ids, since_id)

    def fetch_counts(self, remote_ids: Any) -> Any:
        self._reading("fetch_counts")
        return super().fetch_counts(remote_ids)


class KeyedClient(FaultyClient):
    """Like Mastodon: a resend with the same key within the window cannot duplicate."""

    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)


class KeylessClient(FaultyClient):
    """Like Weibo: no idempotency keys; only reconciliation prevents a second status."""

    honour_keys = False


CLIENTS: dict[str, type[FaultyClient]] = {"keys": KeyedClient, "nokeys": KeylessClient}
_TEMPLATE: dict[str, Path] = {}


def template_workspace(root: Path) -> Path:
    """One migrated workspace per test session; each run starts from a copy of it."""
    if "ws" not in _TEMPLATE:
        ws = root / "template"
        write_starter(ws)
        alert = ws / "alert.py"
        alert.write_text(ALERT_SCRIPT, encoding="utf-8")
        (ws / "config.toml").write_text(CONFIG.format(python=sys.executable, alert=alert),
                                        encoding="utf-8")
        rt = Runtime(load_settings(ws / "config.toml"))
        rt.db  # noqa: B018  (creates and migrates the database)
        rt.close()
        _TEMPLATE["ws"] = ws
    return _TEMPLATE["ws"]


class OutreachMachine(RuleBasedStateMachine):
    root: ClassVar[Path]
    steps_total: ClassVar[int] = 0
    runs_total: ClassVar[int] = 0
    figures: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        template = template_workspace(self.root)
        self.ws = self.root / f"run-{uuid.uuid4().hex[:10]}"
        shutil.copytree(template, self.ws)
        config = (self.ws / "config.toml").read_text("utf-8").replace(
            str(template / "alert.py"), str(self.ws / "alert.py"))
        (self.ws / "config.toml").write_text(config, "utf-8")
        self.clock = FakeClock(START)
        self.model = Model()
        self.rt = Runtime(load_settings(self.ws / "config.toml"), clock=self.clock)
        self.clients: dict[str, FaultyClient] = {}
        for name in ACCOUNTS:
            client = CLIENTS[name](self.rt.settings.accounts[name], clock=self.clock,
                                   model=self.model)
            self.rt._clients[name] = client
            self.clients[name] = client
        self.workers = 0
        self.publisher = self._new_worker()
        self.n = 0
        self.again: set[int] = set()  # comments answered again on purpose (--again)
        type(self).runs_total += 1

    # --- helpers ---------------------------------------------------------------------

    def _new_worker(self) -> Publisher:
        self.workers += 1
        return Publisher(self.rt, worker=f"worker-{self.workers}")

    def _db(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.ws / "outreach.db", timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def _statuses(self) -> list[dict[str, Any]]:
        platform = self.clients["keys"].platform_db
        return [s for name in ACCOUNTS for s in platform.statuses(name)]

    def _alerts(self) -> Counter[int]:
        log = self.ws / "alert.py.log"
        if not log.exists():
            return Counter()
        return Counter(int(line) for line in log.read_text("utf-8").split())

    def _count(self, what: str) -> None:
        type(self).steps_total += 1
        type(self).figures[what] += 1

    def _publish(self) -> None:
        try:
            self.publisher.run_due()
        except Abandon:
            self.publisher = self._new_worker()  # the old worker is dead; its rows stay

    def _sweep(self, *, force: bool = False) -> None:
        try:
            collect(self.rt, force=force, young=None if force else timedelta(days=7),
                    figures=False)
            deliver_alerts(self.rt)
        except Abandon:
            pass

    # --- rules -----------------------------------------------------------------------

    @initialize()
    def history(self) -> None:
        """A few published posts with comments arriving, so replies and sweeps have material."""
        from outreach.actions.posts import add_post

        for name in ACCOUNTS:
            for _ in range(2):
                self.n += 1
                add_post(self.rt, name, tip=None, by="officer-a", at=None,
                         text=f"安全提醒第{self.n}号：陌生来电要求转账，先挂断再核实。")
        self._publish()
        self.clock.advance(hours=2)

    @rule(account=st.sampled_from(ACCOUNTS), delay=st.sampled_from([None, "+2m", "+30m"]))
    def queue_add(self, account: str, delay: str | None) -> None:
        from outreach.actions.posts import add_post

        self._count("queue_add")
        self.n += 1
        text = f"安全提醒第{self.n}号：陌生来电要求转账，先挂断再核实。"
        add_post(self.rt, account, tip=None, text=text, at=delay, by="officer-a")

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        from outreach.actions.posts import cancel_post

        ids = [r[0] for r in self._db("SELECT id FROM posts WHERE kind != 'reply'")]
        if not ids:
            return
        self._count("cancel")
        post_id = data.draw(st.sampled_from(ids))
        try:
            cancel_post(self.rt, post_id, by="officer-b", reason="changed our mind")
        except Abandon:  # the officer's command died while reconciling; its rows stay
            pass
        except OutreachError:
            pass

    @rule(account=st.sampled_from((None, *ACCOUNTS)))
    def pause(self, account: str | None) -> None:
        from outreach.actions.accounts import pause

        self._count("pause")
        pause(self.rt, account, reason="incident", by="officer-b")
        if account is None:
            self.model.paused_all = True
        else:
            self.model.paused.add(account)

    @rule(account=st.sampled_from((None, *ACCOUNTS)))
    def resume(self, account: str | None) -> None:
        from outreach.actions.accounts import resume

        self._count("resume")
        resume(self.rt, account, by="officer-b")
        if account is None:
            self.model.paused_all = False
        else:
            self.model.paused.discard(account)

    @rule(seconds=st.sampled_from([5, 30, 61, 120, 600, 1800, 3600, 4 * 3600]))
    def advance(self, seconds: int) -> None:
        self._count("advance")
        self.clock.advance(seconds=seconds)

    @rule(account=st.sampled_from(ACCOUNTS), data=st.data())
    def fault(self, account: str, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(("publish", "reply", "find_published", "fetch_comments",
                                        "fetch_counts")))
        send = op in ("publish", "reply")
        kind = data.draw(st.sampled_from(SEND_FAULTS if send else READ_FAULTS))
        self._count(f"fault {kind}")
        self.clients[account].faults[op].append(kind)

    @rule()
    def publish(self) -> None:
        self._count("publish")
        self._publish()
        now = self.clock()
        stuck = self._db("SELECT id, lease_until FROM posts WHERE status = 'publishing'")
        for post_id, lease_until in stuck:
            until = datetime.fromisoformat(lease_until)
            until = until if until.tzinfo else until.replace(tzinfo=UTC)
            assert until >= now, f"post {post_id} is still publishing past its lease ({until})"

    @rule()
    def sweep(self) -> None:
        self._count("sweep")
        self._sweep()

    @rule(data=st.data(), again=st.sampled_from([False, False, False, True]))
    def reply(self, data: st.DataObject, again: bool) -> None:
        from outreach.actions.opinions import reply

        ids = [r[0] for r in self._db("SELECT id FROM comments WHERE is_own = 0 "
                                      "AND post_id IS NOT NULL")]
        if not ids:
            return
        self._count("reply")
        comment_id = data.draw(st.sampled_from(ids))
        self.n += 1
        if again:
            self.again.add(comment_id)
        try:
            reply(self.rt, comment_id, f"感谢留言，已转相关部门处理（{self.n}）。", by="officer-a",
                  again=again)
        except Abandon:
            self.publisher = self._new_worker()
        except OutreachError:
            pass

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def nothing_twice_on_the_platform(self) -> None:
        texts = Counter(s["text"] for s in self._statuses())
        posts = Counter(t for (t,) in self._db(
            "SELECT text FROM posts WHERE status IN "
            "('publishing', 'unconfirmed', 'published', 'retracted', 'queued', 'failed')"))
        for text, n in texts.items():
            assert n <= max(posts[text], 1), f"{n} statuses for {posts[text]} post(s): {text[:50]}"

    @invariant()
    def one_reply_a_comment(self) -> None:
        targets = Counter(s["in_reply_to"] for s in self._statuses() if s["in_reply_to"])
        remote = dict(self._db("SELECT remote_id, id FROM comments"))
        for target, n in targets.items():
            comment = remote.get(target.split(":", 1)[-1])
            assert n == 1 or comment in self.again, f"{n} replies to comment {comment}"

    @invariant()
    def nothing_sent_while_paused(self) -> None:
        assert not self.model.violations, self.model.violations

    @invariant()
    def comments_and_alerts_once(self) -> None:
        dup = self._db("SELECT account, remote_id, count(*) FROM comments "
                       "GROUP BY account, remote_id HAVING count(*) > 1")
        assert not dup, f"comments stored twice: {dup}"
        twice = [cid for cid, n in self._alerts().items() if n > 1]
        assert not twice, f"emergencies alerted more than once: {twice}"

    # --- the end of a run: settle, then everything is accounted for -----------------------

    def teardown(self) -> None:
        try:
            self._settle_and_check()
        finally:
            self.rt.close()
            shutil.rmtree(self.ws, ignore_errors=True)

    def _settle_and_check(self) -> None:
        for client in self.clients.values():
            client.faults.clear()
        from outreach.actions.accounts import resume

        for account in (None, *ACCOUNTS):
            resume(self.rt, account, by="officer-b")
        self.model.paused_all, self.model.paused = False, set()
        for _ in range(SETTLE_ROUNDS):
            self.clock.advance(minutes=10)
            self._publish()
            self._sweep(force=True)
            open_ = self._db("SELECT count(*) FROM posts WHERE status IN "
                             "('publishing', 'unconfirmed') OR (status = 'queued' "
                             "AND kind != 'slot')")[0][0]
            if not open_:
                break
        self._sweep(force=True)
        assert not self.model.violations, self.model.violations
        left = self._db("SELECT id, status, last_error FROM posts WHERE status IN "
                        "('publishing', 'unconfirmed') OR (status = 'queued' AND kind != 'slot')")
        assert not left, f"still in flight after settling: {left}"
        now = self.clock()
        stored = {(a, r) for a, r in self._db("SELECT account, remote_id FROM comments")}
        for name in ACCOUNTS:
            client = self.clients[name]
            for status in client.platform_db.statuses(name):
                for c in client._comments_until(status, now):
                    assert (name, c.remote_id) in stored, \
                        f"comment {c.remote_id} on {name} status {status['id']} was never stored"
        emergencies = [cid for (cid,) in self._db(
            "SELECT id FROM comments WHERE class = 'emergency'")]
        alerts = self._alerts()
        missing = [cid for cid in emergencies if alerts[cid] != 1]
        assert not missing, f"emergencies not alerted exactly once: {missing}"
        type(self).figures["emergencies"] += len(emergencies)
        type(self).figures["statuses"] += len(self._statuses())
        type(self).figures["comments"] += len(stored)


def _profile(slow: bool) -> settings:
    return settings(max_examples=int(os.environ.get("OUTREACH_SM_EXAMPLES") or (150 if slow else 20)),
                    stateful_step_count=50 if slow else 25, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=True, database=None,
                    phases=[Phase.explicit, Phase.generate] if os.environ.get("OUTREACH_SM_NO_SHRINK")
                    else list(Phase))


@pytest.fixture
def machine_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[type[OutreachMachine]]:
    OutreachMachine.root = tmp_path_factory.mktemp("state-machine")
    OutreachMachine.steps_total = OutreachMachine.runs_total = 0
    OutreachMachine.figures = Counter()
    _TEMPLATE.clear()
    yield OutreachMachine


def _run(machine: type[OutreachMachine], slow: bool) -> None:
    from hypothesis import seed as with_seed
    from hypothesis.stateful import run_state_machine_as_test

    chosen = int(os.environ.get("OUTREACH_SM_SEED") or int.from_bytes(os.urandom(4), "big"))
    try:
        run_state_machine_as_test(with_seed(chosen)(machine), settings=_profile(slow))
    finally:
        line = (f"state machine ({'slow' if slow else 'fast'} profile): seed {chosen} "
                f"(replay: OUTREACH_SM_SEED={chosen}); {machine.runs_total} runs, "
                f"{machine.steps_total} steps; "
                + json.dumps(dict(sorted(machine.figures.items())), ensure_ascii=False))
        print("\n" + line)
        FIGURES.append(line)


@pytest.mark.sqlite_only
def test_state_machine_short(machine_root: type[OutreachMachine]) -> None:
    _run(machine_root, slow=False)


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_state_machine_long(machine_root: type[OutreachMachine]) -> None:
    _run(machine_root, slow=True)
