"""The report's 民意分析 on a labelled month: 330 comments (and a previous month) with planted
concerns, places and a phone number, read back through `outreach report` in every format."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outreach.opinions.redact import redact
from outreach.runtime import Runtime
from outreach.store.models import Comment
from tests.conftest import Result, local_config

Cli = Callable[..., Result]
MARCH = ("--since", "2027-03-01", "--until", "2027-03-31")
PHONE = "13812345678"

# (class, how many in March, how many in February, the text; {n} numbers it)
PLANTED = [
    ("complaint", 90, 30, "望京小区电动车又被偷了，{n}号楼门口的监控坏了"),
    ("help", 70, 100, "我在海淀区被刷单骗了{n}百元，怎么追回"),
    ("inquiry", 60, 10, "请问在朝阳区补办身份证需要带什么材料，第{n}次问了"),
    ("suggestion", 30, 0, "Please add street lights near Sanlitun, road {n} is dark at night"),
    ("praise", 30, 5, "感谢民警帮我找回了丢失的钱包，第{n}天"),
    ("spam_abuse", 49, 0, "加微信领取兼职日赚三百，名额{n}个"),
    ("complaint", 1, 0, "电动车被偷了，联系我" + PHONE),
]


@pytest.fixture
def rt(runtime_factory: Callable[..., Runtime]) -> Runtime:
    rt = runtime_factory(local_config(slots="", require_approval=False))
    month_start = {True: datetime(2027, 3, 1, 1, tzinfo=UTC),
                   False: datetime(2027, 2, 1, 1, tzinfo=UTC)}
    rows = []
    for march in (True, False):
        i = 0
        for klass, now_n, before_n, text in PLANTED:
            for n in range(now_n if march else before_n):
                i += 1
                stored, redacted = redact(text.format(n=n))
                rows.append(Comment(
                    account="pingan-local", remote_id=f"{'m' if march else 'f'}{i}",
                    author="someone", text=stored, redacted=redacted,
                    created_at=month_start[march] + timedelta(minutes=97 * i),
                    opinion_class=klass, labels=[], reply_required=False))
    assert sum(1 for r in rows if r.remote_id.startswith("m")) >= 300
    with rt.db.session() as s:
        s.add_all(rows)
        s.commit()
    return rt


def report(cli: Cli, *args: str) -> Result:
    r = cli("report", *MARCH, *args)
    assert r.code == 0, r.err
    return r


def test_the_planted_concerns_places_and_changes_come_out(rt: Runtime, cli: Cli) -> None:
    a = report(cli, "--format", "json").json["opinions"]["analysis"]
    assert (a["comments"], a["previous_comments"]) == (330, 145)
    top = {k["word"]: k for k in a["keywords"]}
    assert top["电动车"] == {"word": "电动车", "count": 91, "previous": 30, "change": 61}
    assert top["刷单"] == {"word": "刷单", "count": 70, "previous": 100, "change": -30}
    assert not {"望京", "海淀区", "sanlitun"} & set(top)  # places are counted as places
    assert a["keywords"][0]["word"] == "电动车"  # the most talked about
    # stop words and redaction marks never count; spam never makes a concern
    assert not {"需要", "什么", "手机号", "兼职", "加微信"} & set(top)
    by = {c["class"]: c for c in a["by_class"]}
    assert "spam_abuse" not in by
    assert by["complaint"]["comments"] == 91 and by["complaint"]["name"] == "投诉"
    assert {"电动车", "监控"} <= {k["word"] for k in by["complaint"]["concerns"]}
    inquiry = {k["word"]: k for k in by["inquiry"]["concerns"]}
    assert inquiry["身份证"] == {"word": "身份证", "count": 60, "previous": 10, "change": 50}
    assert {k["word"] for k in by["suggestion"]["concerns"]} >= {"street", "lights", "dark"}
    assert by["suggestion"]["concerns"][0]["previous"] == 0
    places = {p["place"]: p for p in a["places"]}
    assert places["望京"] == {"place": "望京", "count": 90, "previous": 30, "change": 60}
    assert places["海淀区"]["count"] == 70 and places["朝阳区"]["count"] == 60
    assert places["三里屯"]["count"] == 30  # written "Sanlitun"
    # examples: the newest comment of each top word, redacted as stored
    examples = {e["word"]: e for e in a["examples"]}
    assert examples["电动车"]["text"] == "电动车被偷了，联系我[手机号]"
    assert all(PHONE not in e["text"] for e in a["examples"])


def test_every_format_shows_the_analysis(rt: Runtime, cli: Cli, workspace: Path) -> None:
    md = report(cli, "--format", "md").out
    assert "民意分析：高频关注点" in md and "| 全部 | 电动车 | 91 | 30 | +61 |" in md
    assert "| 望京 | 90 | 30 | +60 |" in md and PHONE not in md
    html = report(cli, "--format", "html").out
    assert 'id="concerns"' in html and 'id="places"' in html and 'id="examples"' in html
    assert html.count("<svg") >= 1 and "电动车" in html and PHONE not in html
    table = report(cli).out
    assert "电动车" in table and "望京" in table
    en = report(cli, "--lang", "en").out
    assert "Public concerns" in en and "Places mentioned" in en
    report(cli, "--format", "csv", "-o", f"{workspace / 'csv'}/")
    concerns = (workspace / "csv" / "concerns.csv").read_text("utf-8-sig").splitlines()
    assert concerns[0] == "class,name,word,count,previous,change"
    assert "(total),,电动车,91,30,61" in concerns
    assert "complaint,投诉,电动车,91,30,61" in concerns
    places = (workspace / "csv" / "places.csv").read_text("utf-8-sig").splitlines()
    assert "望京,90,30,60" in places
    report(cli, "--format", "xlsx", "-o", str(workspace / "r.xlsx"))
    assert (workspace / "r.xlsx").stat().st_size > 0


def test_an_empty_month_has_an_empty_analysis(runtime_factory: Callable[..., Runtime],
                                             cli: Cli) -> None:
    runtime_factory(local_config(slots=""))
    a: dict[str, Any] = json.loads(report(cli, "--format", "json").out)["opinions"]["analysis"]
    assert a == {"comments": 0, "previous_comments": 0, "keywords": [], "by_class": [],
                 "places": [], "examples": []}
