"""The report's figures: the BCI, each account's and the total's counts and rates, the
categories, the posting times and the follower trend (from the rows of ``reports.query``).

A count the platform does not provide stays ``None`` (every snapshot lacks it); a count some
snapshots lack is the sum of the known ones, and a note says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlmodel import Session

from outreach.errors import OutreachError
from outreach.reports import query
from outreach.reports.model import (
    BestTime,
    Category,
    FollowerPoint,
    HourCell,
    ReportPeriod,
    TopPost,
    Totals,
)
from outreach.reports.periods import Period, period_label
from outreach.reports.query import FIELDS, Window
from outreach.reports.wording import UNCATEGORISED, ZH_FIELD, t
from outreach.times import day_bounds

if TYPE_CHECKING:
    from outreach.runtime import Runtime

TREND_POINTS = 400  # at most this many follower points (one a day until then)


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


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def ratio(num: int | None, den: int | None, digits: int) -> float | None:
    if num is None or not den:
        return None
    return round(num / den, digits)


def sum_known(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class Acc:
    """An account the report counts."""

    name: str
    platform: str
    zone: ZoneInfo
    simulated: bool
    display_name: str = ""

    @property
    def shown(self) -> str:
        return self.display_name or self.name


def period_model(p: Period, lang: str) -> ReportPeriod:
    return ReportPeriod(start=instant(p.start), end=instant(p.end), timezone=p.zone.key,
                        first_day=p.first_day.isoformat(), last_day=p.last_day.isoformat(),
                        days=p.days, kind=p.kind, label=period_label(p, lang))


def figures(acc_rows: list[dict[str, Any]], ever: dict[str, int] | None) -> tuple[
        dict[str, int | None], list[str]]:
    """Sum (account, category) rows into posts/reposts/comments/likes; fields partly known."""
    snaps = sum(r["snaps"] for r in acc_rows)
    out: dict[str, int | None] = {"posts": sum(int(r["posts"] or 0) for r in acc_rows)}
    partial: list[str] = []
    for f in FIELDS:
        known = sum(r[f"known_{f}"] for r in acc_rows)
        if snaps == 0:
            never = ever is not None and ever["snaps"] > 0 and ever[f"known_{f}"] == 0
            out[f] = None if never else 0
        elif known == 0:
            out[f] = None
        else:
            out[f] = sum(int(r[f] or 0) for r in acc_rows)
            if known < snaps:
                partial.append(f)
    return out, partial


def _averages(fig: dict[str, Any]) -> dict[str, float | None]:
    return {f"avg_{f}": ratio(fig[f], fig["posts"], 2) for f in FIELDS}


def _with_rates(fig: dict[str, Any], days: int) -> dict[str, Any]:
    posts = fig["posts"]
    fig["bci"] = bci(posts, fig["reposts"] or 0, fig["comments"] or 0, fig["likes"])
    fig["bci_likes_unknown"] = fig["likes"] is None
    fig["posts_per_day"] = round(posts / days, 2) if days else None
    fig.update(_averages(fig))
    for f, key in (("reposts", "repost_rate"), ("comments", "comment_rate"), ("likes", "like_rate")):
        fig[key] = ratio(fig[f], fig["followers_end"], 4)
    return fig


@dataclass
class Figures:
    """A period's figures: one JSON-ready dict per account (as ``Account`` holds them, less
    the best times), the total, and the (account, category) rows they were summed from."""

    accounts: list[dict[str, Any]]
    totals: Totals
    rows: list[dict[str, Any]]


def accounts_and_totals(s: Session, accs: list[Acc], p: Period, now: datetime, lifetime: bool,
                        lang: str, notes: list[str]) -> Figures:
    names = [a.name for a in accs]
    rows = query.aggregate(s, names, Window(p.start, p.end, now, lifetime))
    by_acc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_acc[r["account"]].append(r)
    no_snaps = [n for n in names if sum(r["snaps"] for r in by_acc[n]) == 0]
    ever = query.coverage_ever(s, no_snaps, now)
    fol = query.followers_at(s, names, [p.start, p.end])
    accounts: list[dict[str, Any]] = []
    for a in accs:
        fig, partial = figures(by_acc[a.name], ever.get(a.name))
        start, end = fol.get((a.name, 0)), fol.get((a.name, 1))
        item: dict[str, Any] = {
            "name": a.name, "display_name": a.shown, "platform": a.platform,
            "simulated": a.simulated, "timezone": a.zone.key, **fig,
            "followers_start": start, "followers_end": end,
            "follower_change": end - start if start is not None and end is not None else None,
            "partial": partial,
        }
        accounts.append(_with_rates(item, p.days))
        who = a.shown
        for f in partial:
            notes.append(t(lang, f"{who}：部分博文缺少{ZH_FIELD[f]}数据，合计仅含已知值",
                           f"{who}: some posts lack {f} counts; the sum covers known counts only"))
        if item["likes"] is None:
            notes.append(t(lang, f"{who}：平台未提供点赞数，BCI 按 0 计",
                           f"{who}: the platform gives no like counts; the BCI counts them as 0"))
        if start is None:
            notes.append(t(lang, f"{who}：期初粉丝数无记录", f"{who}: no follower figure "
                           "at the start of the period"))
    totals = _totals(accs, accounts, p.days)
    if totals["likes"] is not None and any(a["likes"] is None for a in accounts):
        totals["partial"] = sorted({*totals["partial"], "likes"})
    return Figures(accounts, Totals.model_validate(totals), rows)


def _totals(accs: list[Acc], accounts: list[dict[str, Any]], days: int) -> dict[str, Any]:
    fig: dict[str, Any] = {"platform": ", ".join(sorted({a.platform for a in accs})),
                           "simulated": any(a.simulated for a in accs),
                           "posts": sum(a["posts"] for a in accounts)}
    for f in (*FIELDS, "followers_start", "followers_end", "follower_change"):
        fig[f] = sum_known(a[f] for a in accounts)
    partial = {f for a in accounts for f in a["partial"]}
    if any(a["followers_start"] is None for a in accounts) and fig["followers_start"] is not None:
        partial.add("followers")
    fig["partial"] = sorted(partial)
    return _with_rates(fig, days)


CategoryNames = Callable[[str | None], tuple[str, str]]


def category_names(rt: Runtime) -> CategoryNames:
    """Category code → (zh, en) names, from the library's categories.toml (none when the
    library does not load)."""
    try:
        known = rt.library.categories
    except OutreachError:
        known = {}

    def names(code: str | None) -> tuple[str, str]:
        cat = known.get(code) if code else None
        return (cat.zh, cat.en) if cat else ((code, code) if code else UNCATEGORISED)

    return names


def _per_post(rows: list[dict[str, Any]]) -> tuple[int, float | None]:
    """Posts published in the period among ``rows``, and their engagement per post."""
    posts = sum(int(r["posts"] or 0) for r in rows)
    engagement = sum_known(int(r[f]) for r in rows for f in FIELDS if r[f] is not None)
    return posts, ratio(engagement, posts, 2)


def categories(names: CategoryNames, rows: list[dict[str, Any]], lang: str) -> list[Category]:
    by_code: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_code[r["category"]].append(r)
    out = []
    for code, group in by_code.items():
        fig, partial = figures(group, None)
        zh, en = names(code)
        item: dict[str, Any] = {"code": code, "name": zh if lang == "zh" else en, "name_zh": zh,
                                "name_en": en, **fig, "partial": partial}
        item.update(_averages(fig))
        pictured, item["per_post_with_pictures"] = _per_post([r for r in group if r["pictured"]])
        item["posts_with_pictures"] = pictured
        item["per_post_without_pictures"] = _per_post([r for r in group if not r["pictured"]])[1]
        out.append(item)
    out.sort(key=lambda c: (-(c["posts"] or 0), -((c["reposts"] or 0) + (c["comments"] or 0)),
                            c["code"] or "~"))
    return [Category.model_validate(c) for c in out]


def top_posts(rows: list[Row[Any]], names: CategoryNames, lang: str,
              pictures: Mapping[int, list[Row[Any]]],
              thumbnail: Callable[[str], str | None]) -> list[TopPost]:
    """The top posts, each with its pictures' count and a thumbnail of the first."""
    out = []
    for r in rows:
        first = pictures.get(int(r.id), [None])[0]
        out.append(TopPost(
            id=int(r.id), account=r.account, published_at=instant(r.published_at),
            category=r.category, tip_id=r.tip_id, text=r.text, url=r.remote_url,
            status=r.status, reposts=r.reposts, comments=r.comments, likes=r.likes,
            engagement=int(r.engagement),
            category_name=names(r.category)[0 if lang == "zh" else 1],
            pictures=len(pictures.get(int(r.id), [])),
            picture_alt=first.alt if first is not None else None,
            thumbnail=thumbnail(first.sha256) if first is not None else None))
    return out


def hours(accs: list[Acc], posts: list[Row[Any]]) -> tuple[list[HourCell],
                                                           dict[str, list[BestTime]]]:
    """Engagement by (account, local weekday, hour), and each account's three best cells."""
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
    out = sorted(cells.values(), key=lambda c: (c["account"], c["weekday"], c["hour"]))
    for c in out:
        c["engagement"] = c["reposts"] + c["comments"] + (c["likes"] or 0)
        c["per_post"] = round(c["engagement"] / c["posts"], 2)
    best: dict[str, list[BestTime]] = defaultdict(list)
    for c in sorted(out, key=lambda c: (-c["per_post"], -c["posts"], c["weekday"], c["hour"])):
        if len(best[c["account"]]) < 3:
            best[c["account"]].append(BestTime(weekday=c["weekday"], hour=c["hour"],
                                               posts=c["posts"], per_post=c["per_post"]))
    return [HourCell.model_validate(c) for c in out], best


def trend(s: Session, accs: list[Acc], p: Period) -> list[FollowerPoint]:
    """Followers at the end of each day (every few days over long periods), and their sum."""
    step = max(1, math.ceil(p.days / TREND_POINTS))
    days = [p.first_day + timedelta(days=i) for i in range(0, p.days, step)]
    if days[-1] != p.last_day:
        days.append(p.last_day)
    instants = [day_bounds(d, p.zone)[1] for d in days]
    names = [a.name for a in accs]
    fol = query.followers_at(s, names, instants)
    out = []
    for i, d in enumerate(days):
        values: Mapping[str, int | None] = {n: fol.get((n, i)) for n in names}
        out.append(FollowerPoint(date=d.isoformat(), accounts=dict(values),
                                 total=sum_known(values.values())))
    return out
