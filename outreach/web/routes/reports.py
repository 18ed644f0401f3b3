"""Reports: the HTML report for a chosen period and accounts, and its downloads (CSV,
JSON, xlsx) — the same report `outreach report` makes."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from starlette.responses import HTMLResponse, Response

from outreach.errors import InputError
from outreach.reports.build import build_report
from outreach.reports.formats.as_csv import render_csv
from outreach.reports.formats.as_html import render_html
from outreach.reports.formats.as_json import render_json
from outreach.reports.formats.as_xlsx import write_xlsx
from outreach.reports.model import Report
from outreach.web.pages import Ctx, get

# the report is one self-contained file with inline CSS and SVG, and no script at all
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _day(ctx: Ctx, key: str) -> date | None:
    value = ctx.query.get(key) or ""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{key} must be a date (YYYY-MM-DD), not {value!r}") from None


def _report(ctx: Ctx) -> Report:
    accounts = [a for a in ctx.query.getlist("account") if a] if hasattr(ctx.query, "getlist") \
        else []
    return build_report(ctx.rt, accounts=accounts or None, since=_day(ctx, "since"),
                        until=_day(ctx, "until"), lang=ctx.lang)


@get("/reports")
def reports(ctx: Ctx) -> Response:
    return ctx.render("reports.html", accounts=list(ctx.rt.settings.accounts),
                      chosen=ctx.query.getlist("account") if hasattr(ctx.query, "getlist") else [],
                      since=ctx.query.get("since", ""), until=ctx.query.get("until", ""),
                      qs=str(ctx.query) if ctx.query else "")


@get("/reports/view")
def report_view(ctx: Ctx) -> Response:
    return HTMLResponse(render_html(_report(ctx)), headers={"Content-Security-Policy": REPORT_CSP,
                                                          "X-Frame-Options": "SAMEORIGIN"})


@get("/reports/download/{fmt}")
def report_download(ctx: Ctx) -> Response:
    fmt = str(ctx.params.get("fmt", ""))
    if fmt not in TYPES:
        raise InputError(f"no download as {fmt!r} (known: {', '.join(TYPES)})")
    report = _report(ctx)
    name = f"outreach-report-{report.period.start}-{report.period.end}.{fmt}"
    if fmt == "xlsx":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            write_xlsx(report, path)
            body: bytes | str = path.read_bytes()
    else:
        body = render_csv(report) if fmt == "csv" else render_json(report)
    return Response(body, media_type=TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


PAGES = [reports, report_view, report_download]
