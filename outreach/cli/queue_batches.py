"""The batch side of `outreach queue`: fan-out to a group (`queue add --account @group`), and
approving or cancelling a batch as one (`--batch B`)."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from outreach.actions.batches import (
    APPROVABLE,
    CANCELLABLE,
    GroupDecision,
    approve_batch,
    approve_posts,
    cancel_batch,
    cancel_posts,
    fan_out,
    group_posts,
)
from outreach.actions.media import ImageRequest
from outreach.actions.queries.posts import post_row
from outreach.cli import output
from outreach.cli.common import fail, print_warnings
from outreach.cli.words import name
from outreach.i18n import _
from outreach.runtime import Runtime
from outreach.states import PostStatus
from outreach.store.models import Post
from outreach.text import shorten

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


def approve(rt: Runtime, batch_id: int, *, by: str, json_: bool = False) -> None:
    posts = approve_batch(rt, batch_id, by=by)
    approved = [p for p in posts if p.approved_by == by and p.status == PostStatus.QUEUED]
    output.message(_("batch {id}: {n} post(s) approved by {who}; queued").format(
        id=batch_id, n=len(approved), who=output.safe(by)))
    if json_:
        output.print_json({"batch_id": batch_id, "approved": [post_row(p) for p in approved],
                           "refused": []})


def cancel(rt: Runtime, batch_id: int, *, by: str, reason: str | None,
           json_: bool = False) -> None:
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
    if json_:
        output.print_json({"batch_id": batch_id, "cancelled": list(done.cancelled),
                           "retracted": list(done.retracted),
                           "refused": [{"id": i, "status": st, "reason": f"post {i} is {st}"}
                                       for i, st in done.left]})


SHOWN_CHOSEN = 20


def _confirm(rt: Runtime, posts: Sequence[Post], question: str, nothing: str, *,
             yes: bool) -> None:
    """List the chosen posts (the first few of a province's thousand) and ask, unless --yes;
    no answer (end of input, Ctrl-C) is a no."""
    for p in posts[:SHOWN_CHOSEN]:
        output.err.print(f"  {p.id}  [dim]{output.safe(p.account)} {p.status} "
                         f"{output.local(p.scheduled_at, rt.settings.account(p.account).timezone)}[/]  "
                         f"{output.safe(shorten(p.text, 40))}", highlight=False)
    if len(posts) > SHOWN_CHOSEN:
        output.err.print("  " + _("… and {n} more").format(n=len(posts) - SHOWN_CHOSEN),
                         highlight=False)
    if yes:
        return
    try:
        answer = typer.confirm(question, default=False, err=True)
    except typer.Abort:
        answer = False
    if not answer:
        fail(nothing)


def _refused(decision: GroupDecision) -> list[dict[str, object]]:
    for r in decision.refused:
        output.warn(_("post {id} on {account}: {reason}").format(id=r.post_id, account=r.account,
                                                                 reason=r.reason))
    return [{"id": r.post_id, "account": r.account, "reason": r.reason}
            for r in decision.refused]


def approve_group(rt: Runtime, accounts: str, *, by: str, yes: bool, json_: bool) -> None:
    """Approve every draft of a group's accounts, once confirmed; one line per post refused
    (four eyes), and exit 1 when every one was."""
    posts = group_posts(rt, accounts, APPROVABLE)
    if not posts:
        output.message(_("no drafts on {accounts}").format(accounts=output.safe(accounts)))
        if json_:
            output.print_json({"accounts": accounts, "approved": [], "refused": []})
        return
    _confirm(rt, posts, _("Approve these {n} draft(s) as {who}?").format(n=len(posts), who=by),
             _("nothing was approved"), yes=yes)
    decision = approve_posts(rt, posts, by=by)
    refused = _refused(decision)
    output.message(_("{n} post(s) approved by {who}; queued").format(
        n=len(decision.done), who=output.safe(by))
                   + (_("; {n} refused").format(n=len(refused)) if refused else ""))
    if json_:
        output.print_json({"accounts": accounts, "refused": refused,
                           "approved": [post_row(p) for p in decision.posts]})
    if refused and not decision.done:
        raise typer.Exit(1)


def cancel_group(rt: Runtime, accounts: str, *, by: str, reason: str | None, yes: bool,
                 json_: bool) -> None:
    """Cancel every post of a group's accounts still waiting, once confirmed; one line per
    post refused, and exit 1 when every one was."""
    posts = group_posts(rt, accounts, CANCELLABLE)
    if not posts:
        output.message(_("nothing waiting on {accounts}").format(accounts=output.safe(accounts)))
        if json_:
            output.print_json({"accounts": accounts, "cancelled": [], "retracted": [],
                               "refused": []})
        return
    _confirm(rt, posts, _("Cancel these {n} post(s)?").format(n=len(posts)),
             _("nothing was cancelled"), yes=yes)
    decision = cancel_posts(rt, posts, by=by, reason=reason)
    for post_id in decision.retracted:
        output.message(_("post {id} had already been published; it was retracted")
                       .format(id=post_id))
    refused = _refused(decision)
    output.message(_("{n} post(s) cancelled").format(n=len(decision.done))
                   + (_("; {n} refused").format(n=len(refused)) if refused else ""))
    if json_:
        output.print_json({"accounts": accounts, "cancelled": list(decision.done),
                           "retracted": list(decision.retracted), "refused": refused})
    if refused and not decision.done and not decision.retracted:
        raise typer.Exit(1)
