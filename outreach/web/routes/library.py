"""The library: tips by category with their approval state, stale tips, campaigns by
month; approvers approve tips here."""

from __future__ import annotations

from datetime import date

from starlette.responses import Response

from outreach.actions.queries.library import content_rows
from outreach.actions.tips import approve_tips
from outreach.actions.users import Permission
from outreach.i18n import _
from outreach.library.checks import stale_tips
from outreach.library.model import Campaign
from outreach.web.pages import Ctx, get, post


@get("/library")
def library(ctx: Ctx) -> Response:
    rows = content_rows(ctx.rt, category=None, lang=None)
    lib = ctx.rt.library
    year = ctx.rt.clock().astimezone(ctx.rt.settings.timezone).year
    campaigns = []
    for c in sorted(lib.campaigns, key=lambda c: _start(c, year)):
        try:
            start, end = c.window(year)
        except ValueError:
            continue
        campaigns.append({"id": c.id, "name": c.name_zh if ctx.lang == "zh" else c.name_en,
                          "start": start, "end": end, "weights": dict(c.weights)})
    names = {code: cat.name(ctx.lang) for code, cat in lib.categories.items()}
    return ctx.render("library.html", rows=rows, stale=stale_tips(ctx.rt, within_days=30),
                      campaigns=campaigns, names=names)


def _start(campaign: Campaign, year: int) -> date:
    try:
        return campaign.window(year)[0]
    except ValueError:
        return date.max


@post("/tips/approve", Permission.APPROVE)
def approve_tip(ctx: Ctx) -> Response:
    tip_id = ctx.form.get("tip", "")
    approve_tips(ctx.rt, [tip_id], by=ctx.user_name)
    ctx.flash(_("Tip {id} approved.").format(id=tip_id))
    return ctx.back("/library")


PAGES = [library, approve_tip]
