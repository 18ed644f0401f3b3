"""Benchmarks 5 and 6: ``outreach plan --days 30`` and the CLI's start-up, as a user runs them.

Every figure is the wall time of a subprocess running the installed ``outreach`` command
(the CPU it used is in the details: on a shared 2-core box the wall time also carries
whatever else runs). ``plan`` is also timed in-process (a fresh ``Runtime`` and
``outreach.schedule.plan.plan_rows``), to separate start-up from the work.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import datasets
from bench.harness import Context, Result, median
from outreach.schedule.plan import plan_rows


def outreach_command() -> list[str]:
    script = Path(sys.executable).parent / "outreach"
    return [str(script)] if script.exists() else [sys.executable, "-m", "outreach"]


def run_cli(args: list[str], *, python_flags: list[str] | None = None,
            check: bool = True) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds, the completed process) of one ``outreach`` run."""
    cmd = ([sys.executable, *python_flags, "-m", "outreach"] if python_flags else outreach_command())
    env = {k: v for k, v in os.environ.items() if k != "OUTREACH_CONFIG"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and done.returncode != 0:
        raise RuntimeError(f"outreach {' '.join(args)} exited {done.returncode}: "
                           f"{done.stderr.strip()[-400:]}")
    return wall, cpu, done


def bench_planner(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    days = int(ctx.params.plan_days)
    args = ["--config", str(ws.config), "plan", "--days", str(days), "--json"]
    run_cli(args)  # warm the OS cache
    walls: list[float] = []
    cpus: list[float] = []
    rows: list[Any] = []
    for _ in range(ctx.reps):
        wall, cpu, done = run_cli(args)
        walls.append(wall)
        cpus.append(cpu)
        rows = json.loads(done.stdout)
    inproc: list[float] = []
    for _ in range(ctx.reps):
        t = time.perf_counter()
        rt = datasets.runtime(ws)
        try:
            plan_rows(rt, days=days)
        finally:
            rt.close()
        inproc.append(time.perf_counter() - t)
    shape = ws.shape
    # slots the plan draws (rows not yet in the database); how many depends on the time of
    # day (a slot inside catch_up_minutes still counts), so every one of them must be drawn
    slots = [r for r in rows if r.get("post_id") is None]
    planned = sum(1 for r in slots if r.get("status") in ("planned", "paused"))
    about = shape.accounts * 3 * days
    w = median(walls)
    return [Result(
        "planner.plan", f"plan --days {days}: {shape.accounts} accounts × 3 slots, {shape.tips} tips",
        w, "s", "≤ 2 s",
        ok=w <= 2.0 and planned == len(slots) and abs(len(slots) - about) <= shape.accounts * 3,
        reference="in-process plan_rows", reference_value=median(inproc), ratio=w / median(inproc),
        ratio_label=" × in-proc", samples=walls,
        details={"cpu_s": cpus, "in_process_s": inproc, "rows": len(rows), "planned": planned,
                 "slots": len(slots), "about": about},
        note=f"CPU {median(cpus):.2f} s; {planned} of {len(slots)} slots drawn (≈{about})")]


def bench_cli(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    reps = max(ctx.reps, 5)
    run_cli(["--help"])
    helps = [run_cli(["--help"]) for _ in range(reps)]
    args = ["--config", str(ws.config), "queue", "list", "--status", "queued"]
    run_cli(args)
    lists = [run_cli(args) for _ in range(reps)]
    # no migration work when the schema is current: Alembic is never even imported
    _, _, traced = run_cli(args, python_flags=["-X", "importtime"])
    migrated = "alembic" in traced.stderr
    shown = lists[-1][2].stdout + lists[-1][2].stderr
    posts = ws.shape.posts
    h = median([x[0] for x in helps])
    q = median([x[0] for x in lists])
    return [
        Result("cli.help", "outreach --help", h, "s", "≤ 0.3 s", ok=h <= 0.3,
               samples=[x[0] for x in helps], details={"cpu_s": [x[1] for x in helps]},
               note=f"CPU {median([x[1] for x in helps]):.2f} s"),
        Result("cli.queue_list", f"queue list --status queued ({posts // 1000}k posts)", q, "s",
               "≤ 0.6 s, no migration", ok=q <= 0.6 and not migrated,
               samples=[x[0] for x in lists],
               details={"cpu_s": [x[1] for x in lists], "alembic_imported": migrated,
                        "queued_rows": ws.shape.accounts * ws.shape.queued_per_account,
                        "printed_count": "post(s)" in shown},
               note=f"CPU {median([x[1] for x in lists]):.2f} s; "
                    + ("Alembic was imported (migration work)" if migrated
                       else "schema current: Alembic never imported")),
    ]
