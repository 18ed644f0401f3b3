"""Signing in and out."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.users import (
    LoginFailed,
    LoginThrottled,
    Permission,
    authenticate,
    log_out,
    set_language,
)
from outreach.i18n import _
from outreach.web.pages import Ctx, get, local_path, post
from outreach.web.session import Session


def _next(ctx: Ctx) -> str:
    return local_path(ctx.form.get("next") or ctx.query.get("next"))


@get("/login", permission=None)
def login_form(ctx: Ctx) -> Response:
    if ctx.user is not None:
        return ctx.redirect(_next(ctx))
    return ctx.render("login.html", next=_next(ctx))


@post("/login", permission=None)
def login(ctx: Ctx) -> Response:
    try:
        user = authenticate(ctx.rt, ctx.form.get("username", ""), ctx.form.get("password", ""),
                            address=ctx.address)
    except LoginThrottled as exc:
        ctx.flash(_("Too many failed sign-ins. Try again after {until}.").format(
            until=ctx.local(exc.until)), "error")
        return ctx.render("login.html", code=429, next=_next(ctx))
    except LoginFailed:
        ctx.flash(_("Wrong user name or password."), "error")
        return ctx.render("login.html", code=401, next=_next(ctx))
    # a new session (and CSRF token) at sign-in: a token seen before cannot be reused
    ctx.session = Session(user_id=user.id, stamp=user.stamp, seen=ctx.session.seen,
                          lang=ctx.session.lang)
    return ctx.redirect(_next(ctx))


@post("/logout", permission=None)
def logout(ctx: Ctx) -> Response:
    if ctx.user is not None:
        log_out(ctx.rt, ctx.user, address=ctx.address)
    ctx.session = Session(seen=ctx.session.seen, lang=ctx.session.lang)
    return ctx.redirect("/login")


@post("/settings/lang", Permission.VIEW)
def language(ctx: Ctx) -> Response:
    """The user's language from now on (kept with the user, not only in this session)."""
    assert ctx.user is not None
    set_language(ctx.rt, ctx.user.id, ctx.form.get("lang", ""))
    ctx.session.lang = ctx.form.get("lang")
    return ctx.back("/")


PAGES = [login_form, login, logout, language]
