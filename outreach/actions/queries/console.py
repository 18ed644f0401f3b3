"""What the web console reads beyond the command line's listings: drafts with who wrote
them, a page of the queue, the calendar of an account, the audit log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import func, select
from sqlmodel import col

from outreach.actions.posts import text_author
from outreach.actions.queries.posts import PostRow, iso, post_row, stored_id
from outreach.actions.rows import get_post, post_media
from outreach.errors import NotFound
from outreach.i18n import _
from outreach.media.store import MediaMissing, MediaStore
from outreach.schedule.plan import plan_rows
from outreach.states import PostStatus
from outreach.store.models import AuditLog, Post, PostMedia
from outreach.times import day_bounds

if TYPE_CHECKING:
    from outreach.runtime import Runtime


class Picture(TypedDict):
    position: int
    alt: str


class Draft(TypedDict):
    post: PostRow
    author: str | None
    created_at: str | None
    pictures: list[Picture]


def drafts_waiting(rt: Runtime, *, limit: int = 200) -> list[Draft]:
    """Drafts awaiting approval, the longest waiting first, with who wrote each text (the
    one who may not approve it)."""
    with rt.db.reader() as s:
        posts = s.execute(select(Post).where(col(Post.status) == PostStatus.DRAFT)
                          .order_by(col(Post.created_at), col(Post.id)).limit(limit)).scalars().all()
        media = post_media(s, [stored_id(p.id) for p in posts])
        return [{"post": post_row(p, len(media.get(stored_id(p.id), []))),
                 "author": text_author(s, p), "created_at": iso(p.created_at),
                 "pictures": [{"position": m.position, "alt": m.alt}
                              for m in media.get(stored_id(p.id), [])]} for p in posts]


def stored_picture(rt: Runtime, post_id: int, position: int) -> tuple[bytes, str]:
    """The bytes and type of a post's picture at ``position``, read from the media store by
    the post's own row."""
    with rt.db.reader() as s:
        get_post(s, post_id)
        row = s.execute(select(PostMedia).where(col(PostMedia.post_id) == post_id,
                                                col(PostMedia.position) == position)
                        ).scalars().first()
    if row is None:
        raise NotFound(_("post {post_id} has no picture {position}").format(
            post_id=post_id, position=position))
    try:
        data = MediaStore(rt.settings.media_dir).get(row.sha256)
    except MediaMissing as exc:
        raise NotFound(exc.message) from None
    return data, row.mime


def text_writer(rt: Runtime, post_id: int) -> str | None:
    """Who wrote a post's current text (who may not approve it)."""
    with rt.db.reader() as s:
        return text_author(s, get_post(s, post_id))


def queue_page(rt: Runtime, *, status: str | None, account: str | None, offset: int,
               limit: int, batch: int | None = None) -> tuple[list[PostRow], bool]:
    """One page of the queue, oldest scheduled first, and whether another page follows
    (``batch``: only a fan-out's posts)."""
    if account:
        rt.settings.account(account)
    q = select(Post).order_by(col(Post.scheduled_at), col(Post.id))
    if batch is not None:
        q = q.where(col(Post.batch_id) == batch)
    if status:
        q = q.where(col(Post.status) == status)
    if account:
        q = q.where(col(Post.account) == account)
    with rt.db.reader() as s:
        rows = [post_row(p) for p in s.execute(q.offset(max(offset, 0)).limit(limit + 1)).scalars()]
    return rows[:limit], len(rows) > limit


class CalendarItem(TypedDict):
    at: str
    day: str
    status: str
    text: str
    tip_id: str | None
    reason: str | None
    post_id: int | None
    planned: bool


def calendar(rt: Runtime, account: str, start: date, days: int) -> list[CalendarItem]:
    """An account's days from ``start`` (its zone): the posts stored for them (published,
    missed, queued, held …) and, from now on, the slots `outreach plan` would draw — the same
    rows as `plan`, so the calendar shows what the daemon will publish."""
    acc = rt.settings.account(account)
    zone = acc.timezone
    begin, _end = day_bounds(start, zone)
    end, _next = day_bounds(start + timedelta(days=days), zone)
    now = rt.clock()
    items: dict[tuple[str, int | None], CalendarItem] = {}
    with rt.db.reader() as s:
        stored = s.execute(select(Post).where(
            col(Post.account) == acc.name, col(Post.scheduled_at) >= begin,
            col(Post.scheduled_at) < end).order_by(col(Post.scheduled_at))).scalars().all()
    for p in stored:
        assert p.scheduled_at is not None
        items[(p.scheduled_at.isoformat(), p.id)] = _item(p.scheduled_at, zone, p.status, p.text,
                                                          p.tip_id, p.last_error, p.id,
                                                          planned=False)
    if end > now:
        for row in plan_rows(rt, days=0, account=acc.name, ahead=end - now):
            at = datetime.fromisoformat(row["scheduled_at"])
            if at < begin or (at.isoformat(), row["post_id"]) in items:
                continue
            items[(at.isoformat(), row["post_id"])] = _item(
                at, zone, row["status"], row["text"], row["tip_id"], row["reason"],
                row["post_id"], planned=row["post_id"] is None)
    return sorted(items.values(), key=lambda i: i["at"])


def _item(at: datetime, zone: Any, status: str, text: str, tip_id: str | None,
          reason: str | None, post_id: int | None, *, planned: bool) -> CalendarItem:
    local = at.astimezone(zone)
    return {"at": at.isoformat(), "day": local.date().isoformat(), "status": status,
            "text": text, "tip_id": tip_id, "reason": reason, "post_id": post_id,
            "planned": planned}


class AuditEntry(TypedDict):
    id: int
    at: str | None
    actor: str
    action: str
    account: str | None
    post_id: int | None
    target: str | None
    reason: str | None
    detail: Any


def audit_page(rt: Runtime, *, actor: str | None, action: str | None, account: str | None,
               offset: int, limit: int) -> tuple[list[AuditEntry], bool, list[str]]:
    """Who did what, newest first, filtered; whether more follow; the actions known."""
    q = select(AuditLog).order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
    if actor:
        q = q.where(col(AuditLog.actor) == actor)
    if action:
        q = q.where(col(AuditLog.action) == action)
    if account:
        q = q.where(col(AuditLog.account) == account)
    with rt.db.reader() as s:
        rows = s.execute(q.offset(max(offset, 0)).limit(limit + 1)).scalars().all()
        actions = sorted(a for a in s.execute(select(func.distinct(col(AuditLog.action))))
                         .scalars())
    out: list[AuditEntry] = [{"id": a.id or 0, "at": iso(a.at), "actor": a.actor,
                              "action": a.action, "account": a.account, "post_id": a.post_id,
                              "target": a.target, "reason": a.reason, "detail": a.detail}
                             for a in rows[:limit]]
    return out, len(rows) > limit, actions
