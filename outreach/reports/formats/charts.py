"""The HTML report's charts: inline SVG drawn by matplotlib, text kept as text (so Chinese
labels render with the reader's CJK font), ids prefixed so several charts share one page."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from outreach.reports.formats.common import CJK_FONTS, WEEKDAYS, View


def _svg(fig: Figure, salt: str) -> str:
    """A matplotlib figure as inline SVG: text stays text; no XML prolog, no namespace URLs,
    ids prefixed so that several charts can share one page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight",
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"',
                 r'<svg\1 role="img" class="chart"', svg, count=1)
    ids = set(re.findall(r'\sid="([^"]+)"', svg))

    def prefix(m: re.Match[str]) -> str:
        return f"{m[1]}{salt}-{m[2]}" if m[2] in ids else m[0]

    return re.sub(r'(\sid="|href="#|url\(#)([^")]+)', prefix, svg)


@contextmanager
def _chart(salt: str, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A figure 8 inches wide with one set of axes; ``svg.hashsalt`` keeps its ids apart."""
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig = Figure(figsize=(8, height))
        FigureCanvasAgg(fig)
        yield fig, fig.add_subplot()


def charts(v: View) -> dict[str, str]:
    """The follower trend, the posting-times heatmap, the categories and the public's concerns,
    as SVG (a chart with nothing to show is left out)."""
    out: dict[str, str] = {}
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)  # "findfont: … not found" for CJK fonts the host lacks
    try:
        with warnings.catch_warnings(), matplotlib.rc_context({
                "svg.fonttype": "none", "font.family": "sans-serif",
                "font.sans-serif": [*CJK_FONTS, "DejaVu Sans"], "axes.unicode_minus": False,
                "text.parse_math": False, "font.size": 9}):
            # the host may lack CJK glyphs; text stays text in the SVG, so the reader's fonts draw it
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from", category=UserWarning)
            out["followers"] = _chart_followers(v)
            out["heatmap"] = _chart_heatmap(v)
            out["categories"] = _chart_categories(v)
            out["concerns"] = _chart_concerns(v)
    finally:
        font_log.setLevel(level)
    return {k: svg for k, svg in out.items() if svg}


def _chart_followers(v: View) -> str:
    points = v.r.followers
    names = [a.name for a in v.r.accounts]
    if not points or all(pt.accounts.get(n) is None for pt in points for n in names):
        return ""
    with _chart("followers", 3) as (fig, ax):
        days = [date.fromisoformat(pt.date) for pt in points]
        for n in names:
            ys = [pt.accounts.get(n) for pt in points]
            xs = [d for d, y in zip(days, ys, strict=True) if y is not None]
            if xs:
                ax.plot(xs, [y for y in ys if y is not None],  # type: ignore[arg-type]
                        marker="o" if len(xs) < 40 else None, markersize=3, label=v.who(n))
        if len(days) > 1:
            ax.set_xlim(days[0], days[-1])  # type: ignore[arg-type]
        ax.set_title(v.label("followers"))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        return _svg(fig, "followers")


def _chart_heatmap(v: View) -> str:
    if not v.r.hours:
        return ""
    per_post = v.hour_grid()
    cnt = [[0] * 24 for _ in range(7)]
    for c in v.r.hours:
        cnt[c.weekday][c.hour] += c.posts
    grid = [[per_post.get(d, {}).get(h, float("nan")) for h in range(24)] for d in range(7)]
    with _chart("heatmap", 3) as (fig, ax):
        im = ax.imshow(grid, aspect="auto", cmap="YlOrRd", interpolation="nearest")
        ax.set_yticks(range(7), list(WEEKDAYS[v.r.lang]))
        ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        ax.set_xlabel(v.label("hour"))
        ax.set_title(v.label("hours_grid"))
        for d in range(7):
            for h in range(24):
                if cnt[d][h]:
                    ax.text(h, d, str(cnt[d][h]), ha="center", va="center", fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.03)
        return _svg(fig, "heatmap")


def _chart_categories(v: View) -> str:
    cats = v.r.categories
    if not cats:
        return ""
    with _chart("categories", 0.5 + 0.35 * len(cats)) as (fig, ax):
        labels = [c.name for c in cats][::-1]
        left = [0.0] * len(cats)
        for key in ("reposts", "comments", "likes"):
            vals = [float(getattr(c, key) or 0) for c in cats][::-1]
            ax.barh(labels, vals, left=left, label=v.label(key))
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.set_title(f"{v.label('categories')} — {v.label('engagement')}")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "categories")


def _chart_concerns(v: View) -> str:
    """The top words of the public's comments, this period beside the previous one."""
    words = v.r.opinions.analysis.keywords
    if not words:
        return ""
    with _chart("concerns", 0.6 + 0.3 * len(words)) as (fig, ax):
        labels = [k.word for k in words][::-1]
        ys = list(range(len(words)))
        ax.barh([y + 0.2 for y in ys], [k.count for k in words][::-1], height=0.4,
                label=v.label("count"))
        ax.barh([y - 0.2 for y in ys], [k.previous for k in words][::-1], height=0.4,
                label=v.label("last_period"))
        ax.set_yticks(ys, labels)
        ax.set_title(v.label("concerns"))
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "concerns")
