"""The batch side of `outreach queue`: fan-out to a group (`queue add --account @group`), and
approving or cancelling a batch as one (`--batch B`)."""

from __future__ import annotations

from collections.abc import Sequence

from outreach.actions.batches import approve_batch, cancel_batch, fan_out
from outreach.actions.media import ImageRequest
from outreach.actions.queries.posts import post_row
from outreach.cli import output
from outreach.cli.common import print_warnings
from outreach.cli.words import name
from outreach.i18n import _
from outreach.runtime import Runtime
from outreach.states import PostStatus

SHOWN_WARNINGS = 10


def add_batch(rt: Runtime, accounts: str, *, tip: str | None, text: str | None,
              at: str | None, stagger: str | None, by: str, strict: bool, json_: bool,
              images: Sequence[ImageRequest] = ()) -> None:
    """Queue one post per account of a group and say what was queued."""
    done = fan_out(rt, accounts, tip=tip, text=text, at=at, stagger=stagger, by=by,
                   strict=strict, images=images)
    _print_some(list(done.warnings))
    if json_:
        output.print_json({"batch_id": done.batch_id, "accounts": done.accounts,
                           "posts": [post_row(p) for p in done.posts],
                           "warnings": list(done.warnings)})
        return
    first, last = done.posts[0], done.posts[-1]
    zone = rt.settings.zone_of(accounts)
    when = output.local(first.scheduled_at, zone)
    if last.scheduled_at != first.scheduled_at:
        when += f" … {output.local(last.scheduled_at, zone)}"
    output.message(_("batch {id}: {n} post(s) {status} on {accounts} for {when}").format(
        id=done.batch_id, n=len(done.posts), status=name(first.status),
        accounts=done.accounts, when=when))


def _print_some(warnings: list[str]) -> None:
    """The first warnings; a province's thousand would bury the message (--json has all)."""
    print_warnings(warnings[:SHOWN_WARNINGS])
    if len(warnings) > SHOWN_WARNINGS:
        accounts = len({w.split(":", 1)[0] for w in warnings})
        output.warn(_("… and {more} more warning(s); {n} in all on {accounts} account(s) "
                      "(--json lists them)").format(more=len(warnings) - SHOWN_WARNINGS,
                                                    n=len(warnings), accounts=accounts))


def approve(rt: Runtime, batch_id: int, *, by: str) -> None:
    posts = approve_batch(rt, batch_id, by=by)
    queued = sum(p.approved_by == by for p in posts)
    output.message(_("batch {id}: {n} post(s) approved by {who}; queued").format(
        id=batch_id, n=queued, who=by))


def cancel(rt: Runtime, batch_id: int, *, by: str, reason: str | None) -> None:
    done = cancel_batch(rt, batch_id, by=by, reason=reason)
    output.message(_("batch {id}: {n} post(s) cancelled").format(
        id=batch_id, n=len(done.cancelled)))
    for post_id in done.retracted:
        output.message(_("post {id} had already been published; it was retracted")
                       .format(id=post_id))
    for post_id, status in done.left:
        output.warn(_("post {id} is {status}; left as it is").format(id=post_id,
                                                                      status=name(status))
                    + (_(" (retract it instead)") if status == PostStatus.PUBLISHED else ""))
