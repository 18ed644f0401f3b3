"""The daily digest's figures: a day's posts and engagement, comments by class, the reply
backlog and the oldest unanswered emergency (in the config's zone)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from outreach.collect import counts as collector
from outreach.notify.outbox import enqueue, stored
from outreach.states import NotifyEvent, OpinionClass, PostKind, PostStatus
from outreach.store.models import Comment, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def digest(rt: Runtime, day: date, now: datetime) -> dict[str, Any]:
    """A day's posts and engagement, comments by class, the reply backlog and the oldest
    unanswered emergency (the config's zone)."""
    zone = rt.settings.timezone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    with rt.db.reader() as s:
        posts = s.execute(select(col(Post.id), col(Post.account)).where(
            col(Post.status) == PostStatus.PUBLISHED, col(Post.published_at) >= start,
            col(Post.published_at) < end, col(Post.kind) != PostKind.REPLY)).all()
        counts = collector.latest_counts(s, [p for p, _ in posts])
        failed = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == PostStatus.FAILED, col(Post.updated_at) >= start,
            col(Post.updated_at) < end)).scalar()
        classes = dict(s.execute(select(col(Comment.opinion_class), func.count()).where(
            col(Comment.is_own).is_(False), col(Comment.created_at) >= start,
            col(Comment.created_at) < end).group_by(col(Comment.opinion_class))).all())
        backlog = s.execute(select(func.count()).select_from(Comment).where(
            col(Comment.is_own).is_(False), col(Comment.reply_required).is_(True),
            col(Comment.replied_at).is_(None))).scalar()
        oldest = s.execute(select(col(Comment.id), col(Comment.account), col(Comment.created_at))
                           .where(col(Comment.opinion_class) == OpinionClass.EMERGENCY,
                                  col(Comment.is_own).is_(False),
                                  col(Comment.replied_at).is_(None))
                           .order_by(col(Comment.created_at), col(Comment.id)).limit(1)).first()
    per_account: dict[str, int] = {}
    for _, account in posts:
        per_account[account] = per_account.get(account, 0) + 1

    def total(i: int) -> int:
        return sum((c[i] or 0) for c in counts.values())

    return {
        "day": day.isoformat(), "posts": len(posts), "posts_by_account": per_account,
        "failed": int(failed or 0), "reposts": total(0), "comments": total(1), "likes": total(2),
        "comments_by_class": {k: int(v) for k, v in sorted(classes.items())},
        "backlog": int(backlog or 0),
        "oldest_emergency": None if oldest is None else {
            "comment_id": oldest[0], "account": oldest[1], "created_at": oldest[2].isoformat()},
    }


def daily_digest(rt: Runtime, now: datetime) -> int:
    """Once a day, from ``[notify] digest_at`` in the config's zone: yesterday in figures."""
    settings = rt.settings
    targets = settings.notify.for_event(NotifyEvent.DAILY_DIGEST)
    if not targets:
        return 0
    zone = settings.timezone
    local = now.astimezone(zone)
    if local.time() < settings.notify.digest_at:
        return 0
    key = f"daily_digest:{local.date().isoformat()}"
    with rt.db.reader() as s:
        if stored(s, targets, key):
            return 0
    payload = digest(rt, local.date() - timedelta(days=1), now)
    with rt.db.session() as s:
        added = enqueue(s, NotifyEvent.DAILY_DIGEST, payload, dedupe_key=key, settings=settings, now=now)
        s.commit()
    return added
