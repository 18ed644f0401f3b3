"""How stored text comes back: instants read from SQLite text as aware UTC whatever form the
text has, and long lists of names cut to one line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach.text import listing
from outreach.times import as_utc


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-27 02:00:08.000000", datetime(2026, 9, 27, 2, 0, 8, tzinfo=UTC)),
    ("2026-09-27 02:00:08.123456", datetime(2026, 9, 27, 2, 0, 8, 123456, tzinfo=UTC)),
    ("2026-09-27 02:00:08", datetime(2026, 9, 27, 2, 0, 8, tzinfo=UTC)),
    ("2026-09-27 02:00", datetime(2026, 9, 27, 2, 0, tzinfo=UTC)),
    ("2026-09-27T02:00:08+08:00", datetime(2026, 9, 26, 18, 0, 8, tzinfo=UTC)),
    ("2026-09-27 02:00:08+0800", datetime(2026, 9, 26, 18, 0, 8, tzinfo=UTC)),
    ("2026-09-27 02:00:08.5-05:00", datetime(2026, 9, 27, 7, 0, 8, 500000, tzinfo=UTC)),
    ("2026-09-27 02:00:08Z", datetime(2026, 9, 27, 2, 0, 8, tzinfo=UTC)),
    ("2026-09-27", datetime(2026, 9, 27, tzinfo=UTC)),  # not "+" read as the separator
])
def test_stored_text_is_read_as_aware_utc(text, expected):
    got = as_utc(text)
    assert got == expected and got is not None and got.utcoffset() is not None
    assert got.tzinfo == UTC


def test_naive_and_aware_datetimes_and_none():
    assert as_utc(None) is None
    assert as_utc(datetime(2026, 1, 1, 8)) == datetime(2026, 1, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        as_utc("not a time")


def test_a_long_list_of_names_is_cut_to_the_first_few_and_a_count():
    assert listing(["a", "b"]) == "a, b"
    assert listing([f"n{i}" for i in range(10)]) == ", ".join(f"n{i}" for i in range(10))
    names = [f"县{i}" for i in range(1000)]
    assert listing(names) == ", ".join(names[:10]) + " … (+990)"
    assert listing(names, shown=2) == "县0, 县1 … (+998)"
    assert listing([]) == ""


def test_a_drivers_datetime_comes_back_as_utc():
    """PostgreSQL's driver gives aware datetimes in the session's zone (UTC): returned as
    they are; one in another zone is moved to UTC."""
    from datetime import timedelta, timezone

    from sqlalchemy.dialects import postgresql

    from outreach.store.models import UTCDateTime

    process = UTCDateTime().result_processor(postgresql.dialect(), None)
    moment = datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert process(moment) is moment
    assert process(None) is None
    east = process(datetime(2027, 3, 1, 16, tzinfo=timezone(timedelta(hours=8))))
    assert east == moment and east.tzinfo is UTC
