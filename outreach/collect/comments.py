"""Comments: what the public wrote back (民意), fetched for the posts that owe them.

A post owes its comments once its comment count changed (see ``collector``); they are
fetched in batches that share a cursor, classified, redacted and stored, and each new
emergency owes an alert (``alerts``) in the same transaction. Old comment texts are
forgotten after ``[opinions] keep_days``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlmodel import SQLModel, col

from outreach.collect.alerts import remember_original
from outreach.config.settings import AccountSettings
from outreach.errors import AuthError, ClientError, ContentError, RateLimited, RemoteError
from outreach.notify import outbox
from outreach.opinions.model import load_model
from outreach.opinions.rules import classify_many, redact
from outreach.states import OpinionClass, PostKind, PostStatus
from outreach.store.db import insert_ignore, rowcount
from outreach.store.models import Account, Comment, Post

if TYPE_CHECKING:
    from outreach.collect.counts import CollectSummary
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

COMMENTS_MAX_AGE = timedelta(days=7)  # the daemon's five-minute sweep covers posts this young


@dataclass(frozen=True)
class OwedPost:
    """A post whose comments are owed: the count they are owed for, and its cursor."""

    post_id: int
    remote_id: str
    due: int
    cursor: str | None


def fetch_owed_comments(rt: Runtime, account: AccountSettings, client: Any, rules: Any,
                        now: datetime, summary: CollectSummary) -> None:
    """Fetch and store the comments of every post of the account that owes them.

    Posts are fetched together when they share a cursor (the newest comment stored for
    each), so no post's comments are skipped because another post's are newer. A failed
    fetch leaves its posts owed for the next sweep (one the platform refuses for a single
    post is retried post by post, so that post holds no other); a rate limit or an auth
    error stops the account (the caller records it).
    """
    with rt.db.reader() as s:
        rows = s.execute(select(col(Post.id), col(Post.remote_id), col(Post.comments_due),
                                col(Post.comments_cursor)).where(
            col(Post.account) == account.name, col(Post.status) == PostStatus.PUBLISHED,
            col(Post.kind) != PostKind.REPLY, col(Post.remote_id).is_not(None),
            col(Post.comments_due).is_not(None)).order_by(col(Post.id))).all()
    groups: dict[str | None, list[OwedPost]] = {}
    for post_id, remote_id, due, cursor in rows:
        groups.setdefault(cursor, []).append(OwedPost(post_id, remote_id, due, cursor))
    for cursor, owed in groups.items():
        _fetch_group(rt, account, client, rules, owed, cursor, now, summary)


def _fetch_group(rt: Runtime, account: AccountSettings, client: Any, rules: Any,
                 owed: list[OwedPost], cursor: str | None, now: datetime,
                 summary: CollectSummary) -> None:
    try:
        comments = client.fetch_comments([p.remote_id for p in owed], cursor)
    except (RateLimited, AuthError):
        raise
    except ClientError as exc:
        if isinstance(exc, RemoteError) and len(owed) > 1:
            # the platform refuses one of them (a status gone, hidden, …): that post must
            # not hold the others, so each is asked for on its own
            for one in owed:
                _fetch_group(rt, account, client, rules, [one], cursor, now, summary)
            return
        log.warning("comments for %s failed (they stay owed): %s", account.name, exc.message)
        summary.comment_errors[account.name] = exc.message
        return
    summary.comments_fetched += len(comments)
    store_comments(rt, account, comments, owed, now, summary, rules)


def store_comments(rt: Runtime, account: AccountSettings, comments: list[Any],
                   owed: list[OwedPost], now: datetime, summary: CollectSummary,
                   rules: Any) -> None:
    """Store fetched comments, and in the same transaction settle what was owed: each
    post's cursor moves on and it owes nothing more (unless its count changed meanwhile),
    and each new emergency owes an alert when ``alert_command`` is set."""
    posts = {p.remote_id: p.post_id for p in owed}
    alerting = bool(rt.settings.opinions.alert_command.strip())
    model = None
    if any(not c.is_own for c in comments):
        try:
            model = load_model(rt.settings.content_dir)
        except ContentError as exc:  # the rules still catch what they know: keep collecting
            log.warning("opinion model unusable (%s: %s): classifying by the rules alone",
                        exc.where, exc.message)
    rows = []
    originals: dict[str, str] = {}
    # the page's comments classified at once: the model reads them in one pass
    others = [c for c in comments if not c.is_own]
    opinions = dict(zip((id(c) for c in others),
                        classify_many([(c.text, account.lang) for c in others], rules, model),
                        strict=True))
    for c in comments:
        text, redacted = redact(c.text)
        fired, probability = None, None
        klass: str
        if c.is_own:
            klass, labels, reply_required = OpinionClass.CHATTER, ["own_reply"], False
        else:
            opinion = opinions[id(c)]
            klass, labels, reply_required = (opinion.klass, list(opinion.labels),
                                             opinion.needs_reply)
            fired, probability = opinion.fired, opinion.probability
        originals[c.remote_id] = c.text
        rows.append({
            "account": account.name, "remote_id": c.remote_id,
            "post_id": posts.get(c.post_remote_id), "in_reply_to_remote_id":
            c.in_reply_to_remote_id, "author": redact(c.author, True)[0][:200], "text": text,
            "url": c.url,
            "created_at": c.created_at, "fetched_at": now, "class": klass, "labels": labels,
            "is_own": c.is_own, "reply_required": reply_required, "replied_at": None,
            "redacted": redacted, "alert_attempts": 0,
            "alert_due_at": now if alerting and klass == OpinionClass.EMERGENCY and not c.is_own else None,
            "fired": fired, "emergency_probability": probability,
        })
    newest: dict[str, str] = {}  # post remote id -> its newest comment here
    for c in comments:
        top = newest.get(c.post_remote_id)
        if top is None or _id_key(c.remote_id) > _id_key(top):
            newest[c.post_remote_id] = c.remote_id
    table = SQLModel.metadata.tables["comments"]
    emergencies: list[Comment] = []
    with rt.db.session() as s:
        if rows:
            existing = set(s.execute(select(col(Comment.remote_id)).where(
                col(Comment.account) == account.name,
                col(Comment.remote_id).in_([r["remote_id"] for r in rows]))).scalars())
            new = [r for r in rows if r["remote_id"] not in existing]
            summary.comments_stored += insert_ignore(s, table, new, ["account", "remote_id"])
            # a reply the account made on the platform itself answers the comment it replies to
            answered = [(r["in_reply_to_remote_id"], r["created_at"]) for r in rows
                        if r["is_own"] and r["in_reply_to_remote_id"]]
            for target, at in answered:
                n = rowcount(s.execute(update(Comment).where(
                    col(Comment.account) == account.name, col(Comment.remote_id) == target,
                    col(Comment.replied_at).is_(None)).values(replied_at=at)))
                summary.replies_detected += n
            newest_all = max((r["remote_id"] for r in rows), key=_id_key)
            since = s.execute(select(col(Account.comments_since_id)).where(
                col(Account.name) == account.name)).scalar()
            if since is None or _id_key(newest_all) > _id_key(since):
                s.execute(update(Account).where(col(Account.name) == account.name)
                          .values(comments_since_id=newest_all))
            emergencies = list(s.execute(select(Comment).where(
                col(Comment.account) == account.name, col(Comment.opinion_class) == OpinionClass.EMERGENCY,
                col(Comment.remote_id).in_([r["remote_id"] for r in new]))).scalars().all())
            outbox.emergencies(s, rt, emergencies, now)
        for p in owed:
            top = newest.get(p.remote_id)
            if top is not None and (p.cursor is None or _id_key(top) > _id_key(p.cursor)):
                s.execute(update(Post).where(col(Post.id) == p.post_id)
                          .values(comments_cursor=top))
            # settled, unless a sweep saw the count change again meanwhile: then still owed
            s.execute(update(Post).where(col(Post.id) == p.post_id,
                                         col(Post.comments_due) == p.due)
                      .values(comments_due=None))
        s.commit()
    for comment in emergencies:
        assert comment.id is not None
        summary.emergencies.append(comment.id)
        if comment.alert_due_at is not None:
            remember_original(rt, comment.id, originals.get(comment.remote_id, ""))
        log.warning("EMERGENCY comment %s on %s (post %s): someone may be in danger; "
                    "see `outreach opinions --class emergency`", comment.id, account.name,
                    comment.post_id)


def _id_key(remote_id: str) -> tuple[int, str]:
    return (int(remote_id), "") if remote_id.isdigit() else (0, remote_id)


def forget_old_texts(rt: Runtime, now: datetime) -> int:
    """``[opinions] keep_days``: old comment texts are deleted; the rows (and counts) stay."""
    cutoff = now - timedelta(days=rt.settings.opinions.keep_days)
    with rt.db.session() as s:
        n = rowcount(s.execute(update(Comment).where(col(Comment.created_at) < cutoff,
                                            col(Comment.text).is_not(None))
                      .values(text=None)))
        s.commit()
    return n
