"""Fan-out to a province's matrix: `queue add --account @province --tip ID --stagger 1m`.

The workspace: N local accounts (Chinese, each with its own city), grouped as a province
→ cities → counties (``[groups]``, three levels), the shipped library, one tip approved, and
one earlier fan-out already in the queue (so every account has history to read). Measured:
the command as a user runs it (a subprocess: start-up, config with its groups, library,
validation of every account's rendering, the inserts, the commit) and ``fan_out`` in-process;
each run queues N posts under one batch, then the batch is cancelled so the next run
starts from the same queue (the cancelled rows stay, as they would).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench import datasets
from bench.b_cli import run_cli
from bench.harness import Context, Result, median

TIP = "service-police-day-zh"  # uses {{ city }} and {{ hotline.police }}
EARLIER = "fraud-four-rules-zh"
CITIES = 10


def account_tree(n: int) -> tuple[list[str], str]:
    """N account names and the ``[groups]`` table: a province account, CITIES city groups
    (a city account and its counties), the province group over them."""
    names = ["prov"]
    cities: dict[str, list[str]] = {}
    per_city = max(1, (n - 1) // CITIES)
    for c in range(CITIES):
        members = [f"c{c:02d}"] + [f"c{c:02d}-k{k:03d}" for k in range(per_city - 1)]
        cities[f"city{c:02d}"] = members
        names.extend(members)
    while len(names) < n:  # the rest go to the last city
        extra = f"c{CITIES - 1:02d}-x{len(names):04d}"
        cities[f"city{CITIES - 1:02d}"].append(extra)
        names.append(extra)
    lines = ["[groups]", "province = " + json.dumps(["prov", *(f"@{c}" for c in cities)])]
    lines += [f"{c} = {json.dumps(m)}" for c, m in cities.items()]
    return names[:n], "\n".join(lines) + "\n"


def build(root: Path, n: int) -> None:
    from outreach.actions.accounts import sync_accounts
    from outreach.actions.batches import fan_out
    from outreach.actions.tips import approve_tips

    datasets.write_library(root / "content", 150)
    names, groups = account_tree(n)
    parts = datasets.config_text(names, lang="zh", slots=False).split('city = "北京"')
    # each account its own city (the n-th account's vars hold the n-th "city = …")
    text = parts[0] + "".join(f'city = "城市{i}"' + part for i, part in enumerate(parts[1:]))
    (root / "config.toml").write_text(text + "\n" + groups, encoding="utf-8")
    rt = datasets.runtime(root)
    try:
        sync_accounts(rt)
        approve_tips(rt, [TIP, EARLIER], by="bench-supervisor")
        fan_out(rt, "@province", tip=EARLIER, text=None, at="+1d", stagger="1m",
                by="bench-officer")
    finally:
        rt.close()


def bench_fanout(ctx: Context) -> list[Result]:
    from outreach.actions.batches import cancel_batch, fan_out

    n = int(getattr(ctx.params, "fanout_accounts", 1000))
    root = ctx.work / "fanout"
    t0 = time.perf_counter()
    build(root, n)
    ctx.builds[f"fan-out matrix {n} accounts"] = round(time.perf_counter() - t0, 1)
    config = str(root / "config.toml")
    args = ["--config", config, "queue", "add", "--account", "@province", "--tip", TIP,
            "--at", "+2d", "--stagger", "1m", "--json", "--by", "bench-officer"]
    walls: list[float] = []
    cpus: list[float] = []
    queued = 0
    for _ in range(ctx.reps):
        wall, cpu, done = run_cli(args)
        out = json.loads(done.stdout)
        queued = len(out["posts"])
        walls.append(wall)
        cpus.append(cpu)
        _cancel(root, out["batch_id"])
    inproc: list[float] = []
    for _ in range(ctx.reps):
        rt = datasets.runtime(root)
        try:
            t = time.perf_counter()
            done_in = fan_out(rt, "@province", tip=TIP, text=None, at="+2d", stagger="1m",
                              by="bench-officer")
            inproc.append(time.perf_counter() - t)
            cancel_batch(rt, done_in.batch_id, by="bench-officer", reason="bench")
        finally:
            rt.close()
    w = median(walls)
    return [Result(
        "fanout.queue_add", f"queue add --account @province ({n} accounts, 3 levels)", w, "s",
        "≤ 3 s, one post per account", ok=w <= 3.0 and queued == n,
        reference="in-process fan_out (library loaded)", reference_value=median(inproc),
        ratio=w / median(inproc) if median(inproc) else None, ratio_label=" × in-proc",
        samples=walls, details={"cpu_s": cpus, "in_process_s": inproc, "posts": queued},
        note=f"CPU {median(cpus):.2f} s; {queued} posts in one batch")]


def _cancel(root: Path, batch_id: int) -> None:
    from outreach.actions.batches import cancel_batch

    rt = datasets.runtime(root)
    try:
        cancel_batch(rt, batch_id, by="bench-officer", reason="bench")
    finally:
        rt.close()
