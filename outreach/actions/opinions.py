"""What officers do in the public-opinion inbox (民意库): answer a comment, mark it
answered another way, acknowledge, hand over or close it, assign it to an officer.

An answer goes out through the same exactly-once machinery as a post: a ``reply`` row
with its own idempotency key exists before the platform is called, and an ambiguous
outcome is reconciled by the daemon like any other post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from outreach.errors import InputError, StateError
from outreach.i18n import _
from outreach.library.replies import load_replies, pick_lang, render_reply
from outreach.library.texts import text_problems
from outreach.notify.escalation import acknowledge, cancel_escalations
from outreach.opinions.inbox import get_comment
from outreach.publish.publisher import Publisher
from outreach.schedule.planner import new_key
from outreach.states import OpinionState, PostKind, PostStatus
from outreach.store.audit import audit
from outreach.store.models import Comment, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime

MAX_REPLY = 2_000

REPLY_LIVE = (PostStatus.DRAFT, PostStatus.QUEUED, PostStatus.PUBLISHING, PostStatus.UNCONFIRMED,
              PostStatus.PUBLISHED)
"""A reply post in one of these states answers its comment (or is about to)."""


def reply(rt: Runtime, comment_id: int, text: str, *, by: str, again: bool = False) -> Post:
    """Answer a comment on its platform, exactly once; returns the reply's post row.

    A comment that already has a reply published or in flight refuses a second one
    (naming it) unless ``again``: answering twice by mistake is what a retry by hand after
    a lost answer would otherwise do."""
    text = text.strip()
    if not text:
        raise InputError(_("--text is blank"))
    if len(text) > MAX_REPLY:
        raise InputError(_("--text is over {MAX_REPLY} characters").format(MAX_REPLY=MAX_REPLY))
    now = rt.clock()
    with rt.db.reader() as s:
        comment = get_comment(s, comment_id)
    if comment.post_id is None:
        raise StateError(_("comment {comment_id} is not under one of our posts").format(
            comment_id=comment_id))
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
            col(Post.kind) == PostKind.REPLY, col(Post.reply_to_comment_id) == comment_id,
            col(Post.status).in_(REPLY_LIVE)).order_by(col(Post.id).desc())).first()
        if existing is not None and not again:
            raise StateError(_("comment {comment_id} already has a reply: post {post} ({status}); see "
                               "`outreach queue show {post}`, or send another with --again").format(
                comment_id=comment_id, post=existing[0], status=existing[1]))
        post = Post(account=comment.account, kind=PostKind.REPLY, status=PostStatus.QUEUED,
                    scheduled_at=now, not_before=now, text=text, idempotency_key=new_key(),
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


def reply_stock(rt: Runtime, comment_id: int, name: str, *, by: str,
                again: bool = False) -> Post:
    """Answer a comment with a stock reply (content/replies.toml) in the comment's language
    (else the account's), rendered with the account's variables; then as :func:`reply`,
    which checks the platform's length rule before anything is sent."""
    entry = load_replies(rt.settings.content_dir).get(name)
    with rt.db.reader() as s:
        comment = get_comment(s, comment_id)
    account = rt.settings.account(comment.account)
    lang = pick_lang(entry, comment.text, account)
    text = render_reply(rt.library, entry, lang, account)
    client = rt.client(comment.account)
    problems = text_problems(text, client, rt.library)
    if problems:
        raise InputError(f"stock reply {name!r} ({lang}) on {comment.account}: "
                         + "; ".join(problems))
    return reply(rt, comment_id, text, by=by, again=again)


def mark_replied(rt: Runtime, comment_id: int, *, by: str) -> Comment:
    """Record that a comment was answered some other way (phone, in person, on the platform)."""
    now = rt.clock()
    with rt.db.session() as s:
        comment = get_comment(s, comment_id)
        _not_answered(comment)
        comment.replied_at = now
        audit(s, now, by, "opinion_mark_replied", account=comment.account,
              target=f"comment {comment_id}")
        s.commit()
        s.refresh(comment)
        return comment


def ack(rt: Runtime, comment_id: int, *, by: str) -> int:
    """Someone has an emergency comment in hand: audited, and its pending escalations are
    cancelled in the same transaction. Returns how many notifications were cancelled."""
    return acknowledge(rt, comment_id, by=by)


MAX_NAME = 100
MAX_TO = 200
MAX_NOTE = 2_000
SETTLED = (OpinionState.HANDED_OVER, OpinionState.CLOSED)


def _words(value: str | None, option: str, limit: int, *, required: bool) -> str | None:
    """A person's free text, stripped; blank is an error where it is required."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InputError(_("{option} is blank").format(option=option))
        return None
    if len(text) > limit:
        raise InputError(_("{option} is over {limit} characters").format(option=option, limit=limit))
    return text


def hand_over(rt: Runtime, comment_id: int, *, to: str, by: str,
              note: str | None = None) -> tuple[Comment, int]:
    """Pass a comment on to whoever acts on it (110, a station, a unit). An emergency handed
    over is in hand: its pending escalations are cancelled in the same transaction. Returns the
    comment and how many notifications were cancelled."""
    target = _words(to, "--to", MAX_TO, required=True)
    text = _words(note, "--note", MAX_NOTE, required=False)
    now = rt.clock()
    with rt.db.session() as s:
        comment = _open_comment(s, comment_id)
        comment.handled_state, comment.handled_to = OpinionState.HANDED_OVER, target
        comment.handled_by, comment.handled_at, comment.handled_note = by, now, text
        audit(s, now, by, "opinion_hand_over", account=comment.account,
              target=f"comment {comment_id}", reason=text, detail={"to": target})
        cancelled = cancel_escalations(s, comment_id, f"handed over to {target} by {by}", now)
        s.commit()
        s.refresh(comment)
        return comment, cancelled


def close(rt: Runtime, comment_id: int, *, reason: str, by: str) -> tuple[Comment, int]:
    """Settle a comment that needs no action (the reason is kept and audited); an emergency
    closed stops escalating. Returns the comment and how many notifications were cancelled."""
    why = _words(reason, "--reason", MAX_NOTE, required=True)
    now = rt.clock()
    with rt.db.session() as s:
        comment = _open_comment(s, comment_id)
        _not_answered(comment)
        comment.handled_state, comment.handled_to = OpinionState.CLOSED, None
        comment.handled_by, comment.handled_at, comment.handled_note = by, now, why
        audit(s, now, by, "opinion_close", account=comment.account,
              target=f"comment {comment_id}", reason=why)
        cancelled = cancel_escalations(s, comment_id, f"closed by {by}", now)
        s.commit()
        s.refresh(comment)
        return comment, cancelled


def assign(rt: Runtime, comment_id: int, *, to: str, by: str) -> Comment:
    """Give a comment to an officer (``opinions --mine`` lists theirs); audited."""
    name = _words(to, "--to", MAX_NAME, required=True)
    now = rt.clock()
    with rt.db.session() as s:
        comment = get_comment(s, comment_id)
        previous = comment.assigned_to
        if previous == name:
            raise StateError(_("comment {comment_id} is already assigned to {name}").format(
                comment_id=comment_id, name=name))
        comment.assigned_to, comment.assigned_by, comment.assigned_at = name, by, now
        audit(s, now, by, "opinion_assign", account=comment.account,
              target=f"comment {comment_id}", detail={"to": name, "previous": previous})
        s.commit()
        s.refresh(comment)
        return comment


def _open_comment(s: Session, comment_id: int) -> Comment:
    """The comment, locked, if it is not handed over or closed already."""
    comment = get_comment(s, comment_id)
    s.refresh(comment, with_for_update=True)
    if comment.handled_state in SETTLED:
        by = _(" to {whom}").format(whom=comment.handled_to) if comment.handled_to else ""
        raise StateError(_("comment {comment_id} was already {handled_state}{by} by {handled_by}").format(
            comment_id=comment_id, handled_state=comment.handled_state, by=by,
            handled_by=comment.handled_by))
    return comment


def _not_answered(comment: Comment) -> None:
    if comment.replied_at is not None:
        raise StateError(_("comment {id} was already answered at {value}").format(
            id=comment.id, value=comment.replied_at.isoformat()))
