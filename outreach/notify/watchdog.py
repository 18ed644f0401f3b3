"""The daemon's sender job (periodic events, then delivery) and ``outreach watchdog``, which
tells of a stale daemon from outside it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlmodel import col

from outreach.notify.digest import daily_digest
from outreach.notify.outbox import enqueue, tokens_expiring, updated
from outreach.notify.sender import DeliverySummary, deliver_due
from outreach.states import NotificationStatus, NotifyEvent
from outreach.store.models import DaemonHeartbeat, Notification

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger("outreach.notify")

STALE_MINUTES = 10
_FINISHED = (NotificationStatus.SENT, NotificationStatus.FAILED, NotificationStatus.CANCELLED)


def daemon_job(rt: Runtime, worker: str, stopping: Callable[[], bool]) -> Callable[[], None]:
    """The daemon's sender: periodic events (tokens, digest), then every due row except
    ``daemon_stale`` (the watchdog's). Never raises."""

    def job() -> None:
        if stopping():
            return
        try:
            run_once(rt, worker=worker, stop=stopping)
        except Exception:
            log.exception("notification sender failed")

    return job


def run_once(rt: Runtime, *, worker: str | None = None,
             stop: Callable[[], bool] | None = None) -> DeliverySummary:
    now = rt.clock()
    tokens_expiring(rt, now)
    daily_digest(rt, now)
    forget_old_payloads(rt, now)
    return deliver_due(rt, worker=worker, exclude=(NotifyEvent.DAEMON_STALE,), stop=stop)


_forgotten_at: dict[str, datetime] = {}


def forget_old_payloads(rt: Runtime, now: datetime) -> int:
    """``[opinions] keep_days`` holds here too: a finished notification older than that
    loses its payload (an emergency's comment text); the row stays. At most hourly."""
    last = _forgotten_at.get(rt.settings.database_url)
    if last is not None and timedelta(0) <= now - last < timedelta(hours=1):
        return 0
    _forgotten_at[rt.settings.database_url] = now
    cutoff = now - timedelta(days=rt.settings.opinions.keep_days)
    with rt.db.session() as s:
        n = updated(s, update(Notification).where(
            col(Notification.created_at) < cutoff, col(Notification.payload).is_not(None),
            col(Notification.status).in_(_FINISHED)).values(payload=None))
        s.commit()
    return n


@dataclass
class WatchdogResult:
    stale: bool
    last_heartbeat: datetime | None
    delivery: DeliverySummary


def watchdog(rt: Runtime, stale_minutes: int = STALE_MINUTES) -> WatchdogResult:
    """Is the newest daemon heartbeat older than ``stale_minutes``? Then ``daemon_stale``,
    sent from here (the daemon is what stopped), once per outage: the outage is named by
    its last heartbeat, so a new one after the daemon came back notifies again."""
    now = rt.clock()
    with rt.db.reader() as s:
        newest = s.execute(select(func.max(col(DaemonHeartbeat.heartbeat_at)))).scalar()
    stale = newest is None or now - newest > timedelta(minutes=stale_minutes)
    if not stale:
        with rt.db.session() as s:  # an outage that ended before it was told is news no more
            s.execute(update(Notification).where(
                col(Notification.event) == NotifyEvent.DAEMON_STALE,
                col(Notification.status) == NotificationStatus.PENDING).values(
                status=NotificationStatus.CANCELLED, last_error="the daemon is running again",
                updated_at=now))
            s.commit()
        return WatchdogResult(False, newest, DeliverySummary())
    with rt.db.session() as s:
        enqueue(s, NotifyEvent.DAEMON_STALE, {
            "last_heartbeat": newest.isoformat() if newest else None,
            "minutes": int((now - newest).total_seconds() // 60) if newest else None,
            "stale_minutes": stale_minutes},
            dedupe_key=f"daemon_stale:{newest.isoformat() if newest else 'never'}",
            settings=rt.settings, now=now)
        s.commit()
    return WatchdogResult(True, newest, deliver_due(rt, events=(NotifyEvent.DAEMON_STALE,)))
