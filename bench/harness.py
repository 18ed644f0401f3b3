"""What every benchmark shares: results, repeated timing, process sampling, the table.

A benchmark is a function ``(ctx) -> list[Result]``. A result carries the median of its
samples, the target, the reference measured in the same run and their ratio, and whether
the target was met. In ``--quick`` mode a target on time is not judged (the sizes are
too small to mean anything); targets on counts (requests, rows) still are.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Result:
    """One line of the table."""

    key: str  # stable id, e.g. "mastodon.sweep"
    name: str  # what is measured, in words
    value: float | None  # the median (or the single figure)
    unit: str  # "s", "req", "calls", "%", "MB", "rows", ...
    target: str = ""  # the target, in words ("≤ 1.5 × ref")
    ok: bool | None = None  # None: not judged (informational, or --quick on a time target)
    timed: bool = True  # the verdict depends on time (not judged in --quick)
    reference: str = ""  # what the ratio is against, in words
    reference_value: float | None = None
    ratio: float | None = None  # value / reference (or reference / value for "× faster")
    ratio_label: str = ""  # how to read the ratio, e.g. "× ref" or "× faster"
    samples: list[float] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    shown: str = ""  # how to print the value, when a number says it badly

    def judged(self, quick: bool) -> bool | None:
        if quick and self.timed:
            return None
        return self.ok


@dataclass
class Skipped:
    key: str
    reason: str


@dataclass
class Context:
    """What a benchmark gets: sizes, where to cache data, the peer, a progress printer."""

    params: Any  # bench.run.Params
    cache: Path
    work: Path  # a temp dir for this run
    quick: bool
    log: Callable[[str], None]
    peer_url: str | None = None
    peer_python: str | None = None
    builds: dict[str, float] = field(default_factory=dict)  # dataset -> build seconds (0: cached)

    @property
    def reps(self) -> int:
        return int(self.params.reps)


# --- measuring -----------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else math.nan


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    box: list[float] = []
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - t0)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat fields 14 and 15."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) from /proc/PID/status, in MB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def dir_size_mb(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 1_000_000


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "executable": sys.executable}


# --- printing --------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit in ("req", "calls", "rows", "posts"):
        return f"{value:.0f} {unit}"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "":
        return f"{value:.3f}"
    return f"{value:.3g} {unit}"


def verdict(r: Result, quick: bool) -> str:
    v = r.judged(quick)
    if v is None:
        return "ran" if (quick and r.timed and r.ok is not None) else "info"
    return "PASS" if v else "FAIL"


def render_table(results: list[Result], skipped: list[Skipped], quick: bool,
                 builds: dict[str, float], total: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(140, Console().width))
    if builds:
        parts = [f"{k} {'cached' if v == 0 else f'{v:.1f} s'}" for k, v in builds.items()]
        console.print("data: " + ", ".join(parts))
    mode = "quick (time targets not judged)" if quick else "full"
    table = Table(title=f"outreach benchmarks — {mode}", header_style="bold", show_lines=False)
    for col, justify in (("benchmark", "left"), ("median", "right"), ("target", "left"),
                         ("reference", "left"), ("ratio", "right"), ("result", "center")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in results:
        ref = r.reference
        if r.reference_value is not None:
            ref = f"{r.reference}: {fmt(r.reference_value, r.unit)}"
        ratio = f"{r.ratio:.2f}{r.ratio_label}" if r.ratio is not None else "-"
        v = verdict(r, quick)
        style = {"PASS": "green", "FAIL": "bold red", "ran": "cyan"}.get(v, "dim")
        table.add_row(r.name, r.shown or fmt(r.value, r.unit), r.target, ref, ratio, f"[{style}]{v}[/]")
    for s in skipped:
        table.add_row(s.key, "-", "-", "-", "-", "[yellow]SKIP[/]")
    console.print(table)
    for s in skipped:
        console.print(f"[yellow]skipped {s.key}:[/] {s.reason}")
    notes = [r for r in results if r.note]
    for r in notes:
        console.print(f"[dim]{r.name}:[/] {r.note}")
    failed = [r.name for r in results if r.judged(quick) is False]
    console.print(f"{len(results)} results, {len(failed)} failed, {len(skipped)} skipped "
                  f"in {total:.0f} s" + (f": {', '.join(failed)}" if failed else ""))


def as_json(results: list[Result], skipped: list[Skipped], quick: bool, builds: dict[str, float],
            total: float, extra: dict[str, Any]) -> str:
    rows = []
    for r in results:
        d = asdict(r)
        d["result"] = verdict(r, quick)
        d["ok"] = r.judged(quick)
        rows.append(d)
    doc = {
        "mode": "quick" if quick else "full",
        "machine": machine(),
        "builds_seconds": builds,
        "total_seconds": round(total, 1),
        "results": rows,
        "skipped": [asdict(s) for s in skipped],
        "passed": all(r.judged(quick) is not False for r in results),
        **extra,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str)
