"""Five-field cron expressions with standard cron meaning, evaluated in a zone.

Fields: minute hour day-of-month month day-of-week. Day-of-week 0 and 7 are
Sunday (standard cron; APScheduler's own numeric weekdays start on Monday, which
is why outreach does not hand cron strings to it). When both day-of-month and
day-of-week are restricted, a day matches if either does (standard cron).

Local times that do not exist (spring forward) fire at the first instant after
the gap; ambiguous ones (fall back) fire once, at their first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from outreach.i18n import _
from outreach.times import local_to_utc

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


class CronError(ValueError):
    """A cron expression that cannot be parsed."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        if self.days_restricted:
            return dom
        if self.weekdays_restricted:
            return dow
        return True


# the most days each month can have (29 February comes in leap years)
_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def never_fires(expr: str) -> bool:
    """True if a valid expression names no day that exists (``0 0 30 2 *``: 30 February).

    Only day-of-month alone can do that: every month has every weekday, and when both
    day fields are restricted a day matching either fires.
    """
    cron = parse_cron(expr)
    if not cron.days_restricted or cron.weekdays_restricted:
        return False
    return not any(d <= _MONTH_DAYS[m] for m in cron.months for d in cron.days)


def _field(text: str, lo: int, hi: int, names: dict[str, int], label: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(_("empty list item in {label}").format(label=label))
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(_("bad step {step_text!r} in {label}").format(
                    step_text=step_text, label=label))
            step = int(step_text)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, lo, hi, names, label), _value(b, lo, hi, names, label)
            if start > end:
                raise CronError(_("range {part!r} runs backwards in {label}").format(
                    part=part, label=label))
        else:
            start = _value(part, lo, hi, names, label)
            end = hi if step != 1 else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, lo: int, hi: int, names: dict[str, int], label: str) -> int:
    key = text.lower()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise CronError(_("{text!r} is not a number in {label}").format(text=text, label=label))
    value = int(text)
    if not lo <= value <= hi:
        raise CronError(_("{value} is out of range {lo}-{hi} in {label}").format(
            value=value, lo=lo, hi=hi, label=label))
    return value


@lru_cache(maxsize=512)
def parse_cron(expr: str) -> Cron:
    """Parse a five-field cron expression; raises CronError with the reason."""
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(_("expected 5 fields (minute hour day month weekday), got {fields}").format(
            fields=len(fields)))
    minute, hour, dom, month, dow = fields
    weekdays = _field(dow, 0, 7, _DAYS, "day-of-week")
    if 7 in weekdays:
        weekdays = (weekdays - {7}) | {0}
    return Cron(
        minutes=_field(minute, 0, 59, {}, "minute"),
        hours=_field(hour, 0, 23, {}, "hour"),
        days=_field(dom, 1, 31, {}, "day-of-month"),
        months=_field(month, 1, 12, _MONTHS, "month"),
        weekdays=weekdays,
        days_restricted=dom != "*",
        weekdays_restricted=dow != "*",
    )


def fire_times(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every firing in [start, end) as aware UTC instants, ascending, without repeats."""
    cron = parse_cron(expr)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    hours = sorted(cron.hours)
    minutes = sorted(cron.minutes)
    seen: datetime | None = None
    while day <= last_day:
        if cron.matches_day(day):
            for h in hours:
                for m in minutes:
                    instant = local_to_utc(datetime(day.year, day.month, day.day, h, m), zone)
                    if instant == seen or not start <= instant < end:
                        continue
                    if seen is not None and instant < seen:
                        continue  # a gap slot folded onto a later slot already yielded
                    seen = instant
                    yield instant
        day += timedelta(days=1)
