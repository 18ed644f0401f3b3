"""Every command has --help and is documented in the README (as sqlite-utils checks its docs)."""

import re

import pytest
import typer

from outreach.cli.app import app
from tests.conftest import ROOT


def command_paths() -> list[str]:
    root = typer.main.get_command(app)
    paths = []

    def walk(cmd, prefix):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(" ".join(prefix))

    walk(root, [])
    return sorted(paths)


COMMANDS = command_paths()


def test_the_command_list_is_what_design_promises():
    for expected in ("init", "demo", "content check", "content list", "content show",
                     "content approve", "content stale", "queue add", "queue import",
                     "queue list", "queue show", "queue cancel", "queue approve",
                     "queue reschedule", "queue retract", "plan", "pause", "resume", "run",
                     "status", "metrics collect", "accounts list", "accounts check",
                     "db upgrade", "db backup"):
        assert expected in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command):
    r = cli(*command.split(), "--help")
    assert r.code == 0, r.err
    assert "Usage:" in r.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"outreach {re.escape(command)}\b", readme), command


def test_readme_quick_start_has_the_two_commands_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", section, re.S)
    assert "outreach demo" in blocks[0]
    assert "pytest" in blocks[1] and ".[test]" in blocks[1]


def test_python_dash_m_works(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "outreach", "--help"], capture_output=True,
                         text=True, cwd=tmp_path, check=True)
    assert "Usage:" in out.stdout
