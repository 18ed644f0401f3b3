"""Stock replies (标准答复, content/replies.toml): checked by `content check` like tips, and
sent by `opinions reply ID --stock NAME` in the comment's language through the exactly-once
reply path."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from outreach.runtime import Runtime
from outreach.store.models import AuditLog, Post
from tests.conftest import ROOT
from tests.factories import FakeClock
from tests.test_opinion_workflow import EMERGENCY, INQUIRY, Cli, comments, ok, one_line_error, rt

__all__ = ["rt"]  # the fixture, shared with the workflow's tests

ENGLISH_EMERGENCY = "Help, someone is breaking into my flat right now"
SHIPPED = (ROOT / "content" / "replies.toml").read_text("utf-8")


def replies_file(workspace: Path) -> Path:
    return workspace / "content" / "replies.toml"


def posts(rt: Runtime) -> int:
    with rt.db.reader() as s:
        return int(s.execute(select(func.count()).select_from(Post)).scalar() or 0)


def test_the_shipped_stock_replies_pass_content_check_on_every_starter_account(
        starter_workspace: Path, cli: Cli) -> None:
    r = ok(cli("content", "check", "--json"))
    assert not [p for p in r.json if "replies.toml" in p["file"]], r.json
    names = SHIPPED.count("[[reply]]")
    assert 8 <= names <= 12


@pytest.mark.parametrize("edit, message, severity", [
    (('class = "inquiry"', 'class = "enquiry"'), "class: unknown class 'enquiry'", "error"),
    (("review_by = 2027-12-31", "review_by = 2020-01-01"), "review_by 2020-01-01 has passed",
     "warning"),
    (("或{{ hotline.fraud }}报案", "或{{ hotline.fruad }}报案"), "undefined template variable",
     "error"),
    (('text.zh = "拿不准', 'text.xx = "拿不准'), "text.xx:", "error"),
    (('name = "id-card"', 'name = "call-110"'), "duplicate name", "error"),
])
def test_content_check_names_the_file_line_and_entry_of_a_bad_stock_reply(
        starter_workspace: Path, cli: Cli, edit: tuple[str, str], message: str,
        severity: str) -> None:
    old, new = edit
    assert old in SHIPPED
    replies_file(starter_workspace).write_text(SHIPPED.replace(old, new, 1), "utf-8")
    r = cli("content", "check", "--json")
    assert r.code == (1 if severity == "error" else 0), r.err
    found = [p for p in r.json if message in p["problem"]]
    assert found, r.json
    assert found[0]["file"] == "content/replies.toml" and found[0]["line"] > 0
    assert found[0]["severity"] == severity


def test_content_check_wants_every_account_language_and_the_platform_length(
        starter_workspace: Path, cli: Cli) -> None:
    long = "请注意防范" * 40
    replies_file(starter_workspace).write_text(
        SHIPPED.replace('text.en = "If you are in danger now, call {{ hotline.police }} at once '
                        'and say where you are. Comments here are not monitored as emergency '
                        'calls, so we cannot send help from them."\n', "")
        .replace('text.zh = "感谢您的建议！', f'text.zh = "{long}感谢您的建议！', 1), "utf-8")
    r = cli("content", "check")
    assert r.code == 1
    lines = r.out + r.err
    assert "content/replies.toml:" in lines
    assert "call-110: text.en: missing (an account posts in en)" in lines
    assert "thanks-suggestion: text.zh on pingan-weibo (weibo):" in lines and "limit is 140" in lines


def test_reply_with_a_stock_answer_in_the_comments_language(
        rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    ids = comments(rt, clock, [EMERGENCY, ENGLISH_EMERGENCY, INQUIRY])
    r = ok(cli("opinions", "reply", str(ids[EMERGENCY]), "--stock", "call-110", "--json"))
    assert r.json["status"] == "published" and r.json["kind"] == "reply"
    assert r.json["text"].startswith("如您正面临危险，请立即拨打110报警")
    assert "{{" not in r.json["text"]
    en = ok(cli("opinions", "reply", str(ids[ENGLISH_EMERGENCY]), "--stock", "call-110",
                "--json")).json
    assert en["text"].startswith("If you are in danger now, call 110 at once")
    # the same exactly-once path: a second answer refuses unless --again
    one_line_error(cli("opinions", "reply", str(ids[EMERGENCY]), "--stock", "call-110"),
                   "already has a reply")
    rows = {c["id"]: c for c in ok(cli("opinions", "--json")).json}
    assert rows[ids[EMERGENCY]]["state"] == "replied"
    with rt.db.reader() as s:
        audits = s.execute(select(func.count()).select_from(AuditLog).where(
            col(AuditLog.action) == "opinion_reply")).scalar()
    assert audits == 2


def test_a_stock_answer_falls_back_to_the_accounts_language(
        rt: Runtime, clock: FakeClock, cli: Cli, workspace: Path) -> None:
    replies_file(workspace).write_text(
        '[[reply]]\nname = "zh-only"\nclass = "chatter"\nsource = "本局"\n'
        'text = { zh = "谢谢关注平安{{ city }}。" }\n', "utf-8")
    ids = comments(rt, clock, ["Nice post :)"])
    r = ok(cli("opinions", "reply", str(ids["Nice post :)"]), "--stock", "zh-only", "--json"))
    assert r.json["text"] == "谢谢关注平安北京。"


def test_a_bad_stock_answer_is_refused_before_anything_is_stored(
        rt: Runtime, clock: FakeClock, cli: Cli, workspace: Path) -> None:
    ids = comments(rt, clock, [EMERGENCY])
    before = posts(rt)
    one_line_error(cli("opinions", "reply", str(ids[EMERGENCY]), "--stock", "no-such"),
                   "no stock reply named 'no-such'", "call-110")
    one_line_error(cli("opinions", "reply", "99999", "--stock", "call-110"),
                   "no comment with id 99999")
    assert cli("opinions", "reply", str(ids[EMERGENCY])).code == 2  # neither --text nor --stock
    assert cli("opinions", "reply", str(ids[EMERGENCY]), "--text", "好", "--stock",
               "call-110").code == 2
    # longer than the account's platform allows: refused before sending
    config = workspace / "config.toml"
    assert config.read_text("utf-8").count('lang = "zh"\n') == 1
    config.write_text(config.read_text("utf-8").replace('lang = "zh"\n',
                                                        'lang = "zh"\nmax_length = 30\n', 1),
                      "utf-8")
    one_line_error(cli("opinions", "reply", str(ids[EMERGENCY]), "--stock", "call-110"),
                   "stock reply 'call-110' (zh) on pingan-local", "the limit is 30")
    # an entry content check calls broken is refused too, naming the problem
    replies_file(workspace).write_text(SHIPPED.replace('class = "emergency"', 'class = "x"', 1),
                                       "utf-8")
    one_line_error(cli("opinions", "reply", str(ids[EMERGENCY]), "--stock", "call-110"),
                   "unusable", "unknown class 'x'")
    assert posts(rt) == before


def test_the_stock_replies_are_listed_by_class(workspace: Path, cli: Cli) -> None:
    rows = ok(cli("opinions", "stock", "--json")).json
    assert [r["class"] for r in rows][:2] == ["emergency", "emergency"]
    assert {r["name"] for r in rows} >= {"call-110", "fraud-victim", "complaint-received"}
    first = rows[0]
    assert set(first) == {"name", "class", "langs", "source", "review_by", "texts", "file"}
    assert first["langs"] == ["en", "zh"] and first["file"].startswith("content/replies.toml:")
    help_ = ok(cli("opinions", "stock", "--class", "help", "--json")).json
    assert {r["name"] for r in help_} == {"fraud-victim", "traffic-accident"}
    table = ok(cli("opinions", "stock"))
    assert "call-110" in table.out and "标准答复" in table.err
    one_line_error(cli("opinions", "stock", "--class", "nonsense"), "unknown class 'nonsense'")
    # an entry content check calls broken is not offered
    replies_file(workspace).write_text(SHIPPED.replace('class = "emergency"', 'class = "x"', 1),
                                       "utf-8")
    names = {r["name"] for r in ok(cli("opinions", "stock", "--json")).json}
    assert "call-110" not in names and "fire-medical" in names
