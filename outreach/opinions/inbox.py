"""The public-opinion inbox (民意库): list comments, answer them, mark them answered.

An answer goes out through the same exactly-once machinery as a post: a ``reply`` row
with its own idempotency key exists before the platform is called, and an ambiguous
outcome is reconciled by the daemon like any other post.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, case, select, type_coerce
from sqlmodel import col

from outreach.errors import InputError, NotFound, StateError
from outreach.library.texts import text_problems
from outreach.publish.publisher import Publisher
from outreach.schedule.planner import new_key
from outreach.store.audit import audit
from outreach.store.models import Comment, Post

MAX_REPLY = 2_000


def comment_json(c: Comment, deadline_hours: float | None, now: datetime) -> dict[str, Any]:
    """A comment as ``opinions --json`` shows it. ``reply_required``: its class wants an
    answer (it stays set once answered); ``needs_reply``: it still waits for one."""
    waiting = bool(c.reply_required and c.replied_at is None)
    overdue = bool(waiting and deadline_hours is not None and c.created_at is not None
                   and now - c.created_at > timedelta(hours=deadline_hours))
    return {
        "id": c.id, "account": c.account, "post_id": c.post_id,
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "class": c.opinion_class, "labels": list(c.labels or []), "author": c.author,
        "text": c.text, "redacted": c.redacted, "reply_required": c.reply_required,
        "replied_at": c.replied_at.isoformat() if c.replied_at else None,
        "state": "replied" if c.replied_at is not None else "new",
        "needs_reply": waiting, "overdue": overdue, "url": c.url, "remote_id": c.remote_id,
        "fired": c.fired, "emergency_probability": c.emergency_probability,
    }


def list_opinions(rt: Any, *, account: str | None = None, klass: str | None = None,
                  unanswered: bool = False, since: datetime | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
    """The public's comments, newest first: open emergencies at the top, then the unread ones
    (neither the rules nor the model recognised them: ``chatter`` labelled ``unmatched``).

    A broken ``opinions.toml`` does not lock officers out of the inbox: the comments are
    listed without reply deadlines (nothing is ``overdue``)."""
    from outreach.errors import ContentError
    from outreach.opinions.rules import CLASS_ORDER, load_rules

    if klass is not None and klass not in CLASS_ORDER:
        raise InputError(f"unknown class {klass!r} (known: {', '.join(CLASS_ORDER)})")
    try:
        rules = load_rules(rt.settings.content_dir)
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
    open_emergency = case(((col(Comment.opinion_class) == "emergency")
                           & col(Comment.replied_at).is_(None), 0),
                          (type_coerce(col(Comment.labels), Text).like('%"unmatched"%')
                           & col(Comment.replied_at).is_(None), 1), else_=2)
    q = q.order_by(open_emergency, col(Comment.created_at).desc(), col(Comment.id).desc())
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        rows = s.execute(q).scalars().all()
    return [comment_json(c, rules.reply_within_hours(c.opinion_class)
                         if rules is not None and c.opinion_class in rules.classes else None,
                         now) for c in rows]


def get_comment(session: Any, comment_id: int) -> Comment:
    from outreach.actions.queue import MAX_ID

    comment = session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None
    if comment is None or comment.is_own:
        raise NotFound(f"no comment with id {comment_id}")
    return comment


REPLY_LIVE = ("draft", "queued", "publishing", "unconfirmed", "published")
"""A reply post in one of these states answers its comment (or is about to)."""


def reply(rt: Any, comment_id: int, text: str, *, by: str, again: bool = False) -> Post:
    """Answer a comment on its platform, exactly once; returns the reply's post row.

    A comment that already has a reply published or in flight refuses a second one
    (naming it) unless ``again``: answering twice by mistake is what a retry by hand after
    a lost answer would otherwise do."""
    text = text.strip()
    if not text:
        raise InputError("--text is blank")
    if len(text) > MAX_REPLY:
        raise InputError(f"--text is over {MAX_REPLY} characters")
    now = rt.clock()
    with rt.db.reader() as s:
        comment = get_comment(s, comment_id)
    if comment.post_id is None:
        raise StateError(f"comment {comment_id} is not under one of our posts")
    client = rt.client(comment.account)
    problems = text_problems(text, client, rt.library)
    if problems:
        raise InputError("; ".join(problems))
    with rt.db.session() as s:
        # the comment row locked (PostgreSQL; SQLite's write transaction already is) so two
        # officers answering at once cannot both pass the check
        s.execute(select(col(Comment.id)).where(col(Comment.id) == comment_id)
                  .with_for_update())
        existing = s.execute(select(col(Post.id), col(Post.status)).where(
            col(Post.kind) == "reply", col(Post.reply_to_comment_id) == comment_id,
            col(Post.status).in_(REPLY_LIVE)).order_by(col(Post.id).desc())).first()
        if existing is not None and not again:
            raise StateError(f"comment {comment_id} already has a reply: post {existing[0]} "
                             f"({existing[1]}); see `outreach queue show {existing[0]}`, or "
                             "send another with --again")
        post = Post(account=comment.account, kind="reply", status="queued", scheduled_at=now,
                    not_before=now, text=text, idempotency_key=new_key(),
                    reply_to_comment_id=comment_id, created_by=by, approved_by=by,
                    approved_at=now, created_at=now, updated_at=now, attempts=0,
                    ambiguous=False, catch_up=False)
        s.add(post)
        s.flush()
        audit(s, now, by, "opinion_reply", account=comment.account, post_id=post.id,
              target=f"comment {comment_id}",
              detail={"again": True, "previous": existing[0]} if existing else None)
        s.commit()
        post_id = post.id
    assert post_id is not None
    Publisher(rt).publish_one(post_id)
    with rt.db.reader() as s:
        result = s.get(Post, post_id)
    assert result is not None
    return result


def mark_replied(rt: Any, comment_id: int, *, by: str) -> Comment:
    """Record that a comment was answered some other way (phone, in person, on the platform)."""
    now = rt.clock()
    with rt.db.session() as s:
        comment = get_comment(s, comment_id)
        if comment.replied_at is not None:
            raise StateError(f"comment {comment_id} was already answered at "
                             f"{comment.replied_at.isoformat()}")
        comment.replied_at = now
        audit(s, now, by, "opinion_mark_replied", account=comment.account,
              target=f"comment {comment_id}")
        s.commit()
        s.refresh(comment)
        return comment
