"""The audit log: who did what, newest first, filtered by person, action and account."""

from __future__ import annotations

from starlette.responses import Response

from outreach.actions.queries.console import audit_page
from outreach.web.pages import Ctx, get, int_field

PAGE_SIZE = 100


@get("/audit")
def audit(ctx: Ctx) -> Response:
    page = max(int_field(ctx.query.get("page")) or 1, 1)
    filters = {k: ctx.query.get(k) or None for k in ("actor", "action", "account")}
    rows, more, actions = audit_page(ctx.rt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                                     **filters)
    return ctx.render("audit.html", rows=rows, more=more, page=page, filters=filters,
                      actions=actions, accounts=list(ctx.rt.settings.accounts))


PAGES = [audit]
