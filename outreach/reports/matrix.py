"""The matrix report (政务新媒体矩阵): the accounts of a group ranked against each other.

For one period, every account of ``@group`` gets the report's own figures — posts,
engagement and the BCI (``reports.figures``, counted exactly as ``outreach report`` counts
them) — beside its responsiveness (the comments that wanted a reply: reply rate and median
reply time, as in the report's section 3) and its compliance (days of the period with no
post, and the longest gap; ≥ 14 days is the 国办 single-item veto). Accounts are ranked by
BCI (and on each figure apart), with their rank in the previous period of the same length;
the group's totals follow, and the laggards are named with their reasons.

Every query is set-based over the group's accounts (no query per account), so a province's
thousand accounts cost the same few queries as ten.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from outreach.config.groups import is_group
from outreach.errors import InputError
from outreach.i18n import _
from outreach.reports import figures as fg
from outreach.reports.compliance import GAP_WARNING_DAYS
from outreach.reports.figures import Acc, instant, ratio
from outreach.reports.matrix_model import (
    RANKED_BY,
    Laggard,
    MatrixAccount,
    MatrixReport,
    MatrixTotals,
    Ranks,
)
from outreach.reports.periods import Period, period_bounds, period_label
from outreach.reports.query import _C, _P, COUNTED_STATUSES
from outreach.reports.wording import language, t
from outreach.states import PostKind
from outreach.text import listing
from outreach.times import day_bounds

if TYPE_CHECKING:
    from outreach.runtime import Runtime

_UNIX_EPOCH_JULIAN = 2440587.5  # 1970-01-01T00:00Z as a Julian day number (SQLite julianday)
BOTTOM_SHARE = 10  # the last tenth by BCI (at least one account) are laggards
LOW_REPLY_RATE = 0.5  # replying to fewer than half of what wanted a reply


def build_matrix(rt: Runtime, group: str, *, since: date | None, until: date | None,
                 period: str = "month", lang: str = "zh", lifetime: bool = False
                 ) -> MatrixReport:
    """The matrix report of ``group`` (``@name``) over one period (see the module doc)."""
    lang_ = language(lang)
    if not is_group(group.strip()):
        raise InputError(_("--matrix takes a group (@name), not {value!r}").format(value=group))
    settings = rt.settings
    chosen = [settings.account(n) for n in settings.select(group) or ()]
    accs = [Acc(a.name, a.platform, a.timezone, rt.simulated(a), a.display_name) for a in chosen]
    names = [a.name for a in accs]
    now = rt.clock()
    p = period_bounds(period, since, until, settings.zone_of(group), now)
    prev = p.previous()
    notes: list[str] = []
    this, before, answered, posted = rt.db.read_together(
        lambda s: fg.accounts_and_totals(s, accs, p, now, lifetime, lang, notes),
        lambda s: fg.accounts_and_totals(s, accs, prev, now, lifetime, lang, []),
        lambda s: _replies(s, names, p),
        lambda s: _published(s, names, p))
    stop = min(p.end, max(now, p.start))
    midnights = _midnights(p, stop)
    rows: list[dict[str, Any]] = []
    for a, fig in zip(accs, this.accounts, strict=True):
        needs, replied, hours = answered.get(a.name, (0, 0, []))
        idle, gap = _silence(posted.get(a.name, []), midnights, p, stop)
        rows.append({
            **{k: fig[k] for k in ("name", "display_name", "platform", "simulated", "posts",
                                   "reposts", "comments", "likes", "bci", "followers_end",
                                   "follower_change")},
            "engagement": _engagement(fig),
            "needs_reply": needs, "replied": replied, "reply_rate": ratio(replied, needs, 4),
            "median_reply_hours": _median(hours), "days_without_post": idle,
            "longest_gap_days": gap, "gap_warning": gap >= GAP_WARNING_DAYS,
        })
    previous = {f["name"]: f for f in before.accounts}
    for r in rows:
        r["previous_bci"] = previous[r["name"]]["bci"]
        r["previous_posts"] = previous[r["name"]]["posts"]
    _rank(rows)
    rows.sort(key=lambda r: (r["rank"], r["name"]))
    simulated = [a.name for a in accs if a.simulated]
    if simulated:
        who = listing(simulated)
        notes.insert(0, t(lang, f"{who}：本地平台，受众为模拟数据",
                          f"{who}: the local platform; its audience is simulated"))
    notes.append(t(lang, "排名按 BCI；名次变化与上一等长周期相比（正数为上升）",
                   "ranked by BCI; rank change against the previous period of the same "
                   "length (positive: up)"))
    return MatrixReport(
        title=_title(rt, p, group, lang), department=_department(rt, lang), lang=lang_,
        group=group.strip(), generated_at=instant(now), period=fg.period_model(p, lang),
        previous_period=fg.period_model(prev, lang), simulated=bool(simulated),
        simulated_accounts=simulated, lifetime=lifetime, gap_warning_days=GAP_WARNING_DAYS,
        ranked_by=list(RANKED_BY), accounts=[MatrixAccount.model_validate(r) for r in rows],
        totals=_totals(rows, this, before), laggards=_laggards(rows, lang), notes=notes)


def _engagement(fig: dict[str, Any]) -> int:
    return sum(int(fig[k] or 0) for k in ("reposts", "comments", "likes"))


def _median(hours: list[float]) -> float | None:
    return round(statistics.median(hours), 2) if hours else None


def _replies(s: Session, names: Sequence[str], p: Period
             ) -> dict[str, tuple[int, int, list[float]]]:
    """Per account: the public's comments of the period that wanted a reply, how many were
    replied to (counted by the database), and the hours each reply took (computed by the
    database: a province's month holds hundreds of thousands of comments), in one pass."""
    where = and_(_C.c.account.in_(list(names)), _C.c.created_at >= p.start,
                 _C.c.created_at < p.end, _C.c.is_own.is_(False),
                 _C.c.reply_required.is_(True))
    took, read = _listed(s, _seconds(s, _C.c.created_at, _C.c.replied_at))
    return {a: (int(n), int(r), [max(x, 0.0) / 3600 for x in read(seconds)])
            for a, n, r, seconds in s.execute(select(
                _C.c.account, func.count(), func.count(_C.c.replied_at),
                took.filter(_C.c.replied_at.is_not(None))).where(where).group_by(_C.c.account))}


def _seconds(s: Session, first: Any, then: Any) -> Any:
    """``then - first`` in seconds, as the database computes it (no instant is sent back)."""
    if s.get_bind().dialect.name == "postgresql":
        return func.date_part("epoch", then - first)  # a double (extract's numeric is slow)
    return (func.julianday(then) - func.julianday(first)) * 86400.0


def _listed(s: Session, value: Any) -> tuple[Any, Callable[[Any], list[float]]]:
    """An aggregate listing ``value`` (a number) for each group, and how to read it back:
    PostgreSQL's array, SQLite's comma-joined text. One row a group: a province's month of
    rows cost the client more than the database spends finding them."""
    if s.get_bind().dialect.name == "postgresql":
        return func.array_agg(value), lambda got: list(got or ())
    return (func.group_concat(value),
            lambda got: [float(x) for x in got.split(",")] if got else [])


def _published(s: Session, names: Sequence[str], p: Period) -> dict[str, list[float]]:
    """When each account's own posts of the period went out (as the report counts posts),
    as POSIX seconds computed by the database (a province's month is ~200k posts), to the
    millisecond."""
    at: Any
    if s.get_bind().dialect.name == "postgresql":
        at = func.date_part("epoch", _P.c.published_at)
    else:
        at = (func.julianday(_P.c.published_at) - _UNIX_EPOCH_JULIAN) * 86400.0
    listed, read = _listed(s, at)
    return {account: [round(x, 3) for x in read(seconds)]  # julianday's float: to the ms
            for account, seconds in s.execute(select(_P.c.account, listed).where(and_(
                _P.c.account.in_(list(names)), _P.c.kind != PostKind.REPLY,
                _P.c.status.in_(COUNTED_STATUSES), _P.c.published_at >= p.start,
                _P.c.published_at < p.end)).group_by(_P.c.account))}


def _midnights(p: Period, stop: datetime) -> list[float]:
    """The POSIX instants at which each day of the period so far (in its zone) begins: the
    same for every account, so computed once."""
    last_day = (stop - timedelta(microseconds=1)).astimezone(p.zone).date()
    days = max(0, (min(last_day, p.last_day) - p.first_day).days + 1) if stop > p.start else 0
    return [day_bounds(p.first_day + timedelta(days=i), p.zone)[0].timestamp()
            for i in range(days)]


def _silence(times: list[float], midnights: list[float], p: Period, stop: datetime
             ) -> tuple[int, float]:
    """Days of the period so far (``midnights``: when each begins) with no post, and the
    longest gap without one (from the period's start to ``stop``, as the report's compliance
    check)."""
    start, end = p.start.timestamp(), stop.timestamp()
    marks = sorted(x for x in times if x <= end)
    posted = {bisect.bisect_right(midnights, x) - 1 for x in marks}
    idle = sum(1 for i in range(len(midnights)) if i not in posted)
    gap = max((y - x for x, y in zip([start, *marks], [*marks, end], strict=True)), default=0.0)
    return idle, round(max(gap, 0.0) / 86400, 2)


def _places(values: Sequence[float | int | None], *, high: bool) -> list[int | None]:
    """Competition ranking (1, 2, 2, 4): equal values share a place; None has none."""
    known = sorted((v for v in values if v is not None), reverse=high)
    first: dict[float | int, int] = {}
    for i, v in enumerate(known):
        first.setdefault(v, i + 1)
    return [first[v] if v is not None else None for v in values]


def _rank(rows: list[dict[str, Any]]) -> None:
    """Each account's place on every figure, its place by BCI now and in the previous
    period, and the change."""
    def col(key: str, *, high: bool = True) -> list[int | None]:
        return _places([r[key] for r in rows], high=high)

    ranks = {"bci": col("bci"), "posts": col("posts"), "engagement": col("engagement"),
             "reply_rate": col("reply_rate"),
             "median_reply_hours": col("median_reply_hours", high=False),
             "days_without_post": col("days_without_post", high=False)}
    before = col("previous_bci")
    for i, r in enumerate(rows):
        r["ranks"] = Ranks.model_validate({k: v[i] for k, v in ranks.items()})
        r["rank"] = ranks["bci"][i]
        r["previous_rank"] = before[i]
        r["rank_change"] = int(before[i] or 0) - int(ranks["bci"][i] or 0)


def _totals(rows: list[dict[str, Any]], this: fg.Figures, before: fg.Figures) -> MatrixTotals:
    tot = this.totals
    hours_known = [r["median_reply_hours"] for r in rows if r["median_reply_hours"] is not None]
    needs = sum(r["needs_reply"] for r in rows)
    replied = sum(r["replied"] for r in rows)
    return MatrixTotals(
        posts=tot.posts, reposts=tot.reposts, comments=tot.comments, likes=tot.likes,
        engagement=sum(r["engagement"] for r in rows), bci=tot.bci,
        followers_end=tot.followers_end, follower_change=tot.follower_change,
        needs_reply=needs, replied=replied, reply_rate=ratio(replied, needs, 4),
        median_reply_hours=_median(hours_known),
        days_without_post=sum(r["days_without_post"] for r in rows),
        longest_gap_days=max((r["longest_gap_days"] for r in rows), default=0.0),
        gap_warning=any(r["gap_warning"] for r in rows),
        accounts=len(rows),
        average_bci=round(statistics.fmean([r["bci"] for r in rows]), 2) if rows else 0.0,
        accounts_with_gap_warning=sum(r["gap_warning"] for r in rows),
        previous_posts=before.totals.posts,
        previous_engagement=sum(_engagement(a) for a in before.accounts),
        previous_bci=before.totals.bci)


def _laggards(rows: list[dict[str, Any]], lang: str) -> list[Laggard]:
    """The accounts that need the group's attention, worst first, each with its reasons: no
    post, a gap of ``GAP_WARNING_DAYS`` or more, the last tenth by BCI, fewer than half of
    the comments wanting a reply answered, a fall of several places."""
    n = len(rows)
    bottom = n - max(1, n // BOTTOM_SHARE) + 1 if n >= 3 else n + 1
    fall = max(3, n // BOTTOM_SHARE)
    out = []
    for r in sorted(rows, key=lambda r: (-r["rank"], r["name"])):
        reasons = _reasons(r, lang, n, bottom, fall)
        if reasons:
            out.append(Laggard(name=r["name"], display_name=r["display_name"], rank=r["rank"],
                               reasons=reasons))
    return out


def _reasons(r: dict[str, Any], lang: str, n: int, bottom: int, fall: int) -> list[str]:
    say: Callable[[str, str], str] = lambda zh, en: t(lang, zh, en)  # noqa: E731
    reasons = []
    if r["posts"] == 0:
        reasons.append(say("本期未发博", "no post in the period"))
    if r["gap_warning"]:
        reasons.append(say(f"最长 {r['longest_gap_days']:.1f} 天未发博（≥{GAP_WARNING_DAYS} 天）",
                           f"{r['longest_gap_days']:.1f} days without a post "
                           f"(≥ {GAP_WARNING_DAYS})"))
    if r["rank"] >= bottom:
        reasons.append(say(f"BCI {r['bci']:.2f}，排名 {r['rank']}/{n}（末位 {BOTTOM_SHARE}%）",
                           f"BCI {r['bci']:.2f}, rank {r['rank']} of {n} (the last "
                           f"{BOTTOM_SHARE} %)"))
    rate = r["reply_rate"]
    if rate is not None and rate < LOW_REPLY_RATE:
        reasons.append(say(f"应回复 {r['needs_reply']} 条，仅回复 {r['replied']} 条",
                           f"replied to {r['replied']} of {r['needs_reply']} comments that "
                           "wanted a reply"))
    if r["rank_change"] <= -fall:
        reasons.append(say(f"名次下降 {-r['rank_change']} 位", f"fell {-r['rank_change']} places"))
    return reasons


def _title(rt: Runtime, p: Period, group: str, lang: str) -> str:
    label = period_label(p, lang)
    return (f"{label} {group.strip()} 矩阵排名" if lang == "zh"
            else f"Matrix ranking of {group.strip()}, {label}")


def _department(rt: Runtime, lang: str) -> str:
    cfg = rt.settings.report
    return (cfg.department_en or cfg.department) if lang == "en" else cfg.department
