"""What every command shares: the options, the runtime it works with, who is acting, and
failing with one red line."""

from __future__ import annotations

import getpass
import os
from typing import Annotated, NoReturn

import typer

from outreach.cli import output
from outreach.cli.app import State
from outreach.cli.start import resume_collector
from outreach.config.load import load_settings
from outreach.i18n import _
from outreach.runtime import Runtime

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")]
AccountOpt = Annotated[str | None, typer.Option(
    "--account", "-a", help="Account name, or @group for every account of a group.")]
ReasonOpt = Annotated[str | None, typer.Option(help="Why (kept in the audit log).")]
ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Who does this (default: $OUTREACH_USER, then the OS user).")]


def runtime(*, migrate: bool = True) -> Runtime:
    settings = load_settings(State.config)
    resume_collector()
    rt = Runtime(settings, migrate=migrate)
    State.runtimes.append(rt)
    return rt


def who(by: str | None) -> str:
    name = by or os.environ.get("OUTREACH_USER") or _os_user()
    if not name.strip():
        raise typer.BadParameter(_("--by must not be empty"))
    return name.strip()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(1)


def print_warnings(warnings: list[str]) -> None:
    for w in warnings:
        output.warn(output.safe(w))
