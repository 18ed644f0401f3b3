"""Metrics and comments: change-only snapshots, redaction, classification, alerts, replies."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.actions.opinions import mark_replied, reply
from outreach.actions.posts import add_post
from outreach.actions.queries.opinions import list_opinions
from outreach.collect.alerts import deliver_alerts
from outreach.collect.counts import collect, collect_comments
from outreach.publish.publisher import Publisher
from outreach.store.models import Account, AccountMetric, AuditLog, Comment, PostMetric
from tests.conftest import local_config
from tests.factories import local_platform

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def rt(runtime_factory, clock, workspace):
    clock.set(START)
    alert_log = workspace / "alerts.jsonl"
    script = workspace / "alert.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write("
                      "sys.stdin.read() + '\\n')\n", encoding="utf-8")
    text = local_config(slots="", require_approval=False, min_gap=0)
    text += (f'\n[opinions]\nkeep_days = 30\nalert_command = "{sys.executable} {script} '
             f'{alert_log}"\n')
    rt = runtime_factory(text)
    sync_accounts(rt)
    return rt


def publish(rt, n=5):
    for i in range(n):
        add_post(rt, "pingan-local", tip=None, text=f"第{i}条：陌生来电要求转账，先挂断再核实。",
                 at=None, by="officer-a")
    Publisher(rt).run_due()


def count(rt, model):
    with rt.db.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def test_unchanged_counts_write_no_row(rt, clock):
    publish(rt, 3)
    clock.advance(hours=6)
    first = collect(rt, force=True)
    assert first.post_rows == 3 and first.account_rows == 1
    again = collect(rt, force=True)
    assert again.post_rows == 0 and again.account_rows == 0  # same day, nothing changed
    clock.advance(days=1, hours=12)  # counts grew, and a new day gets a follower point
    later = collect(rt, force=True)
    assert later.post_rows == 3 and later.account_rows == 1
    assert count(rt, PostMetric) == 6 and count(rt, AccountMetric) == 2


def test_comments_are_redacted_classified_and_emergencies_alert(rt, clock, workspace):
    publish(rt, 12)
    clock.advance(days=3)
    summary = collect(rt, force=True)
    assert summary.comments_stored > 50
    with rt.db.reader() as s:
        comments = s.execute(select(Comment)).scalars().all()
    assert {c.opinion_class for c in comments} >= {"praise", "inquiry", "chatter"}
    for c in comments:  # nothing personal reaches the database
        assert "13812345678" not in (c.text or "")
    tipped = [c for c in comments if c.redacted]
    assert tipped and all("[手机号]" in c.text for c in tipped)
    emergencies = [c for c in comments if c.opinion_class == "emergency"]
    assert emergencies  # the seeded audience writes every class
    assert not (workspace / "alerts.jsonl").exists()  # alerts run after the sweep, not in it
    assert sorted(deliver_alerts(rt).sent) == sorted(c.id for c in emergencies)
    assert deliver_alerts(rt).sent == []  # each once
    if emergencies:
        alerts = [json.loads(line) for line in
                  (workspace / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
        assert {a["id"] for a in alerts} == {c.id for c in emergencies}
        assert all(a["class"] == "emergency" and a["text"] for a in alerts)
        assert all(isinstance(a["labels"], list) for a in alerts)
        inbox = list_opinions(rt)
        assert inbox[0]["class"] == "emergency"  # open emergencies first
    again = collect(rt, force=True)
    assert again.comments_stored == 0  # nothing new, nothing stored twice


def test_emergency_in_status_and_accounts(rt, clock, cli):
    publish(rt, 40)
    clock.advance(days=3)
    summary = collect(rt, force=True)
    with rt.db.reader() as s:
        n = s.execute(select(func.count()).select_from(Comment).where(
            col(Comment.opinion_class) == "emergency")).scalar()
    assert n and len(summary.emergencies) == n
    rows = cli("accounts", "list", "--json").json
    assert rows[0]["open_emergencies"] == n
    status = cli("status", "--json").json
    assert any("emergency" in p for p in status["problems"])


def test_reply_goes_out_once_and_marks_the_comment(rt, clock):
    publish(rt, 6)
    clock.advance(days=2)
    collect(rt, force=True)
    waiting = list_opinions(rt, unanswered=True)
    assert waiting
    target = waiting[0]["id"]
    post = reply(rt, target, "感谢留言，可拨打96110咨询。", by="officer-a")
    assert post.status == "published" and post.kind == "reply"
    with rt.db.reader() as s:
        assert s.get(Comment, target).replied_at is not None
    platform = local_platform(rt)
    replies = [s for s in platform.statuses("pingan-local") if s["in_reply_to"]]
    assert len(replies) == 1
    collect_comments(rt)  # our own reply comes back as an own comment, not an opinion
    assert all(r["id"] != target for r in list_opinions(rt, unanswered=True))
    assert all(not r.get("is_own") for r in list_opinions(rt))


def test_a_reply_made_on_the_platform_is_detected(rt, clock):
    publish(rt, 6)
    clock.advance(days=2)
    collect(rt, force=True)
    waiting = list_opinions(rt, unanswered=True)[0]
    client = rt.client("pingan-local")
    with rt.db.reader() as s:
        comment = s.get(Comment, waiting["id"])
        from outreach.store.models import Post

        parent = s.get(Post, comment.post_id)
    client.reply(client.reply_target(parent.remote_id, comment.remote_id), "已私信联系您。",
                 idempotency_key="made-on-the-platform")
    clock.advance(minutes=5)
    summary = collect(rt, force=True)
    assert summary.replies_detected == 1
    with rt.db.reader() as s:
        assert s.get(Comment, waiting["id"]).replied_at is not None


def test_mark_replied_and_keep_days(rt, clock):
    publish(rt, 4)
    clock.advance(days=2)
    collect(rt, force=True)
    first = list_opinions(rt)[-1]
    mark_replied(rt, first["id"], by="officer-b")
    from outreach.errors import StateError

    with pytest.raises(StateError):
        mark_replied(rt, first["id"], by="officer-b")
    clock.advance(days=40)
    collect(rt, force=True)
    with rt.db.reader() as s:
        old = s.execute(select(Comment).where(
            Comment.created_at < clock() - timedelta(days=30))).scalars().all()
    assert old and all(c.text is None for c in old)  # texts gone, rows (counts) stay


def test_opinions_cli(rt, clock, cli):
    publish(rt, 6)
    clock.advance(days=2)
    collect(rt, force=True)
    r = cli("opinions", "--json")
    assert r.code == 0, r.err
    keys = {"id", "account", "post_id", "created_at", "class", "labels", "text", "author",
            "reply_required", "replied_at", "state", "url"}
    assert r.json and keys <= set(r.json[0])
    assert all(isinstance(o["labels"], list) for o in r.json)
    assert any(o["labels"] for o in r.json)
    assert cli("opinions", "--class", "nonsense").code == 1
    assert cli("opinions", "--since", "2027-02-30").code == 1
    r = cli("opinions")
    assert r.code == 0 and "comment(s)" in r.err
    assert cli("opinions", "mark-replied", "999999").code == 1


def _alerts(workspace):
    path = workspace / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_two_deliverers_at_once_send_each_alert_once(rt, clock, workspace, runtime_factory):
    import threading

    slow = workspace / "alert.py"  # a slow receiver: both deliverers overlap
    slow.write_text("import sys, time\ntime.sleep(0.2)\nopen(sys.argv[1], 'a', encoding='utf-8')"
                    ".write(sys.stdin.read() + '\\n')\n", encoding="utf-8")
    publish(rt, 12)
    clock.advance(days=3)
    emergencies = collect(rt, force=True).emergencies
    assert emergencies
    other = runtime_factory()  # a second daemon on the same database
    results = []
    threads = [threading.Thread(target=lambda r=r: results.append(deliver_alerts(r)))
               for r in (rt, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [cid for r in results for cid in r.sent]
    assert sorted(sent) == sorted(emergencies)  # each by exactly one of them
    assert sorted(a["id"] for a in _alerts(workspace)) == sorted(emergencies)


def test_a_failing_alert_command_is_retried_with_backoff_then_delivered_once(rt, clock,
                                                                              workspace):
    flaky = workspace / "alert.py"  # fails until the receiver is "up"
    flaky.write_text("import os, sys\nif not os.path.exists('receiver-up'):\n    sys.exit(3)\n"
                     "open(sys.argv[1], 'a', encoding='utf-8').write(sys.stdin.read() + '\\n')\n",
                     encoding="utf-8")
    publish(rt, 12)
    clock.advance(days=3)
    emergencies = collect(rt, force=True).emergencies
    assert emergencies
    first = deliver_alerts(rt)
    assert sorted(first.failed) == sorted(emergencies) and first.sent == []
    (workspace / "receiver-up").write_text("", encoding="utf-8")
    assert deliver_alerts(rt).sent == []  # backing off: not before 30 s
    clock.advance(seconds=31)
    assert sorted(deliver_alerts(rt).sent) == sorted(emergencies)
    clock.advance(hours=1)
    assert deliver_alerts(rt).sent == [] and deliver_alerts(rt).failed == []
    alerts = _alerts(workspace)
    assert sorted(a["id"] for a in alerts) == sorted(emergencies)
    assert [a["created_at"] for a in alerts] == sorted(a["created_at"] for a in alerts)  # oldest first
    assert all(isinstance(a["labels"], list) for a in alerts)


def test_the_sweep_runs_no_alert_itself(rt, clock, workspace):
    publish(rt, 12)
    clock.advance(days=3)
    assert collect(rt, force=True).emergencies
    assert _alerts(workspace) == []


def test_an_ambiguous_reply_is_reconciled_from_the_replies_and_refused_twice(rt, clock):
    from outreach.errors import StateError

    publish(rt, 6)
    clock.advance(days=2)
    collect(rt, force=True)
    target = list_opinions(rt, unanswered=True)[0]["id"]
    platform = local_platform(rt)
    platform.add_fault("reply", "ambiguous", account="pingan-local")  # applied, answer lost
    post = reply(rt, target, "感谢留言，可拨打96110咨询。", by="officer-a")
    assert post.status == "unconfirmed"
    with pytest.raises(StateError, match=f"post {post.id} \\(unconfirmed\\)"):
        reply(rt, target, "感谢留言，可拨打96110咨询。", by="officer-a")
    clock.advance(minutes=1)
    Publisher(rt).run_due()
    with rt.db.reader() as s:
        from outreach.store.models import Post

        done = s.get(Post, post.id)
        assert done.status == "published" and done.attempts == 1  # found, not sent again
        assert s.get(Comment, target).replied_at is not None
    assert len([s for s in platform.statuses("pingan-local") if s["in_reply_to"]]) == 1


def test_no_comment_is_lost_when_posts_are_polled_at_different_rates(rt, clock):
    """Posts of different ages are polled on different tiers; a young post's newer comments
    must never hide the comments an older post got meanwhile."""
    publish(rt, 3)  # older posts: polled every 6 h once past a day
    clock.advance(hours=30)
    collect(rt, force=True)
    for i in range(3):  # young posts: polled every 30 min
        add_post(rt, "pingan-local", tip=None, text=f"新的第{i}条：网购退款先核实。", at=None,
                 by="officer-a")
    Publisher(rt).run_due()
    for _ in range(48):  # a day of the daemon's metrics sweeps, by the tiers
        clock.advance(minutes=30)
        collect(rt)
    collect(rt, force=True)
    client = rt.client("pingan-local")
    with rt.db.reader() as s:
        from outreach.store.models import Post

        posts = dict(s.execute(select(col(Post.remote_id), col(Post.id)).where(
            col(Post.kind) != "reply", col(Post.status) == "published")).all())
        stored = dict(s.execute(select(col(Comment.post_id), func.count()).group_by(
            col(Comment.post_id))).all())
    counts = client.fetch_counts(list(posts))
    assert len(counts) == 6 and all(c.comments for c in counts.values())
    assert {posts[r]: c.comments for r, c in counts.items()} == {
        posts[r]: stored.get(posts[r], 0) for r in counts}


def test_an_auth_error_in_a_sweep_holds_the_account_audited(rt, clock):
    """The sweep's auth error changes the account as the publisher's does: state, audit."""
    publish(rt, 1)
    local_platform(rt).add_fault("fetch_counts", "auth")
    summary = collect(rt, force=True)
    assert summary.skipped["pingan-local"].startswith("needs re-authorisation")
    with rt.db.reader() as s:
        account = s.execute(select(Account).where(col(Account.name) == "pingan-local")
                            ).scalars().one()
        actions = s.execute(select(col(AuditLog.actor), col(AuditLog.action)).where(
            col(AuditLog.account) == "pingan-local",
            col(AuditLog.action).like("account_%"))).all()
    assert account.state == "needs_reauth" and account.last_error.startswith("auth: ")
    assert actions == [("collector", "account_needs_reauth")]
    assert collect(rt, force=True).skipped == {"pingan-local": "needs re-authorisation"}
