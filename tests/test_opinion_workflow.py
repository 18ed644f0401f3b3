"""The public-opinion workflow beside replying: acknowledge, hand over, close, assign — from
the officer's side, through the CLI on a real workspace.

Comments arrive as the collector stores them (classified and redacted) under a post the
local platform published; everything after that is the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.clients.base import RemoteComment
from outreach.collect.comments import OwedPost, store_comments
from outreach.collect.counts import CollectSummary
from outreach.opinions.rules import load_rules
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.store.models import AuditLog, Comment, Notification, Post
from tests.conftest import Result, local_config
from tests.factories import FakeClock

Cli = Callable[..., Result]

EMERGENCY = "救命啊有人砸门"
EMERGENCY_2 = "楼下有人持刀抢劫，快来人"
INQUIRY = "请问身份证丢了在哪里补办"
COMPLAINT = "出警太慢，态度差"
HELP = "我被骗了，钱还能找回来吗"
PRAISE = "谢谢，很实用"

NOTIFY = """
[notify]
escalate_after_minutes = 10
targets = [
  { name = "duty", url_env = "OUTREACH_NOTIFY_DUTY", events = ["emergency"] },
  { name = "chief", url_env = "OUTREACH_NOTIFY_CHIEF", events = ["emergency"] },
]
"""


def ok(r: Result) -> Result:
    assert r.code == 0, r.err
    return r


def one_line_error(r: Result, *words: str) -> None:
    assert r.code == 1, (r.out, r.err)
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.err, r.err
    for w in words:
        assert w in r.err


@pytest.fixture
def rt(runtime_factory: Callable[..., Runtime], clock: FakeClock,
       monkeypatch: pytest.MonkeyPatch) -> Runtime:
    clock.set(datetime.now(UTC) - timedelta(hours=3))
    # the targets are never reached here: rows stay pending until acknowledged or handed over
    monkeypatch.setenv("OUTREACH_NOTIFY_DUTY", "json://127.0.0.1:9/duty")
    monkeypatch.setenv("OUTREACH_NOTIFY_CHIEF", "json://127.0.0.1:9/chief")
    monkeypatch.setenv("OUTREACH_USER", "officer-a")
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0) + NOTIFY)
    sync_accounts(rt)
    return rt


def comments(rt: Runtime, clock: FakeClock, texts: list[str],
             minutes_ago: int = 30) -> dict[str, int]:
    """Publish a post and store the public's comments under it; their ids by text."""
    post = add_post(rt, "pingan-local", tip=None, text="陌生来电要求转账，先挂断再核实。", at=None,
                    by="officer-a")
    Publisher(rt).run_due()
    with rt.db.reader() as s:
        remote = s.get(Post, post.id)
    assert remote is not None and remote.remote_id
    now = datetime.now(UTC)
    fetched = [RemoteComment(remote_id=f"c{remote.remote_id}-{i}", post_remote_id=remote.remote_id,
                             author=f"网友{i}", text=t, url=None,
                             created_at=now - timedelta(minutes=minutes_ago), is_own=False)
               for i, t in enumerate(texts)]
    clock.set(now)
    owed = [OwedPost(post_id=int(remote.id or 0), remote_id=remote.remote_id, due=len(texts),
                     cursor=None)]
    store_comments(rt, rt.settings.account("pingan-local"), fetched, owed, now,
                   CollectSummary(), load_rules(rt.settings.content_dir))
    with rt.db.reader() as s:
        return {c.text or "": int(c.id or 0) for c in s.execute(select(Comment)).scalars()}


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok(cli("opinions", *args, "--json")).json
    return rows


def audit_rows(rt: Runtime, action: str) -> list[AuditLog]:
    with rt.db.reader() as s:
        return list(s.execute(select(AuditLog).where(col(AuditLog.action) == action)).scalars())


def pending(rt: Runtime, comment_id: int) -> list[Notification]:
    with rt.db.reader() as s:
        return list(s.execute(select(Notification).where(
            col(Notification.comment_id) == comment_id,
            col(Notification.status) == "pending")).scalars())


def test_handing_over_an_emergency_stores_who_to_whom_and_stops_its_escalation(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    ids = comments(rt, clock, [EMERGENCY, INQUIRY])
    em = ids[EMERGENCY]
    assert pending(rt, em), "the emergency waits to escalate"
    r = ok(cli("opinions", "hand-over", str(em), "--to", "110", "--note", "已转110指挥中心",
               "--by", "duty-li"))
    assert "handed over to 110" in r.err and "cancelled" in r.err
    assert pending(rt, em) == []
    row = {c["id"]: c for c in listed(cli)}[em]
    assert row["state"] == "handed_over" and row["handled_to"] == "110"
    assert row["handled_by"] == "duty-li" and row["handled_note"] == "已转110指挥中心"
    assert row["handled_at"].endswith("+00:00") and row["needs_reply"] is False
    [a] = audit_rows(rt, "opinion_hand_over")
    assert (a.actor, a.target, a.reason, a.detail) == (
        "duty-li", f"comment {em}", "已转110指挥中心", {"to": "110"})
    # settled: a second hand-over, a close or an ack refuses, nothing changes
    one_line_error(cli("opinions", "hand-over", str(em), "--to", "station"), "already handed_over")
    one_line_error(cli("opinions", "close", str(em), "--reason", "dup"), "already handed_over")
    one_line_error(cli("opinions", "ack", str(em)), "already handed_over")
    assert len(audit_rows(rt, "opinion_hand_over")) == 1 and audit_rows(rt, "opinion_ack") == []
    # --unanswered no longer lists it; the JSON shows the json output of the command too
    assert em not in {c["id"] for c in listed(cli, "--unanswered")}
    js = ok(cli("opinions", "hand-over", str(ids[INQUIRY]), "--to", "朝阳分局", "--json")).json
    assert js["state"] == "handed_over" and js["handled_by"] == "officer-a"


def test_ack_then_close_with_a_reason_and_the_states_in_the_listing(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    ids = comments(rt, clock, [EMERGENCY, COMPLAINT, HELP, PRAISE])
    state = {c["id"]: c["state"] for c in listed(cli)}
    assert set(state.values()) == {"new"}
    ok(cli("opinions", "ack", str(ids[HELP])))
    r = ok(cli("opinions", "close", str(ids[COMPLAINT]), "--reason", "重复留言，已在另一条处理"))
    assert "closed" in r.err
    ok(cli("opinions", "mark-replied", str(ids[PRAISE])))
    rows = {c["id"]: c for c in listed(cli)}
    assert rows[ids[HELP]]["state"] == "acknowledged"
    assert rows[ids[COMPLAINT]]["state"] == "closed"
    assert rows[ids[COMPLAINT]]["handled_note"] == "重复留言，已在另一条处理"
    assert rows[ids[PRAISE]]["state"] == "replied"
    assert rows[ids[EMERGENCY]]["state"] == "new"
    # an acknowledged comment can still be handed over; an answered one cannot be closed
    ok(cli("opinions", "hand-over", str(ids[HELP]), "--to", "反诈中心"))
    one_line_error(cli("opinions", "close", str(ids[PRAISE]), "--reason", "x"), "already answered")
    [closed] = audit_rows(rt, "opinion_close")
    assert closed.reason == "重复留言，已在另一条处理"
    table = ok(cli("opinions"))
    assert "closed" in table.out and "handed over → 反诈中心" in table.out


@pytest.mark.parametrize("args, words", [
    (("hand-over", "{id}", "--to", "  "), ("--to is blank",)),
    (("hand-over", "{id}", "--to", "x" * 201), ("--to is over 200",)),
    (("hand-over", "99999", "--to", "110"), ("no comment with id 99999",)),
    (("hand-over", "9" * 30, "--to", "110"), ("no comment",)),
    (("close", "{id}", "--reason", ""), ("--reason is blank",)),
    (("assign", "{id}", "--to", " "), ("--to is blank",)),
    (("assign", "99999", "--to", "li"), ("no comment with id 99999",)),
])
def test_bad_input_is_one_line_and_changes_nothing(
        rt: Runtime, clock: FakeClock, cli: Cli, args: tuple[str, ...],
        words: tuple[str, ...]) -> None:
    ids = comments(rt, clock, [EMERGENCY])
    before = listed(cli)
    one_line_error(cli("opinions", *[a.format(id=ids[EMERGENCY]) for a in args]), *words)
    assert listed(cli) == before
    assert not [a for a in audit_rows(rt, "opinion_hand_over") + audit_rows(rt, "opinion_close")
                + audit_rows(rt, "opinion_assign")]


def test_a_missing_required_option_is_a_usage_error(rt: Runtime, clock: FakeClock,
                                                    cli: Cli) -> None:
    ids = comments(rt, clock, [EMERGENCY])
    assert cli("opinions", "hand-over", str(ids[EMERGENCY])).code == 2
    assert cli("opinions", "close", str(ids[EMERGENCY])).code == 2


def test_assigned_comments_are_mine_and_unassigned_emergencies_come_first(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    ids = comments(rt, clock, [EMERGENCY, EMERGENCY_2, INQUIRY, COMPLAINT])
    emergencies = [c["id"] for c in listed(cli) if c["class"] == "emergency"]
    assert len(emergencies) == 2
    first, second = emergencies
    r = ok(cli("opinions", "assign", str(first), "--to", "officer-b", "--by", "chief-wang"))
    assert "assigned to officer-b" in r.err
    ok(cli("opinions", "assign", str(ids[INQUIRY]), "--to", "officer-b"))
    order = [c["id"] for c in listed(cli)]
    assert order[:2] == [second, first]  # the unassigned emergency before the assigned one
    mine = listed(cli, "--mine", "--by", "officer-b")
    assert {c["id"] for c in mine} == {first, ids[INQUIRY]}
    assert all(c["assigned_to"] == "officer-b" for c in mine)
    assert {c["assigned_by"] for c in mine} == {"chief-wang", "officer-a"}
    assert listed(cli, "--mine") == []  # OUTREACH_USER is officer-a: nothing assigned to her
    one_line_error(cli("opinions", "assign", str(first), "--to", "officer-b"), "already assigned")
    ok(cli("opinions", "assign", str(first), "--to", "officer-a"))
    assert [c["id"] for c in listed(cli, "--mine")] == [first]
    details = [a.detail for a in audit_rows(rt, "opinion_assign")]
    assert details[-1] == {"to": "officer-a", "previous": "officer-b"}
    assert "@officer-a" in ok(cli("opinions")).out


def test_the_report_counts_an_emergency_handed_over_in_time_as_handled(
        rt: Runtime, clock: FakeClock, cli: Cli, workspace: Path) -> None:
    ids = comments(rt, clock, [EMERGENCY, EMERGENCY_2, COMPLAINT, INQUIRY], minutes_ago=3)
    # an emergency's deadline in opinions.toml is 0 h: handing over at once is in time only
    # with the same instant; the complaint's deadline is hours away
    with rt.db.reader() as s:
        created = s.get(Comment, ids[EMERGENCY]).created_at  # type: ignore[union-attr]
    assert created is not None
    ok(cli("opinions", "hand-over", str(ids[EMERGENCY_2]), "--to", "110"))
    ok(cli("opinions", "close", str(ids[COMPLAINT]), "--reason", "恶意刷屏"))
    ok(cli("opinions", "mark-replied", str(ids[INQUIRY])))
    today = datetime.now(UTC).astimezone().date()
    span = ("--since", (today - timedelta(days=1)).isoformat(), "--until",
            (today + timedelta(days=1)).isoformat())
    o = ok(cli("report", *span, "--format", "json")).json["opinions"]
    by = {c["class"]: c for c in o["by_class"]}
    assert (by["emergency"]["needs_reply"], by["emergency"]["replied"]) == (2, 0)
    assert by["emergency"]["reply_rate"] == 0.0  # reply figures stay what they were
    assert by["emergency"]["overdue_unanswered"] == 2  # no public reply within 0 h, both
    assert by["emergency"]["handled_in_time"] == 0  # 3 minutes is past a 0 h deadline
    assert (by["emergency"]["handled"], by["emergency"]["handled_rate"]) == (1, 0.5)
    assert by["complaint"]["handled"] == 1 and by["complaint"]["handled_in_time"] == 1
    assert by["inquiry"]["handled"] == 1 and by["inquiry"]["replied"] == 1
    assert o["handled"] == 3 and o["replied"] == 1
    assert o["handled_rate"] == round(3 / o["needs_reply"], 4)
    md = ok(cli("report", *span, "--format", "md")).out
    assert "已处置" in md and "按时处置" in md
    ok(cli("report", *span, "--format", "csv", "-o", f"{workspace / 'out'}/"))
    opinions_csv = (workspace / "out" / "opinions.csv").read_text("utf-8-sig")
    assert "handled_in_time" in opinions_csv.splitlines()[0]
    html = ok(cli("report", *span, "--format", "html")).out
    assert "按时处置" in html
    table = ok(cli("report", *span)).out
    assert "按时处置" in table or "Handled in time" in table


def test_an_emergency_handed_over_within_its_deadline_counts_in_time(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    """With a deadline of 10 minutes, a hand-over to 110 three minutes after the comment is a
    success although nobody replied in public."""
    rules = rt.settings.content_dir / "opinions.toml"
    text = rules.read_text("utf-8")
    assert "reply_within_hours = 0\n" in text
    rules.write_text(text.replace("reply_within_hours = 0\n", "reply_within_hours = 0.1667\n", 1),
                     "utf-8")
    ids = comments(rt, clock, [EMERGENCY, EMERGENCY_2], minutes_ago=3)
    ok(cli("opinions", "hand-over", str(ids[EMERGENCY]), "--to", "110"))
    today = datetime.now(UTC).astimezone().date()
    span = ("--since", (today - timedelta(days=1)).isoformat(), "--until",
            (today + timedelta(days=1)).isoformat())
    o = ok(cli("report", *span, "--format", "json")).json["opinions"]
    em = {c["class"]: c for c in o["by_class"]}["emergency"]
    assert (em["replied"], em["handled"], em["handled_in_time"]) == (0, 1, 1)
    assert em["overdue_unanswered"] == 0  # the other one is 3 minutes old: not overdue yet


def test_show_gives_the_thread_post_comment_state_and_our_replies(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    phone = "请问身份证丢了在哪里补办，我电话13812345678"
    ids = comments(rt, clock, [phone, EMERGENCY])
    cid = ids[next(t for t in ids if "身份证" in t)]
    listed_row = {c["id"]: c for c in listed(cli)}[cid]
    assert "13812345678" not in (listed_row["text"] or "")  # redacted when stored
    ok(cli("opinions", "assign", str(cid), "--to", "officer-b"))
    ok(cli("opinions", "reply", str(cid), "--text", "可到户籍窗口补领。"))
    ok(cli("opinions", "reply", str(cid), "--text", "也可网上预约。", "--again"))
    th = ok(cli("opinions", "show", str(cid), "--json")).json
    assert th["comment"] == {**listed(cli)[[c["id"] for c in listed(cli)].index(cid)]}
    assert th["comment"]["text"] == listed_row["text"] and th["comment"]["state"] == "replied"
    assert th["post"]["text"].startswith("陌生来电要求转账") and th["post"]["status"] == "published"
    assert [(r["text"], r["status"], r["kind"]) for r in th["replies"]] == [
        ("可到户籍窗口补领。", "published", "reply"), ("也可网上预约。", "published", "reply")]
    assert [a["action"] for a in th["audit"]] == ["opinion_assign", "opinion_reply",
                                                  "opinion_reply"]
    assert th["platform_replies"] == []
    out = ok(cli("opinions", "show", str(cid))).out
    for part in ("陌生来电要求转账", listed_row["text"], listed_row["class"], "可到户籍窗口补领。",
                 "也可网上预约。",
                 "published", "状态 state", "officer-b"):
        assert part in out, part
    assert "13812345678" not in out
    em = ok(cli("opinions", "show", str(ids[EMERGENCY]), "--json")).json
    assert em["replies"] == [] and em["comment"]["class"] == "emergency"
    one_line_error(cli("opinions", "show", "99999"), "no comment with id 99999")
