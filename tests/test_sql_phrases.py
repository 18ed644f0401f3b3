"""The SQL phrases shared by several layers (``store/sql.py``), on the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from outreach.store.sql import one_of, unindexed
from tests.conftest import DATABASE_URL, PG_URL, reset_postgres

NAMES = ["gz", "深圳", "o'brien", "a,b", 'quote"d', "x" * 64]


@pytest.fixture
def table(tmp_path, monkeypatch) -> Iterator[tuple[sa.Engine, sa.Table]]:
    if PG_URL:
        reset_postgres(PG_URL)
    monkeypatch.chdir(tmp_path)
    engine = sa.create_engine(DATABASE_URL)
    meta = sa.MetaData()
    t = sa.Table("phrases", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("account", sa.String(64), index=True),
                 sa.Column("flag", sa.Boolean))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"account": n, "flag": i % 2 == 0}
                                  for i, n in enumerate([*NAMES, "other", "深"])])
    yield engine, t
    engine.dispose()


@pytest.mark.parametrize("chosen", [NAMES, NAMES[:1], [], ["nobody"], ["深圳", "深"]])
def test_one_of_matches_exactly_the_names_given(table, chosen) -> None:
    engine, t = table
    q = sa.select(t.c.account).where(one_of(t.c.account, "names")).order_by(t.c.id)
    with engine.connect() as conn:
        got = conn.execute(q, {"names": chosen}).scalars().all()
    assert sorted(got) == sorted(n for n in [*NAMES, "other", "深"] if n in chosen)


def test_one_of_keeps_one_statement_text_whatever_the_number_of_names(table) -> None:
    """The names are one bound value, combined with other conditions as a comparison: not an
    expanding IN (re-rendered for each run) nor ``(…) = 1`` (no index on SQLite)."""
    engine, t = table
    q = sa.select(t.c.id).where(one_of(t.c.account, "names"), t.c.flag)
    sql = str(q.compile(engine))
    assert "POSTCOMPILE" not in sql and ") = 1" not in sql
    assert sql.count("?") + sql.count("%(") == 1  # the one parameter
    with engine.connect() as conn:
        for n in (1, 3, 6):
            assert conn.execute(q, {"names": NAMES[:n]}).scalars().all() == [
                i + 1 for i in range(n) if i % 2 == 0]


def test_unindexed_is_the_value(table) -> None:
    engine, t = table
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.c.id).where(unindexed(t.c.account) == "深圳")
                            ).scalars().all() == [2]
