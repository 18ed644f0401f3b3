"""`outreach report` as officers and supervisors use it: through the command line, on a real
config and database (the March 2027 figures of ``tests.test_reports``), in every format."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import openpyxl
import pytest

from outreach.config.load import load_settings
from outreach.reports.build import build_report
from outreach.reports.schema import SCHEMA_ID, report_schema, schema_text
from tests.conftest import ROOT
from tests.test_reports import CONFIG, MARCH_TOTAL, NOW, Builder, add_comments, build_database

MARCH = ("--since", "2027-03-01", "--until", "2027-03-31")

# The same database as tests.test_reports, with the names people read and an account that
# was added to the config but never set up (no token, never published).
NAMED_CONFIG = (CONFIG.replace('[accounts.wb]\n', '[accounts.wb]\ndisplay_name = "平安北京"\n')
                .replace('[accounts.loc]\n', '[accounts.loc]\ndisplay_name = "平安北京·本地"\n')
                + """
[accounts.idle]
display_name = "平安朝阳"
platform = "weibo"
token_env = "OUTREACH_TEST_IDLE_TOKEN"
lang = "zh"

[report]
department = "北京市公安局"
title = "网络宣传与民意月报"
""")


@pytest.fixture
def rt(runtime_factory: Any, clock: Any) -> Any:
    clock.set(NOW)
    runtime = runtime_factory(NAMED_CONFIG)
    build_database(runtime)
    add_comments(runtime)
    return runtime


def report_json(cli: Any, *args: str) -> dict[str, Any]:
    r = cli("report", *MARCH, *args, "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json
    return data


def text_of(cli: Any, fmt: str, *args: str) -> str:
    r = cli("report", *MARCH, "--format", fmt, *args)
    assert r.code == 0, r.err
    return r.out


def visible(html: str) -> str:
    """The text of an HTML page, without tags, styles or charts."""
    html = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- one figure, one definition --------------------------------------------------------


def test_each_comment_total_has_one_definition_stated_in_every_format(rt, cli):
    data = report_json(cli)
    cc = data["comment_counts"]
    # platform counters: the change over March of every post's comment count (the headline);
    # comment rows read and classified, made in March by the public (section 三); and the
    # lifetime comment counts of the posts published in March.
    assert cc["received"] == data["totals"]["comments"] == MARCH_TOTAL[2] == 36
    assert cc["collected"] == data["opinions"]["total"] == 6
    # "as of the report": the command's clock is the real one, so this figure is checked
    # on the same database at the test's clock (2027-04-10)
    lifetime = build_report(rt, accounts=None, since=date(2027, 3, 1),
                            until=date(2027, 3, 31)).to_dict()
    assert lifetime["comment_counts"]["on_period_posts"] == 4 + 0 + 2 + 5 + 2 + 18  # P2 P5 P3 M1 M2 L1
    assert lifetime["comment_counts"]["received"] == 36
    assert {d["key"] for d in cc["definitions"]} == {"received", "collected", "on_period_posts"}
    assert "网民评论36条" in data["headline"]["zh"]
    for fmt in ("table", "md", "html"):
        out = text_of(cli, fmt)
        text = visible(out) if fmt == "html" else out
        # "网民评论" names one figure only: the platform's count
        for n in re.findall(r"网民评论\D{0,12}?(\d+)", text):
            assert n == "36", (fmt, re.findall(r"网民评论.{0,20}", text))
        flat = re.sub(r"\s+", "", text)  # the terminal wraps long lines
        for d in cc["definitions"]:
            label, definition = (re.sub(r"\s+", "", d[k]) for k in ("label", "definition"))
            assert f"{label}{d['value']}" in re.sub(r"[*|:]", "", flat), (fmt, label)
            assert definition in flat, (fmt, label)


# --- sections ----------------------------------------------------------------------------

SECTION_TITLES = ["一、总体", "二、传播与互动", "三、回应情况与民意分类", "四、内容分析",
                  "五、合规检查", "六、备注"]


def positions(text: str, titles: list[str]) -> list[int]:
    return [text.find(t) for t in titles]


def test_every_format_has_the_same_sections_in_the_same_order(rt, cli, workspace):
    data = report_json(cli)
    assert [s["title"] for s in data["sections"]] == SECTION_TITLES
    assert [s["key"] for s in data["sections"]] == ["overview", "interaction", "opinions",
                                                   "content", "compliance", "notes"]
    for fmt in ("table", "md", "html"):
        text = text_of(cli, fmt)
        if fmt == "html":
            text = visible(text)
        pos = positions(text, SECTION_TITLES)
        assert all(p >= 0 for p in pos), (fmt, dict(zip(SECTION_TITLES, pos, strict=True)))
        assert pos == sorted(pos), (fmt, pos)
        # a section's tables sit under it: the categories table comes after 四, not before 三
        assert text.find("各宣传类别", pos[3]) > pos[3] and text.find("各宣传类别") > pos[3], fmt
    tables = [t for s in data["sections"] for t in s["tables"]]
    r = cli("report", *MARCH, "--format", "csv", "-o", str(workspace / "csv") + "/")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (workspace / "csv").iterdir()) == sorted(
        f"{t['key']}.csv" for t in tables)
    assert cli("report", *MARCH, "--format", "xlsx", "-o", str(workspace / "m.xlsx")).code == 0
    book = openpyxl.load_workbook(workspace / "m.xlsx")
    assert book.sheetnames == [t["sheet"] for t in tables]


# --- accounts never configured -----------------------------------------------------------


def test_an_account_never_configured_is_listed_once_apart_and_raises_no_alarm(rt, cli):
    data = report_json(cli)
    assert "idle" not in {a["name"] for a in data["accounts"]}
    assert "idle" not in {c["account"] for c in data["compliance"]["accounts"]}
    assert not any("平安朝阳" in w or "idle" in w for w in data["compliance"]["warnings"])
    assert data["unconfigured_accounts"] == [
        {"name": "idle", "display_name": "平安朝阳", "platform": "weibo"}]
    assert tuple(data["totals"][k] for k in ("posts", "reposts", "comments")) == MARCH_TOTAL[:3]
    for fmt in ("table", "md", "html"):
        text = text_of(cli, fmt)
        if fmt == "html":
            text = visible(text)
        assert text.count("平安朝阳") == 1, fmt
        assert "天未发博" not in text.split("平安朝阳")[1][:60], fmt
    # wb and md have no token either, but they published: they stay in the report
    assert {"wb", "md", "loc"} == {a["name"] for a in data["accounts"]}


def test_an_unconfigured_account_that_once_published_is_still_reported(rt, cli):
    data = report_json(cli, "-a", "wb")
    assert [a["name"] for a in data["accounts"]] == ["wb"] and data["unconfigured_accounts"] == []


def test_asking_only_for_an_unconfigured_account_says_so(rt, cli):
    r = cli("report", *MARCH, "-a", "idle")
    assert r.code == 0, r.err
    assert "平安朝阳" in r.out and "天未发博" not in r.out


# --- names people read -------------------------------------------------------------------


def test_department_display_names_and_category_names_in_every_format(rt, cli, workspace):
    data = report_json(cli)
    assert data["department"] == "北京市公安局"
    assert data["title"] == "2027年3月 网络宣传与民意月报"
    assert {a["name"]: a["display_name"] for a in data["accounts"]} == {
        "wb": "平安北京", "md": "md", "loc": "平安北京·本地"}
    assert {t["category_name"] for t in data["top_posts"]} >= {"消防安全", "刷单返利诈骗"}
    for fmt in ("table", "md", "html"):
        text = text_of(cli, fmt)
        if fmt == "html":
            text = visible(text)
        assert text.index("北京市公安局") < text.index("一、总体"), fmt
        assert "网络宣传与民意月报" in text and "平安北京" in text and "消防安全" in text, fmt
        assert "fraud.task" not in text and " fire " not in text, fmt
    en = text_of(cli, "md", "--lang", "en")
    assert "Fire safety" in en and "Task and fake job scams" in en and "fraud.task" not in en
    assert "北京市公安局" in en  # no English name configured: the department as it is
    (workspace / "config.toml").write_text(NAMED_CONFIG + 'department_en = "Beijing PSB"\n'
                                           'title_en = "outreach report"\n', "utf-8")
    en_data = report_json(cli, "--lang", "en")
    assert en_data["department"] == "Beijing PSB"
    assert en_data["title"] == "March 2027 outreach report"
    assert report_json(cli)["department"] == "北京市公安局"
    xlsx = workspace / "names.xlsx"
    assert cli("report", *MARCH, "--format", "xlsx", "-o", str(xlsx)).code == 0
    cells = {str(c.value) for ws in openpyxl.load_workbook(xlsx) for row in ws.iter_rows()
             for c in row}
    assert {"北京市公安局", "平安北京", "消防安全"} <= cells


def test_display_name_and_report_section_are_checked_like_every_key(workspace, cli):
    base = NAMED_CONFIG
    (workspace / "config.toml").write_text(base.replace(
        'display_name = "平安朝阳"', "display_name = 7"), "utf-8")
    r = cli("report")
    assert r.code == 1 and "accounts.idle.display_name" in r.err and "config.toml:" in r.err
    (workspace / "config.toml").write_text(base + 'colour = "red"\n', "utf-8")
    r = cli("report")
    assert r.code == 1 and "report.colour" in r.err and "Traceback" not in r.err


def test_starter_config_names_its_accounts_and_department():
    s = load_settings(ROOT / "config.toml")
    assert s.report.department
    assert all(a.display_name for a in s.accounts.values())


# --- CSV output --------------------------------------------------------------------------


def test_csv_output_to_a_file_or_a_directory(rt, cli, workspace):
    r = cli("report", *MARCH, "--format", "csv", "-o", "report.csv")
    assert r.code == 0, r.err
    path = workspace / "report.csv"
    assert path.is_file()
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    assert [row["name"] for row in rows] == ["wb", "md", "loc", "(total)"]
    assert rows[0]["display_name"] == "平安北京"
    (workspace / "existing").mkdir()
    assert cli("report", *MARCH, "--format", "csv", "-o", "existing").code == 0
    assert (workspace / "existing" / "accounts.csv").is_file()
    assert cli("report", *MARCH, "--format", "csv", "-o", "fresh/").code == 0
    assert (workspace / "fresh" / "accounts.csv").is_file()
    r = cli("report", *MARCH, "--format", "csv", "-o", "report.csv/")
    assert r.code == 1 and "report.csv" in r.err  # a file is there: not made a directory


# --- days ------------------------------------------------------------------------------


def shanghai_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def test_since_is_a_whole_day_and_a_report_never_reaches_past_today(rt, cli):
    # the command reads today from the real clock, in the config's zone (Asia/Shanghai)
    today = shanghai_today()
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    cases = [
        (("--since", "today"), today, today),
        (("--since", month_start.isoformat()), month_start, today),
        (("--since", monday.isoformat(), "--period", "week"), monday, today),
        (("--since", last_month_end.replace(day=1).isoformat()), last_month_end.replace(day=1),
         last_month_end),
        (("--since", "yesterday", "--period", "day"), today - timedelta(days=1),
         today - timedelta(days=1)),
        (("--since", "2027-03-10", "--until", "2027-03-10"), date(2027, 3, 10), date(2027, 3, 10)),
    ]
    for args, first, last in cases:
        r = cli("report", *args, "--json")
        assert r.code == 0, (args, r.err)
        p = r.json["period"]
        assert (p["first_day"], p["last_day"]) == (first.isoformat(), last.isoformat()), args
        assert shanghai_today() == today  # not run across midnight


def test_since_in_the_future_is_an_error(rt, cli):
    r = cli("report", "--since", "tomorrow")
    assert r.code == 1 and "--since" in r.err and "future" in r.err and "Traceback" not in r.err


# --- spreadsheet -------------------------------------------------------------------------


def test_xlsx_sheets_hold_the_json_reports_numbers(rt, cli, workspace):
    data = report_json(cli)
    r = cli("report", *MARCH, "--format", "xlsx", "-o", "m.xlsx")
    assert r.code == 0, r.err
    book = openpyxl.load_workbook(workspace / "m.xlsx")
    tables = {t["key"]: t for s in data["sections"] for t in s["tables"]}
    ws = book[tables["accounts"]["sheet"]]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("账号", "名称", "平台") and "评论" in header and "发博" in header
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    for a in data["accounts"]:
        got = by_name[a["name"]]
        assert got["名称"] == a["display_name"]
        for key, label in (("posts", "发博"), ("reposts", "转发"), ("comments", "评论"),
                           ("likes", "点赞"), ("followers_end", "期末粉丝"), ("bci", "BCI")):
            assert got[label] == a[key], (a["name"], key)  # numbers, not text
    assert isinstance(by_name["wb"]["发博"], int) and isinstance(by_name["wb"]["BCI"], float)
    assert by_name["md"]["点赞"] is None  # unknown stays empty, not 0
    total = by_name["(total)"]
    assert (total["发博"], total["转发"], total["评论"]) == MARCH_TOTAL[:3]
    cats = list(book[tables["categories"]["sheet"]].iter_rows(values_only=True))
    assert {row[1]: row[3] for row in cats[1:]} == {c["name"]: c["posts"] for c in data["categories"]}
    op = list(book[tables["opinions"]["sheet"]].iter_rows(values_only=True))
    assert sum(row[2] for row in op[1:] if row[0] != "(total)") == data["opinions"]["total"]
    # the public's text is never a formula
    em = list(book[tables["emergencies"]["sheet"]].iter_rows())
    assert any("<script>" in str(c.value) for row in em for c in row)
    assert all(c.data_type != "f" for w in book for row in w.iter_rows() for c in row)


def test_xlsx_needs_an_xlsx_file(rt, cli, workspace):
    r = cli("report", *MARCH, "--format", "xlsx")
    assert r.code == 2 and "-o" in r.err
    r = cli("report", *MARCH, "--format", "xlsx", "-o", "m.csv")
    assert r.code == 2 and ".xlsx" in r.err
    assert not (workspace / "m.csv").exists()


def test_formulas_in_post_texts_stay_text_in_xlsx(rt, cli, workspace):
    with rt.db.session() as s:
        b = Builder(s)
        b.n = 1000
        b.post("X1", "wb", "2027-03-21T00:00:00", category="fire",
               text='=HYPERLINK("http://example.invalid")\x07', snaps=(
                   ("2027-03-22T00:00:00", 90, 90, 90),))
        s.commit()
    assert cli("report", *MARCH, "--format", "xlsx", "-o", "f.xlsx").code == 0
    book = openpyxl.load_workbook(workspace / "f.xlsx")
    texts = [c for w in book for row in w.iter_rows() for c in row
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert texts and all(c.data_type == "s" for c in texts)


# --- print ---------------------------------------------------------------------------------


def test_html_is_ready_to_print(rt, cli):
    html = text_of(cli, "html")
    assert "@page" in html and "size: A4" in html and "@media print" in html
    assert html.count("<section") == len(SECTION_TITLES)
    assert "break-before: page" in html


# --- the schema ------------------------------------------------------------------------------


def test_the_json_report_follows_its_schema(rt, cli):
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for args in ((), ("--lifetime", "--lang", "en"), ("-a", "idle")):
        validator.validate(report_json(cli, *args))


def test_the_committed_schema_is_the_one_generated_from_the_model():
    # regenerate with: python -c "from outreach.reports.schema import write_schema; write_schema()"
    committed = (ROOT / "schemas" / "report.schema.json").read_text("utf-8")
    assert committed == schema_text()
    assert report_schema()["$id"] == SCHEMA_ID and report_schema()["title"] == "outreach report"


def test_report_readme_documents_xlsx_and_csv_files():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "--format xlsx" in readme and "report.csv" in readme and "[report]" in readme
