"""Section 3 of the report: the public's comments by opinion class and how they were answered.

Beside the reply figures, *handled* counts the comments replied to, handed over or closed;
*handled in time* those handled (by the first of these) within the class's deadline — an
emergency handed over to 110 in minutes is a success with no public reply. The reply
figures (reply rate, overdue, late) stay those of public replies alone.

Comment classes (民意), their names and reply deadlines come from content/opinions.toml (the
classifier's own file), so the report judges replies by the rules officers work to.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from outreach.opinions.rules import OpinionRules
from outreach.reports import query
from outreach.reports.analysis import Lexicon, analyse
from outreach.reports.figures import instant, iso, ratio
from outreach.reports.model import ClassTally, Emergency, Opinions
from outreach.reports.periods import Period
from outreach.states import OpinionClass


@dataclass
class _Tally:
    """The comments of one class that wanted a reply."""

    needs_reply: int = 0
    replied: int = 0
    hours: list[float] = field(default_factory=list)
    overdue: int = 0
    late: int = 0
    handled: int = 0
    handled_in_time: int = 0


def _median(hours: list[float]) -> float | None:
    return round(statistics.median(hours), 2) if hours else None


def opinions(s: Session, names: Sequence[str], p: Period, now: datetime,
             lang: str, rules: OpinionRules, lex: Lexicon) -> Opinions:
    rows = query.comments(s, names, p.start, p.end)
    prev = p.previous()
    said = analyse(query.comment_texts(s, names, p.start, p.end),
                   query.comment_texts(s, names, prev.start, prev.end), lex,
                   rules.class_names(lang), list(rules.classes))
    counts = rows.counts

    def deadline_of(c: str) -> float | None:
        hours = rules.reply_within_hours(c) if c in rules.classes else None
        return int(hours) if hours is not None and float(hours).is_integer() else hours

    per: dict[str, _Tally] = {c: _Tally() for c in counts}
    for c, created, answered, settled in rows.wanted:
        d = per.setdefault(c, _Tally())
        hours = deadline_of(c)
        deadline = timedelta(hours=hours) if hours is not None else None
        d.needs_reply += 1
        first = min((t for t in (answered, settled) if t is not None), default=None)
        if first is not None:  # replied, handed over or closed: handled, in time or not
            d.handled += 1
            d.handled_in_time += deadline is None or first - created <= deadline
        if answered is not None:
            d.replied += 1
            d.hours.append(max((answered - created).total_seconds(), 0) / 3600)
            if deadline is not None and answered - created > deadline:
                d.late += 1
        elif deadline is not None and created + deadline < now:
            d.overdue += 1
    total = sum(counts.values())
    order = {c: i for i, c in enumerate(rules.classes)}
    class_names = rules.class_names(lang)
    by_class = []
    for c in sorted(counts, key=lambda c: (order.get(c, len(order)), c)):
        d = per[c]
        by_class.append(ClassTally.model_validate({
            "class": c, "name": class_names.get(c, c), "count": counts[c],
            "share": ratio(counts[c], total, 4), "needs_reply": d.needs_reply,
            "replied": d.replied, "reply_rate": ratio(d.replied, d.needs_reply, 4),
            "median_reply_hours": _median(d.hours),
            "overdue_unanswered": d.overdue, "late_replies": d.late,
            "handled": d.handled, "handled_rate": ratio(d.handled, d.needs_reply, 4),
            "handled_in_time": d.handled_in_time,
            "deadline_hours": deadline_of(c),
        }))
    needs = sum(d.needs_reply for d in per.values())
    replied = sum(d.replied for d in per.values())
    handled = sum(d.handled for d in per.values())
    return Opinions(
        total=total,
        by_class=by_class,
        emergencies=counts.get(OpinionClass.EMERGENCY, 0),
        emergency_items=[Emergency(id=int(r.id), account=r.account, post_id=r.post_id,
                                   created_at=instant(r.created_at), text=r.text, url=r.url,
                                   replied_at=iso(r.replied_at)) for r in rows.emergencies],
        needs_reply=needs,
        replied=replied,
        reply_rate=ratio(replied, needs, 4),
        median_reply_hours=_median([h for d in per.values() for h in d.hours]),
        overdue_unanswered=sum(d.overdue for d in per.values()),
        late_replies=sum(d.late for d in per.values()),
        handled=handled,
        handled_rate=ratio(handled, needs, 4),
        handled_in_time=sum(d.handled_in_time for d in per.values()),
        deadlines_hours={c: h for c, k in rules.classes.items()
                         if k.needs_reply and (h := deadline_of(c)) is not None},
        as_of=instant(now),
        analysis=said,
    )
