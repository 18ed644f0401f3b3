"""The calendar: a week or a month of one account — stored posts and the slots `plan`
would draw — each item opening its post's page (rescheduled there)."""

from __future__ import annotations

from datetime import date, timedelta

from starlette.responses import Response

from outreach.actions.queries.console import calendar
from outreach.web.pages import Ctx, get


def _start(ctx: Ctx, today: date) -> date:
    try:
        return date.fromisoformat(ctx.query.get("start", ""))
    except ValueError:
        return today


@get("/calendar")
def calendar_page(ctx: Ctx) -> Response:
    accounts = list(ctx.rt.settings.accounts)
    account = ctx.query.get("account") or (accounts[0] if accounts else "")
    if account not in accounts:
        account = accounts[0] if accounts else ""
    view = "month" if ctx.query.get("view") == "month" else "week"
    if not account:
        return ctx.render("calendar.html", account="", accounts=[], view=view, days=[],
                          items={}, start=None, prev=None, next=None)
    zone = ctx.rt.settings.account(account).timezone
    today = ctx.rt.clock().astimezone(zone).date()
    start = _start(ctx, today)
    if view == "month":
        start = start.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        span = (following - start).days
        prev = (start - timedelta(days=1)).replace(day=1)
    else:
        span, following, prev = 7, start + timedelta(days=7), start - timedelta(days=7)
    days = [start + timedelta(days=i) for i in range(span)]
    items: dict[str, list[object]] = {d.isoformat(): [] for d in days}
    # a month is laid out Monday to Sunday; a week starts on the day asked for
    lead: list[date | None] = [None] * start.weekday() if view == "month" else []
    for item in calendar(ctx.rt, account, start, span):
        items.setdefault(item["day"], []).append(item)
    return ctx.render("calendar.html", account=account, accounts=accounts, view=view,
                      days=[*lead, *days], items=items, start=start, prev=prev,
                      next=following, zone=zone, today=today)


PAGES = [calendar_page]
