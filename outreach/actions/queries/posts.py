"""Reading posts: the queue, one post with its counts and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import select
from sqlmodel import col

from outreach.actions.batches import get_batch
from outreach.actions.posts import get_post
from outreach.store.models import AuditLog, Post, PostMetric

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def iso(value: datetime | None) -> str | None:
    """JSON timestamps: ISO 8601 with offset, in UTC."""
    return value.isoformat() if value is not None else None


# --- posts -----------------------------------------------------------------------------


class PostRow(TypedDict):
    id: int
    account: str
    status: str
    kind: str
    scheduled_at: str | None
    not_before: str | None
    tip_id: str | None
    variant: int | None
    category: str | None
    text: str
    remote_id: str | None
    remote_url: str | None
    published_at: str | None
    attempts: int
    last_error: str | None
    created_by: str | None
    approved_by: str | None
    slot_key: str | None
    batch_id: int | None


class AuditRow(TypedDict):
    at: str | None
    actor: str
    action: str
    reason: str | None
    detail: Any


class PostDetail(PostRow):
    reposts: int | None
    comments: int | None
    likes: int | None
    counts_observed_at: str | None
    audit: list[AuditRow]


def stored_id(row_id: int | None) -> int:
    """The id of a row read from (or flushed to) the database, which always has one."""
    assert row_id is not None, "a stored row has an id"
    return row_id


def post_row(p: Post) -> PostRow:
    return {
        "id": stored_id(p.id), "account": p.account, "status": p.status, "kind": p.kind,
        "scheduled_at": iso(p.scheduled_at), "not_before": iso(p.not_before),
        "tip_id": p.tip_id, "variant": p.variant, "category": p.category, "text": p.text,
        "remote_id": p.remote_id, "remote_url": p.remote_url,
        "published_at": iso(p.published_at), "attempts": p.attempts,
        "last_error": p.last_error, "created_by": p.created_by, "approved_by": p.approved_by,
        "slot_key": p.slot_key, "batch_id": p.batch_id,
    }


def list_posts(rt: Runtime, *, status: str | None, account: str | None,
               limit: int, batch: int | None = None) -> list[PostRow]:
    """Posts, oldest scheduled first; ``account`` a name or ``@group`` (an unknown one is an
    error naming the known), ``batch`` a fan-out's id."""
    names = rt.settings.select(account)
    q = select(Post).order_by(col(Post.scheduled_at), col(Post.id))
    if batch is not None:
        with rt.db.reader() as s:
            get_batch(s, batch)  # NotFound for an unknown batch
        q = q.where(col(Post.batch_id) == batch)
    if status:
        q = q.where(col(Post.status) == status)
    if names is not None:
        q = q.where(col(Post.account).in_(names))
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        return [post_row(p) for p in s.execute(q).scalars()]


def post_detail(rt: Runtime, post_id: int) -> PostDetail:
    """One post with its latest counts and its audit trail."""
    with rt.db.reader() as s:
        row = post_row(get_post(s, post_id))
        m = s.execute(select(PostMetric).where(col(PostMetric.post_id) == post_id)
                      .order_by(col(PostMetric.observed_at).desc(), col(PostMetric.id).desc())
                      .limit(1)).scalars().first()
        trail = s.execute(select(AuditLog).where(col(AuditLog.post_id) == post_id)
                          .order_by(col(AuditLog.at), col(AuditLog.id))).scalars().all()
    return PostDetail(
        **row, reposts=m.reposts if m else None, comments=m.comments if m else None,
        likes=m.likes if m else None, counts_observed_at=iso(m.observed_at) if m else None,
        audit=[{"at": iso(a.at), "actor": a.actor, "action": a.action, "reason": a.reason,
                "detail": a.detail} for a in trail])
