"""Delivering the outbox. A row is claimed like a post: one conditional UPDATE sets
``sending``, the worker and a lease, so two daemons never send the same row at the same
time. Sent → ``sent``; a failure is retried with backoff (``attempts``, ``next_attempt_at``,
``last_error``) and ends ``failed`` after ``MAX_ATTEMPTS``.

The crash window: a worker that dies after the target accepted a message but before it
recorded ``sent`` leaves the row ``sending``; once the lease expires another worker sends it
again. Delivery is therefore at least once, with a duplicate possible only in that window
(the length of one send); every message carries its notification id (``#12``) so a repeat
is recognisable.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Update, or_, select, update
from sqlmodel import col

from outreach.errors import ConfigError, NotFound
from outreach.i18n import _
from outreach.notify.escalation import handled
from outreach.notify.messages import message
from outreach.notify.outbox import updated
from outreach.notify.transport import NotifyFailed, scrub, send
from outreach.states import NotificationStatus, NotifyEvent
from outreach.store.models import Notification

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger("outreach.notify")

EVERY_SECONDS = 10  # the daemon's sender runs this often
MAX_ATTEMPTS = 10
BACKOFF_START = 10  # seconds, doubling per attempt
BACKOFF_CAP = 30 * 60
MIN_LEASE = timedelta(seconds=60)  # longer than one send (apprise: 4-15 s timeouts; a command: 20 s)


@dataclass
class DeliverySummary:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def backoff(attempts: int) -> timedelta:
    """10 s doubling per attempt, capped at 30 min, with ±20 % jitter."""
    base = min(BACKOFF_START * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return timedelta(seconds=min(base * random.uniform(0.8, 1.2), BACKOFF_CAP))


def lease(rt: Runtime) -> timedelta:
    return max(MIN_LEASE, timedelta(seconds=rt.settings.policy.lease_seconds))


def _due(now: datetime) -> ColumnElement[bool]:
    return or_((col(Notification.status) == NotificationStatus.PENDING)
               & (col(Notification.next_attempt_at) <= now),
               (col(Notification.status) == NotificationStatus.SENDING)
               & (col(Notification.lease_until) < now))


def deliver_due(rt: Runtime, *, worker: str | None = None, events: Sequence[str] | None = None,
                exclude: Sequence[str] = (), limit: int = 200,
                stop: Callable[[], bool] | None = None) -> DeliverySummary:
    """Claim and send every due row (of ``events``, all but ``exclude``); what happened."""
    worker = worker or worker_id()
    summary = DeliverySummary()
    seen: set[int] = set()
    while len(seen) < limit and not (stop and stop()):
        now = rt.clock()
        q = select(col(Notification.id)).where(_due(now))
        if events is not None:
            q = q.where(col(Notification.event).in_(list(events)))
        if exclude:
            q = q.where(col(Notification.event).not_in(list(exclude)))
        if seen:
            q = q.where(col(Notification.id).not_in(list(seen)))
        with rt.db.reader() as s:
            ids = list(s.execute(q.order_by(col(Notification.next_attempt_at),
                                            col(Notification.id)).limit(20)).scalars())
        if not ids:
            break
        for nid in ids:
            seen.add(nid)
            row = claim(rt, nid, worker)
            if row is not None:
                _process(rt, row, worker, summary)
    return summary


def claim(rt: Runtime, nid: int, worker: str) -> Notification | None:
    """Take a due row for ``worker`` (None when another worker has it or it is not due)."""
    now = rt.clock()
    with rt.db.session() as s:
        before = s.execute(select(col(Notification.status)).where(
            col(Notification.id) == nid)).scalar()
        n = updated(s, update(Notification).where(col(Notification.id) == nid, _due(now)).values(
            status=NotificationStatus.SENDING, claimed_by=worker, lease_until=now + lease(rt),
            attempts=col(Notification.attempts) + 1, updated_at=now))
        row = s.get(Notification, nid) if n == 1 else None
        s.commit()
    if row is not None and before == NotificationStatus.SENDING:
        log.warning("notification %s: its last sender stopped before recording the outcome; "
                    "sending again (it may arrive twice)", nid)
    return row


def _owned(nid: int | None, worker: str) -> Update:
    return update(Notification).where(col(Notification.id) == nid,
                                      col(Notification.claimed_by) == worker,
                                      col(Notification.status) == NotificationStatus.SENDING)


def _process(rt: Runtime, row: Notification, worker: str, summary: DeliverySummary) -> None:
    assert row.id is not None
    settings = rt.settings
    if row.event == NotifyEvent.EMERGENCY and row.level > 0:
        with rt.db.reader() as s:
            why = handled(s, row.comment_id)
        if why:
            finish(rt, row, worker, status=NotificationStatus.CANCELLED, error=why)
            summary.cancelled.append(row.id)
            return
    target = next((t for t in settings.notify.targets if t.name == row.target), None)
    try:
        if target is None:
            raise NotifyFailed(_("target {target!r} is no longer configured").format(target=row.target))
        title, body = message(row, settings, target.lang or settings.notify.lang)
        send(target, title, body, envelope(row))
    except (NotifyFailed, ConfigError) as exc:
        error = scrub(exc.message)[:500]
        final = target is None or row.attempts >= MAX_ATTEMPTS
        if final:
            finish(rt, row, worker, status=NotificationStatus.FAILED, error=error)
            summary.failed.append(row.id)
            log.error("notification %s to %s failed for good: %s", row.id, row.target, error)
        else:
            finish(rt, row, worker, status=NotificationStatus.PENDING, error=error,
                    next_attempt_at=rt.clock() + backoff(row.attempts))
            summary.retrying.append(row.id)
            log.warning("notification %s to %s: %s (retrying)", row.id, row.target, error)
        return
    finish(rt, row, worker, status=NotificationStatus.SENT, error=None, sent_at=rt.clock())
    summary.sent.append(row.id)
    log.info("notification %s (%s) sent to %s", row.id, row.event, row.target)


def finish(rt: Runtime, row: Notification, worker: str, *, status: NotificationStatus,
           error: str | None, **values: Any) -> None:
    """Record a claimed row's outcome, if ``worker`` still holds the claim."""
    with rt.db.session() as s:
        n = updated(s, _owned(row.id, worker).values(
            status=status, last_error=error, claimed_by=None, lease_until=None,
            updated_at=rt.clock(), **values))
        s.commit()
    if n != 1:
        log.warning("notification %s: the claim was lost before its outcome (%s) was recorded",
                    row.id, status)


def envelope(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "event": row.event, "target": row.target, "level": row.level,
            "account": row.account, "created_at": row.created_at.isoformat()
            if row.created_at else None, "payload": row.payload or {}}


def send_test(rt: Runtime, name: str | None = None) -> list[tuple[str, str | None]]:
    """Send a test message to every target (or the one named); (name, error or None)."""
    settings = rt.settings
    targets = settings.notify.targets
    if name is not None:
        targets = tuple(t for t in targets if t.name == name)
        if not targets:
            known = ", ".join(t.name for t in settings.notify.targets) or "none"
            raise NotFound(_("unknown notify target {name!r} (configured: {known})").format(
                name=name, known=known))
    if not targets:
        raise ConfigError(_("no [notify] targets are configured"), where=str(settings.path))
    now = rt.clock()
    out: list[tuple[str, str | None]] = []
    for t in targets:
        row = Notification(event="test", target=t.name, dedupe_key="test", payload={},
                           created_at=now, next_attempt_at=now)
        title, body = message(row, settings, t.lang or settings.notify.lang)
        try:
            send(t, title, body, envelope(row))
        except (NotifyFailed, ConfigError) as exc:
            out.append((t.name, scrub(exc.message)))
            continue
        out.append((t.name, None))
    return out
