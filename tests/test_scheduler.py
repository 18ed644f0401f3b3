"""The daemon's wiring in-process: who waits for whom (the real process is in test_daemon)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from outreach.clients.local import LocalPlatform
from outreach.daemon import Daemon, Worker
from tests.conftest import local_config

OTHER = """
[accounts.other-local]
platform = "local"
lang = "zh"
slots = []
"""


def test_a_worker_runs_its_jobs_one_at_a_time_and_never_queues_one_twice():
    worker = Worker("sweeps")
    running = 0
    overlapped = False
    runs: list[str] = []
    release = threading.Event()
    lock = threading.Lock()

    def job(name: str) -> None:
        nonlocal running, overlapped
        with lock:
            running += 1
            overlapped = overlapped or running > 1
        release.wait(5)
        runs.append(name)
        with lock:
            running -= 1

    assert worker.submit("metrics", lambda: job("metrics"))
    time.sleep(0.2)  # metrics is running
    assert worker.submit("comments", lambda: job("comments"))
    assert not worker.submit("comments", lambda: job("comments-again"))  # already waiting
    assert worker.submit("metrics", lambda: job("metrics-2"))  # may follow the one running
    release.set()
    deadline = time.monotonic() + 5
    while not worker.idle and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.close()
    assert worker.join(5)
    assert runs == ["metrics", "comments", "metrics-2"] and not overlapped
    assert not worker.submit("metrics", lambda: job("after-close"))


def test_a_slow_account_delays_neither_another_account_nor_the_tick(workspace, cli,
                                                                    runtime_factory):
    text = local_config(slots="", require_approval=False)
    policy = text.index("[policy]")
    text = text[:policy] + OTHER + "\n" + text[policy:]
    rt = runtime_factory(text)
    slow = cli("queue", "add", "--account", "pingan-local", "--text", "雨天路滑，注意慢行。",
               "--json").json["id"]
    quick = cli("queue", "add", "--account", "other-local", "--text", "夜间出行注意安全。",
                "--json").json["id"]
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", "delay", account="pingan-local", delay_ms=3_000)
    platform.close()
    daemon = Daemon(rt, stop=threading.Event())
    started = time.monotonic()
    daemon.tick()
    assert time.monotonic() - started < 1.5  # the tick hands over and returns

    def status(post_id: int) -> str:
        return cli("queue", "show", str(post_id), "--json").json["status"]

    deadline = time.monotonic() + 10
    while status(quick) != "published" and time.monotonic() < deadline:
        daemon.tick()
        time.sleep(0.1)
    took = time.monotonic() - started
    assert status(quick) == "published" and took < 2.5, took
    assert status(slow) == "publishing"  # still in the platform's 3 s
    daemon.stopping.set()
    daemon.lanes.close()
    assert daemon.lanes.join(10)
    assert status(slow) == "published"


def test_a_stuck_sweep_never_holds_up_the_tick_or_publishing(workspace, cli, runtime_factory,
                                                              clock):
    """The comments sweep hangs on the platform: the tick still beats and hands the due post
    to its lane, which publishes it at once."""
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0))
    cli("queue", "add", "--account", "pingan-local", "--text", "陌生来电先挂断再核实。")
    assert cli("run", "--once").code == 0  # a young published post: the sweep counts it
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("fetch_counts", "delay", delay_ms=4_000)
    platform.close()
    post = cli("queue", "add", "--account", "pingan-local", "--text", "夜间出行注意安全。",
               "--json").json["id"]
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # the first post is young, this due
    daemon = Daemon(rt, stop=threading.Event())
    assert daemon.sweeps.submit("metrics", daemon.metrics)
    assert daemon.sweeps.submit("comments", daemon.comments)
    time.sleep(0.5)  # the comments sweep is inside the platform's 4 s
    assert not daemon.sweeps.idle
    started = time.monotonic()

    def status() -> str:
        return cli("queue", "show", str(post), "--json").json["status"]

    while status() != "published" and time.monotonic() - started < 10:
        daemon.tick()
        time.sleep(0.1)
    took = time.monotonic() - started
    assert status() == "published" and took < 2.0, took
    assert not daemon.sweeps.idle  # the sweep is still stuck
    daemon.stopping.set()
    for worker in daemon._workers():
        worker.close()
        assert worker.join(10)


def _accounts(n: int, slots: str) -> str:
    """A local config with ``n`` more local accounts, each with these slots."""
    text = local_config(slots=slots, require_approval=False, min_gap=0)
    policy = text.index("[policy]")
    extra = "".join(f'\n[accounts.extra{i:03d}]\nplatform = "local"\nlang = "zh"\n'
                    f"seed = {i}\nslots = [{slots}]\n" for i in range(n))
    return text[:policy] + extra + "\n" + text[policy:]


def _statements(rt) -> list[str]:
    """Every SQL statement the runtime's engines run from now on (observed, not changed)."""
    import sqlalchemy as sa

    seen: list[str] = []
    for engine in {rt.db.engine, rt.db._reader}:
        sa.event.listen(engine, "before_cursor_execute",
                        lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


def test_an_idle_tick_costs_the_same_queries_for_three_accounts_as_for_forty(
        workspace, runtime_factory, clock):
    """At rest (slots materialised, nothing due) a tick a minute later reads once for due
    posts and beats: the number of statements does not grow with the accounts."""
    counts = {}
    for n in (2, 39):
        rt = runtime_factory(_accounts(n, '{ cron = "0 8 * * *" }, { cron = "0 20 * * *" }'))
        daemon = Daemon(rt, stop=threading.Event())
        daemon.tick()  # the first tick materialises every account's next day
        deadline = time.monotonic() + 20
        while not daemon.lanes.idle() and time.monotonic() < deadline:
            time.sleep(0.05)  # a slot due now at the fake clock's start is published
        clock.current += timedelta(seconds=61)
        daemon.tick()
        assert daemon.lanes.idle()
        seen = _statements(rt)
        for _ in range(3):
            clock.current += timedelta(seconds=61)
            daemon.tick()
        counts[n + 1] = len(seen) / 3
        daemon.stopping.set()
    assert counts[40] == counts[3], counts
    assert counts[40] <= 8, counts  # the due read and the heartbeat, with their BEGIN and COMMIT


def test_forty_accounts_due_at_once_publish_on_a_few_threads_that_end_at_rest(
        workspace, runtime_factory, clock):
    rt = runtime_factory(_accounts(39, ""))
    clock.current = datetime.now(UTC)
    from outreach.actions.posts import add_post

    names = list(rt.settings.accounts)
    for name in names:
        add_post(rt, name, tip=None, text=f"{name}：陌生来电先挂断再核实。", at="now", by="officer")
    clock.current += timedelta(seconds=1)
    daemon = Daemon(rt, stop=threading.Event())
    before = threading.active_count()
    peak = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        daemon.tick()
        peak = max(peak, threading.active_count() - before)
        if daemon.lanes.idle() and daemon.status().next_post is None:
            break
        time.sleep(0.05)
    with rt.db.reader() as s:
        from sqlalchemy import func, select
        from sqlmodel import col

        from outreach.states import PostStatus
        from outreach.store.models import Post
        published = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == PostStatus.PUBLISHED)).scalar()
    assert published == len(names)
    assert peak <= 16 + 1, peak  # the lane threads and the one lease keeper
    daemon.lanes.linger = 0.1
    deadline = time.monotonic() + 10
    while daemon.lanes.threads and time.monotonic() < deadline:
        time.sleep(0.1)
    daemon.stopping.set()
    daemon.lanes.close()
    assert daemon.lanes.join(5)
