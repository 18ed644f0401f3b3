"""The console entry point starts with the cycle collector held back and brings it back once
the command has its settings."""

from __future__ import annotations

import gc

import pytest

from outreach.cli import start


@pytest.fixture
def collector_restored():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()
    start._StartUp.held = False


def _run_as_console(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[tuple[int, ...]]:
    """``start.main()`` with these arguments; the collector's thresholds when the command
    ended, and a check that it was held back while it started."""
    from outreach.cli import app

    seen: list[tuple[int, ...]] = []
    real = app.run_cli

    def run_cli() -> int:
        assert gc.get_threshold()[0] == start.START_UP_THRESHOLD  # start-up
        code = real()
        seen.append(gc.get_threshold())
        return code

    monkeypatch.setattr(app, "run_cli", run_cli)
    monkeypatch.setattr(app.os, "_exit", lambda code: (_ for _ in ()).throw(SystemExit(code)))
    monkeypatch.setattr("sys.argv", ["outreach", *args])
    with pytest.raises(SystemExit):
        start.main()
    return seen


def test_the_collector_comes_back_once_the_settings_are_read(collector_restored, workspace,
                                                           monkeypatch, capsys):
    """As ``outreach`` runs: the collector is held back from the first line, and at the
    command's thresholds (with what start-up made frozen) once the command has its
    settings."""
    assert _run_as_console(monkeypatch, "queue", "list", "--json") == [start.COMMAND_THRESHOLDS]
    assert capsys.readouterr().out.strip() == "[]"
    assert gc.isenabled() and gc.get_freeze_count() > 0


def test_a_command_without_settings_keeps_a_collector_that_still_runs(
        collector_restored, tmp_path, monkeypatch, capsys):
    """A command that never reads settings keeps the held-back collector: on, collecting
    once a million objects more are alive."""
    seen = _run_as_console(monkeypatch, "--config", str(tmp_path / "missing.toml"),
                           "queue", "list")
    assert seen == [(start.START_UP_THRESHOLD, *start.COMMAND_THRESHOLDS[1:])]
    assert gc.isenabled()
    assert "missing.toml" in capsys.readouterr().err


def test_in_process_runs_never_touch_the_collector(collector_restored):
    """The tests (and anything that calls ``run_cli`` itself) keep the collector as it was."""
    before = gc.get_threshold()
    start.resume_collector()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
