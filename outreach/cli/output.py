"""Terminal and JSON output: the only place besides cli.py that knows about consoles.

JSON goes to stdout, messages to stderr. Text that came from the public is
stripped of control characters and ANSI sequences before it reaches a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from outreach.i18n import N_, _

_CONTROL_RE = re.compile(
    r"\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)"  # OSC, DCS, SOS, PM, APC: with their payload
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)"  # the same, 8-bit introducers
    r"|\x1b\[[0-9;?]*[ -/]*[@-~]|\x9b[0-9;?]*[ -/]*[@-~]"  # CSI (7- and 8-bit)
    r"|\x1b[@-Z\\-_]"  # other escapes
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 and C1 controls
    r"|[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]",  # bidi controls (Trojan Source)
    re.S)


def _width() -> int | None:
    if sys.stdout.isatty():
        return None
    try:
        return max(int(os.environ.get("COLUMNS", "140")), 60)
    except ValueError:
        return 140


out = Console(width=_width(), highlight=False, soft_wrap=True)  # lines stay greppable
err = Console(stderr=True, width=_width(), highlight=False, soft_wrap=True)


def safe(text: str | None) -> str:
    """Untrusted text for a terminal: no escape sequences, no control characters, no markup."""
    if text is None:
        return ""
    return escape(_CONTROL_RE.sub("", text))


def plain(text: str | None) -> str:
    """Untrusted text for a styled ``Text`` (no markup is parsed there): controls stripped."""
    return _CONTROL_RE.sub("", text) if text else ""


def markup(text: str) -> Text:
    """Our own styling, asked for explicitly (``markup("[red]failed[/]")``): the only way a
    cell of a :class:`PlainTable` is styled by markup. Interpolate untrusted text with
    ``safe`` — or better, build a ``Text`` from plain parts."""
    return Text.from_markup(text)


class PlainTable(Table):
    """A Rich table whose string cells are text, never markup.

    A cell holds a reason, a file name, a tip title or a platform's answer often enough that
    markup-by-default is a crash (``[/]`` has nothing to close) or a forgery waiting to
    happen; here strings are shown as written (control characters stripped), and styling is
    a ``Text`` (see :func:`markup`) or the row's ``style``.
    """

    def add_row(self, *renderables: Any, style: Any = None, end_section: bool = False) -> None:
        cells = [Text(plain(c)) if isinstance(c, str) else c for c in renderables]
        super().add_row(*cells, style=style, end_section=end_section)


def grid(header: Sequence[str], rows: Iterable[Sequence[str]], *,
         styles: Mapping[int, Callable[[str], str]] | None = None,
         shrink: Sequence[int] = ()) -> None:
    """A table of plain cells laid out by hand: aligned by display width (CJK counts two),
    a bold header over a rule, columns in ``shrink`` cut with "…" to fit the terminal.

    For long listings: a rich ``Table`` measures every cell several times (about 1 ms a
    row); this is one pass. Cells must already be plain text (see ``plain``).
    """
    cells = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(cell_len(c[i]) for c in cells) for i in range(len(header))]
    over = sum(widths) + 2 * (len(widths) - 1) - (out.width or 140)
    for i in shrink:  # give back width from the flexible columns, in order
        if over <= 0:
            break
        give = min(over, max(widths[i] - max(cell_len(header[i]), 8), 0))
        widths[i] -= give
        over -= give
    text = Text()
    for n, row in enumerate(cells):
        for i, cell in enumerate(row):
            size = cell_len(cell)
            if size > widths[i]:
                cell = set_cell_size(cell, widths[i] - 1).rstrip() + "…"
                size = cell_len(cell)
            last = i == len(row) - 1
            pad = "" if last else " " * (widths[i] - size + 2)
            style = "bold" if n == 0 else (styles[i](cell) if styles and i in styles else "")
            text.append(cell, style=style)
            text.append(pad)
        if n == 0:
            text.append("\n" + "─" * (sum(widths) + 2 * (len(widths) - 1)), style="dim")
        if n < len(cells) - 1:
            text.append("\n")
    out.print(text, crop=False, soft_wrap=True)  # the last line ends with a newline too


def iso(value: datetime | None) -> str | None:
    """JSON timestamps: ISO 8601 with offset, in UTC."""
    return value.isoformat() if value is not None else None


def local(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def ago(seconds: float) -> str:
    """How long ago, as people say it: seconds as measured under a minute ("12.5 s ago"),
    then whole minutes, hours, days ("3 min ago"; in Chinese "3 分钟前")."""
    seconds = max(seconds, 0)
    if seconds < 60:
        return _("{n} s ago").format(n=seconds)
    for size, msgid in ((86_400, N_("{n} d ago")), (3_600, N_("{n} h ago")),
                        (60, N_("{n} min ago"))):
        if seconds >= size:
            return _(msgid).format(n=int(seconds // size))
    raise AssertionError("unreachable")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=_default) + "\n")


# The three message helpers take plain text, never markup: what they say names files,
# accounts, reasons and remote answers, any of which may hold "[/]" or an escape sequence.


def styled(text: str, style: str) -> str:
    """Markup showing plain ``text`` in ``style`` (a word of ours, or anything untrusted)."""
    return f"[{style}]{safe(text)}[/]"


def message(text: str) -> None:
    err.print(safe(text))


def warn(text: str) -> None:
    label = _("warning:")
    err.print(f"{styled(label, 'yellow')} {safe(text)}")


def error(text: str) -> None:
    label = _("error:")
    err.print(f"{styled(label, 'bold red')} {safe(text)}", soft_wrap=True)


def emit(data: Any, json_: bool, render: Callable[[], None]) -> None:
    """A listing's ``data`` as JSON on standard output with ``--json``, else ``render()``."""
    if json_:
        print_json(data)
    else:
        render()
