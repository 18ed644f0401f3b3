"""No bursts: ``min_gap_minutes`` holds between any two automatic posts of an account — on
time, catch-up or held — whatever the order they come due in; a backlog that cannot be
spaced inside ``catch_up_minutes`` is missed with its reason; an account never gets slots
from before it first appeared in the config. Driven through the daemon's ``run --once``
pass with an injected clock, and once with the real daemon."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import pause, resume
from outreach.actions.posts import add_post
from outreach.cli.daemon_view import run_daemon
from outreach.clients.local import LocalPlatform
from outreach.runtime import Runtime
from outreach.store.models import Account, Post
from tests.conftest import local_config
from tests.daemon_process import query, start_daemon, stop_daemon, wait_for
from tests.factories import FakeClock, local_platform

START = datetime(2027, 3, 1, 2, 0, 20, tzinfo=UTC)
GAP = timedelta(minutes=1)
EVERY_MINUTE = local_config(slots='{ cron = "* * * * *" }', require_approval=False, min_gap=1,
                            cooldown_days=0)


@pytest.fixture
def rt(runtime_factory: Callable[..., Runtime], clock: FakeClock) -> Runtime:
    clock.set(START)
    return runtime_factory(EVERY_MINUTE)


def passes(rt: Runtime, clock: FakeClock, minutes: float, every: float = 20) -> None:
    """``run --once`` every ``every`` seconds for ``minutes`` minutes of injected time."""
    end = clock() + timedelta(minutes=minutes)
    while clock() < end:
        assert run_daemon(rt, once=True) == 0
        clock.advance(seconds=every)


def sent_times(rt: Runtime) -> list[datetime]:
    statuses = local_platform(rt).statuses("pingan-local")
    return sorted(datetime.fromisoformat(s["created_at"]) for s in statuses)


def closest(times: list[datetime]) -> timedelta:
    return min((b - a for a, b in zip(times, times[1:], strict=False)),
               default=timedelta(days=1))


def posts(rt: Runtime) -> list[Post]:
    with rt.db.reader() as s:
        return list(s.execute(select(Post).order_by(col(Post.scheduled_at))).scalars())


def scheduled(post: Post) -> datetime:
    """A stored post's slot time (the column is NOT NULL)."""
    assert post.scheduled_at is not None
    return post.scheduled_at


def test_a_fresh_install_starts_at_its_first_slot_and_never_bursts(rt: Runtime,
                                                                   clock: FakeClock) -> None:
    passes(rt, clock, minutes=10)
    with rt.db.reader() as s:
        created = s.execute(select(col(Account.created_at))).scalar_one()
    assert created == START
    rows = posts(rt)
    assert rows and min(scheduled(p) for p in rows) >= START  # nothing from before
    times = sent_times(rt)
    assert closest(times) >= GAP, times[:5]
    assert len(times) == 10  # every slot from 02:01 to 02:10, each on time
    assert all(t.second == 0 for t in times)


def test_after_downtime_the_backlog_is_missed_rather_than_squeezed_between_slots(
        rt: Runtime, clock: FakeClock) -> None:
    passes(rt, clock, minutes=5)
    clock.advance(minutes=10)  # the daemon was down
    passes(rt, clock, minutes=10)
    times = sent_times(rt)
    assert closest(times) >= GAP, [t.time().isoformat() for t in times]
    backlog = [p for p in posts(rt)
               if START + timedelta(minutes=6) <= scheduled(p) < START + timedelta(minutes=15)]
    assert backlog and all(p.status == "missed" for p in backlog), [
        (p.scheduled_at, p.status) for p in backlog]
    assert all("min_gap_minutes" in (p.last_error or "") for p in backlog
               if scheduled(p) >= START + timedelta(minutes=6)), [
        p.last_error for p in backlog]


def test_held_posts_after_a_pause_are_spaced_from_every_other_post(rt: Runtime,
                                                                  clock: FakeClock) -> None:
    passes(rt, clock, minutes=3)
    pause(rt, None, reason="突发事件", by="chief")
    held = [add_post(rt, "pingan-local", tip=None, text=f"暂停期间排队的提醒{i}", at=None,
                     by="officer-a") for i in range(2)]
    passes(rt, clock, minutes=3)
    resume(rt, None, by="chief")
    passes(rt, clock, minutes=6)
    times = sent_times(rt)
    assert closest(times) >= GAP, [t.time().isoformat() for t in times]
    with rt.db.reader() as s:
        done = [s.get(Post, p.id) for p in held]
    assert all(p is not None and p.status == "published" for p in done)


def test_an_officers_post_due_next_to_a_slot_waits_for_the_gap(rt: Runtime,
                                                              clock: FakeClock) -> None:
    passes(rt, clock, minutes=2)  # the 02:01 and 02:02 slots are out
    add_post(rt, "pingan-local", tip=None, text="临时通知：今晚有雨，注意交通安全。", at=None,
             by="officer-a")
    passes(rt, clock, minutes=5)
    times = sent_times(rt)
    assert closest(times) >= GAP, [t.time().isoformat() for t in times]
    assert len(times) >= 6


def beating(ws: Path) -> bool:
    try:
        return bool(query(ws, "SELECT 1 FROM daemon_heartbeats"))
    except sqlite3.OperationalError:  # the schema is not there yet
        return False


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_the_daemon_on_a_fresh_install_publishes_one_post_a_minute(workspace: Path) -> None:
    (workspace / "config.toml").write_text(EVERY_MINUTE, encoding="utf-8")
    daemon = start_daemon(workspace)
    try:
        wait_for(lambda: beating(workspace), 60, "the daemon's first heartbeat")
        started = datetime.now(UTC)
        first = (started + timedelta(minutes=1)).replace(second=0, microsecond=0)
        while datetime.now(UTC) < first + timedelta(minutes=1, seconds=10):
            time.sleep(1)
    finally:
        code, out = stop_daemon(daemon)
    assert code == 0, out[-3000:]
    assert "Traceback" not in out
    created = datetime.fromisoformat(query(workspace, "SELECT created_at FROM accounts")[0][0])
    earliest = query(workspace, "SELECT min(scheduled_at) FROM posts")[0][0]
    assert datetime.fromisoformat(earliest) >= created.replace(second=0, microsecond=0)
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    times = sorted(datetime.fromisoformat(s["created_at"]) for s in
                   platform.statuses("pingan-local"))
    platform.close()
    assert 2 <= len(times) <= 3, times
    # a tick a second: a post goes out within a second or two of its slot, never before
    assert closest(times) >= GAP - timedelta(seconds=2), times
