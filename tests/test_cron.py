"""Cron slots in the account's zone: standard weekdays, DST both ways, no repeats."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.schedule.cron import CronError, fire_times, parse_cron

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(times, zone):
    return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for t in times]


def test_spring_forward_fires_at_first_instant_after_the_gap():
    start, end = datetime(2027, 3, 27, tzinfo=UTC), datetime(2027, 3, 29, tzinfo=UTC)
    got = local(fire_times("30 2 * * *", BERLIN, start, end), BERLIN)
    assert got == ["2027-03-27 02:30 CET", "2027-03-28 03:00 CEST"]


def test_fall_back_fires_once_at_first_occurrence():
    start, end = datetime(2027, 10, 30, tzinfo=UTC), datetime(2027, 11, 1, tzinfo=UTC)
    times = list(fire_times("30 2 * * *", BERLIN, start, end))
    assert local(times, BERLIN) == ["2027-10-30 02:30 CEST", "2027-10-31 02:30 CEST"]
    assert times[1] == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 02:30, UTC+2


def test_every_minute_through_a_dst_night_has_no_duplicates_or_holes():
    start = datetime(2027, 10, 30, 22, tzinfo=UTC)
    end = start + timedelta(hours=4)
    times = list(fire_times("* * * * *", BERLIN, start, end))
    assert len(times) == len(set(times))
    assert times == sorted(times)
    # the repeated wall-clock hour fires once: 4 UTC hours hold 3 distinct local hours' worth + 0
    assert len(times) == 180


def test_slot_every_minute_for_a_week():
    start = datetime(2027, 1, 4, tzinfo=UTC)
    times = list(fire_times("* * * * *", SHANGHAI, start, start + timedelta(days=7)))
    assert len(times) == 7 * 24 * 60
    assert all(b - a == timedelta(minutes=1) for a, b in zip(times, times[1:], strict=False))


@pytest.mark.parametrize("dow", ["0", "7", "sun", "SUN"])
def test_weekday_zero_and_seven_are_sunday(dow):
    start, end = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC)
    times = list(fire_times(f"0 8 * * {dow}", SHANGHAI, start, end))
    assert times and all(t.astimezone(SHANGHAI).isoweekday() == 7 for t in times)


def test_weekday_range_monday_to_friday():
    start, end = datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)
    days = {t.astimezone(SHANGHAI).strftime("%a") for t in fire_times("0 9 * * 1-5", SHANGHAI,
                                                                      start, end)}
    assert days == {"Mon", "Tue", "Wed", "Thu", "Fri"}


def test_day_of_month_or_day_of_week():
    start, end = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    got = {t.astimezone(SHANGHAI).day for t in fire_times("0 12 13 * 5", SHANGHAI, start, end)}
    assert got == {5, 12, 13, 19, 26}  # the 13th, or any Friday


def test_steps_and_lists():
    c = parse_cron("*/15 8-10,20 * * *")
    assert c.minutes == frozenset({0, 15, 30, 45})
    assert c.hours == frozenset({8, 9, 10, 20})


@pytest.mark.parametrize("bad", ["61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                                 "* * * * 8", "* * *", "a b c d e", "*/0 * * * *", "5-1 * * * *",
                                 "1,,2 * * * *", "* * * * * *"])
def test_bad_cron_is_rejected_with_a_reason(bad):
    with pytest.raises(CronError):
        parse_cron(bad)
