"""The run side at province scale: 1000 local accounts × 6 slots a day.

``bench_province_run(ctx, config, db_url, pg_scratch_url)`` measures, on a department whose
config has N accounts with six slots each and whose database holds their history:

- ``plan --days 7`` for every account, as a user runs it (a subprocess: start-up, config,
  library, the reads and the draws), wall time (its CPU in the details);
- the daemon at rest (``outreach run`` on a private copy of the database when it is a
  SQLite file): CPU share and peak RSS over a window, sampled through /proc once its
  start-up work (materialising the next day's slots) is over;
- three daemons on one PostgreSQL database (``pg_scratch_url``, emptied first) publishing
  ``6 × N`` approved posts due at one instant on the local platform: posts per second from
  the due instant to the last one published, and "exactly once" counted on the platform's
  own statuses (one status per post, none without a post).

``build(root, accounts, days)`` makes a small department of that shape for running this
module alone: ``python -m bench.b_scale [--accounts N] [--days D] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository root makes `bench` importable
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.b_cli import outreach_command, run_cli  # noqa: E402
from bench.harness import Context, Result, median, proc_cpu_seconds, proc_rss_mb  # noqa: E402

# six slots a day, local time: the first one for fraud tips, the others for any category
SIX_SLOTS: tuple[tuple[str, list[str]], ...] = (
    ("0 8 * * *", ["fraud"]), ("0 10 * * *", []), ("30 12 * * *", []),
    ("30 15 * * *", []), ("0 18 * * *", []), ("0 20 * * *", []))
PLAN_DAYS = 7
PLAN_TARGET_S = 4.0
REST_CPU_PCT = 2.0
REST_RSS_MB = 150.0
PG_DAEMONS = 3
PG_RATE = 200.0  # posts/s, the three daemons together


def six_slots_line() -> str:
    cells = [f"{{ cron = {json.dumps(cron)}" + (f", categories = {json.dumps(cats)}" if cats else "")
             + " }" for cron, cats in SIX_SLOTS]
    return "slots = [" + ", ".join(cells) + "]"


def config_text(names: list[str], *, database: str = "sqlite:///outreach.db",
                policy: dict[str, Any] | None = None, slots: bool = True) -> str:
    """The department's config with six slots per account (else as ``datasets.config_text``)."""
    text = datasets.config_text(names, database=database, policy=policy, slots=slots)
    if slots:
        text = re.sub(r"^slots = \[.*\]$", six_slots_line(), text, flags=re.M)
    return text


def build(root: Path, accounts: int = 1000, days: int = 3, tips: int = 1000) -> Path:
    """A department of ``accounts`` local accounts with six slots each and ``days`` days of
    history (six posts a day, through ``datasets.populate``) in ``root``; its config."""
    shape = datasets.Shape(accounts=accounts, days=days, posts_per_day=6, tips=tips,
                           queued_per_account=0)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    datasets.write_library(root / "content", tips)
    (root / "config.toml").write_text(config_text(datasets.account_names(accounts)),
                                      encoding="utf-8")
    datasets.populate(datasets.Workspace(root, shape, datasets.today_utc()))
    return root / "config.toml"


# --- the pieces ------------------------------------------------------------------------------


def _outreach_section(config: Path) -> dict[str, Any]:
    with open(config, "rb") as fh:
        return dict(tomllib.load(fh).get("outreach", {}))


def _with_outreach(config: Path, dest: Path, **values: str) -> Path:
    """A copy of ``config`` at ``dest`` with these ``[outreach]`` keys replaced (paths made
    absolute, so the copy may live anywhere)."""
    section = _outreach_section(config)
    values.setdefault("content_dir", str((config.parent / section.get("content_dir", "content"))
                                         .resolve()))
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"^{key}\s*=.*$", f"{key} = {json.dumps(value, ensure_ascii=False)}",
                          text, count=1, flags=re.M)
        if n == 0:
            text = text.replace("[outreach]\n", f"[outreach]\n{key} = {json.dumps(value)}\n", 1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return dest


def _sqlite_file(db_url: str, config: Path) -> Path | None:
    if not db_url.startswith("sqlite:///"):
        return None
    path = Path(db_url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else (config.parent / path)


def _accounts(config: Path) -> list[str]:
    with open(config, "rb") as fh:
        return list(tomllib.load(fh).get("accounts", {}))


def bench_plan(ctx: Context, config: Path, accounts: int) -> Result:
    args = ["--config", str(config), "plan", "--days", str(PLAN_DAYS), "--json"]
    run_cli(args)  # warm the OS cache
    walls: list[float] = []
    cpus: list[float] = []
    rows = 0
    for _ in range(ctx.reps):
        wall, cpu, done = run_cli(args)
        walls.append(wall)
        cpus.append(cpu)
        rows = len(json.loads(done.stdout))
    value = median(walls)
    return Result(
        "scale.plan", f"plan --days {PLAN_DAYS}, {accounts} accounts × 6 slots (subprocess)",
        value, "s", f"≤ {PLAN_TARGET_S:.0f} s", ok=value <= PLAN_TARGET_S, samples=walls,
        details={"cpu_s": cpus, "rows": rows, "loadavg": _loadavg()},
        note=f"{rows} rows; CPU {median(cpus):.1f} s (forked over the cores); load {_loadavg()}")


def _loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "OUTREACH_CONFIG"}
    with open(log, "ab") as fh:
        return subprocess.Popen([*outreach_command(), "--config", str(config), "run"],
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                env=env)


def _stop(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=60))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    return codes


def _scalar(db_url: str, sql: str) -> Any:
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def bench_rest(ctx: Context, config: Path, db_url: str, accounts: int) -> list[Result]:
    """The daemon at rest: on a private copy when the database is a SQLite file."""
    window = float(getattr(ctx.params, "daemon_window", 60.0))
    root = ctx.work / "scale-rest"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    source = _sqlite_file(db_url, config)
    if source is not None:
        copy = root / "outreach.db"
        shutil.copyfile(source, copy)
        for suffix in ("-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
        db_url = f"sqlite:///{copy}"
        where = "a copy of the database"
    else:
        where = "the database itself"
    cfg = _with_outreach(config, root / "config.toml", database=db_url,
                         data_dir=str(root / "data"))
    log = root / "daemon.log"
    proc = _start(cfg, log)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited with {proc.returncode}; see {log}")
            try:
                if _scalar(db_url, "SELECT count(*) FROM daemon_heartbeats WHERE stopped_at IS NULL"):
                    break
            except Exception:  # the schema is still being created
                pass
            time.sleep(0.5)
        # start-up work (materialising the next day, publishing a slot that fell due) is
        # over when a 2-second window costs less than 10 % of a core
        while time.monotonic() - t0 < 600:
            c0 = proc_cpu_seconds(proc.pid)
            time.sleep(2.0)
            if (proc_cpu_seconds(proc.pid) - c0) / 2.0 < 0.10:
                break
        settled = time.monotonic() - t0
        ctx.log(f"scale: daemon settled after {settled:.0f} s; watching it {window:.0f} s at rest")
        rss: list[float] = []
        c0, w0 = proc_cpu_seconds(proc.pid), time.monotonic()
        while time.monotonic() - w0 < window:
            rss.append(proc_rss_mb(proc.pid))
            time.sleep(min(1.0, window / 10))
        cpu, elapsed = proc_cpu_seconds(proc.pid) - c0, time.monotonic() - w0
        rss.append(proc_rss_mb(proc.pid))
    finally:
        [code] = _stop([proc])
    pct = cpu / elapsed * 100
    peak = max(rss)
    note = (f"{where}; settled {settled:.0f} s after start; window {elapsed:.0f} s; "
            f"exit {code}; load {_loadavg()}")
    return [
        Result("scale.rest_cpu", f"Daemon at rest, {accounts} accounts: CPU over {window:.0f} s",
               pct, "%", f"≤ {REST_CPU_PCT:.0f} % of a core", ok=pct <= REST_CPU_PCT and code == 0,
               details={"cpu_s": round(cpu, 3), "window_s": round(elapsed, 1),
                        "settle_s": round(settled, 1), "exit_code": code}, note=note),
        Result("scale.rest_rss", f"Daemon at rest, {accounts} accounts: peak RSS", peak, "MB",
               f"≤ {REST_RSS_MB:.0f} MB", ok=peak <= REST_RSS_MB, timed=False,
               details={"rss_mb": rss}),
    ]


def reset_database(url: str) -> None:
    """An empty PostgreSQL database (its public schema dropped and made again)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def bench_pg_publish(ctx: Context, config: Path, pg_url: str, names: list[str],
                     per_account: int = 6, daemons: int = PG_DAEMONS) -> list[Result]:
    """``daemons`` daemons on one PostgreSQL database publish ``per_account`` due posts of
    every account at once on the local platform; posts/s and exactly-once."""
    from outreach.actions.accounts import sync_accounts

    root = ctx.work / "scale-pg"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    reset_database(pg_url)
    section = _outreach_section(config)
    content = (config.parent / section.get("content_dir", "content")).resolve()
    text = datasets.config_text(names, database=pg_url, slots=False,
                                policy={"min_gap_minutes": 0, "quiet_hours": ""})
    text = text.replace('content_dir = "content"', f"content_dir = {json.dumps(str(content))}")
    cfg = root / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    n = len(names) * per_account
    lead = 20.0 + len(names) / 100  # the daemons start (and settle) before the posts are due
    at = datetime.now(UTC) + timedelta(seconds=lead)
    rt = datasets.runtime(root)
    try:
        sync_accounts(rt)
        rows = [row for k in range(per_account) for name in names
                for row in datasets.queued_rows(name, [f"{name}：第{k + 1}条，陌生来电先挂断，"
                                                       f"拨打96110核实。"], at)]
        datasets.insert_posts(rt, rows)
    finally:
        rt.close()
    due = time.monotonic() + (at - datetime.now(UTC)).total_seconds()
    procs = [_start(cfg, root / f"daemon-{i}.log") for i in range(daemons)]
    handled = published = 0
    done_at: float | None = None
    try:
        while time.monotonic() < due + 120 + n / 20:
            for i, proc in enumerate(procs):
                if proc.poll() is not None:
                    raise RuntimeError(f"daemon {i} exited with {proc.returncode}; see "
                                       f"{root / f'daemon-{i}.log'}")
            published = int(_scalar(pg_url, "SELECT count(*) FROM posts WHERE status = 'published'"))
            waiting = int(_scalar(pg_url, "SELECT count(*) FROM posts WHERE status IN "
                                          "('queued', 'publishing', 'unconfirmed')"))
            handled = n - waiting
            if handled >= n:
                done_at = time.monotonic()
                break
            time.sleep(0.2)
        beats = int(_scalar(pg_url, "SELECT count(DISTINCT id) FROM daemon_heartbeats"))
    finally:
        codes = _stop(procs)
    # counted again at rest: the two counts above are read a moment apart
    published = int(_scalar(pg_url, "SELECT count(*) FROM posts WHERE status = 'published'"))
    platform = sqlite3.connect(root / "data" / "local-platform.db")
    try:
        statuses = platform.execute("SELECT count(*) FROM statuses").fetchone()[0]
        twice = platform.execute("SELECT count(*) FROM (SELECT text FROM statuses GROUP BY text "
                                 "HAVING count(*) > 1)").fetchone()[0]
    finally:
        platform.close()
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            keys = {k for (k,) in conn.execute(sa.text(
                "SELECT idempotency_key FROM posts WHERE status = 'published'"))}
    finally:
        engine.dispose()
    platform = sqlite3.connect(root / "data" / "local-platform.db")
    try:
        landed = {k for (k,) in platform.execute("SELECT idempotency_key FROM statuses")}
    finally:
        platform.close()
    span = (done_at - due) if done_at is not None else None
    rate = n / span if span and span > 0 else None
    once = statuses == n and twice == 0 and published == n and keys == landed
    note = (f"{published} of {n} published, {statuses} statuses on the platform, {twice} texts "
            f"twice; {beats} daemons beat; exits {codes}; load {_loadavg()}")
    return [Result(
        "scale.pg_publish", f"{daemons} daemons on PostgreSQL publish {n} due posts",
        rate, "posts/s", f"≥ {PG_RATE:.0f} posts/s, exactly once",
        ok=rate is not None and rate >= PG_RATE and once and all(c == 0 for c in codes),
        details={"published": published, "statuses": statuses, "duplicated_texts": twice,
                 "seconds": span, "exit_codes": codes, "exactly_once": once},
        note=note, shown=f"{rate:.0f} posts/s" if rate else "-")]


def bench_province_run(ctx: Context, config: Path, db_url: str,
                       pg_scratch_url: str | None) -> list[Result]:
    """plan --days 7, the daemon at rest, and three daemons × 6 posts per account on
    PostgreSQL (skipped without ``pg_scratch_url``) for the department of ``config``."""
    names = _accounts(config)
    results = [bench_plan(ctx, config, len(names))]
    results += bench_rest(ctx, config, db_url, len(names))
    if pg_scratch_url:
        results += bench_pg_publish(ctx, config, pg_scratch_url, names)
    return results


def main(argv: list[str] | None = None) -> int:
    from bench.harness import render_table

    parser = argparse.ArgumentParser(description="The run side at province scale, alone.")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=3, help="days of history to generate")
    parser.add_argument("--window", type=float, default=60.0, help="seconds watched at rest")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("OUTREACH_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL for a scratch database (emptied!)")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="outreach-scale-"))
    params = argparse.Namespace(reps=args.reps, daemon_window=args.window)
    ctx = Context(params=params, cache=work, work=work, quick=False,
                  log=lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    config = build(work / "dept", args.accounts, args.days)
    ctx.builds[f"{args.accounts} accounts, {args.days} days"] = round(time.perf_counter() - t0, 1)
    db = f"sqlite:///{work / 'dept' / 'outreach.db'}"
    results = bench_province_run(ctx, config, db, args.pg)
    render_table(results, [], False, ctx.builds, time.perf_counter() - t0)
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
