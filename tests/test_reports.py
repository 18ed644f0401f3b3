"""Engagement and public-opinion reports, on a database built by hand with known snapshots.

Every expected figure below is worked out by hand in the comments next to the rows, then
checked in the report dict, the JSON (against the schema), CSV, Markdown, HTML and the
terminal table. Times: Asia/Shanghai is UTC+8, so March 2027 is
[2027-02-28T16:00Z, 2027-03-31T16:00Z) and February is [2027-01-31T16:00Z, 2027-02-28T16:00Z).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from rich.console import Console
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.opinions import mark_replied
from outreach.cli.report_formats import render_table
from outreach.clients.base import RemoteComment
from outreach.collect.comments import store_comments
from outreach.collect.counts import CollectSummary
from outreach.errors import InputError, NotFound
from outreach.opinions.rules import load_rules
from outreach.reports import formats as fmt
from outreach.reports.build import bci, build_report, period_bounds
from outreach.reports.formats.as_html import render_html
from outreach.reports.model import Report
from outreach.store.models import AccountMetric, AuditLog, Comment, Post, PostMetric
from tests.conftest import DATABASE_URL, ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 4, 10, 0, 0, tzinfo=UTC)

CONFIG = f"""\
[outreach]
database = "{DATABASE_URL}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
token_env = "OUTREACH_TEST_WB_TOKEN"
lang = "zh"

[accounts.md]
platform = "mastodon"
api_base = "https://mastodon.example"
token_env = "OUTREACH_TEST_MD_TOKEN"
lang = "en"

[accounts.loc]
platform = "local"
lang = "zh"
"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hand_bci(n: int, m: int, k: int, likes: int) -> float:
    """The formula, written out again: (0.2·ln(N+1) + 0.8·(0.4·ln(M+1)+0.4·ln(K+1)+0.2·ln(L+1)))×160."""
    w1 = math.log(n + 1)
    w2 = 0.4 * math.log(m + 1) + 0.4 * math.log(k + 1) + 0.2 * math.log(likes + 1)
    return round((0.2 * w1 + 0.8 * w2) * 160, 2)


class Builder:
    def __init__(self, session: Any) -> None:
        self.s = session
        self.n = 0
        self.ids: dict[str, int] = {}

    def post(self, key: str, account: str, published: str | None, *, category: str | None = None,
             status: str = "published", kind: str = "slot", scheduled: str | None = None,
             text: str | None = None, snaps: tuple[tuple[str, int | None, int | None, int | None], ...] = ()
             ) -> None:
        self.n += 1
        at = utc(scheduled or published or "2027-03-01T00:00:00")
        p = Post(account=account, kind=kind, status=status, scheduled_at=at, not_before=at,
                 category=category, text=text or f"post {key}", idempotency_key=f"key-{key}",
                 published_at=utc(published) if published else None,
                 remote_id=f"r{self.n}" if published else None,
                 remote_url=f"https://example.invalid/{key}" if published else None)
        self.s.add(p)
        self.s.flush()
        assert p.id is not None
        self.ids[key] = p.id
        for observed, r, c, likes in snaps:
            self.s.add(PostMetric(post_id=p.id, observed_at=utc(observed), reposts=r, comments=c,
                                  likes=likes))

    def followers(self, account: str, *rows: tuple[str, int]) -> None:
        for observed, n in rows:
            self.s.add(AccountMetric(account=account, observed_at=utc(observed), followers=n))



# The public's comments (March unless said), stored the way the collector stores what a
# client returns (classified from their text), and answered the way officers record it.
COMMENTS: dict[str, list[tuple[str, str, str, bool]]] = {  # account: (key, created, text, own)
    "wb": [
        ("c1", "2027-03-10T10:00:00", "救命 <script>alert(1)</script>", False),  # emergency
        ("c2", "2027-03-11T00:00:00", "我被骗了，钱还能找回来吗", False),  # help
        ("c6", "2027-03-31T15:45:00", "举报一个诈骗电话", False),  # tip; 23:45 +08: March
        ("c7", "2027-03-31T16:00:00", "路过", False),  # chatter; April 1 00:00 +08
        ("c8", "2027-03-15T00:00:00", "已私信联系您", True),  # our own reply
        ("c9", "2027-02-15T00:00:00", "快来人！有人砸门", False),  # emergency in February
    ],
    "loc": [
        ("c3", "2027-03-20T00:00:00", "请问反诈APP在哪里下载？", False),  # inquiry: overdue
        ("c4", "2027-03-21T00:00:00", "谢谢，很实用", False),  # praise
    ],
    "md": [("c5", "2027-03-25T00:00:00", "出警太慢，态度差", False)],  # complaint
}
# (comment, when an officer marked it answered): c1 after 0.5 h (late: an emergency's deadline
# in opinions.toml is 0 h), c2 after 30 h (late: 24 h), c5 after 2 h.
REPLIES = (("c1", "2027-03-10T10:30:00"), ("c2", "2027-03-12T06:00:00"),
           ("c5", "2027-03-25T02:00:00"))


def add_comments(rt: Any) -> None:


    rules = load_rules(rt.settings.content_dir)
    for account, rows in COMMENTS.items():
        fetched = [RemoteComment(remote_id=key, post_remote_id="elsewhere", author="someone",
                                 text=text, url=None, created_at=utc(created), is_own=own)
                   for key, created, text, own in rows]
        store_comments(rt, rt.settings.account(account), fetched, [], NOW, CollectSummary(),
                       rules)
    with rt.db.reader() as s:
        ids = dict(s.execute(select(col(Comment.remote_id), col(Comment.id))).all())
    for key, at in REPLIES:
        rt.clock.set(utc(at))
        mark_replied(rt, ids[key], by="officer-a")
    rt.clock.set(NOW)


def build_database(rt: Any) -> dict[str, int]:
    with rt.db.session() as s:
        b = Builder(s)
        # --- wb (Weibo-like, gives likes) --------------------------------------------------
        # P1, published in February (2027-02-20 10:00 +08). Feb: (10,5,20). March: (15,8,30) minus
        # (10,5,20) = (5,3,10). The April snapshot is after March.
        b.post("P1", "wb", "2027-02-20T02:00:00", category="fraud.task", snaps=(
            ("2027-02-21T00:00:00", 10, 5, 20), ("2027-03-05T00:00:00", 15, 8, 30),
            ("2027-04-02T00:00:00", 16, 8, 31)))
        # P2, 2027-03-10 08:00 +08 (a Wednesday). March: (7,3,9); lifetime: (9,4,12).
        b.post("P2", "wb", "2027-03-10T00:00:00", category="fraud.task",
               text="防诈提醒 <b>bold</b> & 注意", snaps=(
                   ("2027-03-10T04:00:00", 4, 2, 6), ("2027-03-20T00:00:00", 7, 3, 9),
                   ("2027-04-05T00:00:00", 9, 4, 12)))
        # P5, 2027-03-12 08:00 +08 (a Friday), retracted later (still a post that went out).
        b.post("P5", "wb", "2027-03-12T00:00:00", category="traffic", status="retracted",
               snaps=(("2027-03-12T06:00:00", 1, 0, 1),))
        # P3, 23:30 +08 on 2027-03-31 (a Wednesday): a March post. Its first snapshot (23:50 +08)
        # lacks likes -> March (2,1,None); the 01:00 +08 April snapshot belongs to April.
        b.post("P3", "wb", "2027-03-31T15:30:00", category="traffic", snaps=(
            ("2027-03-31T15:50:00", 2, 1, None), ("2027-03-31T17:00:00", 5, 2, 4)))
        # not posts: a reply to the public, a failed and a missed slot, a draft
        b.post("R1", "wb", "2027-03-15T00:00:00", kind="reply", snaps=(
            ("2027-03-16T00:00:00", 50, 50, 50),))
        b.post("F1", "wb", None, status="failed", scheduled="2027-03-15T00:00:00")
        b.post("M0", "wb", None, status="missed", scheduled="2027-03-16T00:00:00")
        b.post("D1", "wb", None, status="draft", kind="adhoc", scheduled="2027-04-20T00:00:00")
        s.add(AuditLog(at=utc("2027-03-13T00:00:00"), actor="officer-a", action="queue_retract",
                       account="wb", post_id=b.ids["P5"], reason="wrong hotline"))
        # followers: March start (at 02-28T16:00Z exactly) 1100, end 1200; Feb 1000 -> 1100
        b.followers("wb", ("2027-01-31T16:00:00", 1000), ("2027-02-28T16:00:00", 1100),
                    ("2027-03-15T00:00:00", 1150), ("2027-03-31T15:59:00", 1200),
                    ("2027-04-01T00:00:00", 1300))
        # --- md (Mastodon-like; here its platform gives no likes) ---------------------------
        # M1, 2027-03-05 09:00 +08 (a Friday): (6,5,None). M2, 2027-03-20 09:00 +08: (0,2,None).
        b.post("M1", "md", "2027-03-05T01:00:00", category="fire", snaps=(
            ("2027-03-06T00:00:00", 3, 4, None), ("2027-03-25T00:00:00", 6, 5, None)))
        b.post("M2", "md", "2027-03-20T01:00:00", category="fraud.task", snaps=(
            ("2027-03-21T00:00:00", 0, 2, None),))
        b.followers("md", ("2027-02-27T00:00:00", 50), ("2027-03-10T00:00:00", 58),
                    ("2027-03-30T00:00:00", 61))
        # --- loc (the local platform: simulated) ---------------------------------------------
        # L1 at 2027-03-01 00:00 +08 exactly (the period's first instant): (19,18,40).
        b.post("L1", "loc", "2027-02-28T16:00:00", category="fraud", snaps=(
            ("2027-03-02T00:00:00", 19, 18, 40),))
        # L2, 2027-02-27 20:00 +08. A snapshot exactly at March's start belongs to February
        # ("at or before"): Feb (12,11,12); March (20,15,25) - (12,11,12) = (8,4,13).
        b.post("L2", "loc", "2027-02-27T12:00:00", category="fraud", snaps=(
            ("2027-02-28T02:00:00", 10, 10, 10), ("2027-02-28T16:00:00", 12, 11, 12),
            ("2027-03-03T00:00:00", 20, 15, 25)))
        b.followers("loc", ("2027-02-28T15:00:00", 12000), ("2027-03-31T16:00:00", 12500))
        s.commit()
        return b.ids


# Hand-computed March figures: posts, reposts, comments, likes, followers start/end/change.
# None: a figure the report leaves empty (not known for that account and month).
Figures = tuple[int, int, int, int | None, int | None, int, int | None]
MARCH: dict[str, Figures] = {
    "wb": (3, 15, 7, 20, 1100, 1200, 100),
    "md": (2, 6, 7, None, 50, 61, 11),
    "loc": (1, 27, 22, 53, 12000, 12500, 500),
}
MARCH_TOTAL: Figures = (6, 48, 36, 73, 13150, 13761, 611)
FEB: dict[str, Figures] = {
    "wb": (1, 10, 5, 20, 1000, 1100, 100),
    "md": (0, 0, 0, None, None, 50, None),
    "loc": (1, 12, 11, 12, None, 12000, None),
}
FEB_TOTAL: Figures = (2, 22, 16, 32, 1000, 13150, 100)
KEYS = ("posts", "reposts", "comments", "likes", "followers_start", "followers_end",
        "follower_change")


def expected_bci(fig: tuple[Any, ...]) -> float:
    return hand_bci(fig[0], fig[1], fig[2], fig[3] or 0)


@pytest.fixture
def rt(runtime_factory: Any, clock: Any) -> Any:
    clock.set(NOW)
    runtime = runtime_factory(CONFIG)
    runtime.ids = build_database(runtime)
    add_comments(runtime)
    return runtime


@pytest.fixture
def report(rt: Any) -> Report:
    return build_report(rt, accounts=None, since=None, until=None)


@pytest.fixture
def data(report: Report) -> dict[str, Any]:
    """The report as its JSON gives it."""
    return report.to_dict()


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in items}


# --- the formula and the periods -----------------------------------------------------


def test_bci_formula_on_the_origin_article_figures():
    # 971 posts, 18,047 reposts, 17,739 comments, no likes known
    assert bci(971, 18047, 17739, None) == 1222.86 == hand_bci(971, 18047, 17739, 0)
    assert bci(0, 0, 0, 0) == 0.0
    assert bci(3, 15, 7, 20) == hand_bci(3, 15, 7, 20)


def test_default_period_is_the_last_full_month_in_the_zone():
    p = period_bounds("month", None, None, SHANGHAI, NOW)
    assert (p.kind, p.first_day, p.last_day) == ("month", date(2027, 3, 1), date(2027, 3, 31))
    assert p.start == utc("2027-02-28T16:00:00") and p.end == utc("2027-03-31T16:00:00")
    prev = p.previous()
    assert (prev.first_day, prev.last_day) == (date(2027, 2, 1), date(2027, 2, 28))
    # 2027-04-01 07:00 +08 is still 2027-03-31 in UTC: the zone decides "today"
    p = period_bounds("month", None, None, SHANGHAI, utc("2027-03-31T23:00:00"))
    assert p.first_day == date(2027, 3, 1)


def test_week_day_since_and_until_periods():
    now = utc("2027-03-10T04:00:00")  # a Wednesday in Shanghai
    week = period_bounds("week", None, None, SHANGHAI, now)
    assert (week.kind, week.first_day, week.last_day) == ("week", date(2027, 3, 1), date(2027, 3, 7))
    assert week.previous().first_day == date(2027, 2, 22)
    day = period_bounds("day", None, None, SHANGHAI, now)
    assert (day.kind, day.first_day, day.last_day) == ("day", date(2027, 3, 9), date(2027, 3, 9))
    since = period_bounds("month", date(2027, 1, 31), None, SHANGHAI, now)
    assert (since.first_day, since.last_day) == (date(2027, 1, 31), date(2027, 2, 28))
    since = period_bounds("month", date(2027, 1, 15), None, SHANGHAI, now)
    assert (since.first_day, since.last_day, since.kind) == (date(2027, 1, 15), date(2027, 2, 14),
                                                             "custom")
    since = period_bounds("month", date(2027, 2, 1), None, SHANGHAI, now)
    assert (since.last_day, since.kind) == (date(2027, 2, 28), "month")
    until = period_bounds("month", None, date(2027, 4, 30), SHANGHAI, now)
    assert (until.first_day, until.kind) == (date(2027, 4, 1), "month")
    until = period_bounds("week", None, date(2027, 3, 9), SHANGHAI, now)
    assert (until.first_day, until.last_day, until.kind) == (date(2027, 3, 3), date(2027, 3, 9), "custom")
    both = period_bounds("month", date(2027, 2, 1), date(2027, 2, 28), SHANGHAI, now)
    assert both.kind == "month" and both.previous().first_day == date(2027, 1, 1)
    custom = period_bounds("month", date(2027, 3, 3), date(2027, 3, 12), SHANGHAI, now)
    assert custom.kind == "custom" and custom.days == 10
    assert (custom.previous().first_day, custom.previous().last_day) == (date(2027, 2, 21),
                                                                         date(2027, 3, 2))


def test_bad_periods_are_input_errors(rt):
    with pytest.raises(InputError, match="after"):
        period_bounds("month", date(2027, 3, 2), date(2027, 3, 1), SHANGHAI, NOW)
    with pytest.raises(InputError, match="--period"):
        period_bounds("year", None, None, SHANGHAI, NOW)
    with pytest.raises(InputError, match="--lang"):
        build_report(rt, accounts=None, since=None, until=None, lang="fr")
    with pytest.raises(NotFound):
        build_report(rt, accounts=["nobody"], since=None, until=None)


# --- the dict ------------------------------------------------------------------------


def test_every_account_figure_equals_the_hand_computed_one(data):
    assert data["period"] == {
        "start": "2027-02-28T16:00:00+00:00", "end": "2027-03-31T16:00:00+00:00",
        "timezone": "Asia/Shanghai", "first_day": "2027-03-01", "last_day": "2027-03-31",
        "days": 31, "kind": "month", "label": "2027年3月"}
    accounts = by_name(data["accounts"])
    assert [a["name"] for a in data["accounts"]] == ["wb", "md", "loc"]
    for name, fig in MARCH.items():
        a = accounts[name]
        assert tuple(a[k] for k in KEYS) == fig, name
        assert a["bci"] == expected_bci(fig), name
    assert tuple(data["totals"][k] for k in KEYS) == MARCH_TOTAL
    assert data["totals"]["bci"] == hand_bci(6, 48, 36, 73)
    assert accounts["md"]["bci_likes_unknown"] is True and accounts["wb"]["bci_likes_unknown"] is False
    assert accounts["wb"]["partial"] == ["likes"]  # P3's snapshot lacks likes
    assert (accounts["wb"]["platform"], accounts["md"]["platform"]) == ("weibo", "mastodon")


def test_averages_and_rates(data):
    wb = by_name(data["accounts"])["wb"]
    assert wb["posts_per_day"] == round(3 / 31, 2) == 0.1
    assert (wb["avg_reposts"], wb["avg_comments"], wb["avg_likes"]) == (5.0, 2.33, 6.67)
    assert (wb["repost_rate"], wb["comment_rate"], wb["like_rate"]) == (0.0125, 0.0058, 0.0167)
    md = by_name(data["accounts"])["md"]
    assert md["avg_likes"] is None and md["like_rate"] is None
    assert md["avg_reposts"] == 3.0 and md["comment_rate"] == round(7 / 61, 4)
    t = data["totals"]
    assert t["avg_reposts"] == 8.0 and t["repost_rate"] == round(48 / 13761, 4)


def test_previous_period_figures(data):
    prev = data["previous"]
    assert (prev["period"]["first_day"], prev["period"]["last_day"]) == ("2027-02-01", "2027-02-28")
    accounts = by_name(prev["accounts"])
    for name, fig in FEB.items():
        assert tuple(accounts[name][k] for k in KEYS) == fig, name
        assert accounts[name]["bci"] == expected_bci(fig)
    assert tuple(prev["totals"][k] for k in KEYS) == FEB_TOTAL
    assert prev["totals"]["bci"] == hand_bci(2, 22, 16, 32)


def test_a_post_at_2330_on_the_last_day_belongs_to_that_month(rt, data):
    p3 = rt.ids["P3"]
    assert p3 in [p["id"] for p in data["top_posts"]]
    assert {"account": "wb", "weekday": 2, "hour": 23} in [
        {k: h[k] for k in ("account", "weekday", "hour")} for h in data["hours"]]
    april = build_report(rt, accounts=["wb"], since=date(2027, 4, 1),
                         until=date(2027, 4, 30)).to_dict()
    wb = april["accounts"][0]
    assert wb["posts"] == 0
    # April: P1 (16,8,31)-(15,8,30), P2 (9,4,12)-(7,3,9), P3 (5,2,4)-(2,1,-) = (6, 2, 8)
    assert (wb["reposts"], wb["comments"], wb["likes"]) == (6, 2, 8)
    assert april["previous"]["accounts"][0]["posts"] == 3
    assert april["period"]["timezone"] == "Asia/Shanghai"


def test_top_posts_categories_and_hours(rt, data):
    ids = {v: k for k, v in rt.ids.items()}
    top = [(ids[p["id"]], p["reposts"], p["comments"], p["likes"], p["engagement"])
           for p in data["top_posts"]]
    assert top == [("L1", 19, 18, 40, 77), ("L2", 8, 4, 13, 25), ("P2", 7, 3, 9, 19),
                   ("P1", 5, 3, 10, 18), ("M1", 6, 5, None, 11), ("P3", 2, 1, None, 3),
                   ("P5", 1, 0, 1, 2), ("M2", 0, 2, None, 2)]
    assert data["top_posts"][2]["published_at"] == "2027-03-10T00:00:00+00:00"
    cats = [(c["code"], c["name"], c["posts"], c["reposts"], c["comments"], c["likes"])
            for c in data["categories"]]
    assert cats == [("fraud.task", "刷单返利诈骗", 2, 12, 8, 19), ("traffic", "交通安全", 2, 3, 1, 1),
                    ("fraud", "防范诈骗", 1, 27, 22, 53), ("fire", "消防安全", 1, 6, 5, None)]
    assert sum(c["reposts"] for c in data["categories"]) == data["totals"]["reposts"]
    hours = {(h["account"], h["weekday"], h["hour"]): (h["posts"], h["per_post"])
             for h in data["hours"]}
    assert hours == {("wb", 2, 8): (1, 19.0), ("wb", 4, 8): (1, 2.0), ("wb", 2, 23): (1, 3.0),
                     ("md", 4, 9): (1, 11.0), ("md", 5, 9): (1, 2.0), ("loc", 0, 0): (1, 77.0)}
    best = by_name(data["accounts"])["wb"]["best_times"]
    assert [(b["weekday"], b["hour"]) for b in best] == [(2, 8), (2, 23), (4, 8)]


def test_follower_trend(data):
    points = {p["date"]: p for p in data["followers"]}
    assert len(points) == 31
    assert points["2027-03-01"]["accounts"] == {"wb": 1100, "md": 50, "loc": 12000}
    assert points["2027-03-10"]["accounts"] == {"wb": 1100, "md": 58, "loc": 12000}
    assert points["2027-03-15"]["accounts"] == {"wb": 1150, "md": 58, "loc": 12000}
    assert points["2027-03-31"]["accounts"] == {"wb": 1200, "md": 61, "loc": 12500}
    assert points["2027-03-31"]["total"] == 13761


def test_public_opinion(data):
    o = data["opinions"]
    assert o["total"] == 6  # c1-c6: c7 is April, c8 our own, c9 February
    assert [(c["class"], c["count"]) for c in o["by_class"]] == [
        ("emergency", 1), ("help", 1), ("tip", 1), ("complaint", 1), ("inquiry", 1), ("praise", 1)]
    assert (o["emergencies"], o["needs_reply"], o["replied"], o["reply_rate"]) == (1, 5, 3, 0.6)
    assert o["median_reply_hours"] == 2.0  # median of 0.5, 30, 2
    assert (o["overdue_unanswered"], o["late_replies"]) == (2, 2)  # c3, c6; c1, c2
    help_ = next(c for c in o["by_class"] if c["class"] == "help")
    assert (help_["median_reply_hours"], help_["late_replies"], help_["deadline_hours"]) == (30.0, 1, 24)
    assert [e["text"] for e in o["emergency_items"]] == ["救命 <script>alert(1)</script>"]


def test_reply_deadlines_are_those_of_opinions_toml(rt, workspace):
    rules = workspace / "content" / "opinions.toml"
    text = rules.read_text("utf-8")
    at = text.index("[class.complaint]")
    rules.write_text(text[:at] + text[at:].replace("reply_within_hours = 24",
                                                   "reply_within_hours = 1.5", 1), "utf-8")
    o = build_report(rt, accounts=None, since=None, until=None).to_dict()["opinions"]
    complaint = next(c for c in o["by_class"] if c["class"] == "complaint")
    assert (complaint["deadline_hours"], complaint["late_replies"]) == (1.5, 1)  # c5 after 2 h
    assert o["deadlines_hours"]["complaint"] == 1.5 and o["deadlines_hours"]["help"] == 24
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(
        json.loads(fmt.render_json(build_report(rt, accounts=None, since=None, until=None))))


def test_compliance(data):
    cp = {c["account"]: c for c in data["compliance"]["accounts"]}
    # wb: P5 (03-12 08:00) to P3 (03-31 23:30) = 19 d 15.5 h
    assert cp["wb"]["longest_gap_days"] == round(19 + 15.5 / 24, 2) == 19.65
    assert (cp["wb"]["gap_from"], cp["wb"]["gap_to"]) == ("2027-03-12T00:00:00+00:00",
                                                          "2027-03-31T15:30:00+00:00")
    assert cp["md"]["longest_gap_days"] == 15.0  # M1 -> M2
    assert cp["loc"]["longest_gap_days"] == 31.0  # L1 at the first instant, then nothing
    assert all(c["warning"] for c in cp.values())
    assert (cp["wb"]["failed"], cp["wb"]["missed"], cp["wb"]["retracted"],
            cp["wb"]["drafts_waiting"]) == (1, 1, 1, 1)
    c = data["compliance"]
    assert (c["failed"], c["missed"], c["retracted"], c["drafts_waiting"]) == (1, 1, 1, 1)
    assert len(c["warnings"]) == 3


def test_headline_notes_and_simulated(data):
    assert data["headline"]["zh"] == ("本月共发博文6篇，被转发48条次，网民评论36条，粉丝增至13761人"
                                        "（较上月+611）（模拟数据）")
    assert data["headline"]["en"] == ("This month: 6 posts, reposted 48 times, 36 comments from the "
                                        "public, followers up to 13761 (+611) (simulated audience).")
    assert data["simulated"] is True and data["simulated_accounts"] == ["loc"]
    notes = "\n".join(data["notes"])
    assert "wb：部分博文缺少点赞数据" in notes
    assert "md：平台未提供点赞数，BCI 按 0 计" in notes
    assert "模拟" in notes


def test_lifetime_totals(rt):
    r = build_report(rt, accounts=None, since=None, until=None, lifetime=True)
    d = r.to_dict()
    accounts = by_name(d["accounts"])
    # the March posts' latest totals: P2 (9,4,12) + P5 (1,0,1) + P3 (5,2,4); M1 + M2; L1
    assert (accounts["wb"]["reposts"], accounts["wb"]["comments"], accounts["wb"]["likes"]) == (15, 6, 17)
    assert (accounts["md"]["reposts"], accounts["md"]["comments"], accounts["md"]["likes"]) == (6, 7, None)
    assert (accounts["loc"]["reposts"], accounts["loc"]["comments"], accounts["loc"]["likes"]) == (19, 18, 40)
    t = d["totals"]
    assert (t["posts"], t["reposts"], t["comments"], t["likes"]) == (6, 40, 31, 57)
    assert t["bci"] == hand_bci(6, 40, 31, 57)
    assert d["lifetime"] is True and "互动为博文累计数" in d["headline"]["zh"]
    assert fmt.render_csv(r).count("\n") == 5


def test_a_weibo_only_report_is_not_simulated(rt):
    r = build_report(rt, accounts=["wb"], since=None, until=None, lang="en")
    d = r.to_dict()
    assert d["simulated"] is False and d["simulated_accounts"] == []
    assert "simulated" not in d["headline"]["en"]
    assert d["title"] == "Engagement and public-opinion report, March 2027"
    assert d["opinions"]["total"] == 3  # c1, c2, c6: not loc's or md's
    assert '"simulated": false' in fmt.render_json(r)


# --- the formats ---------------------------------------------------------------------


def test_json_is_schema_valid_and_holds_the_figures(rt, report):
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    text = fmt.render_json(report)
    data = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(data)
    lifetime = json.loads(fmt.render_json(build_report(rt, accounts=["md"], since=None, until=None,
                                                       lifetime=True)))
    validator.validate(lifetime)
    assert data == report.to_dict()
    assert data["simulated"] is True
    for name, fig in MARCH.items():
        a = by_name(data["accounts"])[name]
        assert tuple(a[k] for k in KEYS) == fig and a["bci"] == expected_bci(fig)
    assert by_name(data["accounts"])["md"]["likes"] is None  # null, not 0
    assert tuple(data["totals"][k] for k in KEYS) == MARCH_TOTAL
    assert tuple(data["previous"]["totals"][k] for k in KEYS) == FEB_TOTAL


def cell(value: Any) -> str:
    return "" if value is None else str(value)


def test_csv_cells_hold_the_figures(report, tmp_path):
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(fmt.render_csv(report)))}
    assert list(rows) == ["wb", "md", "loc", "(total)"]
    for name, fig in [*MARCH.items(), ("(total)", MARCH_TOTAL)]:
        r = rows[name]
        assert tuple(r[k] for k in KEYS) == tuple(cell(v) for v in fig), name
        assert float(r["bci"]) == expected_bci(fig)
    for name, fig in [*FEB.items(), ("(total)", FEB_TOTAL)]:
        r = rows[name]
        assert (r["prev_posts"], r["prev_reposts"], r["prev_likes"], r["prev_followers_end"]) == (
            cell(fig[0]), cell(fig[1]), cell(fig[3]), cell(fig[5]))
        assert float(r["prev_bci"]) == expected_bci(fig)
    assert rows["loc"]["simulated"] == "true" and rows["wb"]["simulated"] == "false"
    assert rows["(total)"]["simulated"] == "true"

    written = fmt.write_csv_dir(report, tmp_path / "out")
    assert {p.name for p in written} >= {"summary.csv", "accounts.csv", "previous.csv",
                                         "top_posts.csv", "categories.csv", "hours.csv",
                                         "followers.csv", "opinions.csv", "compliance.csv"}

    def read(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((tmp_path / "out" / name).read_text("utf-8-sig"))))

    summary = {r["key"]: r["value"] for r in read("summary.csv")}
    assert summary["simulated"] == "true" and summary["timezone"] == "Asia/Shanghai"
    assert read("accounts.csv")[0]["reposts"] == "15"
    assert {r["name"]: r["posts"] for r in read("previous.csv")}["(total)"] == "2"
    cats = {r["code"]: (r["posts"], r["reposts"], r["likes"]) for r in read("categories.csv")}
    assert cats["fraud.task"] == ("2", "12", "19") and cats["fire"] == ("1", "6", "")
    opinions = {r["class"]: r for r in read("opinions.csv")}
    assert opinions["(total)"]["reply_rate"] == "0.6"
    assert opinions["(total)"]["median_reply_hours"] == "2.0"
    followers = read("followers.csv")
    assert followers[-1] == {"date": "2027-03-31", "wb": "1200", "md": "61", "loc": "12500",
                             "total": "13761"}
    gaps = {r["account"]: r["longest_gap_days"] for r in read("compliance.csv")}
    assert gaps == {"wb": "19.65", "md": "15.0", "loc": "31.0"}


def test_csv_defuses_spreadsheet_formulas():
    assert fmt.csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert fmt.csv_cell(-3) == "-3"


def md_row(markdown: str, first: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


def shown(value: Any, key: str = "") -> str:
    """How a figure is written in text formats (Markdown, HTML, table; zh labels)."""
    if value is None:
        return "无数据"
    if key == "follower_change":
        return f"{value:+d}"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def test_markdown_text_holds_the_figures(report):
    md = fmt.render_markdown(report)
    for name, fig in [*MARCH.items(), ("**合计**", MARCH_TOTAL)]:
        row = md_row(md, name)
        prev = FEB.get(name, FEB_TOTAL)
        assert row[2:] == [*(shown(v, k) for k, v in zip(KEYS, fig, strict=True)),
                           f"{expected_bci(fig):.2f}", str(prev[0]), f"{expected_bci(prev):.2f}"], name
    assert report.headline.zh in md and report.headline.en in md
    assert "simulated: true" in md
    assert md_row(md, "发博")[1:] == ["6", "2", "+4"]  # this period, previous, change
    assert md_row(md, "求助")[1:] == ["1", "16.67%", "1", "1", "100.00%", "30.00", "0", "1",
                                      "1", "100.00%", "0"]  # handled, rate, in time (30 h > 24 h)
    assert "回复率: 60.00%" in md and "回复时长中位数（小时）: 2.00" in md
    assert "&lt;script&gt;" in md and "<script>" not in md
    assert md_row(md, "wb")[0] == "wb"


class Tables(HTMLParser):
    """Rows of each table by its id: a list of the cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.table = dict(attrs).get("id") or ""
            self.tables[self.table] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append(self.row)
        elif tag == "table":
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def test_html_text_holds_the_figures_and_is_self_contained(report):
    html = render_html(report)
    parser = Tables()
    parser.feed(html)
    rows = {r[0]: r for r in parser.tables["accounts"][1:]}
    for name, fig in [*MARCH.items(), ("合计", MARCH_TOTAL)]:
        prev = FEB.get(name, FEB_TOTAL)
        assert rows[name][2:] == [*(shown(v, k) for k, v in zip(KEYS, fig, strict=True)),
                                  f"{expected_bci(fig):.2f}", str(prev[0]),
                                  f"{expected_bci(prev):.2f}"], name
    previous = {r[0]: r[1:] for r in parser.tables["previous"][1:]}
    assert previous["转发"] == ["48", "22", "+26"]
    classes = {r[0]: r[1:] for r in parser.tables["classes"][1:]}
    assert classes["求助"][0] == "1" and classes["求助"][5] == "30.00"
    gaps = {r[0]: r[1] for r in parser.tables["compliance"][1:]}
    assert gaps == {"wb": "19.65", "md": "15.00", "loc": "31.00"}
    assert report.headline.zh in html
    assert "simulated: true" in html
    # the public's text is escaped; nothing runs, nothing is fetched
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; 注意" in html
    assert "<svg" in html and html.count("<svg") == 4  # followers, hours, categories, concerns
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(http" not in html and "<link" not in html
    assert "Noto Sans CJK SC" in html
    # chart text stays text, so Chinese labels render with the reader's fonts
    assert re.search(r"<text[^>]*>[^<]*(?:周一|刷单返利诈骗)", html)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # three charts share one page


def test_html_escapes_names_inside_charts_too(report):
    report.categories[0].name = "<script>alert(2)</script>"
    report.accounts[0].name = "<img src=x onerror=alert(3)>"
    html = render_html(report)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_terminal_table_holds_the_figures(report):
    console = Console(record=True, width=220, color_system=None)
    render_table(report, console)
    text = console.export_text()
    lines = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if cells and cells[0] and cells[0] not in lines:
            lines[cells[0]] = cells
    for name, fig in [*MARCH.items(), ("合计", MARCH_TOTAL)]:
        prev = FEB.get(name, FEB_TOTAL)
        assert lines[name][2:] == [*(shown(v, k) for k, v in zip(KEYS, fig, strict=True)),
                                   f"{expected_bci(fig):.2f}", str(prev[0]),
                                   f"{expected_bci(prev):.2f}"], name
    assert "simulated: true" in text
    assert report.headline.zh in text
    assert "19.65" in text and "周三 08:00 ×1 (19.00)" in text


def test_every_format_says_simulated_for_a_local_account(rt, tmp_path):
    r = build_report(rt, accounts=["loc"], since=None, until=None, lang="en")
    console = Console(record=True, width=200, color_system=None)
    render_table(r, console)
    outputs = {
        "table": console.export_text(),
        "json": fmt.render_json(r),
        "csv": fmt.render_csv(r),
        "md": fmt.render_markdown(r),
        "html": render_html(r),
    }
    assert '"simulated": true' in outputs["json"]
    assert next(csv.DictReader(io.StringIO(outputs["csv"])))["simulated"] == "true"
    for name in ("table", "md", "html"):
        assert "simulated: true" in outputs[name], name
        assert "SIMULATED" in outputs[name], name
    paths = fmt.write_csv_dir(r, tmp_path / "csv")
    summary = (tmp_path / "csv" / "summary.csv").read_text("utf-8-sig")
    assert "simulated,true" in summary and len(paths) >= 9


def test_reports_on_an_empty_database(runtime_factory, clock):
    clock.set(NOW)
    rt = runtime_factory(CONFIG)
    r = build_report(rt, accounts=None, since=None, until=None)
    d = r.to_dict()
    assert d["totals"]["posts"] == 0 and d["totals"]["reposts"] == 0
    assert d["opinions"]["reply_rate"] is None and d["top_posts"] == []
    assert "粉丝数暂无记录" in d["headline"]["zh"]
    html = render_html(r)
    assert "<html" in html and "http://" not in html
    fmt.render_markdown(r)
    fmt.render_csv(r)


# --- the command line (runs once `outreach report` is in cli.py) ----------------------




def test_cli_report_formats(rt, cli, workspace):
    days = ("--since", "2027-03-01", "--until", "2027-03-31")
    r = cli("report", *days, "--json")
    assert r.code == 0, r.err
    assert tuple(r.json["totals"][k] for k in KEYS) == MARCH_TOTAL and r.json["simulated"] is True
    r = cli("report", *days, "-a", "wb", "--account", "md", "--format", "csv")
    assert r.code == 0, r.err
    assert [row["name"] for row in csv.DictReader(io.StringIO(r.out))] == ["wb", "md", "(total)"]
    r = cli("report", *days, "--format", "csv", "-o", str(workspace / "csv") + "/")
    assert r.code == 0 and (workspace / "csv" / "accounts.csv").exists()
    r = cli("report", *days, "--format", "html", "-o", str(workspace / "r.html"), "--lang", "en")
    assert r.code == 0 and "<svg" in (workspace / "r.html").read_text("utf-8")
    r = cli("report", *days, "--format", "md", "--lifetime")
    assert r.code == 0 and "| **合计** |" in r.out
    r = cli("report", *days)
    assert r.code == 0 and "本月共发博文6篇" in r.out


def test_cli_report_errors(rt, cli):
    r = cli("report", "--since", "2027-02-30")
    assert r.code == 1 and "not a valid date" in r.err and "Traceback" not in r.err
    r = cli("report", "--since", "2027-03-31", "--until", "2027-03-01")
    assert r.code == 1 and "after" in r.err
    assert cli("report", "-a", "nobody").code == 1
    assert cli("report", "--format", "pdf").code == 2
