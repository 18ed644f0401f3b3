"""Section 5 of the report: the compliance checks (longest gap without a post, failed and
missed posts, retractions, drafts waiting)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlmodel import Session

from outreach.reports import query
from outreach.reports.figures import Acc, instant
from outreach.reports.model import Compliance, ComplianceAccount
from outreach.reports.periods import Period
from outreach.reports.wording import t
from outreach.states import PostStatus

GAP_WARNING_DAYS = 14  # 国办秘函〔2019〕19号: no update for two weeks is a single-item veto


def _longest_gap(marks: list[datetime]) -> tuple[timedelta, datetime, datetime]:
    gap, gap_from, gap_to = timedelta(0), marks[0], marks[0]
    for x, y in zip(marks, marks[1:], strict=False):
        if y - x > gap:
            gap, gap_from, gap_to = y - x, x, y
    return gap, gap_from, gap_to


def compliance(s: Session, accs: list[Acc], p: Period, now: datetime, posts: list[Row[object]],
               lang: str) -> Compliance:
    stop = min(p.end, max(now, p.start))
    times: dict[str, list[datetime]] = defaultdict(list)
    for r in posts:
        times[r.account].append(r.published_at)
    counts = query.compliance_counts(s, [a.name for a in accs], p.start, p.end)
    out = []
    for a in accs:
        gap, gap_from, gap_to = _longest_gap(
            [p.start, *[t for t in sorted(times[a.name]) if t <= stop], stop])
        days = round(gap.total_seconds() / 86400, 2)
        out.append(ComplianceAccount(
            account=a.name, display_name=a.shown,
            longest_gap_days=days, gap_from=instant(gap_from),
            gap_to=instant(gap_to), warning=days >= GAP_WARNING_DAYS,
            failed=counts.by_status[(a.name, PostStatus.FAILED)],
            missed=counts.by_status[(a.name, PostStatus.MISSED)],
            retracted=counts.retracted[a.name], drafts_waiting=counts.drafts[a.name],
        ))
    warnings = [t(lang, f"{c.display_name}：最长 {c.longest_gap_days:.2f} 天未发博"
                        f"（≥{GAP_WARNING_DAYS} 天）",
                  f"{c.display_name}: {c.longest_gap_days:.2f} days without a post "
                  f"(≥ {GAP_WARNING_DAYS} days)")
                for c in out if c.warning]
    return Compliance(
        gap_warning_days=GAP_WARNING_DAYS,
        accounts=out,
        longest_gap_days=max((c.longest_gap_days for c in out), default=0.0),
        failed=sum(c.failed for c in out),
        missed=sum(c.missed for c in out),
        retracted=sum(c.retracted for c in out),
        drafts_waiting=sum(c.drafts_waiting for c in out),
        warnings=warnings,
    )
