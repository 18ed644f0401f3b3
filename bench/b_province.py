"""The read side at province scale, on one database: ``bench/province.py``'s 1000 accounts
with a year of history, grouped as a province of ten cities.

Measured on a private copy of the cached province (the console signs in, the fan-out
queues and cancels: both write), each as a user meets it:

- ``report --matrix @province --json`` for the last full month (a subprocess), beside
  ``build_matrix`` in-process;
- ``queue list --account @province --limit 50`` (a subprocess: start-up, the config with its
  thousand accounts and groups, the first page);
- the console dashboard (the in-process app, signed in as an officer, as ``b_web``);
- ``queue add --account @province --tip … --stagger 1m`` (a subprocess: every account's
  rendering checked, one batch queued), the batch cancelled after each run.

The run side (``plan``, the daemon at rest, three daemons publishing) is measured by
``bench.b_scale.bench_province_run`` on the same copy when that module is present.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import province as pv
from bench.b_cli import run_cli
from bench.harness import Context, Result, median

FANOUT_TIP = "service-police-day-zh"  # uses {{ city }} and {{ hotline.police }}
PASSWORD = "bench password 1"


def working_copy(prov: pv.Province, dest: Path, pg_url: str | None) -> tuple[Path, str]:
    """(config, database URL) of a private copy of the province (the cache stays untouched)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(prov.root / "content", dest / "content")
    if prov.dialect == "postgresql":
        assert pg_url is not None
        source = prov.db_url.rsplit("/", 1)[1]
        url = pv.pg_copy(pg_url, source, _work_name(prov))
    else:
        for name in ("outreach.db", "outreach.db-wal", "outreach.db-shm"):
            if (prov.root / name).exists():
                shutil.copy2(prov.root / name, dest / name)
        url = f"sqlite:///{dest / 'outreach.db'}"
    config = pv.write_config(dest, [f"dept{i:02d}" for i in range(prov.shape.accounts)],
                             url if prov.dialect == "postgresql" else "sqlite:///outreach.db")
    return config, url


def drop_copy(prov: pv.Province, pg_url: str | None) -> None:
    if prov.dialect == "postgresql" and pg_url:
        pv.pg_drop(pg_url, _work_name(prov))


def _work_name(prov: pv.Province) -> str:
    return f"{prov.db_url.rsplit('/', 1)[1]}_w{os.getpid()}"


def bench_province_reads(ctx: Context, prov: pv.Province, config: Path) -> list[Result]:
    db = prov.dialect
    n = prov.shape.accounts
    posts = f"{prov.counts.get('posts', 0) / 1e6:.1f} M posts" if prov.counts.get("posts", 0) >= 1e5 \
        else f"{prov.counts.get('posts', 0)} posts"
    scale = f"{n} accounts, {posts}, {db}"
    out: list[Result] = []
    for fn in (_matrix, _queue_page, _dashboard, _fanout):
        out.extend(fn(ctx, config, scale, db))
    return out


def _matrix(ctx: Context, config: Path, scale: str, db: str) -> list[Result]:
    from bench.b_matrix import matrix_in_process

    inproc, ranked, laggards = matrix_in_process(ctx, config)
    args = ["--config", str(config), "report", "--matrix", "@province", "--json"]
    cli = [run_cli(args) for _ in range(ctx.reps)]
    w, ref = median([c[0] for c in cli]), median(inproc)
    return [Result(
        f"province.{db}.matrix", f"report --matrix @province, last month ({scale})", w, "s",
        "≤ 3 s", ok=w <= 3.0 and ranked > 0, reference="build_matrix in-process",
        reference_value=ref, ratio=w / ref if ref else None, ratio_label=" × in-proc",
        samples=[c[0] for c in cli],
        details={"cpu_s": [c[1] for c in cli], "in_process_s": inproc, "accounts": ranked,
                 "laggards": laggards},
        note=f"CPU {median([c[1] for c in cli]):.2f} s; {ranked} ranked, {laggards} laggards")]


def _queue_page(ctx: Context, config: Path, scale: str, db: str) -> list[Result]:
    args = ["--config", str(config), "queue", "list", "--account", "@province", "--limit", "50",
            "--json"]
    run_cli(args)  # warm the OS cache
    runs = [run_cli(args) for _ in range(max(ctx.reps, 3))]
    rows = len(json.loads(runs[-1][2].stdout))
    p = median([r[0] for r in runs])
    return [Result(
        f"province.{db}.queue_list", f"queue list --account @province --limit 50 ({scale})", p,
        "s", "≤ 0.6 s", ok=p <= 0.6 and rows > 0, samples=[r[0] for r in runs],
        details={"cpu_s": [r[1] for r in runs], "rows": rows},
        note=f"CPU {median([r[1] for r in runs]):.2f} s; {rows} rows")]


def _dashboard(ctx: Context, config: Path, scale: str, db: str) -> list[Result]:
    from bench.b_web import signed_in
    from outreach.config.load import load_settings
    from outreach.runtime import Runtime

    rt = Runtime(load_settings(config))
    try:
        client = signed_in(rt)
        first = client.get("/")  # warm: templates compiled, the library loaded
        assert first.status_code == 200, (first.status_code, first.text[:200])
        samples, cpu = [], []
        for _ in range(max(ctx.reps, 5)):
            t0, c0 = time.perf_counter(), time.process_time()
            r = client.get("/")
            samples.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert r.status_code == 200
    finally:
        rt.close()
    value = median(samples)
    return [Result(f"province.{db}.dashboard", f"console dashboard / ({scale})", value, "s",
                   "≤ 0.2 s", ok=value <= 0.2, samples=samples,
                   details={"bytes": len(first.content), "cpu_s": cpu},
                   note=f"CPU {median(cpu) * 1000:.0f} ms")]


def _fanout(ctx: Context, config: Path, scale: str, db: str) -> list[Result]:
    from outreach.actions.batches import cancel_batch
    from outreach.config.load import load_settings
    from outreach.runtime import Runtime

    args = ["--config", str(config), "queue", "add", "--account", "@province", "--tip",
            FANOUT_TIP, "--at", "+2d", "--stagger", "1m", "--json", "--by", "bench-officer"]
    walls: list[float] = []
    cpus: list[float] = []
    queued = 0
    for _ in range(ctx.reps):
        wall, cpu, done = run_cli(args)
        out = json.loads(done.stdout)
        queued = len(out["posts"])
        walls.append(wall)
        cpus.append(cpu)
        rt = Runtime(load_settings(config))
        try:  # the next run starts from the same queue (the cancelled rows stay, as they would)
            cancel_batch(rt, out["batch_id"], by="bench-officer", reason="bench")
        finally:
            rt.close()
    w = median(walls)
    return [Result(
        f"province.{db}.fanout", f"queue add --account @province ({scale})", w, "s",
        "≤ 3 s, one post per account", ok=w <= 3.0 and queued > 0, samples=walls,
        details={"cpu_s": cpus, "posts": queued},
        note=f"CPU {median(cpus):.2f} s; {queued} posts in one batch")]


def run_side(ctx: Context, config: Path, db_url: str,
             pg_scratch_url: str | None) -> tuple[list[Result], str | None]:
    """``bench.b_scale.bench_province_run`` when it is there; else why not."""
    import importlib

    try:
        b_scale = importlib.import_module("bench.b_scale")
    except ImportError as exc:
        return [], f"bench/b_scale.py is not here ({exc})"
    fn: Callable[..., Any] | None = getattr(b_scale, "bench_province_run", None)
    if fn is None:
        return [], "bench.b_scale has no bench_province_run"
    return list(fn(ctx, config, db_url, pg_scratch_url)), None
