"""Reading the public-opinion inbox: the public's comments, most urgent first, and one
comment's thread (the post it is under, the comment, our replies so far)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import Text, case, or_, select, type_coerce
from sqlmodel import col

from outreach.actions.queries.posts import AuditRow, PostRow, iso, post_row, stored_id
from outreach.errors import ContentError, InputError
from outreach.i18n import _
from outreach.library.replies import load_replies
from outreach.opinions.inbox import get_comment
from outreach.opinions.rules import OpinionRules, load_rules
from outreach.states import OpinionClass, OpinionState
from outreach.store.models import AuditLog, Comment, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime


OpinionRow = TypedDict("OpinionRow", {
    "id": int, "account": str, "post_id": int | None, "created_at": str | None,
    "class": str, "labels": list[str], "author": str, "text": str | None, "redacted": bool,
    "reply_required": bool, "replied_at": str | None, "state": str, "needs_reply": bool,
    "overdue": bool, "url": str | None, "remote_id": str, "fired": str | None,
    "emergency_probability": float | None, "handled_to": str | None, "handled_by": str | None,
    "handled_at": str | None, "handled_note": str | None, "assigned_to": str | None,
    "assigned_by": str | None, "assigned_at": str | None,
})

SETTLED = (OpinionState.HANDED_OVER, OpinionState.CLOSED)


def comment_state(c: Comment) -> OpinionState:
    """``handed_over`` / ``closed`` once set, else ``replied`` once answered, else
    ``acknowledged`` or ``new``."""
    if c.handled_state in SETTLED:
        return OpinionState(c.handled_state)
    if c.replied_at is not None:
        return OpinionState.REPLIED
    if c.handled_state == OpinionState.ACKNOWLEDGED:
        return OpinionState.ACKNOWLEDGED
    return OpinionState.NEW


def comment_row(c: Comment, deadline_hours: float | None, now: datetime) -> OpinionRow:
    """A comment as ``opinions --json`` shows it. ``reply_required``: its class wants an
    answer (it stays set once answered); ``needs_reply``: it still waits for one (a comment
    handed over or closed does not)."""
    state = comment_state(c)
    waiting = bool(c.reply_required and c.replied_at is None and state not in SETTLED)
    overdue = bool(waiting and deadline_hours is not None and c.created_at is not None
                   and now - c.created_at > timedelta(hours=deadline_hours))
    return {
        "id": stored_id(c.id), "account": c.account, "post_id": c.post_id,
        "created_at": iso(c.created_at),
        "class": c.opinion_class, "labels": list(c.labels or []), "author": c.author,
        "text": c.text, "redacted": c.redacted, "reply_required": c.reply_required,
        "replied_at": iso(c.replied_at),
        "state": state,
        "needs_reply": waiting, "overdue": overdue, "url": c.url, "remote_id": c.remote_id,
        "fired": c.fired, "emergency_probability": c.emergency_probability,
        "handled_to": c.handled_to, "handled_by": c.handled_by, "handled_at": iso(c.handled_at),
        "handled_note": c.handled_note, "assigned_to": c.assigned_to,
        "assigned_by": c.assigned_by, "assigned_at": iso(c.assigned_at),
    }


def _deadline(rules: OpinionRules | None, klass: str) -> float | None:
    return rules.reply_within_hours(klass) if rules is not None and klass in rules.classes else None


def list_opinions(rt: Runtime, *, account: str | None = None, klass: str | None = None,
                  unanswered: bool = False, since: datetime | None = None,
                  mine: str | None = None, limit: int = 1000) -> list[OpinionRow]:
    """The public's comments, newest first: open emergencies at the top (nobody's first, then
    the assigned ones), then the unread ones (neither the rules nor the model recognised them:
    ``chatter`` labelled ``unmatched``). ``mine``: only those assigned to this officer.

    A broken ``opinions.toml`` does not lock officers out of the inbox: the comments are
    listed without reply deadlines (nothing is ``overdue``)."""
    if klass is not None and klass not in tuple(OpinionClass):
        raise InputError(_("unknown class {klass!r} (known: {value})").format(
            klass=klass, value=', '.join(OpinionClass)))
    try:
        rules: OpinionRules | None = load_rules(rt.settings.content_dir)
    except ContentError:
        rules = None
    now = rt.clock()
    q = select(Comment).where(col(Comment.is_own).is_(False))
    names = rt.settings.select(account)  # a name or @group
    if names is not None:
        q = q.where(col(Comment.account).in_(names))
    if klass:
        q = q.where(col(Comment.opinion_class) == klass)
    unsettled = or_(col(Comment.handled_state).is_(None), col(Comment.handled_state).not_in(SETTLED))
    if unanswered:
        q = q.where(col(Comment.reply_required).is_(True), col(Comment.replied_at).is_(None),
                    unsettled)
    if mine is not None:
        q = q.where(col(Comment.assigned_to) == mine)
    if since is not None:
        q = q.where(col(Comment.created_at) >= since)
    is_open = col(Comment.replied_at).is_(None) & unsettled
    emergency = (col(Comment.opinion_class) == OpinionClass.EMERGENCY) & is_open
    open_emergency = case((emergency & col(Comment.assigned_to).is_(None), 0), (emergency, 1),
                          (type_coerce(col(Comment.labels), Text).like('%"unmatched"%')
                           & is_open, 2), else_=3)
    q = q.order_by(open_emergency, col(Comment.created_at).desc(), col(Comment.id).desc())
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        rows = s.execute(q).scalars().all()
    return [comment_row(c, _deadline(rules, c.opinion_class), now) for c in rows]


class OwnReply(TypedDict):
    """A reply the account made on the platform itself (found by the comments sweep)."""

    remote_id: str
    created_at: str | None
    text: str | None
    url: str | None


class Thread(TypedDict):
    comment: OpinionRow
    post: PostRow | None
    replies: list[PostRow]
    platform_replies: list[OwnReply]
    audit: list[AuditRow]


def comment_thread(rt: Runtime, comment_id: int) -> Thread:
    """One comment in its thread: the post it is under (ours), the comment as the inbox
    shows it (redacted), the replies we sent or are sending (with their post status), those
    made on the platform directly, and what officers did with it (the audit trail)."""
    try:
        rules: OpinionRules | None = load_rules(rt.settings.content_dir)
    except ContentError:
        rules = None
    with rt.db.reader() as s:
        c = get_comment(s, comment_id)
        post = s.get(Post, c.post_id) if c.post_id is not None else None
        replies = s.execute(select(Post).where(col(Post.reply_to_comment_id) == comment_id)
                            .order_by(col(Post.id))).scalars().all()
        sent = {p.remote_id for p in replies if p.remote_id}
        own = s.execute(select(Comment).where(
            col(Comment.account) == c.account, col(Comment.is_own).is_(True),
            col(Comment.in_reply_to_remote_id) == c.remote_id)
            .order_by(col(Comment.created_at), col(Comment.id))).scalars().all()
        trail = s.execute(select(AuditLog).where(col(AuditLog.target) == f"comment {comment_id}")
                          .order_by(col(AuditLog.at), col(AuditLog.id))).scalars().all()
        return {
            "comment": comment_row(c, _deadline(rules, c.opinion_class), rt.clock()),
            "post": post_row(post) if post is not None else None,
            "replies": [post_row(p) for p in replies],
            "platform_replies": [{"remote_id": o.remote_id, "created_at": iso(o.created_at),
                                  "text": o.text, "url": o.url}
                                 for o in own if o.remote_id not in sent],
            "audit": [{"at": iso(a.at), "actor": a.actor, "action": a.action,
                       "reason": a.reason, "detail": a.detail} for a in trail],
        }


StockRow = TypedDict("StockRow", {
    "name": str, "class": str, "langs": list[str], "source": str, "review_by": str | None,
    "texts": dict[str, str], "file": str,
})


def stock_replies(rt: Runtime, *, klass: str | None = None) -> list[StockRow]:
    """The stock replies of content/replies.toml (templates as written), by class then name;
    an entry with a loading problem is left out (``content check`` names it)."""
    if klass is not None and klass not in tuple(OpinionClass):
        raise InputError(_("unknown class {klass!r} (known: {value})").format(
            klass=klass, value=', '.join(OpinionClass)))
    stock = load_replies(rt.settings.content_dir)
    broken = {p.tip_id for p in stock.problems if p.severity == "error"}
    order: dict[str, int] = {c: i for i, c in enumerate(OpinionClass)}
    entries = sorted((e for e in stock.entries.values() if e.name not in broken
                      and (klass is None or e.klass == klass)),
                     key=lambda e: (order.get(e.klass, len(order)), e.name))
    return [{"name": e.name, "class": e.klass, "langs": sorted(e.texts), "source": e.source,
             "review_by": e.review_by.isoformat() if e.review_by else None,
             "texts": dict(e.texts), "file": f"{e.file}:{e.line}"} for e in entries]
