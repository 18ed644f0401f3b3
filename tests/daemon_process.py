"""The daemon as a real process, for the tests that start, kill and stop it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def start_daemon(ws: Path) -> subprocess.Popen[str]:
    """`outreach run` on the workspace's config, output captured."""
    env = dict(os.environ, OUTREACH_CONFIG=str(ws / "config.toml"), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=ws, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def stop_daemon(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then its exit code and output (killed if it does not stop in 60 s)."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


def stop_daemons(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    """SIGTERM to every daemon at once (so they stop together), then each one's exit code and
    output, as :func:`stop_daemon`."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    results = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        results.append((proc.returncode, out))
    return results


def query(ws: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the workspace's SQLite database, read by a separate connection."""
    conn = sqlite3.connect(ws / "outreach.db", timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
