"""The report as one self-contained HTML file: inline SVG charts (``formats.charts``), inline
CSS, no scripts, nothing fetched from the network. Rendered by a Jinja2 environment with
autoescape on, so every string from the data is escaped."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from outreach.reports.formats.charts import charts
from outreach.reports.formats.common import (
    CJK_FONTS,
    CLASS_KEYS,
    CONCERN_KEYS,
    EXAMPLE_KEYS,
    FIGURE_KEYS,
    PLACE_KEYS,
    RATE_KEYS,
    View,
    num,
    pct,
    shorten,
    signed,
)
from outreach.reports.model import Report

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def html_environment() -> jinja2.Environment:
    """The report's Jinja2 environment: autoescape on (the tip renderer's is off, for text)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render_html(report: Report) -> str:
    """One self-contained HTML file: inline SVG charts, inline CSS, no scripts, no network."""
    v = View(report)
    svg = {k: Markup(s) for k, s in charts(v).items()}  # matplotlib's own SVG
    env = html_environment()
    env.filters.update({
        "num": lambda x: num(x, v.na),
        "pct": lambda x: pct(x, v.na),
        "signed": lambda x: signed(x, v.na),
        "local": v.local,
        "cell": lambda x, key: v.cell(key, x),
        "shorten": shorten,
    })
    template = env.get_template("report.html.j2")
    return template.render(
        r=report, L=v.label, S=v.section, who=v.who, unconfigured=v.unconfigured_text(),
        charts=svg, fonts=CJK_FONTS, figure_keys=FIGURE_KEYS, rate_keys=RATE_KEYS,
        class_keys=CLASS_KEYS, concern_keys=CONCERN_KEYS, place_keys=PLACE_KEYS,
        example_keys=EXAMPLE_KEYS, concern_rows=v.concern_rows(str), before=v.before,
        comparison=v.comparison_rows(), category_keys=v.category_keys,
        period_text=v.period_text(), best_text=v.best_text, spark=v.spark,
    )
