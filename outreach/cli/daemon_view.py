"""The daemon in the terminal: start-up warnings, the ``--once`` and ``--dry-run`` summaries,
and the status line a serving daemon keeps up to date on a terminal."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any

from rich.live import Live

from outreach.actions.health import describe_held
from outreach.cli import output
from outreach.cli.words import name
from outreach.daemon import Daemon, DaemonStatus, dry_run, preflight, run_once
from outreach.i18n import _
from outreach.runtime import Runtime
from outreach.states import PostStatus
from outreach.text import shorten


def run_daemon(rt: Runtime, *, once: bool = False, dry_run_only: bool = False,
               stop: threading.Event | None = None) -> int:
    """``outreach run``: the daemon, or one pass (``--once``), or a preview (``--dry-run``)."""
    if dry_run_only:
        return _show_dry_run(rt)
    for warning in preflight(rt):
        output.warn(warning)
    if once:
        return _show_once(rt)
    live: Live | None = None

    def refresh(daemon: Daemon) -> None:
        nonlocal live
        if live is None:
            live = Live(_status_text(rt, daemon.status()), console=output.out,
                        refresh_per_second=1, transient=True)
            live.start()
        else:
            live.update(_status_text(rt, daemon.status()))

    try:
        return Daemon(rt, stop=stop, on_second=refresh if sys.stdout.isatty() else None).serve()
    finally:
        if live is not None:
            live.stop()


def _show_once(rt: Runtime) -> int:
    result = run_once(rt)
    parts = [f"{n} {name(k)}" for k, n in sorted(result.summary.counts.items())]
    if result.held:  # due, but waiting: say for what
        parts.append(_("held: {what}").format(what=describe_held(result.held)))
    parts = parts or [_("nothing due")]
    output.message(_("run --once: {done}; metrics: {checked} post(s) checked; {comments} new "
                     "comment(s)").format(
        done=_(", ").join(parts), checked=result.metrics.posts_checked,
        comments=result.metrics.comments_stored + result.comments.comments_stored))
    if result.emergencies:
        output.error(_("{n} EMERGENCY comment(s): outreach opinions --class emergency")
                     .format(n=len(result.emergencies)))
    if result.comments.rules_error is not None:
        output.error(_("{error} (comments are fetched once it is fixed)")
                     .format(error=result.comments.rules_error))
    for err in result.summary.errors:
        output.warn(err)
    return 0


def _show_dry_run(rt: Runtime) -> int:
    plan = dry_run(rt)

    def zone(account: str) -> Any:  # times as the account's officers read them
        acc = rt.settings.accounts.get(account)
        return acc.timezone if acc else rt.settings.timezone

    for p in plan.due:
        verb = (_("would publish post {id} on {account} ({when}): {text}")
                if p.status == PostStatus.QUEUED
                else _("would reconcile post {id} on {account} ({when}): {text}"))
        output.out.print(output.safe(verb.format(
            id=p.id, account=p.account, when=output.local(p.scheduled_at, zone(p.account)),
            text=shorten(p.text, 70))))
    for r in plan.upcoming:
        at = datetime.fromisoformat(r["scheduled_at"])
        output.out.print(output.safe(_("would draw {when} {account}: {what}").format(
            when=output.local(at, zone(r["account"])), account=r["account"],
            what=r["tip_id"] or r["reason"])))
    output.message(_("dry run: {due} post(s) due, {slots} slot(s) in the next {hours} h to "
                     "materialise; nothing was changed").format(
        due=len(plan.due), slots=len(plan.upcoming), hours=plan.hours))
    return 0


def _status_text(rt: Runtime, status: DaemonStatus) -> str:
    if status.next_post is not None:
        at, account = status.next_post
        when = _("next: {when} on {account}").format(
            when=output.local(at, rt.settings.account(account).timezone), account=account)
    else:
        when = _("nothing queued")
    err = ("  [red]" + output.safe(_("last error: {error}").format(error=status.last_error))
           + "[/]" if status.last_error else "")
    return (f"[bold]outreach run[/] {output.safe(status.id)}  " + output.safe(
        _("ticks {ticks}  published {published}  {when}").format(
            ticks=status.ticks, published=status.published, when=when)) + err)
