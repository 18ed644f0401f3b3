"""Emergencies escalate: the event's targets are listed in order; the first gets the row at
once, the next ``escalate_after_minutes`` later, and so on. A later row is cancelled when the
comment is acknowledged (``outreach opinions ack``), handed over, closed or answered before it is due."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from outreach.errors import NotFound, StateError
from outreach.i18n import _
from outreach.notify.outbox import LARGEST_ID, updated
from outreach.states import NotificationStatus, NotifyEvent, OpinionState
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
            raise NotFound(_("no comment with id {comment_id}").format(comment_id=comment_id))
        if acknowledged(s, comment_id):
            raise StateError(_("comment {comment_id} was already acknowledged").format(
                comment_id=comment_id))
        if comment.handled_state in (OpinionState.HANDED_OVER, OpinionState.CLOSED):
            raise StateError(_("comment {comment_id} was already {handled_state}").format(
                comment_id=comment_id, handled_state=comment.handled_state))
        audit(s, now, by, "opinion_ack", account=comment.account, target=f"comment {comment_id}")
        if comment.handled_state is None:
            comment.handled_state = OpinionState.ACKNOWLEDGED
            comment.handled_by, comment.handled_at = by, now
        n = cancel_escalations(s, comment_id, f"acknowledged by {by}", now)
        s.commit()
    return n


def cancel_escalations(session: Session, comment_id: int, why: str, now: datetime) -> int:
    """Cancel an emergency's pending notifications (not committed here); how many."""
    return updated(session, update(Notification).where(
        col(Notification.comment_id) == comment_id, col(Notification.event) == NotifyEvent.EMERGENCY,
        col(Notification.status) == NotificationStatus.PENDING).values(
        status=NotificationStatus.CANCELLED, last_error=why, updated_at=now))


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
    row = session.execute(select(col(Comment.replied_at), col(Comment.handled_state)).where(
        col(Comment.id) == comment_id)).first()
    if row is not None and row[1] in (OpinionState.HANDED_OVER, OpinionState.CLOSED):
        return str(row[1]).replace("_", " ")
    return "answered" if row is not None and row[0] is not None else None
