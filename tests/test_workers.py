"""The daemon's threads share a few C allocator arenas (glibc)."""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys

import pytest

from outreach import workers


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc only")
def test_glibc_takes_the_arena_limit():
    # in a child: the limit lasts for the whole process
    code = "from outreach.workers import limit_malloc_arenas; print(limit_malloc_arenas())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "True"


def test_without_glibc_nothing_is_done(monkeypatch):
    def no_libc(name: str) -> ctypes.CDLL:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(workers.ctypes, "CDLL", no_libc)
    assert workers.limit_malloc_arenas() is False
    monkeypatch.setattr(workers.sys, "platform", "darwin")
    assert workers.limit_malloc_arenas() is False


def test_the_daemon_limits_the_arenas_before_it_starts_a_thread(runtime_factory, monkeypatch):
    """``Daemon.serve`` asks for the limit while it is still the only thread of its own."""
    import threading

    from outreach import daemon

    calls: list[int] = []

    def limit() -> bool:
        calls.append(threading.active_count())
        return True

    monkeypatch.setattr(daemon, "limit_malloc_arenas", limit)
    stop = threading.Event()
    stop.set()  # asked to stop while starting: serve returns before the scheduler runs
    before = threading.active_count()
    assert daemon.Daemon(runtime_factory(), stop=stop).serve() == 0
    assert calls == [before]
