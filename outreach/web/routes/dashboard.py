"""The dashboard: the daemon's heartbeat, each account's state, queue health, open
emergencies, and the incident button (pause with a reason, resume) per account and for all."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.accounts import pause, resume
from outreach.actions.health import health
from outreach.actions.users import Permission
from outreach.i18n import _
from outreach.web.pages import Ctx, get, post


@get("/")
def dashboard(ctx: Ctx) -> Response:
    data = health(ctx.rt)
    emergencies = sum(a["open_emergencies"] for a in data["accounts"])
    zones = {name: acc.timezone for name, acc in ctx.rt.settings.accounts.items()}
    return ctx.render("dashboard.html", data=data, emergencies=emergencies, zones=zones)


def _account(ctx: Ctx) -> str | None:
    return ctx.form.get("account") or None


@post("/pause", Permission.PAUSE)
def pause_posting(ctx: Ctx) -> Response:
    account = _account(ctx)
    pause(ctx.rt, account, reason=ctx.form.get("reason", ""), by=ctx.user_name)
    ctx.flash(_("Paused {what}.").format(what=account or _("All accounts")))
    return ctx.back("/")


@post("/resume", Permission.PAUSE)
def resume_posting(ctx: Ctx) -> Response:
    account = _account(ctx)
    what = account or _("All accounts")
    if resume(ctx.rt, account, by=ctx.user_name):
        ctx.flash(_("Resumed {what}.").format(what=what))
    else:
        ctx.flash(_("No open pause for {what}.").format(what=what), "error")
    return ctx.back("/")


PAGES = [dashboard, pause_posting, resume_posting]
