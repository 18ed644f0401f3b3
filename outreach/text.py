"""Plain-text helpers shared by the terminal and the report formats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

LISTED = 10  # names spelled out in one line before the rest are counted


def shorten(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def listing(names: Sequence[str], shown: int = LISTED) -> str:
    """Names for one line of text: all of a few, or the first ``shown`` and how many more
    (``a, b, c … (+990)``), so a province's thousand accounts do not fill a screen."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} … (+{len(names) - shown})"


def sparkline(values: Iterable[float | int | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    bars = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1
    return "".join(bars[int((v - lo) / span * (len(bars) - 1))] for v in vals)
