"""Notifications end to end: the daemon as a real process, a real SMTP server (aiosmtpd) and a
local HTTP server taking apprise ``json://`` webhooks; SIGKILL between the state change and
the delivery; two daemons on PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.clients.local import LocalPlatform
from outreach.collect.counts import collect
from outreach.publish.publisher import Publisher
from tests.conftest import local_config, logical_dump
from tests.daemon_process import start_daemon, stop_daemon
from tests.notify_servers import SmtpServer, WebhookServer, free_port, wait_until

pytestmark = pytest.mark.slow

HOOK_KEY = f"KEY-LEAK-hook-{uuid.uuid4().hex}"
MAIL_KEY = f"KEY-LEAK-mail-{uuid.uuid4().hex}"

TARGETS = """
[notify]
escalate_after_minutes = 60
targets = [
  { name = "hook", url_env = "OUTREACH_NOTIFY_HOOK", events = ["emergency", "post_failed", "needs_reauth"] },
  { name = "mail", url_env = "OUTREACH_NOTIFY_MAIL", events = ["post_failed", "needs_reauth", "emergency"] },
]
"""


def config(**kw):
    return local_config(slots="", require_approval=False, min_gap=0, **kw).replace(
        "lease_seconds = 60", "lease_seconds = 5") + TARGETS


def test_a_failed_post_a_reauth_and_an_emergency_each_arrive_once(
        workspace, cli, runtime_factory, clock, monkeypatch, tmp_path):
    hook = WebhookServer()
    smtp = SmtpServer(tmp_path)
    monkeypatch.setenv("OUTREACH_NOTIFY_HOOK", hook.url(HOOK_KEY))
    monkeypatch.setenv("OUTREACH_NOTIFY_MAIL", smtp.url(MAIL_KEY))
    now = datetime.now(UTC)
    clock.set(now - timedelta(days=3))
    rt = runtime_factory(config())
    sync_accounts(rt)
    for i in range(40):
        add_post(rt, "pingan-local", tip=None, text=f"第{i}条：陌生来电要求转账，先挂断再核实。",
                 at=None, by="officer-a")
    Publisher(rt).run_due()
    clock.set(now)
    found = collect(rt, force=True).emergencies  # stored with their notification rows
    assert found
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", "rejected")
    platform.add_fault("publish", "auth")
    platform.add_fault("verify", "auth", count=100)
    for text in ("注意防范电信诈骗。", "夜间出行注意安全。"):
        assert cli("queue", "add", "--account", "pingan-local", "--text", text).code == 0
    proc = start_daemon(workspace)
    try:
        expected = len(found) + 2
        wait_until(lambda: len(hook.received) >= expected and len(smtp.messages()) >= 2, 90,
                   "every notification to arrive")
        time.sleep(12)  # longer than the sender's interval: nothing arrives twice
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    titles = [r["json"]["title"] for r in hook.received]
    assert len(titles) == expected
    assert sum("发布失败" in t for t in titles) == 1
    assert sum("需要重新授权" in t for t in titles) == 1
    assert sum("紧急" in t for t in titles) == len(found)
    assert sorted(smtp.subjects()) == sorted(t for t in titles if "紧急" not in t)
    listed = cli("notify", "list", "--json").json
    assert {n["status"] for n in listed if n["target"] == "hook"} == {"sent"}
    pending = [n for n in listed if n["status"] == "pending"]  # the escalations, an hour away
    assert {(n["event"], n["target"], n["level"]) for n in pending} == {("emergency", "mail", 1)}
    everything = out + json.dumps(listed) + "\n".join(logical_dump(workspace / "outreach.db"))
    everything += "\n".join(m["data"] for m in smtp.messages())
    assert HOOK_KEY not in everything and MAIL_KEY not in everything
    platform.close()
    smtp.close()
    hook.close()


def test_sigkill_between_the_failure_and_its_delivery_still_delivers_once(
        workspace, cli, monkeypatch):
    port = free_port()  # the receiver is down at first: the row waits in the outbox
    monkeypatch.setenv("OUTREACH_NOTIFY_HOOK", f"json://127.0.0.1:{port}/hook/{HOOK_KEY}")
    monkeypatch.setenv("OUTREACH_NOTIFY_MAIL", f"json://127.0.0.1:{port}/mail/{MAIL_KEY}")
    (workspace / "config.toml").write_text(config(), encoding="utf-8")
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", "rejected")
    r = cli("queue", "add", "--account", "pingan-local", "--text", "注意防范电信诈骗。", "--json")
    proc = start_daemon(workspace)

    def attempts():
        return [(n["target"], n["status"], n["attempts"])
                for n in cli("notify", "list", "--json").json]

    try:
        wait_until(lambda: sorted(attempts()) == [("hook", "pending", 1), ("mail", "pending", 1)],
                   60, "the failure to be recorded and a first delivery to fail")
    finally:
        proc.kill()
        proc.communicate()
    assert cli("queue", "show", str(r.json["id"]), "--json").json["status"] == "failed"
    hook = WebhookServer(port)
    proc = start_daemon(workspace)
    try:
        wait_until(lambda: len(hook.received) >= 2, 90, "the delivery after the restart")
        time.sleep(12)
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    assert sorted(r["path"].split("/")[1] for r in hook.received) == ["hook", "mail"]
    assert {n["status"] for n in cli("notify", "list", "--json").json} == {"sent"}
    platform.close()
    hook.close()
