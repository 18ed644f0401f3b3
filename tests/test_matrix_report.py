"""`outreach report --matrix @group`: a group's accounts ranked against each other, on the
March 2027 figures of ``tests.test_reports`` (so every figure can be checked against the
report's own), in every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import openpyxl
import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.reports.build import build_report
from outreach.reports.matrix import build_matrix
from outreach.reports.matrix_model import MATRIX_SCHEMA_FILE, MatrixReport, matrix_schema_text
from outreach.states import PostKind, PostStatus
from outreach.store.models import Post
from tests.test_reports import CONFIG, NOW, add_comments, build_database

MARCH = ("--since", "2027-03-01", "--until", "2027-03-31")
GROUPED = (CONFIG.replace('[accounts.loc]\n', '[accounts.loc]\ndisplay_name = "<b>本地</b>"\n')
           + '\n[accounts.quiet]\nplatform = "local"\nlang = "zh"\n'  # never posts
           + '\n[groups]\nbeijing = ["wb", "@others"]\nothers = ["md", "loc", "quiet"]\n')


@pytest.fixture
def rt(runtime_factory: Any, clock: Any) -> Any:
    clock.set(NOW)
    runtime = runtime_factory(GROUPED)
    build_database(runtime)
    add_comments(runtime)
    return runtime


def matrix_json(cli: Any, *args: str) -> dict[str, Any]:
    r = cli("report", "--matrix", "@beijing", *MARCH, *args, "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json
    return data


def test_the_matrix_ranks_by_the_reports_own_bci(rt, cli):
    m = matrix_json(cli)
    report = cli("report", *MARCH, "--json").json
    bci = {a["name"]: a["bci"] for a in report["accounts"]}
    posts = {a["name"]: a["posts"] for a in report["accounts"]}
    assert {a["name"] for a in m["accounts"]} == {"wb", "md", "loc", "quiet"}
    for a in m["accounts"]:
        assert a["bci"] == bci[a["name"]] and a["posts"] == posts[a["name"]]
    ordered = [a["bci"] for a in m["accounts"]]
    assert ordered == sorted(ordered, reverse=True)
    assert [a["rank"] for a in m["accounts"]][0] == 1
    assert m["totals"]["posts"] == report["totals"]["posts"]
    assert m["totals"]["bci"] == report["totals"]["bci"]
    assert m["totals"]["accounts"] == 4 and m["group"] == "@beijing"


def test_rank_change_is_against_the_previous_period(rt, cli):
    m = matrix_json(cli)
    feb = cli("report", "--since", "2027-02-01", "--until", "2027-02-28", "--json").json
    before = sorted(feb["accounts"], key=lambda a: -a["bci"])
    for a in m["accounts"]:
        prev = next(x for x in feb["accounts"] if x["name"] == a["name"])
        assert a["previous_bci"] == prev["bci"]
        assert a["previous_rank"] == 1 + sum(x["bci"] > prev["bci"] for x in before)
        assert a["rank_change"] == a["previous_rank"] - a["rank"]
    assert m["previous_period"]["first_day"] == "2027-02-01"


def test_replies_match_the_reports_section_per_account(rt, cli):
    m = matrix_json(cli)
    for a in m["accounts"]:
        one = cli("report", *MARCH, "--account", a["name"], "--json").json["opinions"]
        assert (a["needs_reply"], a["replied"], a["reply_rate"], a["median_reply_hours"]) == (
            one["needs_reply"], one["replied"], one["reply_rate"], one["median_reply_hours"])


def test_days_without_a_post_and_the_laggards(rt):
    # in-process, on the fake clock (April 2027): March has passed, every day of it counts
    m = build_matrix(rt, "@beijing", since=date(2027, 3, 1), until=date(2027, 3, 31),
                     lang="en").to_dict()
    by = {a["name"]: a for a in m["accounts"]}
    for a in m["accounts"]:
        assert 0 <= a["days_without_post"] <= 31
        if a["posts"] == 0:
            assert a["days_without_post"] == 31 and a["gap_warning"]
    lagging = {g["name"]: g["reasons"] for g in m["laggards"]}
    silent = [n for n, a in by.items() if a["posts"] == 0]
    assert silent and all(n in lagging for n in silent)
    for n in silent:
        assert "no post in the period" in lagging[n]
        assert any("days without a post" in r for r in lagging[n])
    last = max(m["accounts"], key=lambda a: a["rank"])
    assert last["name"] in lagging
    assert m["totals"]["accounts_with_gap_warning"] == sum(a["gap_warning"] for a in by.values())


def test_gaps_and_days_without_a_post_agree_with_the_reports_compliance(rt):
    m = build_matrix(rt, "@beijing", since=date(2027, 3, 1), until=date(2027, 3, 31))
    report = build_report(rt, accounts=None, since=date(2027, 3, 1), until=date(2027, 3, 31))
    gaps = {c.account: c.longest_gap_days for c in report.compliance.accounts}
    zone = ZoneInfo("Asia/Shanghai")
    with rt.db.reader() as s:
        went_out = s.execute(select(col(Post.account), col(Post.published_at)).where(
            col(Post.status).in_((PostStatus.PUBLISHED, PostStatus.RETRACTED)),
            col(Post.kind) != PostKind.REPLY,
            col(Post.published_at).is_not(None))).all()
    posted_days: dict[str, set[date]] = {a.name: set() for a in m.accounts}
    for account, at in went_out:
        day = at.astimezone(zone).date()
        if date(2027, 3, 1) <= day <= date(2027, 3, 31):
            posted_days[account].add(day)
    assert any(posted_days.values())
    for a in m.accounts:
        assert a.longest_gap_days == gaps[a.name]
        assert a.gap_warning == (a.longest_gap_days >= 14)
        assert a.days_without_post == 31 - len(posted_days[a.name]), a.name


def test_the_json_follows_its_committed_schema(rt, cli):
    m = matrix_json(cli)
    schema = json.loads(MATRIX_SCHEMA_FILE.read_text("utf-8"))
    jsonschema.validate(m, schema)
    assert MATRIX_SCHEMA_FILE.read_text("utf-8") == matrix_schema_text()
    MatrixReport.model_validate(m)


def test_csv_xlsx_md_and_html(rt, cli, workspace):
    r = cli("report", "--matrix", "@beijing", *MARCH, "--format", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["name"] for row in rows] == [a["name"] for a in matrix_json(cli)["accounts"]]
    r = cli("report", "--matrix", "@beijing", *MARCH, "--format", "csv", "-o", "out/")
    assert r.code == 0, r.err
    assert {p.name for p in (workspace / "out").iterdir()} == {
        "matrix_ranking.csv", "matrix_totals.csv", "matrix_laggards.csv"}
    r = cli("report", "--matrix", "@beijing", *MARCH, "--format", "xlsx", "-o", "m.xlsx",
            "--lang", "en")
    assert r.code == 0, r.err
    book = openpyxl.load_workbook(workspace / "m.xlsx")
    assert book.sheetnames == ["Ranking", "Totals", "Laggards"]
    assert book["Ranking"]["A1"].value == "Rank" and book["Ranking"].max_row == 5
    md = cli("report", "--matrix", "@beijing", *MARCH, "--format", "md").out
    assert "## 排名" in md and "&lt;b&gt;本地&lt;/b&gt;" in md
    html = cli("report", "--matrix", "@beijing", *MARCH, "--format", "html").out
    assert "<svg" in html and 'class="chart"' in html
    assert "<b>本地</b>" not in html.split("<svg")[0] + html.split("</svg>")[-1]
    assert "&lt;b&gt;本地&lt;/b&gt;" in html
    table = cli("report", "--matrix", "@beijing", *MARCH)
    assert table.code == 0 and "BCI" in table.out


@pytest.mark.parametrize(("args", "code", "words"), [
    (("--matrix", "wb"), 1, "takes a group"),
    (("--matrix", "@nowhere"), 1, "unknown group"),
    (("--matrix", "@beijing", "--account", "wb"), 2, "--matrix"),
])
def test_bad_matrix_requests(rt, cli, args, code, words):
    r = cli("report", *MARCH, *args)
    assert r.code == code and words in r.err


def test_a_long_list_of_simulated_accounts_is_cut_to_one_line(runtime_factory, clock, cli):
    """A province's thousand local accounts are named by the first few and a count, in the
    warning and in the report's notes, never as a screenful of names."""
    clock.set(NOW)
    names = [f"county{i:02d}" for i in range(14)]
    runtime_factory(CONFIG + "".join(f'\n[accounts.{n}]\nplatform = "local"\nlang = "zh"\n'
                                     for n in names)
                    + f"\n[groups]\ncounties = {json.dumps(names)}\n")
    r = cli("report", "--matrix", "@counties", *MARCH, "--json")
    assert r.code == 0, r.err
    warning = [line for line in r.err.splitlines() if "county00" in line]
    assert len(warning) == 1 and "county09 … (+4)" in warning[0], r.err
    assert "county10" not in r.err
    note = r.json["notes"][0]
    assert "county09 … (+4)" in note and "county13" not in note
    assert len(r.json["simulated_accounts"]) == 14  # the data still names every one
