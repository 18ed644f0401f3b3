"""The inbox with the model beside the rules: who recognised a comment, and unread ones first.

Comments arrive through the fake Weibo server and the CLI, as they would in production.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests import test_weibo_e2e as e2e
from tests.test_weibo_e2e import Cli, WeiboServer, add, ok, run_once, show

server, weibo, wb = e2e.server, e2e.weibo, e2e.wb  # the fake Weibo server's fixtures

MODEL_EMERGENCY = "隔壁女的尖叫了半个小时了，还有砸东西的声音"
RULES_EMERGENCY = "救命啊有人砸门"
UNREAD = "xq zv 7"
CHATTER = "哈哈哈哈"
INQUIRY = "请问身份证丢了在哪里补办"


def engage(cli: Cli, weibo: WeiboServer, texts: list[str]) -> None:
    post_id = add(cli)
    run_once(cli)
    remote_id = show(cli, post_id)["remote_id"]
    weibo.engage(remote_id, comments=[{"author": f"网友{i}", "text": t} for i, t in enumerate(texts)])
    ok(cli("metrics", "collect"))


def test_the_inbox_says_who_recognised_each_comment_and_lists_unread_next(
        wb: Path, weibo: WeiboServer, cli: Cli) -> None:
    engage(cli, weibo, [CHATTER, INQUIRY, UNREAD, MODEL_EMERGENCY, RULES_EMERGENCY])
    rows = ok(cli("opinions", "--json")).json
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == {CHATTER, INQUIRY, UNREAD, MODEL_EMERGENCY, RULES_EMERGENCY}

    caught = by_text[MODEL_EMERGENCY]
    assert caught["class"] == "emergency" and caught["fired"] == "model"
    assert 0 < caught["emergency_probability"] <= 1
    assert by_text[RULES_EMERGENCY]["class"] == "emergency"
    assert by_text[RULES_EMERGENCY]["fired"] in ("rules", "both")
    assert by_text[INQUIRY]["class"] == "inquiry" and by_text[INQUIRY]["fired"]
    unread = by_text[UNREAD]
    assert unread["class"] == "chatter" and "unmatched" in unread["labels"] and unread["fired"] == ""
    assert by_text[CHATTER]["fired"] and "unmatched" not in by_text[CHATTER]["labels"]

    order = [r["text"] for r in rows]
    assert set(order[:2]) == {MODEL_EMERGENCY, RULES_EMERGENCY}  # open emergencies first
    assert order[2] == UNREAD  # then what nobody recognised
    keys = {"id", "account", "post_id", "created_at", "class", "labels", "text", "needs_reply",
            "replied_at", "url", "fired", "emergency_probability"}
    assert all(keys <= set(r) for r in rows)

    table = ok(cli("opinions"))
    assert "unread" in table.out


def test_an_unusable_model_leaves_the_rules_collecting(
        wb: Path, weibo: WeiboServer, cli: Cli, caplog: pytest.LogCaptureFixture) -> None:
    broken = wb / "content" / "opinions" / "model.skops"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="outreach.collect.counts"):
        engage(cli, weibo, [RULES_EMERGENCY, CHATTER])
    assert "opinion model unusable" in caplog.text and "rules alone" in caplog.text
    rows = ok(cli("opinions", "--json")).json
    by_text = {r["text"]: r for r in rows}
    assert by_text[RULES_EMERGENCY]["class"] == "emergency"
    assert by_text[RULES_EMERGENCY]["fired"] == "rules"
    assert by_text[RULES_EMERGENCY]["emergency_probability"] is None
