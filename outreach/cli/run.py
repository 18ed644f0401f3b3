"""The top-level commands that run things: init, demo, pause, resume, run."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from outreach.actions.accounts import pause as pause_posting
from outreach.actions.accounts import resume as resume_posting
from outreach.cli import output
from outreach.cli.common import AccountOpt, ByOpt, JsonOpt, runtime, who
from outreach.cli.daemon_view import run_daemon
from outreach.cli.lazy import commands_app
from outreach.cli.render import print_demo
from outreach.daemon import stop_on_signals
from outreach.demo import run_demo
from outreach.i18n import _
from outreach.library.starter import write_starter

app = commands_app()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(
        metavar="DIR", help="Where to write (default: here).")] = Path("."),
) -> None:
    """Write a starter config.toml and content/ library (never overwrites)."""
    written, kept = write_starter(directory)
    for path in written:
        output.message(_("wrote {path}").format(path=path))
    for path in kept:
        output.message(_("kept existing {path}").format(path=path))
    here = Path.cwd().resolve() == directory.resolve()
    go = "" if here else f"cd {shlex.quote(str(directory))} && "
    output.message(_("next: {go}outreach content check, then outreach demo or outreach run")
                   .format(go=go))


@app.command()
def demo(
    days: Annotated[int, typer.Option("--days", min=1, max=365,
                                      help="Simulated days to run.")] = 30,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Workspace to use (default: a new temporary folder).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Run the whole pipeline on the local platform through N simulated days."""
    result = run_demo(days=days, directory=directory,
                      progress=None if json_ else output.message)
    output.emit(result, json_, lambda: print_demo(result))


@app.command()
def pause(
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    account: AccountOpt = None,
    by: ByOpt = None,
) -> None:
    """Incident mode: stop automatic posting now (one account, or all)."""
    rt = runtime()
    pause_posting(rt, account, reason=reason, by=who(by))
    output.message(_("paused {what}: {reason}. Slots that pass during the pause are missed; "
                     "held posts go out after resume, spaced.").format(
        what=account or _("all accounts"), reason=reason))


@app.command()
def resume(account: AccountOpt = None, by: ByOpt = None) -> None:
    """End a pause (never bursts: missed slots stay missed, held posts are spaced)."""
    rt = runtime()
    n = resume_posting(rt, account, by=who(by))
    if n == 0:
        output.warn(_("no open pause for {what}").format(what=account or _("all accounts")))
    else:
        output.message(_("resumed {what}").format(what=account or _("all accounts")))


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Do everything due now, then exit.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due; change nothing.")] = False,
) -> None:
    """The daemon: materialise slots, publish exactly once, collect metrics."""
    # first, so a SIGTERM during start-up (migrations, loading the library) still exits 0
    stop = stop_on_signals() if not (once or dry_run) else None
    rt = runtime()
    code = run_daemon(rt, once=once, dry_run_only=dry_run, stop=stop)
    raise typer.Exit(code)
