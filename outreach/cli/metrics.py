"""`outreach metrics collect`: sweep the tracked posts and the accounts' followers now."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from outreach.actions.accounts import sync_accounts
from outreach.cli import output
from outreach.cli.common import AccountOpt, JsonOpt, runtime
from outreach.cli.lazy import sub_app
from outreach.collect.alerts import deliver_alerts
from outreach.collect.counts import collect
from outreach.i18n import _

app = sub_app("metrics", no_args_is_help=True)


@contextlib.contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Any]:
    """A Rich progress bar on a terminal; a no-op callback elsewhere."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=output.err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(account: str, done: int, total: int) -> None:
            if account not in tasks:
                tasks[account] = bar.add_task(account, total=max(total, 1))
            bar.update(tasks[account], completed=done if total else 1)

        yield update


@app.command("collect")
def metrics_collect(account: AccountOpt = None, json_: JsonOpt = False) -> None:
    """Sweep every tracked post and the accounts' followers now."""
    rt = runtime()
    names = rt.settings.select(account)  # a name or @group
    accounts = [rt.settings.account(n) for n in names] if names is not None else None
    sync_accounts(rt)
    with progress_bar(enabled=not json_) as progress:
        summary = collect(rt, accounts=accounts, force=True, progress=progress)
    alerts = deliver_alerts(rt)
    data = {"accounts": summary.accounts, "posts_checked": summary.posts_checked,
            "post_rows": summary.post_rows, "account_rows": summary.account_rows,
            "comments_stored": summary.comments_stored, "emergencies": summary.emergencies,
            "skipped": summary.skipped, "deferred": summary.deferred,
            "comment_errors": summary.comment_errors,
            "rules_error": summary.rules_error, "alerts_sent": alerts.sent,
            "alerts_failed": alerts.failed}
    if json_:
        output.print_json(data)
    else:
        output.message(_("checked {posts} post(s) on {accounts} account(s); {changed} changed; "
                         "{comments} new comment(s)").format(
            posts=summary.posts_checked, accounts=len(summary.accounts),
            changed=summary.post_rows, comments=summary.comments_stored))
        if summary.emergencies:
            output.error(_("{n} EMERGENCY comment(s): outreach opinions --class emergency")
                         .format(n=len(summary.emergencies)))
        for name, why in summary.skipped.items():
            output.warn(_("{account}: skipped ({why})").format(account=name, why=why))
        for name, why in summary.comment_errors.items():
            output.warn(_("{account}: comments not fetched, tried again next sweep ({why})")
                        .format(account=name, why=why))
    if summary.rules_error is not None:
        output.error(_("{error} (comments are fetched once it is fixed)")
                     .format(error=summary.rules_error))
        raise typer.Exit(1)
    if account is not None and account in summary.skipped:
        raise typer.Exit(1)
