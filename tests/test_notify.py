"""Notifications: an outbox row per event and target, delivered once through apprise (a local
``json://`` webhook here), emergencies escalating until someone acknowledges them, the
watchdog, the daily digest — and the target URL's key never shown anywhere."""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.collect.counts import collect
from outreach.config.load import load_settings
from outreach.daemon import Daemon
from outreach.notify import sender, watchdog
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.states import NotificationStatus
from outreach.store.models import Comment, Notification
from tests.conftest import DATABASE_URL, local_config, logical_dump
from tests.factories import local_platform
from tests.notify_servers import WebhookServer
from tests.weibo_server import WeiboServer

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
KEY = f"KEY-LEAK-{uuid.uuid4().hex}"
CHIEF_KEY = f"KEY-LEAK-chief-{uuid.uuid4().hex}"

NOTIFY = """
[notify]
escalate_after_minutes = 10
targets = [
  {{ name = "duty", url_env = "OUTREACH_NOTIFY_DUTY", events = [{events}] }},
  {{ name = "chief", url_env = "OUTREACH_NOTIFY_CHIEF", events = ["emergency"], lang = "en" }},
]
"""
ALL = '"emergency", "post_failed", "needs_reauth", "token_expiring", "daemon_stale"'



@pytest.fixture
def hook():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def rt(runtime_factory, clock, workspace, hook, monkeypatch):
    clock.set(START)
    monkeypatch.setenv("OUTREACH_NOTIFY_DUTY", hook.url(KEY))
    monkeypatch.setenv("OUTREACH_NOTIFY_CHIEF", hook.url(CHIEF_KEY))
    text = local_config(slots="", require_approval=False, min_gap=0, max_attempts=2)
    rt = runtime_factory(text + NOTIFY.format(events=ALL))
    sync_accounts(rt)
    return rt


def to(hook, key):
    return [r["json"] for r in hook.received if r["path"].endswith(key)]


def rows(rt, **where):
    with rt.db.reader() as s:
        q = select(Notification).order_by(col(Notification.id))
        for k, v in where.items():
            q = q.where(getattr(Notification, k) == v)
        return s.execute(q).scalars().all()


def test_a_failed_post_is_notified_once(rt, hook, cli):
    local_platform(rt).add_fault("publish", "rejected")
    r = cli("queue", "add", "--account", "pingan-local", "--text", "注意防范电信诈骗。", "--json")
    assert cli("run", "--once").code == 0
    got = to(hook, KEY)
    assert len(got) == 1
    assert f"帖子 {r.json['id']}" in got[0]["title"] and "rejected" in got[0]["message"]
    assert f"outreach queue show {r.json['id']}" in got[0]["message"]
    assert cli("run", "--once").code == 0  # nothing new: nothing sent again
    assert len(to(hook, KEY)) == 1 and to(hook, CHIEF_KEY) == []
    listed = cli("notify", "list", "--json").json
    assert [(n["event"], n["target"], n["status"]) for n in listed] == [
        ("post_failed", "duty", "sent")]


def test_needs_reauth_is_notified_once_per_episode(rt, clock):
    local_platform(rt).add_fault("publish", "auth")
    local_platform(rt).add_fault("verify", "auth")
    add_post(rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    pub = Publisher(rt)
    pub.run_due()
    clock.advance(minutes=11)
    pub.run_due()  # the re-check fails too: still the same episode
    watchdog.run_once(rt)
    assert [r.event for r in rows(rt, status="sent")] == ["needs_reauth"]
    clock.advance(minutes=11)
    pub.run_due()  # authorised again; the post goes out
    local_platform(rt).add_fault("publish", "auth")
    add_post(rt, "pingan-local", tip=None, text="夜间出行注意安全。", at=None, by="officer-a")
    clock.advance(minutes=1)
    pub.run_due()  # a new episode: told again
    watchdog.run_once(rt)
    assert [r.event for r in rows(rt, status="sent")] == ["needs_reauth", "needs_reauth"]


def emergencies(rt, clock, n=40):
    for i in range(n):
        add_post(rt, "pingan-local", tip=None, text=f"第{i}条：陌生来电要求转账，先挂断再核实。",
                 at=None, by="officer-a")
    Publisher(rt).run_due()
    clock.advance(days=3)
    summary = collect(rt, force=True)
    assert len(summary.emergencies) >= 2
    return summary.emergencies


def test_an_unacknowledged_emergency_escalates_and_an_acknowledged_one_does_not(
        rt, clock, hook, cli):
    found = emergencies(rt, clock)
    watchdog.run_once(rt)
    duty = to(hook, KEY)
    assert len(duty) == len(found) and all("紧急" in m["title"] for m in duty)
    assert to(hook, CHIEF_KEY) == []
    acked = found[0]
    r = cli("opinions", "ack", str(acked))
    assert r.code == 0 and "acknowledged" in r.err
    assert cli("opinions", "ack", str(acked)).code == 1  # once
    clock.advance(minutes=9, seconds=59)
    watchdog.run_once(rt)
    assert to(hook, CHIEF_KEY) == []  # not yet
    clock.advance(seconds=1)
    watchdog.run_once(rt)
    chief = to(hook, CHIEF_KEY)
    assert len(chief) == len(found) - 1  # every one but the acknowledged
    assert all("Escalated" in m["message"] for m in chief)
    assert not any(f"opinions ack {acked}\n" in m["message"] for m in chief)
    assert len(to(hook, KEY)) == len(found)  # the first target is not told twice
    cancelled = rows(rt, status="cancelled")
    assert [(c.comment_id, c.target) for c in cancelled] == [(acked, "chief")]
    with rt.db.reader() as s:
        audit = s.execute(select(Comment).where(Comment.id == acked)).scalar_one()
    assert audit.opinion_class == "emergency"


def test_an_answered_emergency_does_not_escalate(rt, clock, hook, cli):
    found = emergencies(rt, clock)
    watchdog.run_once(rt)
    for cid in found:
        assert cli("opinions", "mark-replied", str(cid)).code == 0
    clock.advance(minutes=30)
    watchdog.run_once(rt)
    assert to(hook, CHIEF_KEY) == []
    assert {r.last_error for r in rows(rt, target="chief")} == {"answered"}


def test_watchdog_tells_once_per_outage(rt, clock, hook, cli):
    now = datetime.now(UTC)
    clock.set(now - timedelta(minutes=20))
    daemon = Daemon(rt)
    daemon.heartbeat()
    r = cli("watchdog")
    assert r.code == 1 and "stale" in r.err
    assert len(to(hook, KEY)) == 1 and "守护进程" in to(hook, KEY)[0]["title"]
    assert cli("watchdog").code == 1  # the same outage: not again
    assert len(to(hook, KEY)) == 1
    assert cli("watchdog", "--stale-minutes", "30").code == 0
    clock.set(now)
    daemon.heartbeat()  # the daemon came back
    assert cli("watchdog").code == 0
    assert len(to(hook, KEY)) == 1


def test_watchdog_new_outage_after_recovery_notifies_again(rt, clock, hook, cli):
    now = datetime.now(UTC)
    daemon = Daemon(rt)
    clock.set(now - timedelta(minutes=40))
    daemon.heartbeat()
    assert cli("watchdog").code == 1
    clock.set(now - timedelta(minutes=25))
    daemon.heartbeat()  # it ran again for a while, then stopped again
    assert cli("watchdog").code == 1
    assert cli("watchdog").code == 1
    assert len(to(hook, KEY)) == 2


def test_daily_digest_once_a_day_in_the_targets_language(rt, clock, hook, runtime_factory,
                                                         workspace):
    text = (workspace / "config.toml").read_text(encoding="utf-8")
    rt = runtime_factory(text.replace(ALL, ALL + ', "daily_digest"'))
    emergencies(rt, clock, n=20)
    day = clock().astimezone(rt.settings.timezone).date()
    clock.set(datetime(day.year, day.month, day.day, 7, 59,
                       tzinfo=rt.settings.timezone).astimezone(UTC))
    watchdog.run_once(rt)
    assert not any("日报" in m["title"] for m in to(hook, KEY))
    clock.advance(minutes=1)
    watchdog.run_once(rt)
    watchdog.run_once(rt)
    digests = [m for m in to(hook, KEY) if "日报" in m["title"]]
    assert len(digests) == 1
    body = digests[0]["message"]
    assert "待回复" in body and "最早未回复的紧急评论" in body and "评论分类" in body
    row = rows(rt, event="daily_digest")[0]
    assert row.dedupe_key == f"daily_digest:{day.isoformat()}"
    assert row.payload["day"] == (day - timedelta(days=1)).isoformat()


def test_a_failing_target_is_retried_with_backoff_then_failed_then_retried_by_hand(
        rt, clock, hook, cli):
    hook.status = 500
    local_platform(rt).add_fault("publish", "rejected")
    add_post(rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    Publisher(rt).run_due()
    watchdog.run_once(rt)
    (row,) = rows(rt)
    assert row.status == "pending" and row.attempts == 1 and "500" in row.last_error
    assert timedelta(seconds=8) <= row.next_attempt_at - clock() <= timedelta(seconds=12)
    watchdog.run_once(rt)
    assert rows(rt)[0].attempts == 1  # not due yet
    for _ in range(sender.MAX_ATTEMPTS):
        clock.advance(hours=1)
        watchdog.run_once(rt)
    (row,) = rows(rt)
    assert row.status == "failed" and row.attempts == sender.MAX_ATTEMPTS
    assert cli("notify", "list", "--status", "failed", "--json").json[0]["id"] == row.id
    assert "1 notification(s) failed" in " ".join(cli("status", "--json").json["warnings"])
    hook.status = 200
    assert cli("notify", "retry", str(row.id)).code == 0
    assert cli("notify", "retry", str(row.id)).code == 1  # pending now, not failed
    assert cli("notify", "retry", "99999").code == 1
    watchdog.run_once(rt)
    assert rows(rt)[0].status == "sent" and len(to(hook, KEY)) == 1


def test_two_senders_deliver_each_row_once(rt, clock, hook):
    found = emergencies(rt, clock)
    barrier = threading.Barrier(2)

    def send(name):
        barrier.wait()
        sender.deliver_due(rt, worker=name)

    threads = [threading.Thread(target=send, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(to(hook, KEY)) == len(found)
    assert sorted(m["message"] for m in to(hook, KEY)) == sorted(
        set(m["message"] for m in to(hook, KEY)))


def test_notify_test_and_its_failures(rt, hook, cli, workspace, monkeypatch):
    r = cli("notify", "test")
    assert r.code == 0 and "duty: sent" in r.err and "chief: sent" in r.err
    assert [m["json"]["title"] for m in hook.received] == ["outreach 测试通知", "outreach test notification"]
    assert cli("notify", "test", "--target", "nobody").code == 1
    monkeypatch.delenv("OUTREACH_NOTIFY_CHIEF")
    r = cli("notify", "test", "--target", "chief")
    assert r.code == 1 and "$OUTREACH_NOTIFY_CHIEF is not set" in r.err
    monkeypatch.setenv("OUTREACH_NOTIFY_CHIEF", f"nosuchscheme://{CHIEF_KEY}")
    r = cli("notify", "test", "--target", "chief")
    assert r.code == 1 and "not a URL apprise can use" in r.err and CHIEF_KEY not in r.err


def test_url_file_must_be_private(rt, workspace, cli, hook):
    url_file = workspace / "duty.url"
    url_file.write_text(hook.url(KEY) + "\n", encoding="utf-8")
    url_file.chmod(0o644)
    text = (workspace / "config.toml").read_text(encoding="utf-8").replace(
        'url_env = "OUTREACH_NOTIFY_DUTY"', 'url_file = "duty.url"')
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    r = cli("notify", "test", "--target", "duty")
    assert r.code == 1 and "chmod 600" in r.err and "duty.url" in r.err and KEY not in r.err
    url_file.chmod(0o600)
    assert cli("notify", "test", "--target", "duty").code == 0
    assert len(to(hook, KEY)) == 1


@pytest.mark.parametrize(("snippet", "expected"), [
    ('targets = [{ name = "a", url = "json://x/KEY", events = ["emergency"] }]',
     "notify.targets[0].url: unknown key"),
    ('targets = [{ name = "a", url_env = "A", command = "x", events = ["emergency"] }]',
     "exactly one of url_env, url_file or command"),
    ('targets = [{ name = "a", url_env = "A", events = ["party"] }]', "unknown event 'party'"),
    ('targets = [{ name = "a", url_env = "A", events = [] }, { name = "a", url_env = "B", '
     'events = [] }]', "duplicate target name"),
    ('escalate_after_minutes = 0', "must be at least 1"),
    ('digest_at = "25:00"', 'expected "HH:MM"'),
])
def test_bad_notify_config_is_one_clear_line(workspace, cli, snippet, expected):
    text = local_config() + f"\n[notify]\n{snippet}\n"
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    r = cli("notify", "list")
    assert r.code == 1 and expected in r.err and "config.toml:" in r.err
    assert "Traceback" not in r.err and "KEY" not in r.err


def test_a_command_target_gets_the_json(rt, workspace, clock, cli):
    out = workspace / "got.jsonl"
    script = workspace / "hook.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write("
                      "sys.stdin.read() + '\\n')\n", encoding="utf-8")
    text = (workspace / "config.toml").read_text(encoding="utf-8").replace(
        'url_env = "OUTREACH_NOTIFY_DUTY"', f'command = "{sys.executable} {script} {out}"')
    (workspace / "config.toml").write_text(text, encoding="utf-8")
    rt2 = type(rt)(load_settings(workspace / "config.toml"), clock=clock)
    local_platform(rt2).add_fault("publish", "rejected")
    add_post(rt2, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    Publisher(rt2).run_due()
    watchdog.run_once(rt2)
    (got,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert got["event"] == "post_failed" and got["payload"]["account"] == "pingan-local"
    assert "发布失败" in got["title"]
    rt2.close()


def test_the_key_is_in_no_output_log_or_row(rt, clock, hook, cli, caplog, workspace,
                                            monkeypatch):
    caplog.set_level(logging.DEBUG)
    outputs = []
    found = emergencies(rt, clock)
    local_platform(rt).add_fault("publish", "rejected")
    add_post(rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    Publisher(rt).run_due()
    hook.status = 500  # failures: their reasons are stored and logged
    watchdog.run_once(rt)
    hook.status = 200
    clock.advance(minutes=30)
    watchdog.run_once(rt)
    outputs.append(cli("-v", "opinions", "ack", str(found[0])))
    for args in (("notify", "list"), ("notify", "list", "--json"), ("notify", "test"),
                 ("-v", "notify", "test"), ("status", "--json"), ("watchdog",)):
        outputs.append(cli("-v", *args))
    monkeypatch.setenv("OUTREACH_NOTIFY_DUTY", f"json://127.0.0.1:1/hook/{KEY}")  # refused
    outputs.append(cli("-v", "notify", "test"))
    assert outputs[-1].code == 1
    assert to(hook, KEY) and to(hook, CHIEF_KEY)  # the keys were used
    text = "\n".join(o.out + o.err for o in outputs) + caplog.text
    text += "\n".join(logical_dump(workspace / "outreach.db"))
    for key in (KEY, CHIEF_KEY):
        assert key not in text
    assert "(retrying)" in caplog.text and "error=500" in caplog.text  # failures were logged


WEIBO_CONFIG = """\
[outreach]
database = "{database}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "{api}"
token_env = "OUTREACH_TEST_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
"""


def test_a_token_that_expires_within_three_days_is_notified_once(workspace, hook, cli,
                                                                 monkeypatch):

    monkeypatch.setenv("OUTREACH_NOTIFY_DUTY", hook.url(KEY))
    monkeypatch.setenv("OUTREACH_NOTIFY_CHIEF", hook.url(CHIEF_KEY))
    monkeypatch.setenv("OUTREACH_TEST_WEIBO_TOKEN", "weibo-token-for-expiry")
    with WeiboServer(token="weibo-token-for-expiry") as weibo:
        (workspace / "config.toml").write_text(
            WEIBO_CONFIG.format(database=DATABASE_URL, api=weibo.url) + NOTIFY.format(events=ALL),
            encoding="utf-8")
        weibo.configure(token_lifetime=5 * 86400)
        assert cli("accounts", "check").code == 0
        rt = Runtime(load_settings(workspace / "config.toml"))
        try:
            watchdog.run_once(rt)
            assert to(hook, KEY) == []  # five days: not yet
            weibo.configure(token_lifetime=2 * 86400)
            assert cli("accounts", "check").code == 0
            watchdog.run_once(rt)
            watchdog.run_once(rt)
            (got,) = to(hook, KEY)
            assert "wb 的令牌即将过期" == got["title"] and "outreach auth" in got["message"]
            weibo.configure(token_lifetime=0)  # expired: the account needs re-authorisation
            assert cli("accounts", "check").code == 1
            assert cli("accounts", "check").code == 1
            watchdog.run_once(rt)
            assert [m["title"] for m in to(hook, KEY)][1:] == ["wb 需要重新授权"]
        finally:
            rt.close()


def test_a_sender_that_died_mid_send_is_taken_over_once_its_lease_expires(rt, clock, hook,
                                                                        caplog):
    """The crash window: a claimed row whose sender died is sent again after the lease —
    at least once, never by two live senders at the same time."""
    local_platform(rt).add_fault("publish", "rejected")
    add_post(rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    Publisher(rt).run_due()
    (row,) = rows(rt)
    dead = sender.claim(rt, row.id, "dead-sender")  # claimed; then the process died
    assert dead is not None and rows(rt)[0].status == "sending"
    assert sender.deliver_due(rt, worker="live").sent == []  # its lease still holds
    clock.advance(seconds=sender.lease(rt).total_seconds() + 1)
    assert sender.deliver_due(rt, worker="live").sent == [row.id]
    (row,) = rows(rt)
    assert row.status == "sent" and row.attempts == 2 and len(to(hook, KEY)) == 1
    assert "may arrive twice" in caplog.text
    sender.finish(rt, dead, "dead-sender", status=NotificationStatus.FAILED, error="late")  # woke up
    assert rows(rt)[0].status == "sent"  # the claim was lost: nothing it writes lands


def test_old_notifications_lose_the_comment_text_after_keep_days(rt, clock, hook):
    found = emergencies(rt, clock)
    watchdog.run_once(rt)
    sent = rows(rt, target="duty")
    assert len(sent) == len(found) and all(r.payload["comment_id"] for r in sent)
    clock.advance(minutes=11)
    watchdog.run_once(rt)  # escalated to the chief
    assert {r.status for r in rows(rt)} == {"sent"}
    clock.advance(days=rt.settings.opinions.keep_days + 1)
    watchdog.run_once(rt)
    assert all(r.payload is None for r in rows(rt, target="duty"))
    assert all(r.payload is None for r in rows(rt, target="chief"))  # escalated, sent, old
