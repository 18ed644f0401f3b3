"""Users (admins only): who may sign in, with which role; add and disable."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.users import LANGS, Permission, Role, add_user, disable_user, list_users
from outreach.i18n import _
from outreach.web.pages import Ctx, get, post


@get("/users", Permission.MANAGE_USERS)
def users(ctx: Ctx) -> Response:
    return ctx.render("users.html", rows=list_users(ctx.rt), roles=list(Role), langs=LANGS)


@post("/users", Permission.MANAGE_USERS)
def add(ctx: Ctx) -> Response:
    user = add_user(ctx.rt, ctx.form.get("name", ""), role=ctx.form.get("role", ""),
                    password=ctx.form.get("password", ""), by=ctx.user_name,
                    display_name=ctx.form.get("display_name"), lang=ctx.form.get("lang") or "zh")
    ctx.flash(_("User {name} added.").format(name=user.name))
    return ctx.redirect("/users")


@post("/users/disable", Permission.MANAGE_USERS)
def disable(ctx: Ctx) -> Response:
    name = ctx.form.get("name", "")
    disable_user(ctx.rt, name, by=ctx.user_name)
    ctx.flash(_("User {name} disabled.").format(name=name))
    return ctx.redirect("/users")


PAGES = [users, add, disable]
