"""PostgreSQL: two daemons on one database publish every post and every slot exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outreach.clients.local import LocalPlatform
from tests.conftest import PG_URL, local_config
from tests.daemon_process import start_daemon, stop_daemons
from tests.test_notify_e2e import HOOK_KEY, MAIL_KEY, WebhookServer, config, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="OUTREACH_TEST_DATABASE_URL is not set; .ci/run "
                                          "starts a PostgreSQL server for this lane"),
]


def test_two_daemons_on_one_database_publish_exactly_once(workspace, cli):
    text = local_config(slots='{ cron = "* * * * *" }', require_approval=False, min_gap=0,
                        cooldown_days=0)
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    rows = "\n".join(json.dumps({"account": "pingan-local", "at": "now",
                                 "text": f"提醒第{i}条：陌生来电要转账，先挂断再核实。"})
                     for i in range(60))
    (workspace / "posts.jsonl").write_text(rows, encoding="utf-8")
    r = cli("queue", "import", str(workspace / "posts.jsonl"), "--by", "officer-a")
    assert r.code == 0, r.err
    env = dict(os.environ, OUTREACH_CONFIG=str(workspace / "config.toml"))
    started = datetime.now(UTC)
    daemons = [subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=workspace,
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        first = (started + timedelta(minutes=1)).replace(second=0, microsecond=0)
        deadline = first + timedelta(minutes=1, seconds=15)
        while datetime.now(UTC) < deadline:
            time.sleep(1)
    finally:
        stopped = stop_daemons(daemons)
    for code, out in stopped:
        assert code == 0, out
    outputs = [out for _, out in stopped]
    posts = cli("queue", "list", "--limit", "0", "--json").json
    adhoc = [p for p in posts if p["slot_key"] is None]
    slots = [p for p in posts if p["slot_key"] is not None
             and datetime.fromisoformat(p["scheduled_at"]) <= deadline - timedelta(seconds=15)]
    assert len(adhoc) == 60
    assert all(p["status"] == "published" for p in adhoc), [p["status"] for p in adhoc]
    assert len(slots) >= 2 and all(p["status"] in ("published", "missed") for p in slots)
    assert sum(p["status"] == "published" for p in slots) >= 2
    published = [p for p in posts if p["status"] == "published"]
    remote = [p["remote_id"] for p in published]
    assert len(remote) == len(set(remote))
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    statuses = platform.statuses("pingan-local")
    platform.close()
    assert len(statuses) == len(published)  # nothing published twice, nothing lost
    texts = [s["text"] for s in statuses]
    assert len(texts) == len(set(texts)) or len(set(texts)) >= 60
    claimed_by = {p.get("claimed_by") for p in posts}
    assert claimed_by <= {None}
    both = " ".join(outputs)
    assert "Traceback" not in both


def test_two_daemons_with_clocks_two_minutes_apart_never_take_each_others_posts(
        workspace, cli):
    """One daemon runs with its clock 120 s ahead (faketime) and every share is slow: leases
    are read and written on the database's clock, so neither takes over a live post."""
    libs = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    if not libs:
        pytest.skip("libfaketime is not installed (Debian package faketime)")
    text = local_config(slots="", require_approval=False, min_gap=0, cooldown_days=0)
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    n = 16
    rows = "\n".join(json.dumps({"account": "pingan-local", "at": "now",
                                 "text": f"时钟偏差演练第{i}条：陌生来电要转账，先挂断再核实。"})
                     for i in range(n))
    (workspace / "posts.jsonl").write_text(rows, encoding="utf-8")
    r = cli("queue", "import", str(workspace / "posts.jsonl"), "--by", "officer-a")
    assert r.code == 0, r.err
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", "delay", count=n, delay_ms=1500)  # every share is slow
    env = dict(os.environ, OUTREACH_CONFIG=str(workspace / "config.toml"), PYTHONUNBUFFERED="1")
    skewed = dict(env, LD_PRELOAD=str(libs[0]), FAKETIME="+120s")  # what `faketime` sets
    daemons = [subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=workspace,
                                env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for e in (env, skewed)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(1)
            done = cli("queue", "list", "--limit", "0", "--json").json
            if all(p["status"] == "published" for p in done):
                break
    finally:
        stopped = stop_daemons(daemons)
    for code, out in stopped:
        assert code == 0, out[-3000:]
        assert "Traceback" not in out, out[-3000:]
        assert "claim was lost" not in out and "lease lost" not in out, out[-3000:]
    posts = cli("queue", "list", "--limit", "0", "--json").json
    assert len(posts) == n
    assert [p["status"] for p in posts] == ["published"] * n
    assert [p["attempts"] for p in posts] == [1] * n  # nothing was reconciled or resent
    statuses = platform.statuses("pingan-local")
    platform.close()
    assert len(statuses) == n
    assert sorted(s["text"] for s in statuses) == sorted(p["text"] for p in posts)
    assert {p["remote_id"] for p in posts} == {str(s["id"]) for s in statuses}


def test_two_daemons_on_postgresql_deliver_each_notification_once(workspace, cli, monkeypatch):
    hook = WebhookServer()
    monkeypatch.setenv("OUTREACH_NOTIFY_HOOK", hook.url(HOOK_KEY))
    monkeypatch.setenv("OUTREACH_NOTIFY_MAIL", hook.url(MAIL_KEY))
    (workspace / "config.toml").write_text(config(), encoding="utf-8")
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    n = 30
    platform.add_fault("publish", "rejected", count=n)
    rows = "\n".join(json.dumps({"account": "pingan-local", "at": "now",
                                 "text": f"提醒第{i}条：陌生来电要转账，先挂断再核实。"})
                     for i in range(n))
    (workspace / "posts.jsonl").write_text(rows, encoding="utf-8")
    assert cli("queue", "import", str(workspace / "posts.jsonl"), "--by", "officer-a").code == 0
    daemons = [start_daemon(workspace) for _ in range(2)]
    try:
        wait_until(lambda: len(hook.received) >= 2 * n, 120, "every notification")
        time.sleep(12)
    finally:
        outputs = stop_daemons(daemons)
    assert all(code == 0 for code, _ in outputs), outputs
    bodies = [r["json"]["message"] for r in hook.received]
    assert len(bodies) == 2 * n and len(set(bodies)) == 2 * n  # each numbered message once
    listed = cli("notify", "list", "--json").json
    assert len(listed) == 2 * n and {x["status"] for x in listed} == {"sent"}
    assert {x["attempts"] for x in listed} == {1}
    platform.close()
    hook.close()


def test_a_connection_lost_while_idle_is_replaced_before_use(monkeypatch):
    """The pool pings a connection only after it sat idle; one the server dropped meanwhile
    (a restart, a cut) is replaced at checkout, and the read succeeds; a connection just
    used is not pinged at all."""
    import sqlalchemy as sa

    from outreach.store import db as store_db

    assert PG_URL
    database = store_db.Database(PG_URL)
    pings: list[int] = []
    dialect = database.engine.dialect
    real_ping = dialect.do_ping

    def counted(conn):
        pings.append(1)
        return real_ping(conn)

    monkeypatch.setattr(dialect, "do_ping", counted)
    try:
        with database.engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        for _ in range(5):  # busy: reused at once, never pinged
            with database.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        assert pings == []
        killer = sa.create_engine(PG_URL)
        with killer.connect() as k:
            assert k.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        killer.dispose()
        monkeypatch.setattr(store_db, "PING_AFTER_IDLE", 0.0)  # as if it sat idle
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
        assert pings, "the idle connection was not pinged"
    finally:
        database.dispose()
