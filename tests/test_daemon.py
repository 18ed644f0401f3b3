"""The daemon as a real process: killed mid-publish, restarted, stopped with SIGTERM."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from outreach.clients.local import LocalPlatform
from tests.conftest import local_config
from tests.daemon_process import query, start_daemon, stop_daemon, wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fault", ["delay", "delay_after"])
def test_sigkill_mid_publish_then_restart_publishes_exactly_once(workspace, cli, fault):
    """Killed before the platform applied the post (delay) or after (delay_after)."""
    text = local_config(slots="", require_approval=False).replace(
        "lease_seconds = 60", "lease_seconds = 5")
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    r = cli("queue", "add", "--account", "pingan-local", "--text", "夜间出行注意安全。", "--json")
    post_id = r.json["id"]
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", fault, delay_ms=30_000)
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, f"SELECT status FROM posts WHERE id={post_id}")
                 == [("publishing",)], 30, "the publish to be in flight")
        if fault == "delay_after":
            wait_for(lambda: len(platform.statuses("pingan-local")) == 1, 30,
                     "the platform to apply the post")
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.communicate()
    assert query(workspace, f"SELECT status FROM posts WHERE id={post_id}") == [("publishing",)]
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, f"SELECT status FROM posts WHERE id={post_id}")
                 == [("published",)], 120, "reconciliation and publication")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    statuses = platform.statuses("pingan-local")
    assert len(statuses) == 1 and statuses[0]["text"] == "夜间出行注意安全。"
    remote = query(workspace, f"SELECT remote_id FROM posts WHERE id={post_id}")[0][0]
    assert remote == str(statuses[0]["id"])
    assert query(workspace, "PRAGMA integrity_check") == [("ok",)]
    platform.close()


def test_daemon_claims_each_minute_slot_on_time_and_stops_on_sigterm(workspace):
    text = local_config(slots='{ cron = "* * * * *" }', require_approval=False, min_gap=1)
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    started = datetime.now(UTC)
    proc = start_daemon(workspace)
    try:
        # run through at least two whole minute boundaries
        first = (started + timedelta(minutes=1)).replace(second=0, microsecond=0)
        wait_for(lambda: datetime.now(UTC) > first + timedelta(minutes=1, seconds=12), 200,
                 "two slots")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    assert "Traceback" not in out
    published = query(workspace, "SELECT scheduled_at, published_at, remote_id FROM posts "
                                "WHERE status = 'published' ORDER BY scheduled_at")
    on_time = [r for r in published
               if datetime.fromisoformat(r[0]).replace(tzinfo=UTC) >= first]
    assert len(on_time) >= 2, published
    for scheduled, published_at, _ in on_time:
        delay = (datetime.fromisoformat(published_at) - datetime.fromisoformat(scheduled))
        assert timedelta(0) <= delay <= timedelta(seconds=10), (scheduled, published_at)
    remote_ids = [r[2] for r in published]
    assert len(remote_ids) == len(set(remote_ids))
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    assert len(platform.statuses("pingan-local")) == len(published)
    platform.close()
    heartbeat = query(workspace, "SELECT stopped_at FROM daemon_heartbeats")
    assert heartbeat and heartbeat[0][0] is not None
