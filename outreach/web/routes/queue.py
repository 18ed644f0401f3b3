"""The queue (filter by status, account and batch, a page at a time) and one post's page: edit,
reschedule, cancel, retract (with a reason)."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.posts import cancel_post, edit_post, reschedule_post, retract_post
from outreach.actions.queries.console import queue_page, stored_picture, text_writer
from outreach.actions.queries.posts import post_detail
from outreach.actions.rows import get_batch
from outreach.actions.users import Permission
from outreach.errors import InputError
from outreach.i18n import _
from outreach.states import POST_STATUSES
from outreach.web.pages import Ctx, get, int_field, post
from outreach.web.routes.approvals import _post_id

PAGE_SIZE = 50


@get("/queue")
def queue(ctx: Ctx) -> Response:
    status = ctx.query.get("status") or None
    if status not in (None, *POST_STATUSES):
        status = None
    account = ctx.query.get("account") or None
    if account not in (None, *ctx.rt.settings.accounts):
        account = None
    page = max(int_field(ctx.query.get("page")) or 1, 1)
    batch = None
    if ctx.query.get("batch"):
        with ctx.rt.db.reader() as s:  # an unknown batch is a 404 naming it
            batch = get_batch(s, int_field(ctx.query.get("batch")) or 0)
    rows, more = queue_page(ctx.rt, status=status, account=account,
                            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                            batch=batch.id if batch else None)
    zones = {n: a.timezone for n, a in ctx.rt.settings.accounts.items()}
    return ctx.render("queue.html", rows=rows, more=more, page=page, status=status,
                      account=account, statuses=POST_STATUSES, zones=zones,
                      accounts=list(ctx.rt.settings.accounts), batch=batch)


@get("/posts/{post_id:int}")
def post_page(ctx: Ctx) -> Response:
    data = post_detail(ctx.rt, _post_id(ctx))
    acc = ctx.rt.settings.accounts.get(data["account"])
    own = text_writer(ctx.rt, data["id"]) == ctx.user_name \
        and not ctx.rt.settings.policy.allow_self_approval
    return ctx.render("post.html", p=data, zone=acc.timezone if acc else None, own=own)


def _flash_warnings(ctx: Ctx, warnings: list[str]) -> None:
    for w in warnings:
        ctx.flash(w, "error")


@post("/posts/{post_id:int}/edit", Permission.EDIT_QUEUE)
def edit(ctx: Ctx) -> Response:
    warnings: list[str] = []
    text = ctx.form.get("text")
    at = (ctx.form.get("at") or "").strip() or None
    p = edit_post(ctx.rt, _post_id(ctx), text=text if text else None, at=at, by=ctx.user_name,
                  warnings=warnings)
    ctx.flash(_("Post {id} saved.").format(id=p.id))
    _flash_warnings(ctx, warnings)
    return ctx.redirect(f"/posts/{p.id}")


@post("/posts/{post_id:int}/reschedule", Permission.EDIT_QUEUE)
def reschedule(ctx: Ctx) -> Response:
    warnings: list[str] = []
    p = reschedule_post(ctx.rt, _post_id(ctx), (ctx.form.get("at") or "").strip(),
                        by=ctx.user_name, warnings=warnings)
    ctx.flash(_("Post {id} saved.").format(id=p.id))
    _flash_warnings(ctx, warnings)
    return ctx.redirect(f"/posts/{p.id}")


@post("/posts/{post_id:int}/cancel", Permission.EDIT_QUEUE)
def cancel(ctx: Ctx) -> Response:
    p = cancel_post(ctx.rt, _post_id(ctx), by=ctx.user_name,
                    reason=(ctx.form.get("reason") or "").strip() or None)
    ctx.flash(_("Post {id} cancelled.").format(id=p.id))
    return ctx.redirect(f"/posts/{p.id}")


@post("/posts/{post_id:int}/retract", Permission.RETRACT)
def retract(ctx: Ctx) -> Response:
    p = retract_post(ctx.rt, _post_id(ctx), by=ctx.user_name,
                     reason=ctx.form.get("reason") or "")
    ctx.flash(_("Post {id} retracted.").format(id=p.id))
    return ctx.redirect(f"/posts/{p.id}")


@get("/posts/{post_id:int}/pictures/{position:int}")
def picture(ctx: Ctx) -> Response:
    """A post's picture from the media store, found by the post's own row (never a path
    from the request), typed as stored."""
    position = int_field(str(ctx.params.get("position", "")))
    if position is None:
        raise InputError("no picture number")
    data, mime = stored_picture(ctx.rt, _post_id(ctx), position)
    return Response(data, media_type=mime, headers={
        "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline",
        "Cache-Control": "private, max-age=3600"})


PAGES = [queue, post_page, edit, reschedule, cancel, retract, picture]
