"""Reading posts: the queue, one post with its counts and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import func, select
from sqlmodel import col

from outreach.actions.rows import get_batch, get_post, post_media
from outreach.media.store import MediaStore
from outreach.store.models import AuditLog, Post, PostMedia, PostMetric

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
    images: int  # how many pictures the post carries


class MediaRow(TypedDict):
    position: int
    mime: str
    size: int
    width: int
    height: int
    alt: str
    sha256: str
    file: str  # where its bytes are in the media store
    remote_id: str | None
    uploaded_at: str | None


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
    media: list[MediaRow]
    audit: list[AuditRow]


def stored_id(row_id: int | None) -> int:
    """The id of a row read from (or flushed to) the database, which always has one."""
    assert row_id is not None, "a stored row has an id"
    return row_id


def post_row(p: Post, images: int = 0) -> PostRow:
    return {
        "id": stored_id(p.id), "account": p.account, "status": p.status, "kind": p.kind,
        "scheduled_at": iso(p.scheduled_at), "not_before": iso(p.not_before),
        "tip_id": p.tip_id, "variant": p.variant, "category": p.category, "text": p.text,
        "remote_id": p.remote_id, "remote_url": p.remote_url,
        "published_at": iso(p.published_at), "attempts": p.attempts,
        "last_error": p.last_error, "created_by": p.created_by, "approved_by": p.approved_by,
        "slot_key": p.slot_key, "batch_id": p.batch_id, "images": images,
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
        # most of the accounts and no status, on SQLite (no statistics): read in time order
        # and keep the group's posts (the first page is found at once), rather than every
        # post of each account sorted (a province's year is millions of rows); ``|| ''``
        # keeps the account index out. PostgreSQL's planner makes that choice itself.
        wide = (not status and len(names) > 1 and len(names) * 2 >= len(rt.settings.accounts)
                and rt.db.engine.dialect.name == "sqlite")
        q = q.where((col(Post.account).concat("") if wide else col(Post.account)).in_(names))
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        posts = list(s.execute(q).scalars())
        counts = _image_counts(s, [stored_id(p.id) for p in posts])
        return [post_row(p, counts.get(stored_id(p.id), 0)) for p in posts]


def image_count(rt: Runtime, post: Post) -> int:
    """How many pictures one post carries."""
    with rt.db.reader() as s:
        return _image_counts(s, [stored_id(post.id)]).get(stored_id(post.id), 0)


def _image_counts(session: Any, post_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for start in range(0, len(post_ids), 500):  # bound the IN list
        chunk = post_ids[start:start + 500]
        counts.update(session.execute(
            select(col(PostMedia.post_id), func.count()).where(
                col(PostMedia.post_id).in_(chunk)).group_by(col(PostMedia.post_id))).all())
    return counts


def post_detail(rt: Runtime, post_id: int) -> PostDetail:
    """One post with its latest counts and its audit trail."""
    store = MediaStore(rt.settings.media_dir)
    with rt.db.reader() as s:
        post = get_post(s, post_id)
        pictures = post_media(s, [post_id]).get(post_id, [])
        row = post_row(post, len(pictures))
        m = s.execute(select(PostMetric).where(col(PostMetric.post_id) == post_id)
                      .order_by(col(PostMetric.observed_at).desc(), col(PostMetric.id).desc())
                      .limit(1)).scalars().first()
        trail = s.execute(select(AuditLog).where(col(AuditLog.post_id) == post_id)
                          .order_by(col(AuditLog.at), col(AuditLog.id))).scalars().all()
    return PostDetail(
        **row, reposts=m.reposts if m else None, comments=m.comments if m else None,
        likes=m.likes if m else None, counts_observed_at=iso(m.observed_at) if m else None,
        media=[{"position": pm.position, "mime": pm.mime, "size": pm.size, "width": pm.width,
                "height": pm.height, "alt": pm.alt, "sha256": pm.sha256,
                "file": str(store.path(pm.sha256)), "remote_id": pm.remote_id,
                "uploaded_at": iso(pm.uploaded_at)} for pm in pictures],
        audit=[{"at": iso(a.at), "actor": a.actor, "action": a.action, "reason": a.reason,
                "detail": a.detail} for a in trail])
