"""The report as CSV: the per-account table in one file, or one file per table in a
directory (UTF-8 with a BOM, so spreadsheets read Chinese). Text that a spreadsheet would run
as a formula is defused."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from outreach.reports.formats.tables import report_tables
from outreach.reports.model import Report


def csv_cell(value: object) -> str:
    """A CSV cell: empty for None; text that a spreadsheet would run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """One table as CSV text: the header, then the rows' cells (see ``csv_cell``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


def render_csv(report: Report) -> str:
    """The per-account table (one row per account and a ``(total)`` row)."""
    return csv_text(*report_tables(report)["accounts"])


def write_csv_dir(report: Report, directory: Path) -> list[Path]:
    """One CSV file per table in ``directory`` (UTF-8 with a BOM, so spreadsheets read Chinese)."""
    return write_csv_tables(report_tables(report), directory)


def write_csv_tables(tables: Mapping[str, tuple[Sequence[str], Iterable[Sequence[object]]]],
                     directory: Path, *, prefix: str = "") -> list[Path]:
    """``directory/<prefix><key>.csv`` for each table (UTF-8 with a BOM)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (columns, rows) in tables.items():
        path = directory / f"{prefix}{key}.csv"
        path.write_text(csv_text(columns, rows), encoding="utf-8-sig", newline="")
        written.append(path)
    return written


def write_csv_file(report: Report, path: Path) -> None:
    """The per-account table in one file (UTF-8 with a BOM)."""
    path.write_text(render_csv(report), encoding="utf-8-sig", newline="")
