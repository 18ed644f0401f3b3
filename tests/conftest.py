"""Shared fixtures: a fresh workspace per test, the CLI run in-process, logical DB dumps."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.cli.app import run_cli
from outreach.config.load import load_settings
from outreach.runtime import Runtime
from tests.factories import FakeClock, make_workspace
from tests.mastodon_peer import Peer, peer_url

ROOT = Path(__file__).resolve().parent.parent
# When set (by .ci/run's PostgreSQL lane), workspaces use this database instead of SQLite.
PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL") or None
DATABASE_URL = PG_URL or "sqlite:///outreach.db"

LOCAL_ONLY_CONFIG = """\
[outreach]
database = "{database}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.pingan-local]
platform = "local"
lang = "zh"
vars = {{ city = "北京", hashtag = "平安北京", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}
slots = [{slots}]

[policy]
require_approval = {require_approval}
allow_self_approval = false
lease_seconds = 60
cooldown_days = {cooldown_days}
catch_up_minutes = 60
min_gap_minutes = {min_gap}
max_attempts = {max_attempts}
materialise_hours = 24
quiet_hours = "{quiet_hours}"
"""


def local_config(*, slots: str = '{ cron = "0 8 * * *" }', require_approval: bool = True,
                 cooldown_days: int = 30, min_gap: int = 30, max_attempts: int = 5,
                 quiet_hours: str = "") -> str:
    return LOCAL_ONLY_CONFIG.format(
        database=DATABASE_URL, slots=slots, require_approval=str(require_approval).lower(),
        cooldown_days=cooldown_days, min_gap=min_gap, max_attempts=max_attempts,
        quiet_hours=quiet_hours)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests read English whatever the machine's locale, unless they ask for a language; a
    language a test chose for the process ends with it."""
    from outreach import i18n

    monkeypatch.setenv("OUTREACH_LANG", "en")
    yield
    i18n.set_language("en")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A starter workspace (config.toml + content/) with a local-only config."""
    if PG_URL:
        reset_postgres(PG_URL)
    return make_workspace(tmp_path, local_config(), monkeypatch)


@pytest.fixture
def starter_workspace(workspace: Path) -> Path:
    """The full starter config (local, Weibo and Mastodon accounts, no tokens)."""
    text = (ROOT / "config.toml").read_text("utf-8")
    text = text.replace('database = "sqlite:///outreach.db"', f'database = "{DATABASE_URL}"')
    (workspace / "config.toml").write_text(text, "utf-8")
    return workspace


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        skip = pytest.mark.skip(reason="SQLite-only test (PostgreSQL lane)")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the outreach CLI in-process, as a user would, and return its exit code and output."""
    def run(*args: str, input_text: str | None = None) -> Result:
        capsys.readouterr()
        old_argv = sys.argv
        sys.argv = ["outreach", *args]
        try:
            code = run_cli()
        finally:
            sys.argv = old_argv
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def write_config(ws: Path, text: str) -> None:
    (ws / "config.toml").write_text(textwrap.dedent(text), encoding="utf-8")


def reset_postgres(url: str) -> None:
    """An empty database for the next test (tests run one at a time)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def logical_dump(db_path: Path) -> list[str]:
    """The database's rows as text (WAL checkpoints rewrite bytes; rows are what matter)."""
    if PG_URL:
        engine = sa.create_engine(PG_URL)
        out: list[str] = []
        with engine.connect() as pg:
            for table in sorted(sa.inspect(pg).get_table_names()):
                rows = pg.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
                out.extend(f"{table}: {tuple(r)!r}" for r in rows)
        engine.dispose()
        return out
    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path)
    try:
        return [line for line in conn.iterdump()]
    finally:
        conn.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def peer() -> Iterator[Peer]:
    """The running mastodon-mock peer (the test skips without one); reset when the run ends."""
    with Peer(peer_url()) as p:
        yield p
        p.reset()


@pytest.fixture
def fresh(peer: Peer) -> Iterator[Peer]:
    """The peer reset for this test (seeded accounts only, no faults); its faults cleared after."""
    peer.reset()
    yield peer
    peer.clear_faults()


@pytest.fixture
def runtime_factory(workspace: Path, clock: FakeClock) -> Iterator[Callable[..., Runtime]]:
    """Build Runtimes on the workspace's config with the fake clock; closes them after."""
    made: list[Runtime] = []

    def make(config_text: str | None = None) -> Runtime:
        if config_text is not None:
            (workspace / "config.toml").write_text(config_text, encoding="utf-8")
        rt = Runtime(load_settings(workspace / "config.toml"), clock=clock)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


# .ci/run sets OUTREACH_NO_SKIP=1 for the slow lane, where every server and browser a test
# needs has been started: there a skip means a missing service, and a green run that skipped
# the peer, PostgreSQL or the browser would prove nothing. So a skip becomes a failure.
NO_SKIP = os.environ.get("OUTREACH_NO_SKIP") == "1"


def _skip_fails(report: pytest.TestReport | pytest.CollectReport, reason: object) -> None:
    report.outcome = "failed"
    report.longrepr = f"skipped where every service must be up (OUTREACH_NO_SKIP=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        _skip_fails(report, report.longrepr[2] if isinstance(report.longrepr, tuple)
                    else report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield  # a module skipped as a whole (importorskip, allow_module_level) too
    report = outcome.get_result()
    if NO_SKIP and report.skipped:
        _skip_fails(report, report.longrepr)


# Figures a test wants in the run's log even when its output is captured (the state machine's
# seed and step count): printed at the end of the run, whatever the flags.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
