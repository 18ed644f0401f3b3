"""The daemon's workers: threads that run the jobs handed to them, one at a time.

Each account publishes in its own lane (``Lanes``: a few threads shared by every account,
none while nothing is due), the sweeps share a ``Worker``, and alerts and notifications
have theirs, so one slow platform or command holds up nobody else.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Keep the C allocator to a few arenas for every thread (glibc; elsewhere nothing).

    glibc gives each thread that allocates its own arena, up to eight per core, and what is
    freed in an arena stays with it: after a thousand posts published at once on the lanes,
    a daemon kept 25 MB more than with two arenas, for good. Python's own lock already
    serialises most allocations, so the threads hardly wait for each other. Call it before
    the threads start; True when glibc took it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no per-thread arenas to limit)
        return False


class Worker:
    """One daemon thread that runs the jobs handed to it one at a time, in order. A job
    already waiting is not queued twice (the next run does whatever is due then), and the
    thread never holds the process up once the daemon stops."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._pending: dict[str, Callable[[], None]] = {}
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, key: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` unless one under ``key`` is already waiting; False if not queued."""
        with self._cond:
            if self._closed or key in self._pending:
                return False
            self._pending[key] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()
            return True

    @property
    def idle(self) -> bool:
        with self._cond:
            return not self._busy and not self._pending

    def close(self) -> None:
        """Run nothing more; the job in hand finishes (or is abandoned at exit)."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the job in hand; True when the thread ended."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(max(timeout, 0))
        return not thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                key = next(iter(self._pending))
                job = self._pending.pop(key)
                self._busy = True
            try:
                job()
            except Exception:  # a job reports its own failures; this keeps the worker alive
                log.exception("%s: %s failed", self.name, key)
            finally:
                with self._cond:
                    self._busy = False


class Lanes:
    """Jobs in lanes (one lane per account): a lane's jobs run one at a time, in order, as on
    a ``Worker`` of its own, and never wait for another lane's; at most ``size`` threads
    run lanes at once, and a thread with no lane waiting ends after ``linger`` seconds, so
    a thousand accounts cost a few threads, and none at rest.

    A job already waiting in its lane under the same key is not queued twice."""

    def __init__(self, name: str, size: int, *, linger: float = 5.0) -> None:
        self.name = name
        self.size = max(1, size)
        self.linger = linger
        self._cond = threading.Condition()
        self._pending: dict[str, dict[str, Callable[[], None]]] = {}
        self._ready: deque[str] = deque()  # lanes with a job waiting and none running
        self._running: set[str] = set()
        self._threads: set[threading.Thread] = set()
        self._waiting = 0  # threads waiting for a lane
        self._closed = False
        self._count = 0

    def submit(self, lane: str, key: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` in ``lane`` unless one under ``key`` waits there; False if not
        queued."""
        with self._cond:
            if self._closed:
                return False
            jobs = self._pending.setdefault(lane, {})
            if key in jobs:
                return False
            jobs[key] = job
            if len(jobs) == 1 and lane not in self._running:
                self._ready.append(lane)
            if self._ready and self._waiting == 0 and len(self._threads) < self.size:
                self._count += 1
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self.name}-{self._count}")
                self._threads.add(thread)
                thread.start()
            self._cond.notify()
            return True

    def idle(self, lane: str | None = None) -> bool:
        """Whether nothing runs or waits (in ``lane``, or in any lane)."""
        with self._cond:
            if lane is not None:
                return lane not in self._running and not self._pending.get(lane)
            return not self._running and not any(self._pending.values())

    @property
    def threads(self) -> int:
        with self._cond:
            return len(self._threads)

    def close(self) -> None:
        """Run nothing more; the jobs in hand finish (or are abandoned at exit)."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._ready.clear()
            self._cond.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the jobs in hand; True when every thread ended."""
        until = time.monotonic() + max(timeout, 0)
        with self._cond:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(until - time.monotonic(), 0))
        return not any(t.is_alive() for t in threads)

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._ready and not self._closed:
                    self._waiting += 1
                    woken = self._cond.wait(self.linger)
                    self._waiting -= 1
                    if not woken and not self._ready:
                        self._threads.discard(me)
                        return
                if self._closed:
                    self._threads.discard(me)
                    return
                lane = self._ready.popleft()
                jobs = self._pending[lane]
                key = next(iter(jobs))
                job = jobs.pop(key)
                self._running.add(lane)
            try:
                job()
            except Exception:  # a job reports its own failures; this keeps the thread alive
                log.exception("%s: %s: %s failed", self.name, lane, key)
            finally:
                with self._cond:
                    self._running.discard(lane)
                    if self._pending.get(lane):
                        self._ready.append(lane)  # behind the lanes already waiting
                        self._cond.notify()
                    elif lane in self._pending:
                        del self._pending[lane]
