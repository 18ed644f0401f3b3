"""Benchmark 7: the daemon (``outreach run``) as a subprocess, watched through /proc.

At rest: a copy of the department workspace (N accounts, a year of history), nothing due
until the next slot. Once the daemon has started (heartbeat written, start-up CPU burst
over), its utime+stime (/proc/PID/stat) and VmRSS (/proc/PID/status) are sampled over a
window (60 s in full mode).

Under load: a fresh workspace with the same accounts and library and M approved posts due
now; RSS is sampled while the daemon publishes them on the local platform. "Flat" means
RSS after all M is within a few MB of RSS after the first 10 %.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import datasets
from bench.b_cli import outreach_command
from bench.harness import Context, Result, proc_cpu_seconds, proc_rss_mb

FLAT_MB = 10.0


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "OUTREACH_CONFIG"}
    with open(log, "wb") as fh:
        return subprocess.Popen([*outreach_command(), "--config", str(config), "run"],
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                env=env)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -9
    return int(proc.returncode)


def _scalar(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


def _settle(proc: subprocess.Popen[bytes], db: Path, timeout: float) -> float:
    """Wait for the first heartbeat and the end of the start-up burst; seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with {proc.returncode} during start-up")
        if _scalar(db, "SELECT count(*) FROM daemon_heartbeats WHERE stopped_at IS NULL"):
            break
        time.sleep(0.25)
    # start-up work (materialising the next 24 h for every account) is done when a
    # 2-second window costs less than 10 % of a core
    while time.monotonic() - t0 < timeout:
        c0 = proc_cpu_seconds(proc.pid)
        time.sleep(2.0)
        if (proc_cpu_seconds(proc.pid) - c0) / 2.0 < 0.10:
            break
    return time.monotonic() - t0


def bench_daemon_idle(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    window = float(ctx.params.daemon_window)
    copy = datasets.copy_workspace(ws, ctx.work / "daemon-idle")
    log = ctx.work / "daemon-idle.log"
    proc = _start(copy.config, log)
    try:
        settled = _settle(proc, copy.db_path, timeout=120)
        published0 = _scalar(copy.db_path, "SELECT count(*) FROM posts WHERE status = 'published'")
        ctx.log(f"daemon: settled after {settled:.1f} s; watching it for {window:.0f} s at rest")
        rss: list[float] = []
        c0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
        while time.monotonic() - t0 < window:
            rss.append(proc_rss_mb(proc.pid))
            time.sleep(min(1.0, window / 10))
        cpu, elapsed = proc_cpu_seconds(proc.pid) - c0, time.monotonic() - t0
        rss.append(proc_rss_mb(proc.pid))
        published1 = _scalar(copy.db_path, "SELECT count(*) FROM posts WHERE status = 'published'")
    finally:
        code = _stop(proc)
    pct = cpu / elapsed * 100
    peak = max(rss)
    busy = (published1 or 0) - (published0 or 0)
    note = f"settled {settled:.1f} s after start; exit {code} on SIGTERM"
    if busy:
        note += f"; {busy} post(s) were published in the window (a slot fell in it)"
    shape = ws.shape
    return [
        Result("daemon.idle_cpu", f"Daemon at rest, {shape.accounts} accounts: CPU over {window:.0f} s",
               pct, "%", "≤ 2 % of a core", ok=pct <= 2.0 and code == 0,
               details={"cpu_s": round(cpu, 3), "window_s": round(elapsed, 1),
                        "settle_s": round(settled, 1), "exit_code": code}, note=note),
        Result("daemon.idle_rss", f"Daemon at rest, {shape.accounts} accounts: peak RSS", peak, "MB",
               "≤ 150 MB", ok=peak <= 150.0, timed=False, details={"rss_mb": rss}),
    ]


def bench_daemon_load(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    n = int(ctx.params.daemon_posts)
    root = ctx.work / "daemon-load"
    copy = datasets.copy_workspace(ws, root)
    for f in copy.db_files():
        f.unlink(missing_ok=True)
    rt = datasets.runtime(copy)
    try:
        datasets.approve_all(rt)
        names = copy.account_names()
        lib = rt.library
        at = datetime.now(UTC) + timedelta(seconds=10)
        from outreach.library.texts import text_problems

        rows: list[tuple[str, str]] = []
        for i in range(n * 2):  # tips too long for an account's platform are left out, as a draw does
            if len(rows) == n:
                break
            name = names[i % len(names)]
            account = rt.settings.accounts[name]
            tips = lib.tips_in(account.lang)
            text = rt.render(tips[i % len(tips)].id, account, 0)
            if not text_problems(text, rt.client(account), lib):
                rows.append((name, text))
        # one post at a time per account, round-robin, as slots across accounts come due
        datasets.insert_posts(rt, [row for name, text in rows
                                   for row in datasets.queued_rows(name, [text], at)])
    finally:
        rt.close()
    log = ctx.work / "daemon-load.log"
    proc = _start(copy.config, log)
    samples: list[tuple[float, int, int, float]] = []  # (seconds, handled, published, RSS MB)
    t0 = time.monotonic()
    timeout = 60 + n * 0.5
    try:
        done_at: float | None = None
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited with {proc.returncode}; see {log}")
            published = _scalar(copy.db_path, "SELECT count(*) FROM posts WHERE status = 'published'"
                                " AND kind = 'adhoc'") or 0
            waiting = _scalar(copy.db_path, "SELECT count(*) FROM posts WHERE kind = 'adhoc' AND "
                              "status IN ('queued', 'publishing', 'unconfirmed')")
            handled = n - waiting if waiting is not None else published
            samples.append((time.monotonic() - t0, handled, int(published), proc_rss_mb(proc.pid)))
            if len(samples) % 20 == 0:
                ctx.log(f"daemon load: {handled} handled, RSS {samples[-1][3]:.1f} MB")
            if handled >= n and done_at is None:
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at > 3:
                break
            time.sleep(0.25)
    finally:
        code = _stop(proc)
    published = samples[-1][2] if samples else 0
    tenth = next((s for s in samples if s[1] >= n // 10), None)
    full = next((s for s in samples if s[1] >= n), None)
    start_rss = tenth[3] if tenth else float("nan")
    end_rss = max(s[3] for s in samples if s[0] >= full[0]) if full else samples[-1][3]
    growth = end_rss - start_rss
    span = (full[0] - tenth[0]) if full and tenth and full[0] > tenth[0] else None
    rate = (n - n // 10) / span if span else None
    ok = published >= n and growth <= FLAT_MB
    note = (f"RSS {start_rss:.1f} MB at {n // 10} posts → {end_rss:.1f} MB at {n}"
            + (f"; ≈{rate:.0f} posts/s" if rate else "") + f"; exit {code}")
    if published < n:
        note += f"; only {published} of {n} published (see {log})"
    return [Result(
        "daemon.memory_flat", f"Daemon publishing {n} posts: RSS growth", growth, "MB",
        f"≤ {FLAT_MB:.0f} MB (flat)", ok=ok, timed=False,
        details={"published": published, "rss_start_mb": start_rss, "rss_end_mb": end_rss,
                 "posts_per_s": rate, "peak_rss_mb": max((s[3] for s in samples), default=None),
                 "samples": len(samples)},
        note=note)]
