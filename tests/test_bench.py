"""The benchmark harness still works: the smallest benchmarks, quick mode, tiny sizes, no peer.

This proves the data builders, the references and the table/JSON output run against the
current code; the figures themselves mean nothing at these sizes (``bench/run.py`` is the
real thing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import b_misc, run
from bench.datasets import Shape, account_names, config_text, department, table_counts
from bench.harness import Result, as_json, fmt, median, render_table


def test_tiny_benchmarks_run_and_count_targets_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    results, skipped, ctx = run.run_benchmarks(
        run.TINY, groups=["opinions", "storage", "cli", "planner", "report", "weibo"], quick=True,
        cache=tmp_path / "cache", work=tmp_path / "work", log=lambda _m: None, use_peer=False)
    assert skipped == []
    keys = {r.key for r in results}
    assert any(k.startswith("opinions.") and k.endswith(".both") for k in keys)
    assert {"storage.size", "cli.help", "cli.queue_list", "planner.plan",
            "report.month", "report.html", "weibo.calls", "weibo.sweep",
            "storage.no_change_weibo"} <= keys
    by_key = {r.key: r for r in results}
    # targets on counts are judged even in quick mode
    assert by_key["weibo.calls"].value == 2 and by_key["weibo.calls"].judged(quick=True) is True
    assert by_key["storage.no_change_weibo"].value == 0
    assert by_key["cli.queue_list"].details["alembic_imported"] is False
    # targets on time are not judged in quick mode, and every timing is a real number
    assert by_key["cli.help"].judged(quick=True) is None
    assert all(r.value is None or r.value >= 0 for r in results)
    # the report's totals agree with the raw SQL it is compared with
    assert by_key["report.month"].note == ""
    # every slot in the window is drawn, whatever the time of day makes the window
    plan = by_key["planner.plan"].details
    assert plan["planned"] == plan["slots"] > 0
    assert abs(plan["slots"] - plan["about"]) <= 3 * 3  # the tiny shape: three accounts

    render_table(results, skipped, True, ctx.builds, 1.0)
    assert "outreach benchmarks — quick" in capsys.readouterr().out
    doc = json.loads(as_json(results, skipped, True, ctx.builds, 1.0, {}))
    # the targets are judged on the judging blind set when it is there, else it says why not
    judged = b_misc.JUDGED
    if b_misc.blind_path(judged).is_file():
        assert {f"opinions.{judged}.both", f"opinions.{judged}.kinds"} <= keys
        assert by_key[f"opinions.{judged}.both"].target != "info"
    else:
        assert by_key[f"opinions.{judged}"].ok is None
        assert "is not there yet" in by_key[f"opinions.{judged}"].note
    assert by_key["opinions.speed"].details["comments"] > 0
    failing = {r["key"] for r in doc["results"] if r.get("ok") is False}
    assert doc["mode"] == "quick" and failing == set()
    assert {r["key"] for r in doc["results"]} == keys


def test_quick_mode_never_fails_and_full_mode_does(tmp_path: Path) -> None:
    slow = Result("x", "x", 5.0, "s", "≤ 1 s", ok=False)
    assert slow.judged(quick=True) is None and slow.judged(quick=False) is False
    rows = Result("y", "y", 3, "rows", "0", ok=False, timed=False)
    assert rows.judged(quick=True) is False
    assert fmt(0.25, "s") == "250 ms" and fmt(2.5, "s") == "2.50 s" and median([3.0, 1.0, 2.0]) == 2.0


def test_datasets_are_cached_and_change_only(tmp_path: Path) -> None:
    shape = Shape(accounts=2, days=3, tips=60, comments_per_post=1.0, queued_per_account=1)
    ws, built = department(tmp_path, shape)
    again, cached = department(tmp_path, shape)
    assert again.root == ws.root and built > 0 and cached == 0.0
    counts = table_counts(ws.db_path, ("posts", "post_metrics", "account_metrics"))
    assert counts["posts"] == shape.posts == 2 * (3 * 6 + 1)
    assert counts["account_metrics"] == 2 * 3
    assert 'platform = "local"' in config_text(account_names(2))


def test_unknown_group_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown benchmark group"):
        run.run_benchmarks(run.TINY, groups=["nope"], cache=tmp_path, work=tmp_path)


def test_tiny_province_profile_runs_on_sqlite(tmp_path: Path) -> None:
    """The province profile at a tiny size: its dataset is built by copying template accounts,
    every read-side figure is measured, and PostgreSQL without a server is skipped, said so."""
    import sqlite3

    results, skipped, ctx = run.run_province(
        run.TINY, dbs=("sqlite", "postgresql"), pg_url=None, quick=True, cache=tmp_path / "cache",
        work=tmp_path / "work", log=lambda _m: None)
    keys = {r.key for r in results}
    assert {"province.sqlite.matrix", "province.sqlite.queue_list", "province.sqlite.dashboard",
            "province.sqlite.fanout"} <= keys
    by_key = {r.key: r for r in results}
    shape = run.TINY.province
    assert by_key["province.sqlite.matrix"].details["accounts"] == shape.accounts
    assert by_key["province.sqlite.fanout"].details["posts"] == shape.accounts
    assert by_key["province.sqlite.queue_list"].details["rows"] == 50
    reasons = {s.key: s.reason for s in skipped}
    assert reasons["province postgresql"].startswith("PostgreSQL: no PostgreSQL URL")
    assert not any(r.startswith("error:") for r in reasons.values()), reasons
    # the run side is measured by its own module, or skipped with the reason
    assert "province.sqlite" in " ".join(keys) and (
        any(k.startswith("province.sqlite.") and k.split(".")[2] not in
            {"matrix", "queue_list", "dashboard", "fanout"} for k in keys)
        or "province sqlite run side" in reasons)
    assert any(k.startswith("province sqlite") for k in ctx.builds)

    # the cached database: every account has its own year, in consistent rows
    (db,) = (tmp_path / "cache").glob("province-sqlite-*/outreach.db")
    conn = sqlite3.connect(db)
    try:
        per_account = dict(conn.execute("SELECT account, count(*) FROM posts GROUP BY account"))
        assert len(per_account) == shape.accounts
        assert set(per_account.values()) == {shape.days * shape.posts_per_day
                                             + shape.queued_per_account}
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM posts p JOIN comments c ON c.post_id = p.id "
                            "WHERE c.account != p.account").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM posts WHERE slot_key IS NOT NULL "
                            "AND slot_key NOT LIKE account || '@%'").fetchone() == (0,)
        liked = conn.execute("SELECT count(DISTINCT likes) FROM (SELECT p.account, sum(m.likes) "
                             "AS likes FROM post_metrics m JOIN posts p ON p.id = m.post_id "
                             "GROUP BY p.account)").fetchone()[0]
        assert liked > shape.accounts // 2  # engagement differs by account: rankings are no ties
    finally:
        conn.close()


def test_province_postgresql_asked_for_without_server_is_an_error(tmp_path: Path) -> None:
    _results, skipped, _ctx = run.run_province(
        run.TINY, dbs=("postgresql",), pg_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        quick=True, cache=tmp_path / "cache", work=tmp_path / "work", log=lambda _m: None,
        explicit=True)
    assert [s.key for s in skipped] == ["province postgresql"]
    assert skipped[0].reason.startswith("error: PostgreSQL: OperationalError")


@pytest.mark.slow
@pytest.mark.postgres
def test_tiny_province_profile_runs_on_postgresql(tmp_path: Path) -> None:
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("needs OUTREACH_TEST_DATABASE_URL")
    results, skipped, _ctx = run.run_province(
        run.TINY, dbs=("postgresql",), pg_url=PG_URL, quick=True, cache=tmp_path / "cache",
        work=tmp_path / "work", log=lambda _m: None, explicit=True)
    assert not any(s.reason.startswith("error:") for s in skipped), skipped
    by_key = {r.key: r for r in results}
    assert by_key["province.postgresql.matrix"].details["accounts"] == run.TINY.province.accounts
    assert by_key["province.postgresql.fanout"].details["posts"] == run.TINY.province.accounts
