"""`outreach report --matrix @group`: the accounts of a group ranked against each other, in
every format of the report (table, json, csv, md, html, xlsx)."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from outreach.cli import output as out
from outreach.errors import InputError
from outreach.i18n import _
from outreach.reports.formats import matrix as fmt_matrix
from outreach.reports.formats.matrix import SHOWN_KEYS, TOTAL_KEYS, label, ranking_rows, shown
from outreach.reports.matrix import build_matrix
from outreach.reports.matrix_model import MatrixReport
from outreach.runtime import Runtime
from outreach.text import listing


def matrix_report(rt: Runtime, group: str, *, since: date | None, until: date | None,
                  period: str, lang: str, lifetime: bool, fmt: str, output: str | None) -> None:
    """Build the matrix report and write it in ``fmt`` (to ``output`` when given)."""
    data = build_matrix(rt, group, since=since, until=until, period=period, lang=lang,
                        lifetime=lifetime)
    path = Path(output) if output is not None else None
    try:
        if fmt == "csv" and output is not None and path is not None and (
                output.endswith(("/", os.sep)) or path.is_dir()):
            if path.exists() and not path.is_dir():
                raise InputError("--output: a file is there, not a directory", where=str(path))
            written = fmt_matrix.write_matrix_csv_dir(data, path)
            out.message(_("wrote {n} CSV file(s) to {path}").format(n=len(written), path=path))
        elif fmt in ("csv", "xlsx") and path is not None:
            write = (fmt_matrix.write_matrix_csv_file if fmt == "csv"
                     else fmt_matrix.write_matrix_xlsx)
            write(data, path)
            out.message(_("wrote {path}").format(path=path))
        elif fmt == "table" and path is None:
            render_matrix_table(data, out.out)
        else:
            _write_text(_render(data, fmt), path)
    except OSError as exc:
        raise InputError(_("cannot write: {reason}").format(reason=exc.strerror), where=str(path)) from None
    if data.simulated and fmt != "table":
        out.warn(_("simulated audience (local platform): {accounts}").format(
            accounts=listing(data.simulated_accounts)))


def _render(data: MatrixReport, fmt: str) -> str:
    if fmt == "table":
        sink = io.StringIO()
        render_matrix_table(data, Console(file=sink, width=160, color_system=None,
                                          highlight=False))
        return sink.getvalue()
    if fmt == "json":
        return json.dumps(data.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        from outreach.reports.formats.matrix_html import render_matrix_html  # matplotlib: lazy

        return render_matrix_html(data)
    return {"csv": fmt_matrix.render_matrix_csv, "md": fmt_matrix.render_matrix_markdown}[fmt](data)


def _write_text(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    if path.is_dir():
        raise InputError("--output: is a directory; give a file name", where=str(path))
    path.write_text(text, encoding="utf-8")
    out.message(_("wrote {path}").format(path=path))


def render_matrix_table(r: MatrixReport, console: Console) -> None:
    """The ranking, the totals and the laggards on a terminal."""
    safe = out.safe
    L = lambda k: label(r.lang, k)  # noqa: E731
    if r.department:
        console.print(f"[bold]{safe(r.department)}[/]")
    console.print(f"[bold]{safe(r.title)}[/]")
    console.print(f"{L('period')}: {safe(r.period.label)} · {L('previous')}: "
                  f"{safe(r.previous_period.label)}")
    if r.simulated:
        console.print(f"[bold yellow]{L('simulated_note')}[/] — simulated: true")
    t = RichTable(title=L("ranking"), header_style="bold")
    for k in SHOWN_KEYS:
        t.add_column(L(k), justify="left" if k == "display_name" else "right")
    for row in ranking_rows(r, safe, SHOWN_KEYS):
        t.add_row(*row)
    console.print(t)
    tt = RichTable(title=L("totals"), header_style="bold")
    tt.add_column(L("figure"))
    tt.add_column(L("value"), justify="right")
    for k in TOTAL_KEYS:
        tt.add_row(L(k), shown(r, k, getattr(r.totals, k)))
    console.print(tt)
    console.print(f"[bold]{L('laggards')}[/]")
    for g in r.laggards:
        console.print(f"[yellow]{g.rank}. {safe(g.display_name)}[/]: "
                      + "; ".join(safe(x) for x in g.reasons))
    if not r.laggards:
        console.print(f"- {L('none')}")
    for n in r.notes:
        console.print(f"[dim]- {safe(n)}[/]")
