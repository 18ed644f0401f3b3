"""Engagement and public-opinion reports: queries → one JSON-ready dict.

The monthly report mirrors the origin article: "本月共发博文N篇,被转发M条次,网民评论K条,
粉丝增至F人". Renderers (table, JSON, CSV, Markdown, HTML) live in ``report_formats``.

How a figure is counted:

- **posts** (N): the account's own posts (not replies to the public) published in the period,
  ``published`` or later ``retracted`` (they went out; compliance counts the retractions).
- **engagement** (reposts M, comments K, likes L) is the change of counts over the period,
  read from ``post_metrics`` snapshots: for each post, the latest snapshot at or before the
  period's end minus the latest snapshot at or before its start (0 for a post published inside
  the period). "At or before" on both sides, so consecutive periods add up exactly. With
  ``lifetime=True`` it is instead the latest known totals of the posts published in the period.
- A count the platform does not provide stays ``None`` (every snapshot lacks it); a count some
  snapshots lack is the sum of the known ones, and ``notes`` says so. The BCI counts an unknown
  L as 0, and ``notes`` says that too.
- **followers** at an instant: the latest ``account_metrics`` row at or before it.
- **comments** come as three figures, each named and defined in every format
  (``COMMENT_FIGURES``): ``received`` (the in-period change of the platform's counts: the
  headline's K), ``on_period_posts`` (the lifetime counts of the period's posts) and
  ``collected`` (the public's comments made in the period that were read and classified: the
  public-opinion section's total). They differ, and the report says why.
- An account with no token that never published is not counted and not checked for
  compliance; it is listed once, in ``unconfigured_accounts``.

Every query is set-based (aggregates and correlated index look-ups; no per-post query loops).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, case, exists, func, literal, or_, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from outreach.errors import InputError, OutreachError
from outreach.store.models import AccountMetric, AuditLog, Comment, Post, PostMetric, UTCDateTime
from outreach.times import day_bounds

PERIODS = ("day", "week", "month")
LANGS = ("zh", "en")
FIELDS = ("reposts", "comments", "likes")
COUNTED_STATUSES = ("published", "retracted")  # posts that went out
TOP_POSTS = 10
EMERGENCY_ITEMS = 20
GAP_WARNING_DAYS = 14  # 国办秘函〔2019〕19号: no update for two weeks is a single-item veto
TREND_POINTS = 400  # at most this many follower points (one a day until then)
_LITERAL_ROWS = 400  # SQLite allows 500 terms in one compound SELECT

# Comment classes (民意), their names and reply deadlines come from content/opinions.toml
# (the classifier's own file), so the report judges replies by the rules officers work to.

UNCATEGORISED = ("未分类", "Uncategorised")

# The report's sections, in the order every format shows them, each with its tables (in the
# same order): a table is the CSV file KEY.csv and an xlsx sheet named by its title.
SECTIONS: tuple[tuple[str, tuple[str, str], tuple[tuple[str, tuple[str, str]], ...]], ...] = (
    ("overview", ("一、总体", "1. Overview"),
     (("summary", ("报告概要", "Summary")), ("accounts", ("各账号数据", "Accounts")))),
    ("interaction", ("二、传播与互动", "2. Reach and interaction"),
     (("previous", ("上期各账号数据", "Previous period")),
      ("followers", ("粉丝趋势", "Follower trend")))),
    ("opinions", ("三、回应情况与民意分类", "3. Replies and public opinion"),
     (("opinions", ("民意分类", "Opinion classes")), ("emergencies", ("紧急警情", "Emergencies")))),
    ("content", ("四、内容分析", "4. Content"),
     (("categories", ("各宣传类别", "By category")), ("top_posts", ("互动最高博文", "Top posts")),
      ("hours", ("发布时段", "Posting times")))),
    ("compliance", ("五、合规检查", "5. Compliance"), (("compliance", ("合规检查", "Compliance")),)),
    ("notes", ("六、备注", "6. Notes"), (("notes", ("备注", "Notes")),)),
)

# The comment figures a report gives, each with one definition: key → (label, definition),
# (zh, en) each. ``received`` is the headline's 网民评论K条.
COMMENT_FIGURES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "received": (
        ("网民评论（本期收到，平台计数）", "Comments received in the period (platform count)"),
        ("本期内各博文评论数的增加，含往期博文在本期收到的评论；按平台计数，可能含本账号的回复及"
         "已删除、未能读取的评论；即标题中的“网民评论”",
         "the rise of every post's comment count over the period, earlier posts included; the "
         "platform's count, which may include the account's own replies and comments deleted or "
         "not read; the headline's figure")),
    "on_period_posts": (
        ("本期博文累计评论（平台计数）", "Comments on the period's posts (platform count)"),
        ("本期发布的博文截至报告生成时的评论总数",
         "the comment counts of the posts published in the period, as of the report")),
    "collected": (
        ("已读取并分类的评论", "Comments read and classified"),
        ("网民在本期内发表、已读取并分类的评论条数（不含本账号的回复）；第三部分按此统计",
         "comments the public made in the period that were read and classified (not the "
         "account's own replies); section 3 counts these")),
}

_TABLES = SQLModel.metadata.tables
_P: Table = _TABLES[Post.__tablename__]
_PM: Table = _TABLES[PostMetric.__tablename__]
_AM: Table = _TABLES[AccountMetric.__tablename__]
_C: Table = _TABLES[Comment.__tablename__]
_AUDIT: Table = _TABLES[AuditLog.__tablename__]


# --- the formula ---------------------------------------------------------------------


def bci(posts: int, reposts: int, comments: int, likes: int | None) -> float:
    """清博 BCI: ``(0.2·ln(N+1) + 0.8·(0.4·ln(M+1) + 0.4·ln(K+1) + 0.2·ln(L+1))) × 160``.

    Two decimals; an unknown like count (None) counts as 0. Negative figures (counts can
    fall when the public deletes) count as 0.
    """
    def ln1(x: int | None) -> float:
        return math.log(max(x or 0, 0) + 1)

    w1 = ln1(posts)
    w2 = 0.4 * ln1(reposts) + 0.4 * ln1(comments) + 0.2 * ln1(likes)
    return round((0.2 * w1 + 0.8 * w2) * 160, 2)


# --- periods -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days ``first_day``..``last_day`` (inclusive) = [start, end) in UTC."""

    kind: str  # day | week | month | custom
    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return day_bounds(self.first_day, self.zone)[0]

    @property
    def end(self) -> datetime:
        return day_bounds(self.last_day, self.zone)[1]

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period just before: the previous calendar month/week/day, else as many days."""
        if self.kind == "month":
            last = self.first_day - timedelta(days=1)
            return Period("month", last.replace(day=1), last, self.zone)
        last = self.first_day - timedelta(days=1)
        return Period(self.kind, last - timedelta(days=self.days - 1), last, self.zone)


def _month_end(day: date) -> date:
    nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    first = date(day.year + y, m + 1, 1)
    return first.replace(day=min(day.day, _month_end(first).day))


def _kind_of(first: date, last: date) -> str:
    if first == last:
        return "day"
    if first.weekday() == 0 and last == first + timedelta(days=6):
        return "week"
    if first.day == 1 and last == _month_end(first):
        return "month"
    return "custom"


def period_bounds(period: str, since: date | None, until: date | None, zone: ZoneInfo,
                  now: datetime) -> Period:
    """The report's days in ``zone``.

    Both ``since`` and ``until``: those days, inclusive. Only ``since`` (not after today): one
    ``period`` from it (a day, 7 days, or to the day before the same date next month; from a
    1st, that calendar month), but never past today. Only ``until``: one ``period`` ending
    with it (on a month's last day, that calendar month). Neither: the last full calendar
    ``period`` before today (yesterday, last Monday–Sunday, last month).
    """
    if period not in PERIODS:
        raise InputError(f"--period: must be one of {', '.join(PERIODS)}, got {period!r}")
    today = now.astimezone(zone).date()
    if since is not None and until is not None:
        if since > until:
            raise InputError(f"--since {since} is after --until {until}")
        first, last = since, until
    elif since is not None:
        if since > today:
            raise InputError(f"--since {since} is in the future (today is {today} in {zone.key})")
        if period == "day":
            first = last = since
        elif period == "week":
            first, last = since, since + timedelta(days=6)
        elif since.day == 1:
            first, last = since, _month_end(since)
        else:
            nxt = _add_months(since, 1)  # clamped to the month's end (Jan 31 -> Feb 28)
            first, last = since, nxt if nxt.day < since.day else nxt - timedelta(days=1)
        last = min(last, today)  # a report of days that have not happened yet says nothing
    elif until is not None:
        if period == "day":
            first = last = until
        elif period == "week":
            first, last = until - timedelta(days=6), until
        elif until == _month_end(until):
            first, last = until.replace(day=1), until
        else:
            first, last = _add_months(until, -1) + timedelta(days=1), until
    elif period == "day":
        first = last = today - timedelta(days=1)
    elif period == "week":
        first = today - timedelta(days=today.weekday() + 7)
        last = first + timedelta(days=6)
    else:
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
    return Period(_kind_of(first, last), first, last, zone)


def period_label(p: Period, lang: str) -> str:
    if p.kind == "month":
        if lang == "zh":
            return f"{p.first_day.year}年{p.first_day.month}月"
        return p.first_day.strftime("%B %Y")
    if p.kind == "day":
        if lang == "zh":
            return f"{p.first_day.year}年{p.first_day.month}月{p.first_day.day}日"
        return p.first_day.isoformat()
    sep = "至" if lang == "zh" else " – "
    return f"{p.first_day.isoformat()}{sep}{p.last_day.isoformat()}"


# --- small helpers -------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _ratio(num: int | None, den: int | None, digits: int) -> float | None:
    if num is None or not den:
        return None
    return round(num / den, digits)


def _sum_known(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key


# --- queries -------------------------------------------------------------------------


def _latest_snapshot_id(at: datetime) -> Any:
    """The id of a post's latest snapshot at or before ``at`` (correlated to posts)."""
    m = _PM.alias()
    return (select(m.c.id)
            .where(m.c.post_id == _P.c.id, m.c.observed_at <= at)
            .order_by(m.c.observed_at.desc(), m.c.id.desc())
            .limit(1).correlate(_P).scalar_subquery())


@dataclass(frozen=True)
class _Window:
    """What a period's engagement query needs: bounds and the lifetime switch."""

    start: datetime
    end: datetime
    now: datetime
    lifetime: bool


def _engagement(names: Sequence[str], w: _Window) -> tuple[Any, ColumnElement[bool],
                                                           dict[str, Any], Any]:
    """FROM clause, WHERE clause, per-field delta expressions and the end-snapshot alias."""
    published = _P.c.published_at
    in_period = and_(published >= w.start, published < w.end)
    base_where = and_(_P.c.account.in_(list(names)), _P.c.kind != "reply",
                      _P.c.status.in_(COUNTED_STATUSES), published.is_not(None))
    end_s = _PM.alias("end_s")
    if w.lifetime:
        frm = _P.outerjoin(end_s, end_s.c.id == _latest_snapshot_id(w.now))
        deltas: dict[str, Any] = {f: end_s.c[f] for f in FIELDS}
        where = and_(base_where, in_period)
        return frm, where, deltas, end_s
    base_s = _PM.alias("base_s")
    m = _PM.alias()
    changed = exists(select(m.c.id).where(m.c.post_id == _P.c.id, m.c.observed_at > w.start,
                                          m.c.observed_at <= w.end).correlate(_P))
    frm = (_P.outerjoin(end_s, end_s.c.id == _latest_snapshot_id(w.end))
           .outerjoin(base_s, and_(published < w.start,
                                   base_s.c.id == _latest_snapshot_id(w.start))))
    deltas = {f: end_s.c[f] - func.coalesce(base_s.c[f], 0) for f in FIELDS}
    where = and_(base_where, or_(in_period, and_(published < w.start, changed)))
    return frm, where, deltas, end_s


def _aggregate(s: Any, names: Sequence[str], w: _Window) -> list[dict[str, Any]]:
    """Per (account, category): posts in the period, summed deltas, snapshot coverage."""
    frm, where, deltas, end_s = _engagement(names, w)
    in_period = and_(_P.c.published_at >= w.start, _P.c.published_at < w.end)
    cols = [_P.c.account, _P.c.category,
            func.sum(case((in_period, 1), else_=0)).label("posts"),
            func.count(end_s.c.id).label("snaps")]
    for f in FIELDS:
        cols.append(func.sum(deltas[f]).label(f))
        cols.append(func.count(end_s.c[f]).label(f"known_{f}"))
    q = select(*cols).select_from(frm).where(where).group_by(_P.c.account, _P.c.category)
    return [dict(r._mapping) for r in s.execute(q)]


def _coverage_ever(s: Any, names: Sequence[str], now: datetime) -> dict[str, dict[str, int]]:
    """For accounts without snapshots in the period: which counts their platform ever gave."""
    if not names:
        return {}
    cols = [_P.c.account, func.count(_PM.c.id).label("snaps")]
    cols += [func.count(_PM.c[f]).label(f"known_{f}") for f in FIELDS]
    q = (select(*cols).select_from(_PM.join(_P, _P.c.id == _PM.c.post_id))
         .where(_P.c.account.in_(list(names)), _PM.c.observed_at <= now)
         .group_by(_P.c.account))
    return {r.account: dict(r._mapping) for r in s.execute(q)}


def _literal_table(columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]) -> Any:
    """A small derived table of literal rows (portable: UNION ALL of SELECTs)."""
    selects = [select(*[literal(v, typ).label(name) if typ is not None else literal(v).label(name)
                        for (name, typ), v in zip(columns, row, strict=True)])
               for row in rows]
    if len(selects) == 1:
        return selects[0].subquery()
    return union_all(*selects).subquery()


def _followers_at(s: Any, names: Sequence[str],
                  instants: Sequence[datetime]) -> dict[tuple[str, int], int | None]:
    """Followers of each account at each instant: the latest row at or before it."""
    out: dict[tuple[str, int], int | None] = {}
    if not names or not instants:
        return out
    for i0 in range(0, len(instants), _LITERAL_ROWS):
        chunk = list(enumerate(instants))[i0:i0 + _LITERAL_ROWS]
        for n0 in range(0, len(names), _LITERAL_ROWS):
            accs = _literal_table([("name", None)], [(n,) for n in names[n0:n0 + _LITERAL_ROWS]])
            pts = _literal_table([("i", None), ("t", UTCDateTime)], chunk)
            m = _AM.alias()
            latest = (select(m.c.followers)
                      .where(m.c.account == accs.c.name, m.c.observed_at <= pts.c.t,
                             m.c.followers.is_not(None))
                      .order_by(m.c.observed_at.desc(), m.c.id.desc())
                      .limit(1).correlate(accs, pts).scalar_subquery())
            q = select(accs.c.name, pts.c.i, latest.label("followers")).select_from(
                accs.join(pts, true()))
            for name, i, followers in s.execute(q):
                out[(name, int(i))] = followers
    return out


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Acc:
    name: str
    platform: str
    zone: ZoneInfo
    simulated: bool
    display_name: str = ""


def _figures(acc_rows: list[dict[str, Any]], ever: dict[str, int] | None) -> tuple[
        dict[str, int | None], list[str]]:
    """Sum (account, category) rows into posts/reposts/comments/likes; fields partly known."""
    snaps = sum(r["snaps"] for r in acc_rows)
    figures: dict[str, int | None] = {"posts": sum(int(r["posts"] or 0) for r in acc_rows)}
    partial: list[str] = []
    for f in FIELDS:
        known = sum(r[f"known_{f}"] for r in acc_rows)
        if snaps == 0:
            never = ever is not None and ever["snaps"] > 0 and ever[f"known_{f}"] == 0
            figures[f] = None if never else 0
        elif known == 0:
            figures[f] = None
        else:
            figures[f] = sum(int(r[f] or 0) for r in acc_rows)
            if known < snaps:
                partial.append(f)
    return figures, partial


def _with_rates(fig: dict[str, Any], days: int) -> dict[str, Any]:
    posts = fig["posts"]
    fig["bci"] = bci(posts, fig["reposts"] or 0, fig["comments"] or 0, fig["likes"])
    fig["bci_likes_unknown"] = fig["likes"] is None
    fig["posts_per_day"] = round(posts / days, 2) if days else None
    for f in FIELDS:
        fig[f"avg_{f}"] = _ratio(fig[f], posts, 2)
    for f, key in (("reposts", "repost_rate"), ("comments", "comment_rate"), ("likes", "like_rate")):
        fig[key] = _ratio(fig[f], fig["followers_end"], 4)
    return fig


def _period_json(p: Period, lang: str) -> dict[str, Any]:
    return {"start": _iso(p.start), "end": _iso(p.end), "timezone": _zone_name(p.zone),
            "first_day": p.first_day.isoformat(), "last_day": p.last_day.isoformat(),
            "days": p.days, "kind": p.kind, "label": period_label(p, lang)}


def _accounts_and_totals(s: Any, accs: list[_Acc], p: Period, now: datetime, lifetime: bool,
                         lang: str, notes: list[str]) -> tuple[list[dict[str, Any]],
                                                               dict[str, Any], list[dict[str, Any]]]:
    names = [a.name for a in accs]
    w = _Window(p.start, p.end, now, lifetime)
    rows = _aggregate(s, names, w)
    by_acc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_acc[r["account"]].append(r)
    no_snaps = [n for n in names if sum(r["snaps"] for r in by_acc[n]) == 0]
    ever = _coverage_ever(s, no_snaps, now)
    fol = _followers_at(s, names, [p.start, p.end])
    accounts: list[dict[str, Any]] = []
    for a in accs:
        fig, partial = _figures(by_acc[a.name], ever.get(a.name))
        start, end = fol.get((a.name, 0)), fol.get((a.name, 1))
        item: dict[str, Any] = {
            "name": a.name, "display_name": a.display_name or a.name, "platform": a.platform,
            "simulated": a.simulated, "timezone": _zone_name(a.zone), **fig,
            "followers_start": start, "followers_end": end,
            "follower_change": end - start if start is not None and end is not None else None,
            "partial": partial,
        }
        accounts.append(_with_rates(item, p.days))
        who = a.display_name or a.name
        for f in partial:
            notes.append(_t(lang, f"{who}：部分博文缺少{_ZH_FIELD[f]}数据，合计仅含已知值",
                            f"{who}: some posts lack {f} counts; the sum covers known counts only"))
        if item["likes"] is None:
            notes.append(_t(lang, f"{who}：平台未提供点赞数，BCI 按 0 计",
                            f"{who}: the platform gives no like counts; the BCI counts them as 0"))
        if start is None:
            notes.append(_t(lang, f"{who}：期初粉丝数无记录", f"{who}: no follower figure "
                            "at the start of the period"))
    totals = _totals(accs, accounts, p.days)
    if totals["likes"] is not None and any(a["likes"] is None for a in accounts):
        totals["partial"] = sorted({*totals["partial"], "likes"})
    return accounts, totals, rows


def _totals(accs: list[_Acc], accounts: list[dict[str, Any]], days: int) -> dict[str, Any]:
    fig: dict[str, Any] = {"platform": ", ".join(sorted({a.platform for a in accs})),
                           "simulated": any(a.simulated for a in accs),
                           "posts": sum(a["posts"] for a in accounts)}
    for f in FIELDS:
        fig[f] = _sum_known(a[f] for a in accounts)
    fig["followers_start"] = _sum_known(a["followers_start"] for a in accounts)
    fig["followers_end"] = _sum_known(a["followers_end"] for a in accounts)
    fig["follower_change"] = _sum_known(a["follower_change"] for a in accounts)
    partial = {f for a in accounts for f in a["partial"]}
    if any(a["followers_start"] is None for a in accounts) and fig["followers_start"] is not None:
        partial.add("followers")
    fig["partial"] = sorted(partial)
    return _with_rates(fig, days)


_ZH_FIELD = {"reposts": "转发", "comments": "评论", "likes": "点赞"}


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _category_names(rt: Any) -> Any:
    """Category code → (zh, en) names, from the library's categories.toml."""
    try:
        known = rt.library.categories
    except OutreachError:
        known = {}

    def names(code: str | None) -> tuple[str, str]:
        cat = known.get(code) if code else None
        return (cat.zh, cat.en) if cat else ((code, code) if code else UNCATEGORISED)

    return names


def _categories(rt: Any, rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    names = _category_names(rt)
    by_code: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_code[r["category"]].append(r)
    out = []
    for code, group in by_code.items():
        fig, partial = _figures(group, None)
        zh, en = names(code)
        item: dict[str, Any] = {"code": code, "name": zh if lang == "zh" else en, "name_zh": zh,
                                "name_en": en, **fig, "partial": partial}
        for f in FIELDS:
            item[f"avg_{f}"] = _ratio(fig[f], fig["posts"], 2)
        out.append(item)
    out.sort(key=lambda c: (-(c["posts"] or 0), -((c["reposts"] or 0) + (c["comments"] or 0)),
                            c["code"] or "~"))
    return out


def _top_posts(s: Any, names: Sequence[str], w: _Window) -> list[dict[str, Any]]:
    frm, where, deltas, _ = _engagement(names, w)
    score = sum((func.coalesce(deltas[f], 0) for f in FIELDS), literal(0))
    q = (select(_P.c.id, _P.c.account, _P.c.published_at, _P.c.category, _P.c.tip_id,
                _P.c.text, _P.c.remote_url, _P.c.status,
                *[deltas[f].label(f) for f in FIELDS], score.label("engagement"))
         .select_from(frm).where(where)
         .order_by(score.desc(), _P.c.id).limit(TOP_POSTS))
    return [{"id": int(r.id), "account": r.account, "published_at": _iso(r.published_at),
             "category": r.category, "tip_id": r.tip_id, "text": r.text, "url": r.remote_url,
             "status": r.status, "reposts": r.reposts, "comments": r.comments, "likes": r.likes,
             "engagement": int(r.engagement)}
            for r in s.execute(q)]


def _posts_in_period(s: Any, names: Sequence[str], w: _Window) -> list[Any]:
    """(account, published_at, reposts, comments, likes) of each post published in the period."""
    frm, where, deltas, _ = _engagement(names, w)
    in_period = and_(_P.c.published_at >= w.start, _P.c.published_at < w.end)
    q = (select(_P.c.account, _P.c.published_at, *[deltas[f].label(f) for f in FIELDS])
         .select_from(frm).where(where, in_period).order_by(_P.c.account, _P.c.published_at))
    return list(s.execute(q))


def _hours(accs: list[_Acc], posts: list[Any]) -> tuple[list[dict[str, Any]],
                                                         dict[str, list[dict[str, Any]]]]:
    zones = {a.name: a.zone for a in accs}
    cells: dict[tuple[str, int, int], dict[str, Any]] = {}
    for r in posts:
        local = r.published_at.astimezone(zones[r.account])
        key = (r.account, local.weekday(), local.hour)
        c = cells.setdefault(key, {"account": r.account, "weekday": key[1], "hour": key[2],
                                   "posts": 0, "reposts": 0, "comments": 0, "likes": None})
        c["posts"] += 1
        c["reposts"] += r.reposts or 0
        c["comments"] += r.comments or 0
        if r.likes is not None:
            c["likes"] = (c["likes"] or 0) + r.likes
    hours = sorted(cells.values(), key=lambda c: (c["account"], c["weekday"], c["hour"]))
    for c in hours:
        c["engagement"] = c["reposts"] + c["comments"] + (c["likes"] or 0)
        c["per_post"] = round(c["engagement"] / c["posts"], 2)
    best: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in sorted(hours, key=lambda c: (-c["per_post"], -c["posts"], c["weekday"], c["hour"])):
        if len(best[c["account"]]) < 3:
            best[c["account"]].append({k: c[k] for k in ("weekday", "hour", "posts", "per_post")})
    return hours, best


def _trend(s: Any, accs: list[_Acc], p: Period) -> list[dict[str, Any]]:
    step = max(1, math.ceil(p.days / TREND_POINTS))
    days = [p.first_day + timedelta(days=i) for i in range(0, p.days, step)]
    if days[-1] != p.last_day:
        days.append(p.last_day)
    instants = [day_bounds(d, p.zone)[1] for d in days]
    names = [a.name for a in accs]
    fol = _followers_at(s, names, instants)
    out = []
    for i, d in enumerate(days):
        values = {n: fol.get((n, i)) for n in names}
        out.append({"date": d.isoformat(), "accounts": values, "total": _sum_known(values.values())})
    return out


def _opinions(s: Any, names: Sequence[str], p: Period, now: datetime,
              lang: str, rules: Any) -> dict[str, Any]:
    cls = _C.c["class"]
    # ``account || ''`` keeps the planner on the created_at index: a period's comments are few,
    # an account's are many (SQLite would otherwise pick the (account, remote_id) index).
    where = and_(_C.c.account.concat("").in_(list(names)), _C.c.created_at >= p.start,
                 _C.c.created_at < p.end, _C.c.is_own.is_(False))
    counts = {r[0]: int(r[1]) for r in s.execute(
        select(cls, func.count()).where(where).group_by(cls))}
    wanted = list(s.execute(select(cls, _C.c.created_at, _C.c.replied_at)
                            .where(where, _C.c.reply_required.is_(True))))

    def deadline_of(c: str) -> float | None:
        hours = rules.reply_within_hours(c) if c in rules.classes else None
        return int(hours) if hours is not None and float(hours).is_integer() else hours

    per: dict[str, dict[str, Any]] = {}
    for c in counts:
        per[c] = {"needs_reply": 0, "replied": 0, "hours": [], "overdue": 0, "late": 0}
    for c, created, replied in wanted:
        d = per.setdefault(c, {"needs_reply": 0, "replied": 0, "hours": [], "overdue": 0, "late": 0})
        hours = deadline_of(c)
        deadline = timedelta(hours=hours) if hours is not None else None
        d["needs_reply"] += 1
        if replied is not None:
            d["replied"] += 1
            d["hours"].append(max((replied - created).total_seconds(), 0) / 3600)
            if deadline is not None and replied - created > deadline:
                d["late"] += 1
        elif deadline is not None and created + deadline < now:
            d["overdue"] += 1
    total = sum(counts.values())
    order = {c: i for i, c in enumerate(rules.classes)}
    class_names = rules.class_names(lang)
    by_class = []
    for c in sorted(counts, key=lambda c: (order.get(c, len(order)), c)):
        d = per[c]
        by_class.append({
            "class": c, "name": class_names.get(c, c), "count": counts[c],
            "share": _ratio(counts[c], total, 4), "needs_reply": d["needs_reply"],
            "replied": d["replied"], "reply_rate": _ratio(d["replied"], d["needs_reply"], 4),
            "median_reply_hours": round(statistics.median(d["hours"]), 2) if d["hours"] else None,
            "overdue_unanswered": d["overdue"], "late_replies": d["late"],
            "deadline_hours": deadline_of(c),
        })
    all_hours = [h for d in per.values() for h in d["hours"]]
    needs = sum(d["needs_reply"] for d in per.values())
    replied = sum(d["replied"] for d in per.values())
    items = s.execute(
        select(_C.c.id, _C.c.account, _C.c.post_id, _C.c.created_at, _C.c.text, _C.c.url,
               _C.c.replied_at)
        .where(where, cls == "emergency").order_by(_C.c.created_at.desc(), _C.c.id.desc())
        .limit(EMERGENCY_ITEMS))
    return {
        "total": total,
        "by_class": by_class,
        "emergencies": counts.get("emergency", 0),
        "emergency_items": [{"id": int(r.id), "account": r.account, "post_id": r.post_id,
                             "created_at": _iso(r.created_at), "text": r.text, "url": r.url,
                             "replied_at": _iso(r.replied_at)} for r in items],
        "needs_reply": needs,
        "replied": replied,
        "reply_rate": _ratio(replied, needs, 4),
        "median_reply_hours": round(statistics.median(all_hours), 2) if all_hours else None,
        "overdue_unanswered": sum(d["overdue"] for d in per.values()),
        "late_replies": sum(d["late"] for d in per.values()),
        "deadlines_hours": {c: deadline_of(c) for c, k in rules.classes.items()
                            if k.needs_reply and k.reply_within_hours is not None},
        "as_of": _iso(now),
    }


def _compliance(s: Any, accs: list[_Acc], p: Period, now: datetime, posts: list[Any],
                lang: str) -> dict[str, Any]:
    names = [a.name for a in accs]
    stop = min(p.end, max(now, p.start))
    times: dict[str, list[datetime]] = defaultdict(list)
    for r in posts:
        times[r.account].append(r.published_at)
    sched = and_(_P.c.account.in_(names), _P.c.scheduled_at >= p.start, _P.c.scheduled_at < p.end)
    by_status = defaultdict(int, {(r[0], r[1]): int(r[2]) for r in s.execute(
        select(_P.c.account, _P.c.status, func.count())
        .where(sched, _P.c.status.in_(("failed", "missed"))).group_by(_P.c.account, _P.c.status))})
    retracted = defaultdict(int, {r[0]: int(r[1]) for r in s.execute(
        select(_AUDIT.c.account, func.count()).where(
            _AUDIT.c.action == "queue_retract", _AUDIT.c.account.in_(names),
            _AUDIT.c.at >= p.start, _AUDIT.c.at < p.end).group_by(_AUDIT.c.account))})
    drafts = defaultdict(int, {r[0]: int(r[1]) for r in s.execute(
        select(_P.c.account, func.count()).where(_P.c.account.in_(names), _P.c.status == "draft")
        .group_by(_P.c.account))})
    out = []
    for a in accs:
        marks = [p.start, *[t for t in sorted(times[a.name]) if t <= stop], stop]
        gap, gap_from, gap_to = timedelta(0), p.start, p.start
        for x, y in zip(marks, marks[1:], strict=False):
            if y - x > gap:
                gap, gap_from, gap_to = y - x, x, y
        days = round(gap.total_seconds() / 86400, 2)
        out.append({
            "account": a.name, "display_name": a.display_name or a.name,
            "longest_gap_days": days, "gap_from": _iso(gap_from),
            "gap_to": _iso(gap_to), "warning": days >= GAP_WARNING_DAYS,
            "failed": by_status[(a.name, "failed")], "missed": by_status[(a.name, "missed")],
            "retracted": retracted[a.name], "drafts_waiting": drafts[a.name],
        })
    warnings = [_t(lang, f"{c['display_name']}：最长 {c['longest_gap_days']:.2f} 天未发博"
                         f"（≥{GAP_WARNING_DAYS} 天）",
                   f"{c['display_name']}: {c['longest_gap_days']:.2f} days without a post "
                   f"(≥ {GAP_WARNING_DAYS} days)")
                for c in out if c["warning"]]
    return {
        "gap_warning_days": GAP_WARNING_DAYS,
        "accounts": out,
        "longest_gap_days": max((c["longest_gap_days"] for c in out), default=0.0),
        "failed": sum(c["failed"] for c in out),
        "missed": sum(c["missed"] for c in out),
        "retracted": sum(c["retracted"] for c in out),
        "drafts_waiting": sum(c["drafts_waiting"] for c in out),
        "warnings": warnings,
    }


def _headline(p: Period, totals: dict[str, Any], simulated: bool, lifetime: bool) -> dict[str, str]:
    n, m, k = totals["posts"], totals["reposts"] or 0, totals["comments"] or 0
    f, d = totals["followers_end"], totals["follower_change"]
    zh_when = {"month": "本月", "week": "本周", "day": "当日"}.get(p.kind, period_label(p, "zh"))
    zh_prev = {"month": "较上月", "week": "较上周", "day": "较前日"}.get(p.kind, "较期初")
    en_when = {"month": "This month", "week": "This week", "day": "This day"}.get(
        p.kind, period_label(p, "en"))
    zh = f"{zh_when}共发博文{n}篇，被转发{m}条次，网民评论{k}条，"
    en = f"{en_when}: {n} posts, reposted {m} times, {k} comments from the public, "
    if f is None:
        zh += "粉丝数暂无记录"
        en += "followers not yet recorded"
    else:
        zh += f"粉丝{'减' if (d or 0) < 0 else '增'}至{f}人"
        en += f"followers {'down' if (d or 0) < 0 else 'up'} to {f}"
        if d is not None:
            zh += f"（{zh_prev}{d:+d}）"
            en += f" ({d:+d})"
    if lifetime:
        zh += "（互动为博文累计数）"
        en += " (engagement: the posts' lifetime totals)"
    if simulated:
        zh += "（模拟数据）"
        en += " (simulated audience)"
    return {"zh": zh, "en": en + "."}


def build_report(rt: Any, *, accounts: list[str] | None, since: date | None, until: date | None,
                 period: str = "month", lang: str = "zh", lifetime: bool = False) -> dict[str, Any]:
    """The engagement and public-opinion report as a JSON-ready dict (see the module doc)."""
    from outreach.clients import client_class
    from outreach.opinions.rules import load_rules

    if lang not in LANGS:
        raise InputError(f"--lang: must be one of {', '.join(LANGS)}, got {lang!r}")
    settings = rt.settings
    if accounts:
        chosen = [settings.account(n) for n in dict.fromkeys(accounts)]
    else:
        chosen = list(settings.accounts.values())
    if not chosen:
        raise InputError("no accounts configured to report on")
    with rt.db.reader() as s:
        idle = _never_set_up(rt, s, chosen)
    accs = [_Acc(a.name, a.platform, a.timezone, client_class(a.platform).simulated,
                 a.display_name)
            for a in chosen if a not in idle]
    zone = chosen[0].timezone if len(chosen) == 1 else settings.timezone
    now = rt.clock()
    p = period_bounds(period, since, until, zone, now)
    prev = p.previous()
    names = [a.name for a in accs]
    notes: list[str] = []
    w = _Window(p.start, p.end, now, lifetime)
    with rt.db.reader() as s:
        acc_items, totals, rows = _accounts_and_totals(s, accs, p, now, lifetime, lang, notes)
        # the comment figure of the other kind (lifetime or in-period): one aggregate query
        other = _figures(_aggregate(s, names, _Window(p.start, p.end, now, not lifetime)),
                         None)[0]["comments"]
        prev_items, prev_totals, _ = _accounts_and_totals(s, accs, prev, now, lifetime, lang, [])
        top = _top_posts(s, names, w)
        in_period = _posts_in_period(s, names, w)
        hours, best = _hours(accs, in_period)
        trend = _trend(s, accs, p)
        opinions = _opinions(s, names, p, now, lang, load_rules(settings.content_dir))
        compliance = _compliance(s, accs, p, now, in_period, lang)
    for item in acc_items:
        item["best_times"] = best.get(item["name"], [])
    simulated = any(a.simulated for a in accs)
    if totals["likes"] is not None and any(a["likes"] is None for a in acc_items):
        notes.append(_t(lang, "合计点赞数不含未提供点赞数的平台",
                        "total likes leave out platforms that give no like counts"))
    if simulated:
        sim = ", ".join(a.display_name or a.name for a in accs if a.simulated)
        notes.insert(0, _t(lang, f"{sim}：本地平台，受众为模拟数据，并非真实网民",
                           f"{sim}: the local platform; its audience is simulated, not real"))
    if lifetime:
        notes.append(_t(lang, "互动数为本期所发博文的累计数（截至生成时）",
                        "engagement: lifetime totals of the posts published in the period "
                        "(as of now)"))
    else:
        notes.append(_t(lang, "互动数为本期内的增量（按快照计算），含往期博文在本期获得的互动",
                        "engagement: the change of counts over the period (from snapshots), "
                        "including what earlier posts gained in it"))
    label = period_label(p, lang)
    kind_zh = {"month": "月报", "week": "周报", "day": "日报"}.get(p.kind, "报告")
    cfg = settings.report
    department = (cfg.department_en or cfg.department) if lang == "en" else cfg.department
    own_title = (cfg.title_en or cfg.title) if lang == "en" else cfg.title
    if own_title:
        title = f"{label} {own_title}"
    else:
        title = (f"{label} 民意与宣传{kind_zh}" if lang == "zh"
                 else f"Engagement and public-opinion report, {label}")
    cat_names = _category_names(rt)
    for post in top:
        post["category_name"] = cat_names(post["category"])[0 if lang == "zh" else 1]
    received, on_posts = (other, totals["comments"]) if lifetime else (totals["comments"], other)
    comment_counts = {"received": received, "on_period_posts": on_posts,
                      "collected": opinions["total"]}
    return {
        "title": title,
        "department": department,
        "lang": lang,
        "generated_at": _iso(now),
        "period": _period_json(p, lang),
        "simulated": simulated,
        "simulated_accounts": [a.name for a in accs if a.simulated],
        "lifetime": lifetime,
        "accounts": acc_items,
        "totals": totals,
        "previous": {"period": _period_json(prev, lang), "accounts": prev_items,
                     "totals": prev_totals},
        "top_posts": top,
        "categories": _categories(rt, rows, lang),
        "hours": hours,
        "followers": trend,
        "opinions": opinions,
        "compliance": compliance,
        "headline": _headline(p, totals, simulated, lifetime),
        "comment_counts": {**comment_counts, "definitions": [
            {"key": k, "label": _t(lang, *label_), "definition": _t(lang, *definition),
             "value": comment_counts[k], "headline": k == ("on_period_posts" if lifetime
                                                          else "received")}
            for k, (label_, definition) in COMMENT_FIGURES.items()]},
        "unconfigured_accounts": [{"name": a.name, "display_name": a.label,
                                   "platform": a.platform} for a in idle],
        "sections": [{"key": key, "title": _t(lang, *names),
                      "tables": [{"key": t, "title": _t(lang, *tnames),
                                  "sheet": _t(lang, *tnames)[:31]} for t, tnames in tables]}
                     for key, names, tables in SECTIONS],
        "notes": notes,
    }


def _never_set_up(rt: Any, s: Any, chosen: Sequence[Any]) -> list[Any]:
    """The accounts with no token that never published: nothing to count, nothing to alarm."""
    names = [a.name for a in chosen]
    published = set(s.execute(select(_P.c.account).where(
        _P.c.account.in_(names), _P.c.published_at.is_not(None)).distinct()).scalars())
    idle = []
    for a in chosen:
        try:
            configured = rt.configured(a)
        except OutreachError:
            configured = True  # a token is there but unreadable: it was set up
        if not configured and a.name not in published:
            idle.append(a)
    return idle
