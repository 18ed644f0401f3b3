"""Read-only work spread over the machine's cores with ``fork``.

Used where a command's work splits into independent parts (``outreach plan``: one
part per account) and the process is single-threaded, so a fork is safe. A child
that fails for any reason is not trusted: its part is done again in this process,
so errors surface here exactly as they would without the fork.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def workers_available(limit: int = 4) -> int:
    """How many processes may share the work here (1: do it in this process)."""
    if not hasattr(os, "fork") or sys.platform != "linux" or threading.active_count() > 1:
        return 1
    cpus = len(os.sched_getaffinity(0))
    return max(1, min(cpus, limit))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off for a burst of work whose objects all live to its end (a
    province's plan reads ~10^6 uses): each collection would walk every one of them again,
    a sixth of the work. Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` dealt round-robin into at most ``parts`` non-empty lists."""
    parts = max(1, min(parts, len(items)))
    return [list(items[i::parts]) for i in range(parts)]


def map_forked(func: Callable[[list[T]], R], chunks: list[list[T]],
               after_fork: Callable[[], None] = lambda: None) -> list[R]:
    """``[func(chunk) for chunk in chunks]``, the first chunk here and each other one in a
    forked child (``after_fork`` runs first in the child: drop inherited connections)."""
    if len(chunks) <= 1:
        return [func(chunk) for chunk in chunks]
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int]] = []  # (pid, read end)
    try:
        for chunk in chunks[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute, send, leave without running any cleanup
                code = 1
                try:
                    os.close(read_fd)
                    after_fork()
                    data = pickle.dumps(func(chunk), protocol=pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(write_fd, "wb") as out:
                        out.write(data)
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_fd)
            children.append((pid, read_fd))
        results = [func(chunks[0])]
        for chunk in chunks[1:]:
            pid, read_fd = children.pop(0)
            try:
                with os.fdopen(read_fd, "rb") as inp:
                    data = inp.read()
            finally:
                _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) == 0:
                results.append(pickle.loads(data))
            else:
                results.append(func(chunk))  # the child failed: the error, if any, is raised here
        return results
    finally:
        for pid, read_fd in children:  # interrupted: leave no child or descriptor behind
            try:
                os.close(read_fd)
            except OSError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
