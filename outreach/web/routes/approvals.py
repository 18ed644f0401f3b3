"""Approvals: drafts waiting, the longest waiting first; approve (not one's own: four
eyes, checked by the action) or reject with a reason."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.posts import approve_post, cancel_post
from outreach.actions.queries.console import drafts_waiting
from outreach.actions.users import Permission
from outreach.errors import InputError
from outreach.i18n import _
from outreach.web.pages import Ctx, get, int_field, post


@get("/approvals")
def approvals(ctx: Ctx) -> Response:
    drafts = drafts_waiting(ctx.rt)
    zones = {n: a.timezone for n, a in ctx.rt.settings.accounts.items()}
    return ctx.render("approvals.html", drafts=drafts, zones=zones,
                      self_ok=ctx.rt.settings.policy.allow_self_approval)


def _post_id(ctx: Ctx) -> int:
    post_id = int_field(str(ctx.params.get("post_id", "")))
    if post_id is None:
        raise InputError("no post id")
    return post_id


@post("/posts/{post_id:int}/approve", Permission.APPROVE)
def approve(ctx: Ctx) -> Response:
    p = approve_post(ctx.rt, _post_id(ctx), by=ctx.user_name)
    ctx.flash(_("Post {id} approved; queued.").format(id=p.id))
    return ctx.back("/approvals")


@post("/posts/{post_id:int}/reject", Permission.APPROVE)
def reject(ctx: Ctx) -> Response:
    reason = (ctx.form.get("reason") or "").strip()
    if not reason:
        raise InputError("a rejection needs a reason")
    p = cancel_post(ctx.rt, _post_id(ctx), by=ctx.user_name, reason=reason)
    ctx.flash(_("Post {id} rejected.").format(id=p.id))
    return ctx.back("/approvals")


PAGES = [approvals, approve, reject]
