"""outreach's benchmarks, with targets: ``python bench/run.py [--quick] [--json]``.

Builds its data through the project's own code (schema and migrations, config loader,
library, approvals, the local platform, the real publisher and collector), runs each
benchmark several times and prints, per benchmark, the median, the target, the reference
measured in the same run and the ratio. Exit status 1 when a target is missed (never with
``--quick``, whose smaller sizes only prove the benchmarks still run).

The Mastodon benchmarks need the mastodon-mock peer: one is started on its own port with
``.ci/mastodon-peer.sh`` (and stopped at the end) unless ``OUTREACH_MASTODON_TEST_URL``
names a running one; if it cannot start, those benchmarks are skipped with the reason.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root makes `bench` and `tests` importable
    sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: PYTHONPATH still wins

from bench import datasets  # noqa: E402
from bench import province as pv  # noqa: E402
from bench.harness import Context, Result, Skipped, as_json, render_table  # noqa: E402

GROUPS = ("opinions", "storage", "cli", "planner", "report", "weibo", "mastodon", "publish", "daemon",
          "web", "fanout")
PEER_GROUPS = frozenset({"mastodon", "publish"})
DEPT_GROUPS = frozenset({"storage", "cli", "planner", "report", "daemon", "web"})


@dataclass(frozen=True)
class Params:
    """The sizes of one run."""

    reps: int = 3
    mastodon_n: int = 2000
    weibo_n: int = 2000
    publish_n: int = 1000
    engage_share: float = 0.05
    dept: datasets.Shape = field(default_factory=datasets.Shape)
    plan_days: int = 30
    daemon_window: float = 60.0
    daemon_posts: int = 1000
    fanout_accounts: int = 1000  # queue add --account @province: one post per account
    matrix_accounts: int = 1000  # report --matrix @province over a month of their history
    province: datasets.Shape = field(default_factory=lambda: pv.PROVINCE)  # --scale province


FULL = Params()
QUICK = Params(reps=2, mastodon_n=200, weibo_n=300, publish_n=100, engage_share=0.1,
               dept=datasets.Shape(accounts=10, days=60, tips=600), plan_days=7,
               daemon_window=8.0, daemon_posts=100, fanout_accounts=200, matrix_accounts=100)
TINY = Params(reps=1, mastodon_n=60, weibo_n=150, publish_n=20, engage_share=0.2,
              dept=datasets.Shape(accounts=3, days=5, tips=150, comments_per_post=1.0,
                                  queued_per_account=2),
              plan_days=2, daemon_window=2.0, daemon_posts=20, fanout_accounts=30,
              matrix_accounts=12,
              province=datasets.Shape(accounts=24, days=40, tips=150, comments_per_post=1.0,
                                      queued_per_account=2))
QUICK = replace(QUICK, province=datasets.Shape(accounts=100, days=60, tips=300))
DBS = ("sqlite", "postgresql")


def default_cache() -> Path:
    env = os.environ.get("OUTREACH_BENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outreach-bench"


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_benchmarks(params: Params, *, groups: Sequence[str] = GROUPS, quick: bool = False,
                   cache: Path | None = None, work: Path | None = None,
                   log: Callable[[str], None] = _log_to_stderr, peer_port: int = 3041,
                   use_peer: bool = True) -> tuple[list[Result], list[Skipped], Context]:
    """Run the chosen benchmark groups; (results, skipped, context). The helper the tests use."""
    from bench import (
        b_cli,
        b_counts,
        b_daemon,
        b_fanout,
        b_matrix,
        b_misc,
        b_publish,
        b_report,
        b_web,
    )
    from bench.peer import start_peer

    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown benchmark group(s): {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(GROUPS)})")
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    ctx = Context(params=params, cache=cache, work=work, quick=quick, log=log)
    results: list[Result] = []
    skipped: list[Skipped] = []
    peer = None

    def attempt(key: str, fn: Callable[[], list[Result]]) -> None:
        t = time.perf_counter()
        try:
            results.extend(fn())
        except Exception as exc:  # one broken benchmark must not hide the others
            log(traceback.format_exc())
            skipped.append(Skipped(key, f"error: {type(exc).__name__}: {exc}"))
        log(f"{key}: {time.perf_counter() - t:.1f} s")

    try:
        ws = None
        if DEPT_GROUPS & set(groups):
            s = params.dept
            log(f"data: department {s.accounts} accounts × {s.days} days × {s.posts_per_day} posts, "
                f"{s.tips} tips (cache {cache})")
            ws, seconds = datasets.department(cache, s)
            ctx.builds[f"department {s.accounts}×{s.days}×{s.posts_per_day}"] = round(seconds, 1)
        if PEER_GROUPS & set(groups):
            if use_peer:
                log(f"peer: starting the mastodon-mock peer on port {peer_port}")
                peer, why = start_peer(peer_port, work / "peer")
            else:
                why = "--no-peer"
            if peer is None:
                for g in sorted(PEER_GROUPS & set(groups)):
                    skipped.append(Skipped(g, f"no Mastodon peer ({why})"))
            else:
                ctx.peer_url, ctx.peer_python = peer.url, peer.python
        plan: list[tuple[str, Callable[[], list[Result]]]] = []
        for g in GROUPS:
            if g not in groups:
                continue
            if g in PEER_GROUPS and ctx.peer_url is None:
                continue
            if g == "opinions":
                plan.append((g, lambda: b_misc.bench_opinions(ctx)))
            elif g == "storage":
                plan.append((g, lambda: b_misc.bench_storage(ctx, ws)))  # type: ignore[arg-type]
            elif g == "cli":
                plan.append((g, lambda: b_cli.bench_cli(ctx, ws)))  # type: ignore[arg-type]
            elif g == "planner":
                plan.append((g, lambda: b_cli.bench_planner(ctx, ws)))  # type: ignore[arg-type]
            elif g == "report":
                plan.append((g, lambda: b_report.bench_report(ctx, ws)))  # type: ignore[arg-type]
            elif g == "weibo":
                plan.append((g, lambda: b_counts.bench_weibo(ctx)))
            elif g == "mastodon":
                plan.append((g, lambda: b_counts.bench_mastodon(ctx)))
            elif g == "publish":
                plan.append((g, lambda: b_publish.bench_publish(ctx)))
            elif g == "daemon":
                plan.append(("daemon idle", lambda: b_daemon.bench_daemon_idle(ctx, ws)))  # type: ignore[arg-type]
                plan.append(("daemon load", lambda: b_daemon.bench_daemon_load(ctx, ws)))  # type: ignore[arg-type]
            elif g == "web":
                plan.append((g, lambda: b_web.bench_web(ctx, ws)))  # type: ignore[arg-type]
            elif g == "fanout":
                plan.append((g, lambda: b_fanout.bench_fanout(ctx)))
                plan.append(("matrix", lambda: b_matrix.bench_matrix(ctx)))
        for key, fn in plan:
            log(f"== {key}")
            attempt(key, fn)
    finally:
        if peer is not None:
            peer.stop()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return results, skipped, ctx


def pg_default_url() -> str | None:
    """The PostgreSQL server the province profile uses: ``OUTREACH_BENCH_DATABASE_URL``, else
    the tests' ``OUTREACH_TEST_DATABASE_URL`` (``.ci/postgres.sh start`` prints it)."""
    return os.environ.get("OUTREACH_BENCH_DATABASE_URL") or \
        os.environ.get("OUTREACH_TEST_DATABASE_URL") or None


def run_province(params: Params, *, dbs: Sequence[str] = DBS, pg_url: str | None = None,
                 quick: bool = False, cache: Path | None = None, work: Path | None = None,
                 log: Callable[[str], None] = _log_to_stderr, explicit: bool = False
                 ) -> tuple[list[Result], list[Skipped], Context]:
    """The province profile: ``params.province`` on each database of ``dbs`` (see
    bench/README.md). PostgreSQL is skipped, with the reason, when no server answers at
    ``pg_url`` (an error when ``explicit``: the user asked for it)."""
    from bench import b_province

    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    ctx = Context(params=params, cache=cache, work=work, quick=quick, log=log)
    results: list[Result] = []
    skipped: list[Skipped] = []
    s = params.province
    why = pv.pg_reachable(pg_url) if pg_url else "no PostgreSQL URL ($OUTREACH_BENCH_DATABASE_URL " \
        "or $OUTREACH_TEST_DATABASE_URL; .ci/postgres.sh start prints one)"
    scratch = None
    scratch_name = f"outreach_scratch_{os.getpid()}"  # this run's own
    try:
        if why is None and pg_url:
            scratch = pv.pg_copy(pg_url, "template0", scratch_name)
        for db in dbs:
            key = f"province {db}"
            if db == "postgresql" and why is not None:
                skipped.append(Skipped(key, ("error: " if explicit else "") + f"PostgreSQL: {why}"))
                continue
            t = time.perf_counter()
            try:
                log(f"data: province {s.accounts} accounts × {s.days} days × {s.posts_per_day} "
                    f"posts on {db} (cache {cache})")
                prov = pv.province(cache, s, pg_url=pg_url if db == "postgresql" else None, log=log)
                ctx.builds[f"province {db} {s.accounts}×{s.days}×{s.posts_per_day} "
                           f"({prov.counts['posts']} posts, {prov.counts['comments']} comments)"] = \
                    round(prov.build_seconds, 1)
                config, url = b_province.working_copy(prov, work / f"province-{db}", pg_url)
            except Exception as exc:  # a broken build must not hide the other database
                log(traceback.format_exc())
                skipped.append(Skipped(key, f"error: {type(exc).__name__}: {exc}"))
                continue
            try:
                parts: tuple[tuple[str, Callable[[], list[Result]]], ...] = (
                    ("reads", partial(b_province.bench_province_reads, ctx, prov, config)),
                    ("run", partial(_run_side, ctx, key, config, url, scratch, skipped)))
                for part, fn in parts:
                    log(f"== {key} {part}")
                    try:
                        results.extend(fn())
                    except Exception as exc:
                        log(traceback.format_exc())
                        skipped.append(Skipped(f"{key} {part}", f"error: {type(exc).__name__}: {exc}"))
            finally:
                b_province.drop_copy(prov, pg_url)
            log(f"{key}: {time.perf_counter() - t:.1f} s")
    finally:
        if scratch and pg_url:
            pv.pg_drop(pg_url, scratch_name)
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return results, skipped, ctx


def _run_side(ctx: Context, key: str, config: Path, url: str, scratch: str | None,
              skipped: list[Skipped]) -> list[Result]:
    from bench import b_province

    db = key.split()[-1]
    # three daemons on one PostgreSQL database is a PostgreSQL figure: measured once, there
    results, why = b_province.run_side(ctx, config, url, scratch if db == "postgresql" else None)
    if why is not None:
        skipped.append(Skipped(f"{key} run side", why))
    # the run side's figures are named by the database they were measured on, like the reads
    return [replace(r, key=f"province.{db}.{r.key.split('.', 1)[-1]}") for r in results]


def print_opinions(results: list[Result]) -> None:
    from rich.console import Console
    from rich.table import Table

    by_set: dict[str, list[Result]] = {}
    for r in results:
        if r.key.startswith("opinions.") and r.details.get("per_class"):
            by_set.setdefault(r.key.split(".")[1], []).append(r)
    for name, rs in by_set.items():
        title = {"blind5": "opinions on the fifth blind set (the targets; never seen)",
                 "cv5": "opinions by five-fold cross-validation on the training corpus",
                 "cv5singly": "opinions by five-fold cross-validation: the corpus's comments "
                              "written one at a time",
                 "fixture": "opinions on the labelled fixture"
                 }.get(name, f"opinions on {name.removeprefix('cv5')} (retired blind set, now "
                         "training data): out of fold" if name.startswith("cv5")
                       else f"opinions on {name}")
        table = Table(title=f"{title}: precision / recall per class", header_style="bold")
        table.add_column("class")
        table.add_column("support", justify="right")
        for r in rs:
            table.add_column(r.details.get("classifier", "both"), justify="right")
        first = rs[0].details["per_class"]
        for code in first:
            cells = [f"{r.details['per_class'][code]['precision']:.2f} / "
                     f"{r.details['per_class'][code]['recall']:.2f}" for r in rs]
            table.add_row(code, f"{first[code]['support']:.0f}", *cells)
        table.add_row("accuracy", f"{rs[0].details['overall']['support']:.0f}",
                      *[f"{r.details['overall']['accuracy']:.3f}" for r in rs])
        Console(width=140).print(table)
    for r in results:
        if r.key == "opinions.cv.vote":
            print_vote_grid(r)


def print_vote_grid(r: Result) -> None:
    """The cross-validated accuracy of each pair of vote weights; the chosen one marked."""
    from rich.console import Console
    from rich.table import Table

    grid, chosen = r.details["grid"], r.details["chosen"]
    leans = sorted({g["model_lean"] for g in grid})
    table = Table(title="the vote's weights by cross-validation on the corpus: accuracy "
                        f"(emergency recall {grid[0]['emergency_recall']:.4f}, precision "
                        f"{grid[0]['emergency_precision']:.4f} throughout; * chosen)",
                  header_style="bold")
    table.add_column("rule_vote \\ model_lean")
    for lean in leans:
        table.add_column(f"{lean:g}", justify="right")
    for vote in sorted({g["rule_vote"] for g in grid}):
        cells = []
        for lean in leans:
            g = next(g for g in grid if g["rule_vote"] == vote and g["model_lean"] == lean)
            mark = "*" if g == chosen else " "
            recall = "" if g["emergency_recall"] == grid[0]["emergency_recall"] else \
                f" (recall {g['emergency_recall']:.3f})"
            cells.append(f"{g['accuracy']:.4f}{mark}{recall}")
        table.add_row(f"{vote:g}" + (" (model alone, no vote)" if vote == 0 else ""), *cells)
    Console(width=140).print(table)


def compile_bytecode() -> None:
    """Compile the package's bytecode, as installing it from a wheel does: with the source
    checked out and ``PYTHONDONTWRITEBYTECODE`` set, every CLI run would recompile it."""
    import compileall

    import outreach

    compileall.compile_dir(Path(outreach.__file__).parent, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smaller sizes, no verdict on time: proves the benchmarks still run (CI)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    ap.add_argument("--json-out", type=Path, default=None, metavar="FILE",
                    help="also write the JSON results to FILE")
    ap.add_argument("--only", default="", help=f"comma-separated groups ({','.join(GROUPS)})")
    ap.add_argument("--reps", type=int, default=0, help="runs per benchmark (default: 3, quick: 2)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="where built datasets are kept (default: $OUTREACH_BENCH_CACHE or "
                         "~/.cache/outreach-bench)")
    ap.add_argument("--peer-port", type=int, default=3041, help="port of the peer started here")
    ap.add_argument("--no-peer", action="store_true", help="skip the benchmarks that need the peer")
    ap.add_argument("--scale", choices=("department", "province"), default="department",
                    help="department: the benchmarks above; province: 1000 accounts × a year "
                         "on SQLite and PostgreSQL")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default=None,
                    help="the province's databases (default: both, PostgreSQL when reachable)")
    ap.add_argument("--pg-url", default=None,
                    help="PostgreSQL server for the province (default: $OUTREACH_BENCH_DATABASE_URL "
                         "or $OUTREACH_TEST_DATABASE_URL)")
    args = ap.parse_args(argv)
    params = QUICK if args.quick else FULL
    if args.reps:
        params = replace(params, reps=args.reps)
    groups = [g.strip() for g in args.only.split(",") if g.strip()] or list(GROUPS)
    compile_bytecode()
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    if args.scale == "province":
        dbs = DBS if args.db in (None, "both") else (args.db,)
        results, skipped, ctx = run_province(params, dbs=dbs, pg_url=args.pg_url or pg_default_url(),
                                             quick=args.quick, cache=args.cache,
                                             explicit=args.db is not None)
    else:
        results, skipped, ctx = run_benchmarks(params, groups=groups, quick=args.quick,
                                               cache=args.cache, peer_port=args.peer_port,
                                               use_peer=not args.no_peer)
    total = time.perf_counter() - t0
    load = {"loadavg_start": load0, "loadavg_end": os.getloadavg()}
    doc = as_json(results, skipped, args.quick, ctx.builds, total, load)
    if args.json_out:
        args.json_out.write_text(doc + "\n", encoding="utf-8")
    if args.json:
        print(doc)
    else:
        render_table(results, skipped, args.quick, ctx.builds, total)
        print_opinions(results)
        print(f"load average: {load0[0]:.2f} at start, {load['loadavg_end'][0]:.2f} at the end "
              f"({os.cpu_count()} CPUs)")
    failed = any(r.judged(args.quick) is False for r in results)
    errors = any(s.reason.startswith("error:") for s in skipped)
    return 1 if (failed or errors) and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
