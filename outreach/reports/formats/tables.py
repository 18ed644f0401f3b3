"""Every table of the report as (column keys, rows of plain values): one CSV file or xlsx
sheet each, in the order of the report's sections."""

from __future__ import annotations

from collections.abc import Sequence

from outreach.reports.formats.common import FIGURE_KEYS, LABELS, RATE_KEYS, TOTAL_NAME, value
from outreach.reports.model import (
    Account,
    Part,
    PreviousAccount,
    Report,
    ReportPeriod,
    Totals,
)

ACCOUNT_CSV_COLUMNS = ("name", "display_name", "platform", "simulated", *FIGURE_KEYS, "bci_likes_unknown",
                       *RATE_KEYS, "prev_posts", "prev_reposts", "prev_comments", "prev_likes",
                       "prev_followers_end", "prev_follower_change", "prev_bci", "partial",
                       "period_start", "period_end", "timezone")
_PREV_KEYS = ("posts", "reposts", "comments", "likes", "followers_end", "follower_change", "bci")
TOP_COLUMNS = ("id", "account", "published_at", "category", "category_name", "tip_id", "status",
               "reposts", "comments", "likes", "engagement", "url", "text", "pictures",
               "picture_alt")
CATEGORY_COLUMNS = ("code", "name_zh", "name_en", "posts", "reposts", "comments", "likes",
                    "avg_reposts", "avg_comments", "avg_likes", "posts_with_pictures",
                    "per_post_with_pictures", "per_post_without_pictures")
HOUR_COLUMNS = ("account", "weekday", "hour", "posts", "reposts", "comments", "likes",
                "engagement", "per_post")
CLASS_COLUMNS = ("class", "name", "count", "share", "needs_reply", "replied", "reply_rate",
                 "median_reply_hours", "overdue_unanswered", "late_replies", "deadline_hours",
                 "handled", "handled_rate", "handled_in_time")
CONCERN_COLUMNS = ("class", "name", "word", "count", "previous", "change")
PLACE_COLUMNS = ("place", "count", "previous", "change")
EMERGENCY_COLUMNS = ("id", "account", "post_id", "created_at", "replied_at", "url", "text")
COMPLIANCE_COLUMNS = ("account", "display_name", "longest_gap_days", "gap_from", "gap_to",
                      "warning", "failed", "missed", "retracted", "drafts_waiting")

Columns = tuple[str, ...]
Cells = list[object]
Tables = dict[str, tuple[Columns, list[Cells]]]


def _rows(items: Sequence[Part], columns: Columns) -> list[Cells]:
    return [[value(item, k) for k in columns] for item in items]


def _account_row(item: Account | PreviousAccount | Totals, name: str, shown: str,
                 before: PreviousAccount | Totals | None, period: ReportPeriod) -> Cells:
    return [name, shown, item.platform, item.simulated, *[value(item, k) for k in FIGURE_KEYS],
            item.bci_likes_unknown, *[value(item, k) for k in RATE_KEYS],
            *[value(before, k) if before is not None else None for k in _PREV_KEYS],
            item.partial, period.start, period.end, period.timezone]


def _account_rows(lang: str, period: ReportPeriod,
                  accounts: Sequence[Account | PreviousAccount],
                  totals: Totals, prev_accounts: Sequence[PreviousAccount],
                  prev_totals: Totals | None) -> list[Cells]:
    """One row per account and a ``(total)`` row, each with the previous period's figures."""
    prev = {a.name: a for a in prev_accounts}
    total = LABELS["total"][0 if lang == "zh" else 1]
    return [*[_account_row(a, a.name, a.display_name, prev.get(a.name), period)
              for a in accounts],
            _account_row(totals, TOTAL_NAME, total, prev_totals, period)]


def report_tables(report: Report) -> Tables:
    """Every table of the report as (column keys, rows of plain values), in the order of the
    report's sections (``report.sections``): one CSV file or xlsx sheet each."""
    names = [a.name for a in report.accounts]
    p = report.period
    o = report.opinions
    prev = report.previous
    counts: list[Cells] = [[f"comments_{d.key}", d.value]
                           for d in report.comment_counts.definitions]
    unconfigured: list[Cells] = [
        ["unconfigured_account", f"{a.display_name} ({a.name}, {a.platform})"]
        for a in report.unconfigured_accounts]
    summary: list[Cells] = [
        ["department", report.department], ["title", report.title],
        ["period_start", p.start], ["period_end", p.end], ["timezone", p.timezone],
        ["first_day", p.first_day], ["last_day", p.last_day],
        ["simulated", report.simulated], ["simulated_accounts", report.simulated_accounts],
        ["lifetime", report.lifetime], ["headline_zh", report.headline.zh],
        ["headline_en", report.headline.en], ["generated_at", report.generated_at],
        *counts, *unconfigured]
    tables: Tables = {
        "summary": (("key", "value"), summary),
        "accounts": (ACCOUNT_CSV_COLUMNS, _account_rows(
            report.lang, p, report.accounts, report.totals, prev.accounts, prev.totals)),
        "previous": (ACCOUNT_CSV_COLUMNS, _account_rows(
            report.lang, prev.period, prev.accounts, prev.totals, [], None)),
        "followers": (("date", *names, "total"),
                      [[f.date, *[f.accounts.get(n) for n in names], f.total]
                       for f in report.followers]),
        "opinions": (CLASS_COLUMNS, _rows(o.by_class, CLASS_COLUMNS)
                     + [[TOTAL_NAME, "", o.total, None, o.needs_reply, o.replied,
                         o.reply_rate, o.median_reply_hours, o.overdue_unanswered,
                         o.late_replies, None, o.handled, o.handled_rate,
                         o.handled_in_time]]),
        "emergencies": (EMERGENCY_COLUMNS, _rows(o.emergency_items, EMERGENCY_COLUMNS)),
        "concerns": (CONCERN_COLUMNS, [[TOTAL_NAME, "", k.word, k.count, k.previous, k.change]
                                       for k in o.analysis.keywords]
                     + [[c.class_, c.name, k.word, k.count, k.previous, k.change]
                        for c in o.analysis.by_class for k in c.concerns]),
        "places": (PLACE_COLUMNS, _rows(o.analysis.places, PLACE_COLUMNS)),
        "categories": (CATEGORY_COLUMNS, _rows(report.categories, CATEGORY_COLUMNS)),
        "top_posts": (TOP_COLUMNS, _rows(report.top_posts, TOP_COLUMNS)),
        "hours": (HOUR_COLUMNS, _rows(report.hours, HOUR_COLUMNS)),
        "compliance": (COMPLIANCE_COLUMNS, _rows(report.compliance.accounts, COMPLIANCE_COLUMNS)),
        "notes": (("note",), [[n] for n in report.notes]),
    }
    order = [t.key for sec in report.sections for t in sec.tables]
    return {key: tables[key] for key in order}
