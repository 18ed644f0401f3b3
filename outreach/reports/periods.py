"""The report's days: a calendar period in the report's zone, its bounds and its label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.errors import InputError
from outreach.i18n import _
from outreach.reports.model import PeriodKind
from outreach.times import day_bounds

PERIODS = ("day", "week", "month")

@dataclass(frozen=True)
class Period:
    """Whole local days ``first_day``..``last_day`` (inclusive) = [start, end) in UTC."""

    kind: PeriodKind
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


def _kind_of(first: date, last: date) -> PeriodKind:
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
        raise InputError("--period: " + _("must be one of {known}, got {value!r}").format(
            known=", ".join(PERIODS), value=period))
    today = now.astimezone(zone).date()
    if since is not None and until is not None:
        if since > until:
            raise InputError(_("--since {since} is after --until {until}").format(since=since, until=until))
        first, last = since, until
    elif since is not None:
        if since > today:
            raise InputError(_("--since {since} is in the future (today is {today} in {zone})").format(
                since=since, today=today, zone=zone.key))
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
