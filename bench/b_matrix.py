"""The matrix report and a group's queue at province scale: N accounts (default 1000) of
the department dataset (``datasets.department``: 6 posts a day each, their snapshots and
comments; 40 days, so the last full month and the one before are both there), grouped as a
province of 10 cities. Measured: ``build_matrix`` for the last full month in-process (the
engagement of this month and the last, replies, posting days), the same as a user runs it
(``report --matrix @province --json``, a subprocess), and the first page of ``queue list
--account @province``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench import datasets
from bench.b_cli import run_cli
from bench.harness import Context, Result, median

CITIES = 10


def grouped_config(ws: datasets.Workspace) -> Path:
    """The department's config with ``[groups]`` (province → cities), beside its database."""
    names = ws.account_names()
    per = max(1, len(names) // CITIES)
    cities = {f"city{c}": names[c * per:(c + 1) * per if c < CITIES - 1 else len(names)]
              for c in range(min(CITIES, len(names)))}
    groups = ["[groups]", "province = " + json.dumps([f"@{c}" for c in cities if cities[c]])]
    groups += [f"{c} = {json.dumps(m)}" for c, m in cities.items() if m]
    path = ws.root / "matrix-config.toml"
    path.write_text(ws.config.read_text("utf-8") + "\n" + "\n".join(groups) + "\n", "utf-8")
    return path


def matrix_in_process(ctx: Context, config: Path) -> tuple[list[float], int, int]:
    """``build_matrix`` of ``@province`` for last month, ``ctx.reps`` times on a fresh
    runtime each: the seconds of each run, the accounts ranked and the laggards."""
    from outreach.config.load import load_settings
    from outreach.reports.matrix import build_matrix
    from outreach.runtime import Runtime

    inproc: list[float] = []
    ranked = laggards = 0
    for _ in range(ctx.reps):
        rt = Runtime(load_settings(config))
        try:
            t = time.perf_counter()
            m = build_matrix(rt, "@province", since=None, until=None, period="month")
            inproc.append(time.perf_counter() - t)
            ranked, laggards = len(m.accounts), len(m.laggards)
        finally:
            rt.close()
    return inproc, ranked, laggards


def bench_matrix(ctx: Context) -> list[Result]:
    n = int(getattr(ctx.params, "matrix_accounts", 1000))
    shape = datasets.Shape(accounts=n, days=40, tips=150, queued_per_account=1)
    ws, seconds = datasets.department(ctx.cache, shape)
    ctx.builds[f"matrix department {n}×40×6"] = round(seconds, 1)
    config = grouped_config(ws)
    inproc, ranked, laggards = matrix_in_process(ctx, config)
    args = ["--config", str(config), "report", "--matrix", "@province", "--json"]
    cli = [run_cli(args) for _ in range(ctx.reps)]
    page = ["--config", str(config), "queue", "list", "--account", "@province", "--limit", "50"]
    run_cli(page)
    pages = [run_cli(page) for _ in range(max(ctx.reps, 3))]
    w, p = median([c[0] for c in cli]), median([x[0] for x in pages])
    return [
        Result("matrix.report", f"report --matrix @province, last month ({n} accounts)", w, "s",
               "≤ 3 s", ok=w <= 3.0 and ranked == n, reference="build_matrix in-process",
               reference_value=median(inproc), ratio=w / median(inproc), ratio_label=" × in-proc",
               samples=[c[0] for c in cli],
               details={"cpu_s": [c[1] for c in cli], "in_process_s": inproc,
                        "accounts": ranked, "laggards": laggards},
               note=f"CPU {median([c[1] for c in cli]):.2f} s; {ranked} ranked, "
                    f"{laggards} laggards"),
        Result("matrix.queue_list", f"queue list --account @province --limit 50 ({n} accounts)",
               p, "s", "≤ 0.6 s", ok=p <= 0.6, samples=[x[0] for x in pages],
               details={"cpu_s": [x[1] for x in pages]},
               note=f"CPU {median([x[1] for x in pages]):.2f} s"),
    ]
