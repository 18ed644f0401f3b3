"""Signing in and out."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.users import LoginFailed, LoginThrottled, authenticate, log_out
from outreach.web.pages import Ctx, get, post
from outreach.web.session import Session


def _next(ctx: Ctx) -> str:
    to = ctx.form.get("next") or ctx.query.get("next") or "/"
    return to if to.startswith("/") and not to.startswith("//") else "/"


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
        ctx.flash(ctx.t("Too many failed sign-ins. Try again after {until}.",
                        until=ctx.local(exc.until)), "error")
        return ctx.render("login.html", code=429, next=_next(ctx))
    except LoginFailed:
        ctx.flash(ctx.t("Wrong user name or password."), "error")
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


PAGES = [login_form, login, logout]
