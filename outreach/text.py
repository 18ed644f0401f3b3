"""Plain-text helpers shared by the terminal and the report formats."""

from __future__ import annotations

from collections.abc import Iterable


def shorten(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def sparkline(values: Iterable[float | int | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    bars = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1
    return "".join(bars[int((v - lo) / span * (len(bars) - 1))] for v in vals)
