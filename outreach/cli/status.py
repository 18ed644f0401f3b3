"""`outreach status`: the daemon's heartbeat, the accounts and the queue's health.

Its own module, so a health check (a monitoring probe runs it every minute) loads none of
the daemon it reports on."""

from __future__ import annotations

import typer

from outreach.actions.health import health
from outreach.cli import output
from outreach.cli.common import JsonOpt, runtime
from outreach.cli.lazy import commands_app
from outreach.cli.render import print_status

app = commands_app()


@app.command()
def status(json_: JsonOpt = False) -> None:
    """Daemon heartbeat, accounts and queue health (exit 1 when unhealthy)."""
    rt = runtime()
    data = health(rt)
    output.emit(data, json_, lambda: print_status(rt, data))
    if not data["healthy"]:
        raise typer.Exit(1)
