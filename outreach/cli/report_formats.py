"""The report's formats as ``outreach report`` uses them: the terminal's Rich tables are
drawn here; the other formats come from ``outreach.reports.formats``. HTML and xlsx are
imported when asked for: matplotlib and openpyxl take a second or more to load, which a
``report --json`` should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outreach.cli.output import safe
from outreach.reports.formats import (
    render_csv,
    render_json,
    render_markdown,
    write_csv_dir,
    write_csv_file,
)
from outreach.reports.formats.common import (
    CATEGORY_KEYS,
    CLASS_KEYS,
    COMPLIANCE_KEYS,
    CONCERN_KEYS,
    EXAMPLE_KEYS,
    PLACE_KEYS,
    RATE_KEYS,
    TOP_POST_KEYS,
    WEEKDAYS,
    View,
    num,
)
from outreach.reports.model import Report
from outreach.text import shorten

__all__ = ["render_csv", "render_html", "render_json", "render_markdown", "render_table",
           "write_csv_dir", "write_csv_file", "write_xlsx"]

_NUMERIC = frozenset({"reposts", "comments", "likes", "posts"})


def _table(v: View, keys: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None,
           left: Sequence[str] = ("account",)) -> Table:
    """A table with the labels of ``keys`` as headers: text columns left, figures right."""
    t = Table(title=title, header_style="bold")
    for key in keys:
        t.add_column(v.label(key), justify="left" if key in left else "right")
    for row in rows:
        t.add_row(*row)
    return t


def render_table(report: Report, console: Console) -> None:
    """The report as Rich tables on ``console``, section by section."""
    v = View(report)
    r = v.r
    L = v.label
    if r.department:
        console.print(f"[bold]{safe(r.department)}[/]")
    console.print(f"[bold]{safe(r.title)}[/]")
    console.print(f"{L('period')}: {v.period_text()}")
    if r.simulated:
        console.print(f"[bold yellow]{L('simulated')}[/] ({safe(v.simulated_names())})"
                      " — simulated: true")
    if r.lifetime:
        console.print(f"[cyan]{L('lifetime')}[/]")
    console.print(f"[bold]{safe(r.headline.zh)}[/]")
    console.print(safe(r.headline.en))

    # 一、总体
    console.print(f"\n[bold]{v.section('overview')}[/]")
    t = Table(title=v.table_title("accounts"), header_style="bold")
    for i, name in enumerate(v.overview_header()):
        t.add_column(name, justify="left" if i < 2 else "right")
    for row in v.overview_rows(safe):
        t.add_row(*row)
    t.add_row(*v.overview_total(f"[bold]{L('total')}[/]"), style="bold")
    console.print(t)
    console.print(f"[bold]{L('comment_counts')}[/]")
    for f in r.comment_counts.definitions:
        console.print(f"- {safe(f.label)}: [bold]{num(f.value, v.na)}[/] "
                      f"— {L('definition')}: {safe(f.definition)}")
    if r.unconfigured_accounts:
        console.print(f"[dim]{L('unconfigured')}: {safe(v.unconfigured_text())}[/]")

    # 二、传播与互动
    console.print(f"\n[bold]{v.section('interaction')}[/]")
    console.print(_table(v, ("account", *RATE_KEYS), v.rate_rows(safe), title=L("rates")))
    console.print(_table(v, ("figure", "this_period", "prev_period", "change"),
                         v.comparison_rows(), left=("figure",),
                         title=f"{L('previous')} ({safe(r.previous.period.label)})"))
    ft = _table(v, ("account", "followers_start", "followers_end"), [], title=L("followers"))
    ft.add_column(L("followers"))
    for row in v.follower_rows(safe):
        ft.add_row(*row)
    console.print(ft)

    # 三、回应情况与民意分类
    console.print()
    _print_opinions(v, console)

    # 四、内容分析
    console.print(f"\n[bold]{v.section('content')}[/]")
    if r.categories:
        console.print(_table(v, ("category", *CATEGORY_KEYS), v.category_rows(safe),
                             title=L("categories"), left=("category",)))
    if r.top_posts:
        tp = Table(title=L("top_posts"), header_style="bold")
        for key in TOP_POST_KEYS:
            tp.add_column(L(key), overflow="fold" if key == "text" else "ellipsis",
                          justify="right" if key in _NUMERIC else "left")
        for row in v.top_post_rows(safe, 48):
            tp.add_row(*row)
        console.print(tp)
    grid = v.hour_grid()
    if grid:
        hours = sorted({h for row in grid.values() for h in row})
        ht = Table(title=L("hours_grid"), header_style="bold")
        ht.add_column(L("weekday"))
        for h in hours:
            ht.add_column(f"{h:02d}", justify="right")
        for d, name in enumerate(WEEKDAYS[r.lang]):
            cells = grid.get(d, {})
            ht.add_row(name, *[f"{cells[h]:.1f}" if h in cells else "" for h in hours])
        console.print(ht)
    console.print(_table(v, ("account", "best_times"), v.best_rows(safe), title=L("times"),
                         left=("account", "best_times")))

    # 五、合规检查
    console.print()
    _print_compliance(v, console)
    # 六、备注
    console.print(f"\n[bold]{v.section('notes')}[/]")
    for n in r.notes:
        console.print(f"- {safe(n)}")
    if not r.notes:
        console.print(f"- {L('none')}")


def _print_opinions(v: View, console: Console) -> None:
    o = v.r.opinions
    console.print(f"[bold]{v.section('opinions')}[/]\n"
                  + ", ".join(f"{name} {figure}" for name, figure in v.opinion_figures()))
    if o.by_class:
        keys = ("class", *CLASS_KEYS[:7], "handled", "handled_in_time")
        console.print(_table(v, keys, v.class_rows(safe, keys[1:]), left=("class",)))
    for e in o.emergency_items:
        console.print(f"[bold red]{v.label('emergencies')}[/] {v.local(e.created_at)} "
                      f"{safe(v.who(e.account))}: {safe(shorten(e.text or '', 70))}")
    a = o.analysis
    if a.keywords:
        console.print(_table(v, CONCERN_KEYS, v.concern_rows(safe), title=v.label("concerns"),
                             left=("class", "word")))
    if a.places:
        console.print(_table(v, PLACE_KEYS, v.place_rows(safe), title=v.label("places"),
                             left=("place",)))
    if a.examples:
        console.print(_table(v, EXAMPLE_KEYS, v.example_rows(safe, 70), title=v.label("examples"),
                             left=EXAMPLE_KEYS))


def _print_compliance(v: View, console: Console) -> None:
    cp = v.r.compliance
    console.print(f"[bold]{v.section('compliance')}[/]")
    rows = []
    for c in cp.accounts:
        gap = f"{c.longest_gap_days:.2f}"
        rows.append([safe(c.display_name), f"[bold red]{gap}[/]" if c.warning else gap,
                     *[str(getattr(c, k)) for k in COMPLIANCE_KEYS[1:]]])
    console.print(_table(v, ("account", *COMPLIANCE_KEYS), rows))
    for w in cp.warnings:
        console.print(f"[yellow]{v.label('warning')}:[/] {safe(w)}")


def render_html(report: Report) -> str:
    from outreach.reports.formats.as_html import render_html as render  # matplotlib: lazy

    return render(report)


def write_xlsx(report: Report, path: Path) -> None:
    from outreach.reports.formats.as_xlsx import write_xlsx as write  # openpyxl: lazy

    write(report, path)
