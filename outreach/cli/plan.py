"""`outreach plan`: what will be published, by the same draw the daemon makes.

Its own module, so the preview loads the planner and none of the daemon (the publisher, the
collectors, the notifications)."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli import output
from outreach.cli.common import AccountOpt, JsonOpt, runtime
from outreach.cli.lazy import commands_app
from outreach.cli.render import print_plan
from outreach.library.checks import dead_slots
from outreach.schedule.plan import plan_rows

app = commands_app()


@app.command()
def plan(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days ahead.")] = 7,
    account: AccountOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Preview what will be published: the same draw the daemon makes."""
    rt = runtime()
    names = rt.settings.select(account)
    rows = plan_rows(rt, days=days, account=account)
    for acc in rt.settings.accounts.values():
        for warning in dead_slots(acc) if names is None or acc.name in names else ():
            output.warn(warning)
    output.emit(rows, json_, lambda: print_plan(rt, rows))
