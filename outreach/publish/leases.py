"""Who holds a post: the claim, its lease, and the keeper that renews it.

A claim is one conditional UPDATE that sets ``claimed_by`` and ``lease_until``; every
later write names the owner (``owned_post``), so a worker whose lease ran out and was
taken over changes nothing. Leases are read and written on the database's clock
(``lease_clock``) unless the runtime's clock is injected.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy import update as _update
from sqlmodel import col

from outreach.states import PostStatus
from outreach.store.db import db_now, rowcount
from outreach.store.models import Post, UTCDateTime
from outreach.times import utcnow

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)


def update(entity: Any) -> Any:
    """A Core UPDATE of the entity's table: no ORM session synchronisation (no ORM object
    is loaded in these short sessions; rows are read again when needed)."""
    return _update(entity.__table__)


def lease_clock(rt: Runtime) -> str | None:
    """The database whose clock leases are written and compared with (its dialect), or None
    when the runtime's clock was injected (tests, the demo's simulated time): every host
    then judges a lease by one clock, so a host whose clock is off cannot take over a live
    post."""
    return None if rt.clock is not utcnow else str(rt.db.engine.dialect.name)


def now_for_leases(clock: str | None, injected: Any, plus: timedelta = timedelta(0)) -> Any:
    """The database's clock (read once per statement) plus ``plus`` or, with an injected
    clock, the parameter ``injected`` that carries that instant."""
    return db_now(clock, plus.total_seconds()) if clock is not None else injected


@functools.cache
def owned_post(status: str | None = None) -> Any:
    """UPDATE of the post :b_id this worker holds (:b_worker), optionally only in ``status``;
    SET from the parameters given with it. Built once: the publisher writes one a post."""
    cond = [col(Post.id) == bindparam("b_id"), col(Post.claimed_by) == bindparam("b_worker")]
    if status is not None:
        cond.append(col(Post.status) == status)
    return update(Post).where(*cond)


@functools.cache
def renewal(clock: str | None, lease_seconds: int) -> Any:
    """A lease renewal of the post this worker holds while it is publishing."""
    return owned_post(PostStatus.PUBLISHING).values(lease_until=now_for_leases(
        clock, bindparam("b_lease_until", type_=UTCDateTime), timedelta(seconds=lease_seconds)))


@functools.cache
def claim_statement(queued: bool, catch_up: bool, clock: str | None = None,
                     lease_seconds: int = 60) -> Any:
    """The claim's UPDATE … RETURNING as an ORM select (see ``Publisher._claim``), with
    :b_id, :b_status, :b_now, :b_worker and :b_not_before. The lease and the attempt's time
    are on ``clock`` (see ``lease_clock``). Built once per shape."""
    now: Any = bindparam("b_now", type_=UTCDateTime)
    sent = now_for_leases(clock, now)
    values: dict[str, Any] = {
        "claimed_by": bindparam("b_worker"), "updated_at": now,
        "lease_until": now_for_leases(clock, bindparam("b_lease_until", type_=UTCDateTime),
                                       timedelta(seconds=lease_seconds))}
    cond = [col(Post.id) == bindparam("b_id"), col(Post.status) == bindparam("b_status")]
    if queued:
        if catch_up:
            values["catch_up"] = True
        values.update(status=PostStatus.PUBLISHING, attempts=col(Post.attempts) + 1, last_attempt_at=sent,
                      first_attempt_at=func.coalesce(col(Post.first_attempt_at), sent),
                      not_before=bindparam("b_not_before", type_=UTCDateTime))
    else:
        cond.append(or_(col(Post.lease_until).is_(None), col(Post.lease_until) < sent))
    claim = update(Post).where(*cond).values(**values)
    return select(Post).from_statement(claim.returning(*claim.table.c))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class Call:
    """A platform call in flight, as the lease keeper sees it."""

    lost: bool = False


class LeaseKeeper:
    """Renews the leases of a publisher's posts while their platform calls run.

    One thread with its own sessions, started by the first call and gone once it wakes to
    find nothing in flight, so a loop of posts does not start a thread for each one.
    """

    def __init__(self, rt: Runtime, worker: str, lease: timedelta,
                 interval: float | None = None) -> None:
        self.rt, self.worker, self.lease = rt, worker, lease
        self.clock = lease_clock(rt)
        self.interval = interval or max(lease.total_seconds() / 3, 0.5)
        self._lock = threading.Lock()
        self._calls: dict[int, Call] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, post_id: int) -> Iterator[Call]:
        """Keep ``post_id``'s lease alive for the block; ``.lost`` says if it was taken."""
        call = Call()
        with self._lock:
            self._calls[post_id] = call
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-keeper",
                                                daemon=True)
                self._thread.start()
        try:
            yield call
        finally:
            with self._lock:
                self._calls.pop(post_id, None)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if not self._calls:  # decided under the lock: a new call starts a new thread
                    self._thread = None
                    return
                calls = list(self._calls.items())
            for post_id, call in calls:
                if call.lost:  # taken over: nothing of ours to renew
                    continue
                try:
                    call.lost = not self._renew(post_id)
                except Exception:  # a renewal that fails is retried at the next interval
                    log.warning("lease renewal for post %s failed", post_id, exc_info=True)

    def _renew(self, post_id: int) -> bool:
        with self.rt.db.session() as s:
            n = rowcount(s.execute(renewal(self.clock, int(self.lease.total_seconds())), {
                "b_id": post_id, "b_worker": self.worker,
                "b_lease_until": self.rt.clock() + self.lease}))
            s.commit()
        return n == 1
