"""The report as JSON (``outreach report --json``): the model's fields in order, UTF-8 text
kept as is; ``schemas/report.schema.json`` describes it."""

from __future__ import annotations

import json

from outreach.reports.model import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
