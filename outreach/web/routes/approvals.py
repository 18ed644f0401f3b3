"""Approvals: drafts waiting, the longest waiting first; approve (not one's own: four
eyes, checked by the action) or reject with a reason. A fan-out's drafts are approved as
one batch, as ``queue approve --batch B`` does."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from outreach.actions.batches import approve_batch
from outreach.actions.posts import approve_post, cancel_post
from outreach.actions.queries.console import drafts_waiting
from outreach.actions.rows import get_batch
from outreach.actions.users import Permission
from outreach.errors import InputError
from outreach.i18n import _
from outreach.web.pages import Ctx, get, int_field, post


@get("/approvals")
def approvals(ctx: Ctx) -> Response:
    drafts = drafts_waiting(ctx.rt)
    zones = {n: a.timezone for n, a in ctx.rt.settings.accounts.items()}
    return ctx.render("approvals.html", drafts=drafts, zones=zones,
                      batches=_batches(ctx, drafts),
                      self_ok=ctx.rt.settings.policy.allow_self_approval)


def _batches(ctx: Ctx, drafts: list[Any]) -> list[dict[str, Any]]:
    """The fan-outs among the drafts shown: each with its drafts counted and whether the
    signed-in user wrote one of them (then another officer approves the batch)."""
    found: dict[int, dict[str, Any]] = {}
    with ctx.rt.db.reader() as s:
        for d in drafts:
            batch_id = d["post"]["batch_id"]
            if batch_id is None:
                continue
            if batch_id not in found:
                batch = get_batch(s, batch_id)
                found[batch_id] = {"id": batch_id, "accounts": batch.accounts, "drafts": 0,
                                   "own": False, "tip_id": batch.tip_id}
            found[batch_id]["drafts"] += 1
            found[batch_id]["own"] |= d["author"] == ctx.user_name
    return list(found.values())


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


@post("/batches/{batch_id:int}/approve", Permission.APPROVE)
def approve_fan_out(ctx: Ctx) -> Response:
    batch_id = int_field(str(ctx.params.get("batch_id", "")))
    if batch_id is None:
        raise InputError("no batch id")
    posts = approve_batch(ctx.rt, batch_id, by=ctx.user_name)
    n = sum(p.approved_by == ctx.user_name for p in posts)
    ctx.flash(_("Batch {id}: {n} posts approved; queued.").format(id=batch_id, n=n))
    return ctx.back("/approvals")


@post("/posts/{post_id:int}/reject", Permission.APPROVE)
def reject(ctx: Ctx) -> Response:
    reason = (ctx.form.get("reason") or "").strip()
    if not reason:
        raise InputError("a rejection needs a reason")
    p = cancel_post(ctx.rt, _post_id(ctx), by=ctx.user_name, reason=reason)
    ctx.flash(_("Post {id} rejected.").format(id=p.id))
    return ctx.back("/approvals")


PAGES = [approvals, approve, approve_fan_out, reject]
