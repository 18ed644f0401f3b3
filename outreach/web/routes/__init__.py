"""Every page of the console, one module per page (each lists its ``PAGES``)."""

from __future__ import annotations

from outreach.web.pages import Page
from outreach.web.routes import (
    approvals,
    audit,
    auth,
    calendar,
    compose,
    dashboard,
    inbox,
    library,
    queue,
    reports,
    users,
)

PAGES: list[Page] = [*auth.PAGES, *dashboard.PAGES, *compose.PAGES, *approvals.PAGES,
                     *queue.PAGES, *inbox.PAGES, *calendar.PAGES, *library.PAGES,
                     *reports.PAGES, *audit.PAGES, *users.PAGES]
