"""`outreach accounts …`: list the configured accounts, check them on their platforms."""

from __future__ import annotations

import typer

from outreach.actions.health import account_rows, check_accounts
from outreach.cli import output
from outreach.cli.common import AccountOpt, JsonOpt, runtime
from outreach.cli.lazy import sub_app
from outreach.cli.render import print_accounts
from outreach.i18n import _

app = sub_app("accounts", no_args_is_help=True)


@app.command("list")
def accounts_list(json_: JsonOpt = False) -> None:
    """Accounts with their state, followers, next slot and token expiry."""
    rt = runtime()
    rows = account_rows(rt)
    output.emit(rows, json_, lambda: print_accounts(rt, rows))


@app.command("check")
def accounts_check(account: AccountOpt = None, json_: JsonOpt = False) -> None:
    """Call each platform (verify) and record what it says; exit 1 if any account fails."""
    rt = runtime()
    results = check_accounts(rt, only=account)
    if json_:
        output.print_json(results)
    else:
        for r in results:
            mark = (output.styled(_("ok"), "green") if r["ok"]
                    else output.styled(_("FAILED"), "red"))
            output.out.print(f"{mark} {r['name']} ({r['platform']}): {output.safe(r['detail'])}")
            for p in r.get("placeholders", ()):
                output.out.print("   " + output.styled(_("placeholder:"), "yellow") + f" {output.safe(p)}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)
