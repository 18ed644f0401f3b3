"""Reading the public-opinion inbox: the public's comments, most urgent first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import Text, case, select, type_coerce
from sqlmodel import col

from outreach.actions.queries.posts import iso, stored_id
from outreach.errors import ContentError, InputError
from outreach.opinions.rules import OpinionRules, load_rules
from outreach.states import OpinionClass
from outreach.store.models import Comment

if TYPE_CHECKING:
    from outreach.runtime import Runtime


OpinionRow = TypedDict("OpinionRow", {
    "id": int, "account": str, "post_id": int | None, "created_at": str | None,
    "class": str, "labels": list[str], "author": str, "text": str | None, "redacted": bool,
    "reply_required": bool, "replied_at": str | None, "state": str, "needs_reply": bool,
    "overdue": bool, "url": str | None, "remote_id": str, "fired": str | None,
    "emergency_probability": float | None,
})


def comment_row(c: Comment, deadline_hours: float | None, now: datetime) -> OpinionRow:
    """A comment as ``opinions --json`` shows it. ``reply_required``: its class wants an
    answer (it stays set once answered); ``needs_reply``: it still waits for one."""
    waiting = bool(c.reply_required and c.replied_at is None)
    overdue = bool(waiting and deadline_hours is not None and c.created_at is not None
                   and now - c.created_at > timedelta(hours=deadline_hours))
    return {
        "id": stored_id(c.id), "account": c.account, "post_id": c.post_id,
        "created_at": iso(c.created_at),
        "class": c.opinion_class, "labels": list(c.labels or []), "author": c.author,
        "text": c.text, "redacted": c.redacted, "reply_required": c.reply_required,
        "replied_at": iso(c.replied_at),
        "state": "replied" if c.replied_at is not None else "new",
        "needs_reply": waiting, "overdue": overdue, "url": c.url, "remote_id": c.remote_id,
        "fired": c.fired, "emergency_probability": c.emergency_probability,
    }


def _deadline(rules: OpinionRules | None, klass: str) -> float | None:
    return rules.reply_within_hours(klass) if rules is not None and klass in rules.classes else None


def list_opinions(rt: Runtime, *, account: str | None = None, klass: str | None = None,
                  unanswered: bool = False, since: datetime | None = None,
                  limit: int = 1000) -> list[OpinionRow]:
    """The public's comments, newest first: open emergencies at the top, then the unread ones
    (neither the rules nor the model recognised them: ``chatter`` labelled ``unmatched``).

    A broken ``opinions.toml`` does not lock officers out of the inbox: the comments are
    listed without reply deadlines (nothing is ``overdue``)."""
    if klass is not None and klass not in tuple(OpinionClass):
        raise InputError(f"unknown class {klass!r} (known: {', '.join(OpinionClass)})")
    try:
        rules: OpinionRules | None = load_rules(rt.settings.content_dir)
    except ContentError:
        rules = None
    now = rt.clock()
    q = select(Comment).where(col(Comment.is_own).is_(False))
    if account:
        rt.settings.account(account)
        q = q.where(col(Comment.account) == account)
    if klass:
        q = q.where(col(Comment.opinion_class) == klass)
    if unanswered:
        q = q.where(col(Comment.reply_required).is_(True), col(Comment.replied_at).is_(None))
    if since is not None:
        q = q.where(col(Comment.created_at) >= since)
    open_emergency = case(((col(Comment.opinion_class) == OpinionClass.EMERGENCY)
                           & col(Comment.replied_at).is_(None), 0),
                          (type_coerce(col(Comment.labels), Text).like('%"unmatched"%')
                           & col(Comment.replied_at).is_(None), 1), else_=2)
    q = q.order_by(open_emergency, col(Comment.created_at).desc(), col(Comment.id).desc())
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        rows = s.execute(q).scalars().all()
    return [comment_row(c, _deadline(rules, c.opinion_class), now) for c in rows]
