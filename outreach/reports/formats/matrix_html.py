"""The matrix report as one self-contained HTML file: the ranked bar chart (inline SVG by
matplotlib, as the report's charts), the ranking, the group's totals and the laggards.
Inline CSS, no scripts, nothing fetched; autoescape on, so every name is escaped."""

from __future__ import annotations

import logging
import warnings

import matplotlib
from markupsafe import Markup

from outreach.reports.formats.as_html import html_environment
from outreach.reports.formats.charts import _chart, _svg
from outreach.reports.formats.common import CJK_FONTS
from outreach.reports.formats.matrix import (
    SHOWN_KEYS,
    TOTAL_KEYS,
    label,
    shown,
)
from outreach.reports.matrix_model import MatrixAccount, MatrixReport

CHART_ALL_UP_TO = 60  # more accounts: the chart shows the first and the last CHART_ENDS
CHART_ENDS = 25



def render_matrix_html(r: MatrixReport) -> str:
    chosen, note = _charted(r)
    page = html_environment().get_template("matrix.html.j2")
    return page.render(
        r=r, L=lambda k: label(r.lang, k), keys=SHOWN_KEYS, totals=TOTAL_KEYS,
        cell=lambda a, k: a.display_name if k == "display_name" else shown(r, k, getattr(a, k)),
        css=_css,
        total=lambda k: shown(r, k, getattr(r.totals, k)),
        lagging={g.name for g in r.laggards}, fonts=", ".join(f'"{f}"' for f in CJK_FONTS),
        chart=Markup(ranked_chart(r, chosen)) if chosen else "", note=note)


def _css(a: MatrixAccount, key: str) -> str:
    if key == "display_name":
        return ""
    if key == "rank_change" and a.rank_change:
        return "up" if a.rank_change > 0 else "down"
    return "n"


def _charted(r: MatrixReport) -> tuple[list[MatrixAccount], str]:
    """The accounts the chart shows: all of them, or the first and last ``CHART_ENDS``."""
    accounts = r.accounts
    if len(accounts) <= CHART_ALL_UP_TO:
        return list(accounts), ""
    note = f"{label(r.lang, 'shown')} {CHART_ENDS} ({len(accounts)})"
    return [*accounts[:CHART_ENDS], *accounts[-CHART_ENDS:]], note


def ranked_chart(r: MatrixReport, accounts: list[MatrixAccount]) -> str:
    """A horizontal bar per account, in rank order (first at the top): its BCI, laggards in
    red, the previous period's BCI as a tick."""
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    lagging = {g.name for g in r.laggards}
    try:
        with warnings.catch_warnings(), matplotlib.rc_context({
                "svg.fonttype": "none", "font.family": "sans-serif",
                "font.sans-serif": [*CJK_FONTS, "DejaVu Sans"], "axes.unicode_minus": False,
                "text.parse_math": False, "font.size": 9}):
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from",
                                    category=UserWarning)
            with _chart("matrix", 0.6 + 0.28 * len(accounts)) as (fig, ax):
                ys = list(range(len(accounts)))[::-1]
                ax.barh(ys, [a.bci for a in accounts],
                        color=["#c62828" if a.name in lagging else "#1f77b4" for a in accounts])
                ax.scatter([a.previous_bci for a in accounts], ys, marker="|", s=120,
                           color="#222", label=label(r.lang, "previous_bci"), zorder=3)
                ax.set_yticks(ys, [f"{a.rank}. {a.display_name}" for a in accounts])
                ax.set_xlabel("BCI")
                ax.set_title(f"{label(r.lang, 'chart')} — {r.group}")
                ax.legend(loc="lower right", fontsize=8)
                ax.grid(axis="x", alpha=0.3)
                return _svg(fig, "matrix")
    finally:
        font_log.setLevel(level)
