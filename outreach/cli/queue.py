"""`outreach queue …`: add, import, list, show, approve, cancel, reschedule, edit, retract.

The commands that write import their actions when they run: ``queue list``, the page an
officer opens most, loads only the reads (the writers bring the renderer, the pictures and
the publisher, a tenth of its time on a province).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.actions.queries.posts import image_count, list_posts, post_detail, post_row
from outreach.cli import output
from outreach.cli.common import AccountOpt, ByOpt, JsonOpt, ReasonOpt, print_warnings, runtime, who
from outreach.cli.lazy import sub_app
from outreach.cli.queue_media import print_post_media
from outreach.cli.render import print_post_detail, print_posts
from outreach.cli.words import name
from outreach.config.groups import is_fan_out
from outreach.i18n import _
from outreach.states import POST_STATUSES, PostStatus

if TYPE_CHECKING:
    from outreach.actions.media import ImageRequest
    from outreach.runtime import Runtime
    from outreach.store.models import Post

app = sub_app("queue", no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(metavar="ID", help="Post id.")]
ImageOpt = Annotated[list[Path] | None, typer.Option(
    "--image", metavar="PATH",
    help="A picture (JPEG, PNG, GIF, WebP), repeatable; each needs an --alt, in order.")]
AltOpt = Annotated[list[str] | None, typer.Option(
    "--alt", metavar="TEXT",
    help="Alt text of the --image before it (required: what the picture shows).")]
BatchOpt = Annotated[int | None, typer.Option(
    "--batch", min=1, help="A batch id (a fan-out to a group).")]


def _one_choice(post_ids: list[int] | None, batch: int | None, account: str | None) -> None:
    """Post ids, --batch B or --account @group: exactly one of them."""
    if sum((bool(post_ids), batch is not None, account is not None)) != 1:
        raise typer.BadParameter(_("give post id(s), --batch B or --account @group (one of them)"))


YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y", help="With --account: do not ask for confirmation.")]
GroupOpt = Annotated[str | None, typer.Option(
    "--account", "-a", help="Every post of this account, or of every account of @group, "
    "that the command applies to (listed, then confirmed unless --yes).")]


@app.command("add")
def queue_add(
    account: Annotated[str, typer.Option("--account", "-a", help=(
        "Account name, or @group: one post per account of the group, as one batch."))],
    tip: Annotated[str | None, typer.Option(help="A tip id from the library.")] = None,
    text: Annotated[str | None, typer.Option(help="Literal text (never a template).")] = None,
    at: Annotated[str | None, typer.Option(
        help="When: ISO 8601, now, +2h, 'tomorrow 08:00' (account's zone). Default: now.")] = None,
    by: ByOpt = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse instead of warning (a tip within cooldown_days, quiet hours, "
                         "a blackout date, template marks in a text).")] = False,
    image: ImageOpt = None,
    alt: AltOpt = None,
    stagger: Annotated[str | None, typer.Option(help=(
        "With @group: the time between two accounts' posts, in the group's order "
        "(30s, 10m, 1h)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Queue a tip or a text (ad-hoc texts start as drafts awaiting approval), with
    pictures: each is checked, stripped of EXIF, fitted to the platform and copied into
    the media store. With --account @group, one post per account as one batch, all or
    nothing."""
    from outreach.actions.posts import add_post
    from outreach.cli import queue_batches as batches

    if (tip is None) == (text is None):
        raise typer.BadParameter(_("give exactly one of --tip or --text"))
    rt = runtime()
    if is_fan_out(account):
        return batches.add_batch(rt, account, tip=tip, text=text, at=at, stagger=stagger,
                                 by=who(by), strict=strict, json_=json_,
                                 images=_pictures(image, alt))
    if stagger is not None:
        raise typer.BadParameter(_("--stagger needs --account @group"), param_hint="--stagger")
    warnings: list[str] = []
    post = add_post(rt, account, tip=tip, text=text, at=at, by=who(by), strict=strict,
                    warnings=warnings, images=_pictures(image, alt))
    print_warnings(warnings)
    _print_post_result(rt, post, json_)


def _pictures(images: list[Path] | None, alts: list[str] | None) -> list[ImageRequest]:
    from outreach.actions.media import pair_images

    return pair_images(images or [], alts or [])


def _print_post_result(rt: Runtime, post: Post, json_: bool) -> None:
    images = image_count(rt, post)
    if json_:
        output.print_json(post_row(post, images))
        return
    zone = rt.settings.account(post.account).timezone
    when = output.local(post.scheduled_at, zone)
    fields = {"id": post.id, "status": name(post.status), "account": post.account,
              "n": images, "when": when}
    output.message(_("post {id} {status} on {account} with {n} picture(s) for {when}")
                   .format(**fields) if images
                   else _("post {id} {status} on {account} for {when}").format(**fields))


@app.command("import")
def queue_import(
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                          help="CSV (account,at,text|tip) or JSON Lines.")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import many posts at once: all rows are checked first; nothing is stored unless all are valid."""
    from outreach.actions.imports import import_posts

    rt = runtime()
    warnings: list[str] = []
    posts = import_posts(rt, file, by=who(by), warnings=warnings)
    print_warnings(warnings)
    if json_:
        output.print_json([post_row(p, image_count(rt, p)) for p in posts])
    else:
        drafts = sum(p.status == PostStatus.DRAFT for p in posts)
        output.message(_("imported {n} post(s) from {file}").format(n=len(posts), file=file)
                       + (_("; {n} draft(s) await approval").format(n=drafts) if drafts else ""))


@app.command("list")
def queue_list(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    account: AccountOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    batch: BatchOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List posts, oldest scheduled first (every status by default)."""
    if status is not None and status not in POST_STATUSES:
        raise typer.BadParameter(_("must be one of {values}").format(
            values=", ".join(POST_STATUSES)), param_hint="--status")
    rt = runtime()
    rows = list_posts(rt, status=status, account=account, limit=limit, batch=batch)
    output.emit(rows, json_, lambda: print_posts(rt, rows))


@app.command("show")
def queue_show(post_id: IdArg, json_: JsonOpt = False) -> None:
    """One post with its latest counts and its audit trail."""
    rt = runtime()
    data = post_detail(rt, post_id)

    def show() -> None:
        print_post_detail(rt, data)
        print_post_media(data)

    output.emit(data, json_, show)


@app.command("approve")
def queue_approve(post_ids: Annotated[list[int] | None, typer.Argument(
                      metavar="ID", help="Draft post id(s).", show_default=False)] = None,
                  by: ByOpt = None, batch: BatchOpt = None, account: GroupOpt = None,
                  yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Approve drafts (four eyes: not the author, unless policy allows); --batch B approves
    every draft of a batch at once; --account @group every draft of the group's accounts."""
    from outreach.actions.posts import approve_post
    from outreach.cli import queue_batches as batches

    _one_choice(post_ids, batch, account)
    rt = runtime()
    if batch is not None:
        return batches.approve(rt, batch, by=who(by), json_=json_)
    if account is not None:
        return batches.approve_group(rt, account, by=who(by), yes=yes, json_=json_)
    approved = []
    for post_id in post_ids or ():
        post = approve_post(rt, post_id, by=who(by))
        approved.append(post_row(post))
        output.message(_("post {id} approved by {who}; queued").format(
            id=post.id, who=post.approved_by))
    if json_:
        output.print_json({"approved": approved, "refused": []})


@app.command("cancel")
def queue_cancel(
    post_ids: Annotated[list[int] | None, typer.Argument(
        metavar="ID", help="Post id(s).", show_default=False)] = None,
    reason: ReasonOpt = None,
    by: ByOpt = None,
    batch: BatchOpt = None,
    account: GroupOpt = None,
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Cancel drafts, queued or unconfirmed posts (an unconfirmed one is reconciled first);
    --batch B cancels every post of a batch still waiting; --account @group every post of
    the group's accounts still waiting."""
    from outreach.actions.posts import cancel_post
    from outreach.cli import queue_batches as batches

    _one_choice(post_ids, batch, account)
    rt = runtime()
    if batch is not None:
        return batches.cancel(rt, batch, by=who(by), reason=reason, json_=json_)
    if account is not None:
        return batches.cancel_group(rt, account, by=who(by), reason=reason, yes=yes,
                                    json_=json_)
    cancelled, retracted = [], []
    for post_id in post_ids or ():
        post = cancel_post(rt, post_id, by=who(by), reason=reason)
        if post.status == PostStatus.RETRACTED:
            retracted.append(post_id)
            output.message(_("post {id} had already been published as {remote}; it was "
                             "retracted").format(id=post_id, remote=post.remote_id))
        else:
            cancelled.append(post_id)
            output.message(_("post {id} cancelled").format(id=post_id))
    if json_:
        output.print_json({"cancelled": cancelled, "retracted": retracted, "refused": []})


@app.command("reschedule")
def queue_reschedule(
    post_id: IdArg,
    at: Annotated[str, typer.Option(help="New time (ISO 8601, +2h, 'tomorrow 08:00').")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move a queued post (a slot post keeps its slot; the slot is not drawn again)."""
    from outreach.actions.posts import reschedule_post

    rt = runtime()
    warnings: list[str] = []
    post = reschedule_post(rt, post_id, at, by=who(by), warnings=warnings)
    print_warnings(warnings)
    _print_post_result(rt, post, json_)


@app.command("edit")
def queue_edit(
    post_id: Annotated[int, typer.Argument(metavar="ID", help="Post id (a draft or queued post).")],
    text: Annotated[str | None, typer.Option(
        help="New literal text (never a template); it needs approval again.")] = None,
    at: Annotated[str | None, typer.Option(
        help="New time (ISO 8601, +2h, 'tomorrow 08:00'; account's zone).")] = None,
    image: Annotated[list[Path] | None, typer.Option(
        "--image", metavar="PATH",
        help="Replace the pictures with these (repeatable, each with an --alt); they need "
             "approval again.")] = None,
    alt: AltOpt = None,
    no_images: Annotated[bool, typer.Option(
        "--no-images", help="Remove the post's pictures.")] = False,
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Edit a draft or queued post: a new text or new pictures are checked like queue add
    and need approval again (four eyes: not by their editor); a new time alone keeps the
    approval. Without --image or --no-images the pictures stay as they are."""
    from outreach.actions.posts import edit_post

    if no_images and image:
        raise typer.BadParameter(_("give --image or --no-images, not both"))
    images = [] if no_images else _pictures(image, alt) if image else None
    if images is None and alt:
        raise typer.BadParameter(_("--alt goes with an --image"), param_hint="--alt")
    rt = runtime()
    warnings: list[str] = []
    post = edit_post(rt, post_id, text=text, at=at, by=who(by), warnings=warnings,
                     images=images)
    print_warnings(warnings)
    _print_post_result(rt, post, json_)


@app.command("retract")
def queue_retract(
    post_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    by: ByOpt = None,
) -> None:
    """Delete a published post on its platform and mark it retracted."""
    from outreach.actions.posts import retract_post

    rt = runtime()
    post = retract_post(rt, post_id, by=who(by), reason=reason)
    output.message(_("post {id} retracted from {account}").format(id=post.id,
                                                                   account=post.account))
