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
    for worker, _ in daemon._lanes.values():
        worker.close()
        assert worker.join(10)
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
