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
from outreach.daemon import Daemon, DaemonStatus, dry_run, preflight, run_once
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
    parts = [f"{n} {k}" for k, n in sorted(result.summary.counts.items())]
    if result.held:  # due, but waiting: say for what
        parts.append("held: " + describe_held(result.held))
    parts = parts or ["nothing due"]
    output.message("run --once: " + ", ".join(parts)
                   + f"; metrics: {result.metrics.posts_checked} post(s) checked; "
                   f"{result.metrics.comments_stored + result.comments.comments_stored} "
                   "new comment(s)")
    if result.emergencies:
        output.error(f"{len(result.emergencies)} EMERGENCY comment(s): outreach opinions "
                     "--class emergency")
    if result.comments.rules_error is not None:
        output.error(f"{result.comments.rules_error} (comments are fetched once it is fixed)")
    for err in result.summary.errors:
        output.warn(err)
    return 0


def _show_dry_run(rt: Runtime) -> int:
    plan = dry_run(rt)

    def zone(account: str) -> Any:  # times as the account's officers read them
        acc = rt.settings.accounts.get(account)
        return acc.timezone if acc else rt.settings.timezone

    for p in plan.due:
        verb = "would publish" if p.status == PostStatus.QUEUED else "would reconcile"
        output.out.print(f"{verb} post {p.id} on {p.account} "
                         f"({output.local(p.scheduled_at, zone(p.account))}): "
                         f"{output.safe(shorten(p.text, 70))}")
    for r in plan.upcoming:
        at = datetime.fromisoformat(r["scheduled_at"])
        output.out.print(f"would draw {output.local(at, zone(r['account']))} {r['account']}: "
                         f"{output.safe(r['tip_id'] or r['reason'])}")
    output.message(f"dry run: {len(plan.due)} post(s) due, {len(plan.upcoming)} slot(s) in the "
                   f"next {plan.hours} h to materialise; nothing was changed")
    return 0


def _status_text(rt: Runtime, status: DaemonStatus) -> str:
    if status.next_post is not None:
        at, account = status.next_post
        when = f"next: {output.local(at, rt.settings.account(account).timezone)} on {account}"
    else:
        when = "nothing queued"
    err = (f"  [red]last error: {output.safe(status.last_error)}[/]"
           if status.last_error else "")
    return (f"[bold]outreach run[/] {status.id}  ticks {status.ticks}  published "
            f"{status.published}  {when}{err}")
