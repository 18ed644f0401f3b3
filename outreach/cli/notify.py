"""`outreach notify …` (the notification outbox: list, test, retry) and `outreach watchdog`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from outreach.cli import output
from outreach.cli.common import JsonOpt, runtime
from outreach.cli.lazy import commands_app, sub_app
from outreach.cli.words import name
from outreach.i18n import N_, _
from outreach.notify.sender import send_test
from outreach.notify.status import list_notifications, retry
from outreach.notify.watchdog import watchdog as check_heartbeat
from outreach.states import NOTIFICATION_STATUSES, NotifyEvent
from outreach.text import shorten

app = commands_app()
notify_app = sub_app("notify", no_args_is_help=True)
app.add_typer(notify_app)


@notify_app.command("list")
def notify_list(
    status: Annotated[str | None, typer.Option(help="Only this status (pending, sending, sent, "
                                               "failed, cancelled).")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    json_: JsonOpt = False,
) -> None:
    """Notifications, newest first: event, target, status, attempts, last error."""
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise typer.BadParameter(_("must be one of {values}").format(
            values=", ".join(NOTIFICATION_STATUSES)), param_hint="--status")
    rt = runtime()
    rows = list_notifications(rt, status=status, limit=limit)
    if json_:
        output.print_json(rows)
        return
    if not rows:
        output.message(_("no notifications"))
        return
    zone = rt.settings.timezone
    header = [_(m) for m in (N_("id"), N_("event"), N_("target"), N_("status"), N_("tries"),
                             N_("due / sent"), N_("account"), N_("error"))]
    output.grid(header, [
        [str(r["id"]), r["event"], r["target"], name(r["status"]), str(r["attempts"]),
         output.local(datetime.fromisoformat(r["sent_at"] or r["next_attempt_at"]), zone),
         r["account"] or "-", output.plain(shorten(r["last_error"] or "", 50))]
        for r in rows])


@notify_app.command("test")
def notify_test(
    target: Annotated[str | None, typer.Option(help="Only this target (by name).")] = None,
) -> None:
    """Send a test message to every target (exit 1 if any fails)."""
    rt = runtime()
    failed = 0
    for target_name, error in send_test(rt, target):
        if error is None:
            output.message(_("{target}: sent").format(target=target_name))
        else:
            failed += 1
            output.error(f"{target_name}: {error}")
    if failed:
        raise typer.Exit(1)


@notify_app.command("retry")
def notify_retry(
    ids: Annotated[list[int], typer.Argument(help="Notification id(s) that failed.")],
) -> None:
    """Send failed notifications again (failed → pending, due now)."""
    rt = runtime()
    for nid in retry(rt, ids):
        output.message(_("notification {id} is pending again").format(id=nid))


@app.command()
def watchdog(
    stale_minutes: Annotated[int, typer.Option(
        "--stale-minutes", min=1, max=7 * 24 * 60,
        help="A heartbeat older than this is stale.")] = 10,
) -> None:
    """For a systemd timer or cron: notify (daemon_stale) when the daemon's heartbeat is stale,
    once per outage; exit 1 while it is stale."""
    rt = runtime()
    result = check_heartbeat(rt, stale_minutes)
    zone = rt.settings.timezone
    if not result.stale:
        output.message(_("daemon alive: last heartbeat {when}").format(
            when=output.local(result.last_heartbeat, zone)))
        return
    last = output.local(result.last_heartbeat, zone) if result.last_heartbeat else _("never")
    output.error(_("daemon stale: last heartbeat {when}").format(when=last))
    if not rt.settings.notify.for_event(NotifyEvent.DAEMON_STALE):
        output.warn(_("no [notify] target listens to daemon_stale: nobody was told"))
    d = result.delivery
    if d.sent:
        output.message(_("daemon_stale sent ({n} target(s))").format(n=len(d.sent)))
    if d.retrying or d.failed:
        output.warn(_("daemon_stale not delivered to {n} target(s): see `outreach notify list`")
                    .format(n=len(d.retrying) + len(d.failed)))
    raise typer.Exit(1)
