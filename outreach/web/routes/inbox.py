"""The inbox: the public's comments (redacted when stored), emergencies first, by class;
the post each answers; reply (the action refuses a second reply) and mark replied."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.opinions import mark_replied, reply
from outreach.actions.queries.opinions import list_opinions
from outreach.actions.queries.posts import post_detail
from outreach.actions.users import Permission
from outreach.errors import InputError, NotFound
from outreach.i18n import _
from outreach.states import OpinionClass
from outreach.web.pages import Ctx, get, int_field, post


@get("/inbox")
def inbox(ctx: Ctx) -> Response:
    klass = ctx.query.get("class") or None
    if klass not in (None, *OpinionClass):
        klass = None
    unanswered = ctx.query.get("unanswered") == "1"
    comments = list_opinions(ctx.rt, klass=klass, unanswered=unanswered, limit=200)
    posts = {}
    for c in comments:
        pid = c["post_id"]
        if pid is not None and pid not in posts:
            try:
                posts[pid] = post_detail(ctx.rt, pid)["text"]
            except NotFound:
                posts[pid] = ""
    return ctx.render("inbox.html", comments=comments, posts=posts, klass=klass,
                      unanswered=unanswered, classes=list(OpinionClass))


def _comment_id(ctx: Ctx) -> int:
    comment_id = int_field(str(ctx.params.get("comment_id", "")))
    if comment_id is None:
        raise InputError("no comment id")
    return comment_id


@post("/comments/{comment_id:int}/reply", Permission.REPLY)
def send_reply(ctx: Ctx) -> Response:
    comment_id = _comment_id(ctx)
    p = reply(ctx.rt, comment_id, ctx.form.get("text", ""), by=ctx.user_name)
    ctx.flash(_("Reply sent to comment {id} (post {post}, {status}).").format(
        id=comment_id, post=p.id, status=_(p.status)))
    return ctx.back("/inbox")


@post("/comments/{comment_id:int}/mark-replied", Permission.REPLY)
def mark(ctx: Ctx) -> Response:
    comment_id = _comment_id(ctx)
    mark_replied(ctx.rt, comment_id, by=ctx.user_name)
    ctx.flash(_("Comment {id} marked replied.").format(id=comment_id))
    return ctx.back("/inbox")


PAGES = [inbox, send_reply, mark]
