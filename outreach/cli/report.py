"""`outreach report`: the engagement and public-opinion report, in every format."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from outreach.cli import output as out
from outreach.cli import report_formats as rf
from outreach.cli.common import JsonOpt, runtime
from outreach.cli.lazy import commands_app
from outreach.cli.report_matrix import matrix_report
from outreach.errors import InputError
from outreach.i18n import _
from outreach.reports.model import Report
from outreach.reports.periods import PERIODS
from outreach.reports.wording import LANGS
from outreach.text import listing
from outreach.times import parse_day

app = commands_app()

REPORT_FORMATS = ("table", "json", "csv", "md", "html", "xlsx")


def _check_choice(value: str, choices: tuple[str, ...] | list[str], hint: str) -> None:
    if value not in choices:
        raise typer.BadParameter(_("must be one of {values}").format(values=", ".join(choices)),
                                 param_hint=hint)


@app.command()
def report(
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account name or @group; repeat for several (default: every "
        "account).")] = None,
    since: Annotated[str | None, typer.Option(
        help="First day, inclusive (YYYY-MM-DD, today, yesterday); alone, one --period "
        "from it, never past today.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, inclusive.")] = None,
    period: Annotated[str, typer.Option(
        help="Calendar period: day, week or month (default: the last full month).")] = "month",
    lang: Annotated[str, typer.Option(help="Language of the report: zh or en.")] = "zh",
    lifetime: Annotated[bool, typer.Option(
        "--lifetime", help="Engagement as the lifetime totals of the period's posts.")] = False,
    format_: Annotated[str, typer.Option(
        "--format", "-f", help="table, json, csv, md, html or xlsx.")] = "table",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write to this file; csv: a directory (existing, or ending in /) "
        "gets one file per table; xlsx needs FILE.xlsx.")] = None,
    json_: JsonOpt = False,
    matrix: Annotated[str | None, typer.Option(
        "--matrix", help="Rank the accounts of a group (@name) against each other: posts, "
        "engagement, BCI, replies, days without a post; rank change, totals, laggards.")] = None,
) -> None:
    """Engagement and public-opinion report (本月共发博文N篇，被转发M条次，网民评论K条，粉丝增至F人).

    With --matrix @group: the group's accounts ranked against each other."""
    fmt = "json" if json_ else format_
    _check_choice(fmt, REPORT_FORMATS, "--format")
    _check_choice(period, PERIODS, "--period")
    _check_choice(lang, LANGS, "--lang")
    if fmt == "xlsx" and (output is None or not output.lower().endswith(".xlsx")):
        raise typer.BadParameter(_("--format xlsx writes a spreadsheet: give -o FILE.xlsx"),
                                 param_hint="--output")
    output_path = Path(output) if output is not None else None
    if matrix is not None and account:
        raise typer.BadParameter(_("--matrix takes the whole group; leave out --account"),
                                 param_hint="--matrix")
    rt = runtime()
    if matrix is not None:
        zone = rt.settings.zone_of(matrix)
        first = parse_day(since, zone, rt.clock(), what="--since") if since else None
        last = parse_day(until, zone, rt.clock(), what="--until") if until else None
        return matrix_report(rt, matrix, since=first, until=last, period=period, lang=lang,
                             lifetime=lifetime, fmt=fmt, output=output)
    from outreach.reports.build import build_report  # the lexicon and jieba: not for --matrix

    # a name or @group each; NotFound names the configured ones
    names = list(dict.fromkeys(n for spec in account or [] for n in rt.settings.select(spec) or ()))
    # days are read in the account's zone, the config's zone when several accounts apply
    zone = rt.settings.account(names[0]).timezone if len(names) == 1 else rt.settings.timezone
    now = rt.clock()
    first = parse_day(since, zone, now, what="--since") if since else None
    last = parse_day(until, zone, now, what="--until") if until else None
    data = build_report(rt, accounts=names or None, since=first, until=last, period=period,
                        lang=lang, lifetime=lifetime)
    if fmt == "csv" and output is not None and output_path is not None and (
            output.endswith(("/", os.sep)) or output_path.is_dir()):
        if output_path.exists() and not output_path.is_dir():
            raise InputError(_("--output: a file is there, not a directory"),
                             where=str(output_path))
        try:
            written = rf.write_csv_dir(data, output_path)
        except OSError as exc:
            raise InputError(_("cannot write: {reason}").format(reason=exc.strerror),
                             where=str(output_path)) from None
        out.message(_("wrote {n} CSV file(s) to {path}").format(n=len(written), path=output_path))
    elif fmt in ("csv", "xlsx") and output_path is not None:
        write = rf.write_csv_file if fmt == "csv" else rf.write_xlsx
        try:
            write(data, output_path)
        except OSError as exc:
            raise InputError(_("cannot write: {reason}").format(reason=exc.strerror),
                             where=str(output_path)) from None
        out.message(_("wrote {path}").format(path=output_path))
    elif fmt == "table" and output_path is None:
        rf.render_table(data, out.out)
    else:
        _write_text(_render(data, fmt), output_path)
    if data.simulated and fmt != "table":
        out.warn(_("simulated audience (local platform): {accounts}").format(
            accounts=listing(data.simulated_accounts)))


def _render(data: Report, fmt: str) -> str:
    """The report as text: a plain table, JSON, CSV, Markdown or HTML."""
    if fmt == "table":
        sink = io.StringIO()
        rf.render_table(data, Console(file=sink, width=160, color_system=None, highlight=False))
        return sink.getvalue()
    render = {"json": rf.render_json, "csv": rf.render_csv, "md": rf.render_markdown,
              "html": rf.render_html}[fmt]
    return render(data)


def _write_text(text: str, output_path: Path | None) -> None:
    """To standard output (ending with a newline), or to the file."""
    if output_path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    if output_path.is_dir():
        raise InputError("--output: is a directory; give a file name", where=str(output_path))
    try:
        output_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(_("cannot write: {reason}").format(reason=exc.strerror),
                         where=str(output_path)) from None
    out.message(_("wrote {path}").format(path=output_path))
