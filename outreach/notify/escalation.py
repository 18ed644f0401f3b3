"""Emergencies escalate: the event's targets are listed in order; the first gets the row at
once, the next ``escalate_after_minutes`` later, and so on. A later row is cancelled when the
comment is acknowledged (``outreach opinions ack``) or answered before it is due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from outreach.errors import NotFound, StateError
from outreach.notify.outbox import LARGEST_ID, updated
from outreach.states import NotificationStatus, NotifyEvent
from outreach.store.audit import audit
from outreach.store.models import AuditLog, Comment, Notification

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def acknowledge(rt: Runtime, comment_id: int, *, by: str) -> int:
    """Someone has an emergency comment in hand: audited, and its later escalations are
    cancelled in the same transaction. Returns the notifications cancelled."""
    now = rt.clock()
    with rt.db.session() as s:
        comment = s.get(Comment, comment_id) if 0 < comment_id <= LARGEST_ID else None
        if comment is None or comment.is_own:
            raise NotFound(f"no comment with id {comment_id}")
        if acknowledged(s, comment_id):
            raise StateError(f"comment {comment_id} was already acknowledged")
        audit(s, now, by, "opinion_ack", account=comment.account, target=f"comment {comment_id}")
        n = updated(s, update(Notification).where(
            col(Notification.comment_id) == comment_id, col(Notification.event) == NotifyEvent.EMERGENCY,
            col(Notification.status) == NotificationStatus.PENDING).values(
            status=NotificationStatus.CANCELLED, last_error=f"acknowledged by {by}",
            updated_at=now))
        s.commit()
    return n


def acknowledged(session: Session, comment_id: int) -> bool:
    return bool(session.execute(select(func.count()).select_from(AuditLog).where(
        col(AuditLog.action) == "opinion_ack",
        col(AuditLog.target) == f"comment {comment_id}")).scalar())


def handled(session: Session, comment_id: int | None) -> str | None:
    """Why an emergency needs no further escalation (acknowledged, answered), if it does not."""
    if comment_id is None:
        return None
    if acknowledged(session, comment_id):
        return "acknowledged"
    replied = session.execute(select(col(Comment.replied_at)).where(
        col(Comment.id) == comment_id)).scalar()
    return "answered" if replied is not None else None
