"""Renderers of a report (``outreach.reports.build.build_report``), one module per format.

``as_json``, ``as_csv`` (with ``tables``: every table as plain rows), ``as_markdown``,
``as_html`` (with ``charts``: matplotlib SVG) and ``as_xlsx`` (openpyxl); ``common`` holds what
they share. They only read the ``Report``; the terminal's Rich tables are the CLI's
(``outreach.cli.report_formats``). This package imports the light formats only: HTML and
xlsx load matplotlib and openpyxl, so they are imported from their modules.
"""

from outreach.reports.formats.as_csv import csv_cell, render_csv, write_csv_dir, write_csv_file
from outreach.reports.formats.as_json import render_json
from outreach.reports.formats.as_markdown import md_escape, render_markdown
from outreach.reports.formats.tables import report_tables

__all__ = ["csv_cell", "md_escape", "render_csv", "render_json", "render_markdown",
           "report_tables", "write_csv_dir", "write_csv_file"]
