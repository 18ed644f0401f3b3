"""A Weibo app's hourly budget is shared by every account and every daemon using the app:
it is kept in the database, so three daemons together stay inside it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.posts import add_post
from outreach.config.load import load_settings
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.states import PostStatus
from outreach.store.models import Post, RateBudgetRow
from tests.conftest import DATABASE_URL
from tests.daemon_process import stop_daemons, wait_for
from tests.factories import FakeClock, shared_app_config
from tests.weibo_server import WeiboServer

TOKEN = "shared-budget-token-5d1e"
BUDGET = 12
ACCOUNTS = ("wb1", "wb2", "wb3")
LEAD_SECONDS = 45  # how long before an hour ends the daemons start (their clocks moved)


def config(api_base: str) -> str:
    return shared_app_config(api_base, ACCOUNTS, database=DATABASE_URL, budget=BUDGET,
                             token_env="OUTREACH_TEST_SHARED_TOKEN")


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0, safe_domain="example.gov.cn") as weibo:
        yield weibo


@pytest.fixture
def weibo(server: WeiboServer, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> WeiboServer:
    server.reset()
    server.set_user_limit(0)
    (workspace / "config.toml").write_text(config(server.url), encoding="utf-8")
    monkeypatch.setenv("OUTREACH_TEST_SHARED_TOKEN", TOKEN)
    return server


def _daemons(workspace: Path, clock: FakeClock) -> list[Runtime]:
    return [Runtime(load_settings(workspace / "config.toml"), clock=clock) for _ in range(3)]


def _run_together(runtimes: list[Runtime]) -> None:
    """Three daemons publish what is due at the same moment, each on its own connection."""
    start = threading.Barrier(len(runtimes))
    errors: list[BaseException] = []

    def work(i: int, rt: Runtime) -> None:
        try:
            start.wait()
            for _ in range(3):
                Publisher(rt, worker=f"daemon-{i}").run_due()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, rt)) for i, rt in enumerate(runtimes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_three_daemons_stay_inside_one_apps_hourly_budget(weibo, workspace, clock):
    clock.set(clock.now().replace(minute=10, second=0, microsecond=0))
    setup = Runtime(load_settings(workspace / "config.toml"), clock=clock)
    for name in ACCOUNTS:
        for i in range(10):
            add_post(setup, name, tip=None, text=f"{name} 第{i}条：夜间出行请结伴而行。",
                     at=None, by="officer-a")
    daemons = _daemons(workspace, clock)
    try:
        _run_together(daemons)
        assert len(weibo.requests()) == BUDGET  # the whole budget, not one call more
        with setup.db.reader() as s:
            posts = s.execute(select(Post)).scalars().all()
            used = s.execute(select(col(RateBudgetRow.used))).scalars().all()
        published = [p for p in posts if p.status == PostStatus.PUBLISHED]
        waiting = [p for p in posts if p.status == PostStatus.QUEUED]
        assert len(published) == BUDGET and len(waiting) == 30 - BUDGET
        assert used == [BUDGET]
        next_hour = clock.now().replace(minute=0) + timedelta(hours=1)
        assert {p.not_before for p in waiting} == {next_hour}
        assert all("pingan-app" in (p.last_error or "") for p in waiting)

        clock.set(next_hour + timedelta(minutes=1))  # the next hour: a new budget
        _run_together(daemons)
        assert len(weibo.requests()) == 2 * BUDGET
        with setup.db.reader() as s:
            done = s.execute(select(Post).where(
                col(Post.status) == PostStatus.PUBLISHED)).scalars().all()
        assert len(done) == 2 * BUDGET
        assert len(weibo.statuses()) == 2 * BUDGET  # each published once
    finally:
        for rt in (setup, *daemons):
            rt.close()


def test_app_and_its_budget_go_together(weibo, workspace, cli):
    text = (workspace / "config.toml").read_text("utf-8")
    (workspace / "config.toml").write_text(
        text.replace(f"app_calls_per_hour = {BUDGET}\n", "", 1), "utf-8")
    r = cli("queue", "list")
    assert r.code == 1 and "accounts.wb1.app_calls_per_hour" in r.err and "together" in r.err


def _faketime_lib() -> Path:
    libs = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    if not libs:
        pytest.skip("libfaketime is not installed (Debian package faketime)")
    return libs[0]


def _hour_of(at: str) -> datetime:
    return datetime.fromisoformat(at).replace(minute=0, second=0, microsecond=0)


@pytest.mark.slow
def test_three_daemon_processes_stay_inside_one_apps_hourly_budget(weibo, workspace, cli):
    """Three `outreach run` processes share one app's budget (on SQLite, or PostgreSQL when
    OUTREACH_TEST_DATABASE_URL is set). Their clocks (faketime) and the fake server's are
    moved together to a minute before an hour ends, so the run sees two windows: the
    server's count of calls in each hour never passes the budget, and what waits at the
    end of one hour goes out in the next, each post once."""
    lib = _faketime_lib()
    for name in ACCOUNTS:
        rows = [{"account": name, "at": "now", "text": f"{name} 第{i}条：夜间出行请结伴而行。"}
                for i in range(10)]
        path = workspace / f"{name}.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
        assert cli("queue", "import", str(path), "--by", "officer-a").code == 0
    real = datetime.now(UTC)
    boundary = real.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    offset = int((boundary - timedelta(seconds=LEAD_SECONDS) - real).total_seconds())
    weibo.configure(clock_offset=offset)  # the server's clock moves with the daemons'
    env = dict(os.environ, OUTREACH_CONFIG=str(workspace / "config.toml"),
               PYTHONUNBUFFERED="1", LD_PRELOAD=str(lib), FAKETIME=f"+{offset}",
               FAKETIME_DONT_FAKE_MONOTONIC="1")  # timed waits (the scheduler's) keep working
    daemons = [subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=workspace,
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(3)]

    def published() -> list[dict]:
        rows = cli("queue", "list", "--limit", "0", "--json").json
        return [p for p in rows if p["status"] == "published"]

    try:
        wait_for(lambda: len(published()) >= BUDGET, LEAD_SECONDS, "the first hour's posts")
        first_hour = datetime.now(UTC) + timedelta(seconds=offset)
        assert first_hour < boundary, "the daemons started too slowly to see two windows"
        wait_for(lambda: len(published()) >= 2 * BUDGET, LEAD_SECONDS + 60,
                 "the second hour's posts")
        time.sleep(3)  # anything more would go out now, and be counted below
    finally:
        stopped = stop_daemons(daemons)
    for code, out in stopped:
        assert code == 0, out[-3000:]
        # libfaketime breaks time.sleep where it leaves the monotonic clock alone (EINVAL):
        # the lease keeper's thread ends so; shares take milliseconds here, far from a lease
        faketime_artefacts = len(re.findall(r"time\.sleep\(self\.interval\)\n"
                                            r"OSError: \[Errno 22\]", out))
        assert out.count("Traceback") == faketime_artefacts, out[-4000:]
    calls = [r for r in weibo.requests() if r["path"].startswith("/2/")]
    per_hour = Counter(_hour_of(r["at"]) for r in calls)
    assert max(per_hour.values()) <= BUDGET, per_hour
    assert per_hour == {boundary - timedelta(hours=1): BUDGET, boundary: BUDGET}, per_hour
    posts = cli("queue", "list", "--limit", "0", "--json").json
    done = [p for p in posts if p["status"] == "published"]
    assert len(done) == 2 * BUDGET and {p["attempts"] for p in done} == {1}
    statuses = weibo.statuses()
    assert len(statuses) == 2 * BUDGET  # each published once
    assert {p["remote_id"] for p in done} == {str(s["id"]) for s in statuses}
    waiting = [p for p in posts if p["status"] == "queued"]
    assert len(waiting) == 30 - 2 * BUDGET
    assert {datetime.fromisoformat(p["not_before"]) for p in waiting} == {
        boundary + timedelta(hours=1)}
