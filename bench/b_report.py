"""Benchmark 4: the monthly report on a department's year of history.

Timed: ``outreach.reports.build.build_report`` for last calendar month over every account, then
every renderer but HTML (table, JSON, CSV, Markdown); and separately the HTML report with
its charts. The reference is the raw SQL the report's figures come from — engagement
deltas per account and category for the month and the month before (latest snapshot at
or before each bound, change-only rows), followers at the bounds and per day, the top
posts, posts per local hour and comments per class — written by hand against the same
tables with the stdlib ``sqlite3`` module, in the same process.
"""

from __future__ import annotations

import io
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from sqlalchemy.dialects import sqlite

from bench import datasets
from bench.harness import Context, Result, median
from outreach.cli import report_formats as rf
from outreach.cli.report_formats import render_table
from outreach.reports.build import build_report
from outreach.reports.model import Report
from outreach.reports.periods import period_bounds
from outreach.store.models import UTCDateTime
from outreach.times import day_bounds

_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime on SQLite


def _ts(moment: datetime) -> str:
    naive = UTCDateTime().process_bind_param(moment, sqlite3_dialect())
    assert naive is not None
    return naive.strftime(_TS)


def sqlite3_dialect() -> Any:
    return sqlite.dialect()


def month_of(end: datetime, zone: Any) -> date:
    """The first day of the last full calendar month before ``end`` (in ``zone``)."""
    today = end.astimezone(zone).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


_ENGAGEMENT = """
WITH sel AS (
    SELECT id, account, category, published_at FROM posts
     WHERE status IN ('published', 'retracted') AND kind != 'reply' AND account IN ({names})
       AND published_at >= :s AND published_at < :e
    UNION ALL
    SELECT p.id, p.account, p.category, p.published_at FROM posts p
      JOIN (SELECT DISTINCT post_id FROM post_metrics WHERE observed_at > :s AND observed_at <= :e) t
        ON t.post_id = p.id
     WHERE p.status IN ('published', 'retracted') AND p.kind != 'reply' AND p.account IN ({names})
       AND p.published_at < :s
)
SELECT {group}, SUM(sel.published_at >= :s) AS posts,
       SUM(e.reposts - COALESCE(b.reposts, 0)) AS reposts,
       SUM(e.comments - COALESCE(b.comments, 0)) AS comments,
       SUM(e.likes - COALESCE(b.likes, 0)) AS likes
  FROM sel
  LEFT JOIN post_metrics e ON e.id = (SELECT id FROM post_metrics WHERE post_id = sel.id
                                        AND observed_at <= :e ORDER BY observed_at DESC, id DESC LIMIT 1)
  LEFT JOIN post_metrics b ON sel.published_at < :s
                          AND b.id = (SELECT id FROM post_metrics WHERE post_id = sel.id
                                        AND observed_at <= :s ORDER BY observed_at DESC, id DESC LIMIT 1)
 GROUP BY {group} {tail}
"""
_FOLLOWERS = """
SELECT (SELECT followers FROM account_metrics WHERE account = :a AND observed_at <= :t
           AND followers IS NOT NULL ORDER BY observed_at DESC, id DESC LIMIT 1)
"""
_HOURS = """
SELECT account, published_at FROM posts
 WHERE status IN ('published', 'retracted') AND kind != 'reply' AND account IN ({names})
   AND published_at >= :s AND published_at < :e
"""
_OPINIONS = """
SELECT class, COUNT(*), SUM(reply_required AND replied_at IS NULL) FROM comments
 WHERE account IN ({names}) AND created_at >= :s AND created_at < :e GROUP BY class
"""


def raw_aggregates(db: str, names: list[str], bounds: list[tuple[datetime, datetime]],
                   days: list[datetime], zone: Any) -> dict[str, Any]:
    """The report's figures by hand: what ``build_report`` is built on."""
    conn = sqlite3.connect(db)
    try:
        q = ",".join(f"'{n}'" for n in names)  # account names are slugs
        out: dict[str, Any] = {"periods": []}
        for start, end in bounds:
            p = {"s": _ts(start), "e": _ts(end)}
            rows = conn.execute(_ENGAGEMENT.format(names=q, group="sel.account, sel.category",
                                                   tail=""), p).fetchall()
            out["periods"].append(rows)
        s, e = bounds[0]
        p = {"s": _ts(s), "e": _ts(e)}
        out["top"] = conn.execute(_ENGAGEMENT.format(
            names=q, group="sel.id", tail="ORDER BY reposts DESC LIMIT 10"), p).fetchall()
        hours: dict[tuple[str, int, int], int] = {}
        for account, published in conn.execute(_HOURS.format(names=q), p):
            local = datetime.fromisoformat(published).replace(tzinfo=UTC).astimezone(zone)
            key = (account, local.weekday(), local.hour)
            hours[key] = hours.get(key, 0) + 1
        out["hours"] = hours
        instants = [s, e, bounds[1][0]] + days
        out["followers"] = {(a, i): conn.execute(_FOLLOWERS, {"a": a, "t": _ts(t)}).fetchone()[0]
                            for a in names for i, t in enumerate(instants)}
        out["opinions"] = conn.execute(_OPINIONS.format(names=q), p).fetchall()
        return out
    finally:
        conn.close()


def bench_report(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    rt = datasets.runtime(ws, clock=ws.end)
    try:
        zone = rt.settings.timezone
        first = month_of(ws.end, zone)
        names = ws.account_names()
        period = period_bounds("month", first, None, zone, ws.end)
        prev = period.previous()
        days = [day_bounds(period.first_day + timedelta(days=i), zone)[1] for i in range(period.days)]

        def report() -> Report:
            r = build_report(rt, accounts=None, since=first, until=None, period="month", lang="zh")
            render_table(r, Console(file=io.StringIO(), width=120))
            rf.render_json(r)
            rf.render_csv(r)
            rf.render_markdown(r)
            return r

        def html() -> str:
            r = build_report(rt, accounts=None, since=first, until=None, period="month", lang="zh")
            return str(rf.render_html(r))

        cold_html, _ = _once(html)  # the first one pays for matplotlib's import and fonts
        built = report()  # warm the library and the connection pool like a second command would
        reps = max(ctx.reps, 3)
        times: list[float] = []
        raws: list[float] = []
        htmls: list[float] = []
        raw: dict[str, Any] = {}
        for _ in range(reps):
            times.append(_once(report)[0])
            seconds, raw = _once(lambda: raw_aggregates(
                str(ws.db_path), names, [(period.start, period.end), (prev.start, prev.end)], days,
                zone))
            raws.append(seconds)
        for _ in range(reps):
            htmls.append(_once(html)[0])
    finally:
        rt.close()
    totals = built.to_dict()["totals"]
    raw_posts = sum(r[2] or 0 for r in raw["periods"][0])
    raw_reposts = sum(r[3] or 0 for r in raw["periods"][0])
    agree = (totals.get("posts"), totals.get("reposts")) == (raw_posts, raw_reposts)
    t, ref, h = median(times), median(raws), median(htmls)
    shape = ws.shape
    label = f"{shape.accounts}×{shape.days}×{shape.posts_per_day}"
    return [
        Result("report.month", f"Monthly report {label} (table+json+csv+md)", t, "s",
               "≤ 1 s and ≤ 3 × ref", ok=t <= 1.0 and t <= 3 * ref,
               reference="raw SQL aggregates", reference_value=ref, ratio=t / ref,
               ratio_label=" × ref", samples=times,
               details={"month": first.isoformat(), "report_totals": totals,
                        "raw_posts": raw_posts, "raw_reposts": raw_reposts, "raw_s": raws},
               note="" if agree else f"report totals (posts {totals.get('posts')}, reposts "
                                     f"{totals.get('reposts')}) differ from the raw SQL "
                                     f"({raw_posts}, {raw_reposts})"),
        Result("report.html", f"Monthly report {label}, HTML with charts", h, "s", "≤ 3 s",
               ok=h <= 3.0, samples=htmls, details={"first_run_s": round(cold_html, 3)},
               note=f"first HTML report in the process: {cold_html:.2f} s (matplotlib import)"),
    ]


def _once(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out
