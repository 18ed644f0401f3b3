"""The daemon's workers: each a thread that runs the jobs handed to it, one at a time.

Each account publishes on its own lane (a ``Worker``), the sweeps share one, and alerts
and notifications have theirs, so one slow platform or command holds up nobody else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


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
