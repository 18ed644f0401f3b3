"""The console entry point starts without the cycle collector and turns it back on once the
command has its settings."""

from __future__ import annotations

import gc

import pytest

from outreach.cli import start


@pytest.fixture
def collector_restored():
    yield
    gc.enable()
    gc.unfreeze()
    start._StartUp.paused = False


def _run_as_console(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[bool]:
    """``start.main()`` with these arguments; whether the collector was on when the command
    ended, and a check that it was off while it started."""
    from outreach.cli import app

    seen: list[bool] = []
    real = app.run_cli

    def run_cli() -> int:
        assert not gc.isenabled()  # start-up
        code = real()
        seen.append(gc.isenabled())
        return code

    monkeypatch.setattr(app, "run_cli", run_cli)
    monkeypatch.setattr(app.os, "_exit", lambda code: (_ for _ in ()).throw(SystemExit(code)))
    monkeypatch.setattr("sys.argv", ["outreach", *args])
    with pytest.raises(SystemExit):
        start.main()
    return seen


def test_the_collector_comes_back_once_the_settings_are_read(collector_restored, workspace,
                                                           monkeypatch, capsys):
    """As ``outreach`` runs: the collector is off from the first line, and on (with what
    start-up made frozen) by the time the command has its settings."""
    assert _run_as_console(monkeypatch, "queue", "list", "--json") == [True]
    assert capsys.readouterr().out.strip() == "[]"
    assert gc.get_freeze_count() > 0


def test_a_command_without_settings_ends_quickly_with_the_collector_off(
        collector_restored, tmp_path, monkeypatch, capsys):
    assert _run_as_console(monkeypatch, "--config", str(tmp_path / "missing.toml"),
                           "queue", "list") == [False]
    assert "missing.toml" in capsys.readouterr().err


def test_in_process_runs_never_touch_the_collector(collector_restored):
    """The tests (and anything that calls ``run_cli`` itself) keep the collector as it was."""
    gc.disable()
    start.resume_collector()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0
