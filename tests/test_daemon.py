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


SLOW_WEIBO = """
[accounts.slow-weibo]
platform = "weibo"
api_base = "{url}"
token_env = "OUTREACH_SLOW_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
slots = []
"""


def with_account(text: str, block: str) -> str:
    policy = text.index("[policy]")
    return text[:policy] + block + "\n" + text[policy:]


def post_status(ws, post_id: int) -> str:
    return query(ws, f"SELECT status FROM posts WHERE id={post_id}")[0][0]


def stop_within(proc, seconds: float) -> tuple[int, str, float]:
    """SIGTERM; the exit code, the output and how long the daemon took to exit."""
    started = time.monotonic()
    code, out = stop_daemon(proc)
    return code, out, time.monotonic() - started


def test_a_trickling_platform_delays_no_other_account_and_sigterm_still_ends_it(
        workspace, cli, monkeypatch):
    """A server that sends one byte every 4 s holds one Weibo publish; the local account's
    post goes out on time, the heartbeat goes on, and SIGTERM ends the daemon within 10 s
    leaving the Weibo post unconfirmed for the next start."""
    from tests.trickle_server import TrickleServer

    with TrickleServer(4.0, "headers") as server:
        text = with_account(local_config(slots="", require_approval=False),
                            SLOW_WEIBO.format(url=server.url))
        (workspace / "config.toml").write_text(text, encoding="utf-8")
        monkeypatch.setenv("OUTREACH_SLOW_WEIBO_TOKEN", "slow-weibo-token-0123456789")
        stuck = cli("queue", "add", "--account", "slow-weibo", "--text", "雨天路滑，注意慢行。",
                    "--json").json["id"]
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
        local = cli("queue", "add", "--account", "pingan-local", "--text", "夜间出行注意安全。",
                    "--at", due.isoformat(), "--json").json["id"]
        proc = start_daemon(workspace)
        try:
            wait_for(lambda: post_status(workspace, stuck) == "publishing", 30,
                     "the Weibo publish to be in flight")
            wait_for(lambda: post_status(workspace, local) == "published", 40,
                     "the local post")
            published_at = query(workspace, f"SELECT published_at FROM posts WHERE id={local}")
            assert post_status(workspace, stuck) == "publishing"  # still trickling
            beat = query(workspace, "SELECT heartbeat_at FROM daemon_heartbeats")[0][0]
            wait_for(lambda: query(workspace, "SELECT heartbeat_at FROM daemon_heartbeats")[0][0]
                     != beat, 10, "the heartbeat to go on")
        finally:
            code, out, took = stop_within(proc, 10)
    assert code == 0, out
    assert took < 10, (took, out)
    assert "Traceback" not in out
    late = datetime.fromisoformat(published_at[0][0]).replace(tzinfo=UTC) - due
    assert timedelta(0) <= late <= timedelta(seconds=5), late
    status, error = query(workspace, f"SELECT status, last_error FROM posts WHERE id={stuck}")[0]
    assert status == "unconfirmed", (status, error)
    assert query(workspace, f"SELECT claimed_by FROM posts WHERE id={stuck}") == [(None,)]
    assert "slow-weibo-token" not in out
    heartbeat = query(workspace, "SELECT stopped_at FROM daemon_heartbeats")
    assert heartbeat and heartbeat[0][0] is not None


def test_a_broken_token_file_stops_only_its_account(workspace, cli):
    text = with_account(local_config(slots="", require_approval=False),
                        '[accounts.masto]\nplatform = "mastodon"\napi_base = "http://127.0.0.1:9"'
                        '\nlang = "en"\nslots = []\n')
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    token = workspace / "data" / "tokens" / "masto.token"
    token.parent.mkdir(parents=True, mode=0o700)
    token.write_bytes(b"\xff\xfe\n")
    token.chmod(0o600)
    post = cli("queue", "add", "--account", "pingan-local", "--text", "夜间出行注意安全。",
               "--json").json["id"]
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: proc.poll() is not None or post_status(workspace, post) == "published",
                 30, "the local post")
        assert proc.poll() is None, "the daemon stopped"
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    assert "account masto is unconfigured" in out and f"{token}" in out and "UTF-8" in out
    assert post_status(workspace, post) == "published"
