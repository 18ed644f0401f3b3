"""End to end on the fake Weibo server: comments that a failed fetch must not lose, and
answers that a lost reply must not send twice (the CLI on a real SQLite file)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.test_weibo_e2e import (  # noqa: F401  (fixtures)
    TIP,
    TOKEN,
    TOKEN_ENV,
    Cli,
    add,
    ok,
    run_once,
    server,
    show,
    wb,
    weibo,
    write_config,
)
from tests.weibo_server import WeiboServer

COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_REPLY = "/2/comments/reply.json"
EMERGENCY = "快来人！有人持刀砸门，我在朝阳路12号，电话13812345678"
QUESTION = "请问反诈APP在哪里下载？"
ANSWER = "您好，可在应用商店搜索“国家反诈中心”下载。"


def with_alerts(workspace: Path) -> Path:
    """Add an alert_command that appends each alert's JSON to alerts.jsonl."""
    log = workspace / "alerts.jsonl"
    script = workspace / "alert.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write("
                      "sys.stdin.read().replace('\\n', ' ') + '\\n')\n", encoding="utf-8")
    with (workspace / "config.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[opinions]\nalert_command = "{sys.executable} {script} {log}"\n')
    return log


def alerts(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text("utf-8").splitlines() if line.strip()]


def published_post(cli: Cli, text: str = TIP) -> tuple[int, str]:
    """A post, published on the fake Weibo: its id and its remote id."""
    post_id = add(cli, text)
    run_once(cli)
    remote_id: str = show(cli, post_id)["remote_id"]
    return post_id, remote_id


def asked(cli: Cli, fake: WeiboServer) -> dict[str, Any]:
    """A published post with one question from the public under it, collected: the comment."""
    _, remote_id = published_post(cli)
    fake.engage(remote_id, comments=[{"author": "网友乙", "text": QUESTION}])
    ok(cli("metrics", "collect"))
    [comment] = ok(cli("opinions", "--json")).json
    return comment


@pytest.mark.parametrize("kind", ["http500", "rate"])
def test_a_failed_comment_fetch_is_fetched_later_and_its_emergency_alerts_once(
    wb: Path, weibo: WeiboServer, cli: Cli, kind: str  # noqa: F811
) -> None:
    log = with_alerts(wb)
    _, remote_id = published_post(cli)
    weibo.engage(remote_id, comments=[{"author": "路人甲", "text": EMERGENCY}])
    weibo.fault(COMMENTS_SHOW, kind)
    first = cli("metrics", "collect", "--json")
    assert first.code == 0, first.err
    assert ok(cli("opinions", "--json")).json == []  # the fetch failed: nothing stored yet
    assert alerts(log) == []

    ok(cli("metrics", "collect"))  # the count did not change since, yet the comments are owed
    ok(cli("metrics", "collect"))
    [comment] = ok(cli("opinions", "--json")).json
    assert comment["class"] == "emergency" and comment["reply_required"]
    assert "13812345678" not in comment["text"]  # redacted in the database
    [alert] = alerts(log)
    assert alert["id"] == comment["id"] and alert["class"] == "emergency"
    assert alert["text"] == EMERGENCY  # the responder gets the original (never stored)
    assert isinstance(alert["labels"], list)
    assert len(weibo.requests(COMMENTS_SHOW)) == 2  # fetched once more, then no longer owed


def test_a_comment_sweep_in_run_once_fetches_what_a_failed_sweep_owed(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    log = with_alerts(wb)
    _, remote_id = published_post(cli)
    weibo.engage(remote_id, comments=[{"author": "路人甲", "text": EMERGENCY}])
    weibo.fault(COMMENTS_SHOW, "http500", count=2)  # both sweeps of this pass fail
    run_once(cli)
    assert ok(cli("opinions", "--json")).json == []
    run_once(cli)
    run_once(cli)
    assert [c["class"] for c in ok(cli("opinions", "--json")).json] == ["emergency"]
    assert len(alerts(log)) == 1


def test_a_reply_whose_answer_was_lost_is_posted_once(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    comment = asked(cli, weibo)
    assert comment["reply_required"] and comment["replied_at"] is None

    weibo.fault(COMMENTS_REPLY, "drop_after_apply")  # Weibo applies it; the answer is lost
    first = ok(cli("opinions", "reply", str(comment["id"]), "--text", ANSWER, "--json")).json
    assert first["status"] == "unconfirmed"

    again = cli("opinions", "reply", str(comment["id"]), "--text", ANSWER)  # by hand
    assert again.code == 1 and "Traceback" not in again.err
    assert f"post {first['id']}" in again.err and "--again" in again.err
    assert len(again.err.strip().splitlines()) == 1

    run_once(cli)  # reconciles from the comments of the status: found, nothing sent
    run_once(cli)
    own = [c for c in weibo.comments() if c["own"]]
    assert len(own) == 1 and own[0]["reply_to"] == ok(cli("opinions", "--json")).json[0][
        "remote_id"]
    assert len(weibo.requests(COMMENTS_REPLY)) == 1
    post = show(cli, first["id"])
    assert post["status"] == "published" and post["remote_id"] == own[0]["idstr"]
    [answered] = ok(cli("opinions", "--json")).json
    assert answered["replied_at"] is not None and answered["state"] == "replied"


def test_a_second_reply_by_hand_is_refused_unless_again(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    comment = asked(cli, weibo)
    first = ok(cli("opinions", "reply", str(comment["id"]), "--text", ANSWER, "--json")).json
    assert first["status"] == "published"
    twice = cli("opinions", "reply", str(comment["id"]), "--text", "再补充一句：可拨打96110。")
    assert twice.code == 1 and f"post {first['id']} (published)" in twice.err
    assert len([c for c in weibo.comments() if c["own"]]) == 1
    more = ok(cli("opinions", "reply", str(comment["id"]), "--text", "再补充一句：可拨打96110。",
                  "--again", "--json")).json
    assert more["status"] == "published" and more["id"] != first["id"]
    assert len([c for c in weibo.comments() if c["own"]]) == 2


def test_a_broken_opinions_file_is_one_error_and_stops_no_other_account(
    workspace: Path, weibo: WeiboServer, cli: Cli, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    write_config(workspace, weibo.url, extra='[accounts.loc]\nplatform = "local"\nlang = "zh"\n')
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    _, remote_id = published_post(cli)
    weibo.engage(remote_id, comments=[{"author": "路人甲", "text": EMERGENCY}])
    weibo.set_followers(777)
    rules = workspace / "content" / "opinions.toml"
    good = rules.read_text("utf-8")
    rules.write_text(good.replace("reply_within_hours = 24", "reply_within_hours = \"soon\"", 1),
                     "utf-8")
    broken = cli("metrics", "collect", "--json")
    assert broken.code == 1 and "Traceback" not in broken.err
    [line] = broken.err.strip().splitlines()
    assert "content/opinions.toml:" in line and "reply_within_hours" in line
    data = broken.json
    assert data["accounts"] == ["wb", "loc"] and data["posts_checked"] == 1  # every account swept
    assert data["comments_stored"] == 0
    assert next(r for r in ok(cli("accounts", "list", "--json")).json
                if r["name"] == "wb")["followers"] == 777
    listed = ok(cli("opinions", "--json"))  # the inbox still opens, and says why
    assert listed.json == [] and "content/opinions.toml:" in listed.err

    rules.write_text(good, "utf-8")
    fixed = ok(cli("metrics", "collect", "--json")).json
    assert fixed["comments_stored"] == 1 and fixed["rules_error"] is None
    assert [c["class"] for c in ok(cli("opinions", "--json")).json] == ["emergency"]


def test_the_reply_rate_and_time_per_class_come_from_the_answers(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    _, remote_id = published_post(cli)
    weibo.engage(remote_id, comments=[
        {"author": "甲", "text": QUESTION, "minutes_ago": 120},  # inquiry: replied, 2 h
        {"author": "乙", "text": "出警太慢，态度差", "minutes_ago": 30},  # complaint: 0.5 h
        {"author": "丙", "text": "我被骗了，钱还能找回来吗", "minutes_ago": 10},  # help: open
        {"author": "丁", "text": "谢谢，很实用", "minutes_ago": 5},  # praise: no reply wanted
    ])
    ok(cli("metrics", "collect"))
    ids = {c["class"]: c["id"] for c in ok(cli("opinions", "--json")).json}
    assert set(ids) == {"inquiry", "complaint", "help", "praise"}
    ok(cli("opinions", "reply", str(ids["inquiry"]), "--text", ANSWER))
    ok(cli("opinions", "mark-replied", str(ids["complaint"])))
    ok(cli("metrics", "collect"))  # our own reply comes back: not an opinion, changes nothing

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    span = ("--since", (today - timedelta(days=1)).isoformat(), "--until", today.isoformat())
    o = ok(cli("report", "--account", "wb", *span, "--format", "json")).json["opinions"]
    by = {c["class"]: c for c in o["by_class"]}
    assert (o["needs_reply"], o["replied"], o["reply_rate"]) == (3, 2, 0.6667)
    assert (by["inquiry"]["reply_rate"], by["inquiry"]["median_reply_hours"]) == (1.0, 2.0)
    assert (by["complaint"]["reply_rate"], by["complaint"]["median_reply_hours"]) == (1.0, 0.5)
    assert (by["help"]["reply_rate"], by["help"]["median_reply_hours"]) == (0.0, None)
    assert by["praise"]["needs_reply"] == 0 and by["praise"]["reply_rate"] is None
    assert o["median_reply_hours"] == 1.25
    # names and deadlines are opinions.toml's
    assert (by["inquiry"]["name"], by["inquiry"]["deadline_hours"]) == ("咨询", 120)
    assert o["deadlines_hours"]["emergency"] == 0

    html = wb / "report.html"
    ok(cli("report", "--account", "wb", *span, "--format", "html", "-o", str(html)))
    text = html.read_text("utf-8")
    assert "66.67%" in text and "1.25" in text


def test_a_post_whose_comments_weibo_refuses_holds_no_other_post(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    _, first = published_post(cli)
    _, second = published_post(cli, "夜里独自回家，提前告诉家人路线。")
    weibo.engage(first, comments=[{"author": "甲", "text": QUESTION}])
    weibo.engage(second, comments=[{"author": "乙", "text": EMERGENCY}])
    weibo.fault(COMMENTS_SHOW, "error_code", code=20101, count=-1, status_id=first)
    swept = ok(cli("metrics", "collect", "--json")).json
    assert swept["comments_stored"] == 1 and "20101" in swept["comment_errors"]["wb"]
    assert [c["class"] for c in ok(cli("opinions", "--json")).json] == ["emergency"]


def test_run_once_with_a_broken_opinions_file_publishes_and_says_so_once(
    wb: Path, weibo: WeiboServer, cli: Cli  # noqa: F811
) -> None:
    _, remote_id = published_post(cli)
    weibo.engage(remote_id, comments=[{"author": "路人甲", "text": EMERGENCY}])
    rules = wb / "content" / "opinions.toml"
    good = rules.read_text("utf-8")
    rules.write_text(good.replace("needs_reply = true", "needs_reply = 1", 1), "utf-8")
    waiting = add(cli, "电动车进楼入户充电危险，请到集中充电点。")
    result = cli("run", "--once")
    assert result.code == 0 and "Traceback" not in result.err
    assert show(cli, waiting)["status"] == "published"  # the queue is not held by it
    assert len([line for line in result.err.splitlines()
                if "content/opinions.toml:" in line]) == 1
    rules.write_text(good, "utf-8")
    run_once(cli)
    assert [c["class"] for c in ok(cli("opinions", "--json")).json] == ["emergency"]
