"""Compose: an account, a library tip or a text, a time; a live preview of the exact text
(``/compose/preview``, the checks the publisher runs)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from outreach.actions.posts import add_post
from outreach.actions.preview import preview_post
from outreach.actions.queries.library import content_rows
from outreach.actions.users import Permission
from outreach.web.pages import Ctx, get, post


@get("/compose", Permission.COMPOSE)
def compose_form(ctx: Ctx) -> Response:
    accounts = list(ctx.rt.settings.accounts.values())
    tips = [r for r in content_rows(ctx.rt, category=None, lang=None) if r["approved"] and r["valid"]]
    return ctx.render("compose.html", accounts=accounts, tips=tips,
                      chosen=ctx.query.get("account") or (accounts[0].name if accounts else ""))


@post("/compose", Permission.COMPOSE)
def compose(ctx: Ctx) -> Response:
    tip = ctx.form.get("tip") or None
    text = None if tip else ctx.form.get("text", "")
    if not tip and not (text or "").strip():
        ctx.flash(ctx.t("Write a text or choose a tip."), "error")
        return ctx.redirect("/compose")
    warnings: list[str] = []
    new = add_post(ctx.rt, ctx.form.get("account", ""), tip=tip, text=text,
                   at=(ctx.form.get("at") or "").strip() or None, by=ctx.user_name,
                   warnings=warnings)
    ctx.flash(ctx.t("Post {id} saved as {status}.", id=new.id, status=ctx.t(new.status)))
    for w in warnings:
        ctx.flash(w, "error")
    return ctx.redirect(f"/posts/{new.id}")


@get("/compose/preview", Permission.COMPOSE)
def compose_preview(ctx: Ctx) -> Response:
    data = preview_post(ctx.rt, ctx.query.get("account", ""), tip=ctx.query.get("tip") or None,
                        text=ctx.query.get("text"), at=ctx.query.get("at") or None)
    return JSONResponse(data)


PAGES = [compose_form, compose, compose_preview]
