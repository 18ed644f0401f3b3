"""The outbox as people see it: listing rows, sending failed ones again, and the warnings
``outreach status`` shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlmodel import col

from outreach.errors import NotFound, StateError
from outreach.i18n import _
from outreach.states import NotificationStatus, NotifyEvent
from outreach.store.models import Notification

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def retry(rt: Runtime, ids: Sequence[int]) -> list[int]:
    """Failed rows back to pending, due now; the ids changed (NotFound for an unknown id,
    StateError for one that is not failed)."""
    now = rt.clock()
    with rt.db.session() as s:
        for nid in ids:
            row = s.get(Notification, nid) if 0 < nid < 2**63 else None
            if row is None:
                raise NotFound(_("no notification with id {nid}").format(nid=nid))
            if row.status != NotificationStatus.FAILED:
                raise StateError(_("notification {nid} is {status}, not failed").format(
                    nid=nid, status=row.status))
        s.execute(update(Notification).where(col(Notification.id).in_(list(ids))).values(
            status=NotificationStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now))
        s.commit()
    return list(ids)


def list_notifications(rt: Runtime, *, status: str | None = None, limit: int = 1000
                       ) -> list[dict[str, Any]]:
    q = select(Notification).order_by(col(Notification.id).desc())
    if status is not None:
        q = q.where(col(Notification.status) == status)
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        rows = s.execute(q).scalars().all()
    return [notification_json(r) for r in rows]


def notification_json(r: Notification) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {"id": r.id, "event": r.event, "target": r.target, "status": r.status,
            "level": r.level, "account": r.account, "comment_id": r.comment_id,
            "attempts": r.attempts, "next_attempt_at": iso(r.next_attempt_at),
            "created_at": iso(r.created_at), "sent_at": iso(r.sent_at),
            "last_error": r.last_error, "dedupe_key": r.dedupe_key, "payload": r.payload}


def health_warnings(rt: Runtime, now: datetime) -> list[str]:
    """For ``outreach status``: notifications that never reached their target, and ones
    long overdue (is a sender running?)."""
    with rt.db.reader() as s:
        failed = s.execute(select(func.count()).select_from(Notification).where(
            col(Notification.status) == NotificationStatus.FAILED)).scalar() or 0
        late = s.execute(select(func.count()).select_from(Notification).where(
            col(Notification.status) == NotificationStatus.PENDING,
            col(Notification.event) != NotifyEvent.DAEMON_STALE,
            col(Notification.next_attempt_at) < now - timedelta(minutes=10))).scalar() or 0
    out = []
    if failed:
        out.append(_("{failed} notification(s) failed: outreach notify list --status failed")
                   .format(failed=failed))
    if late:
        out.append(_("{late} notification(s) overdue by more than 10 minutes").format(late=late))
    return out
