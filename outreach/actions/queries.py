"""What the faces read: posts, one post in detail, the tip library with its approvals,
queued posts whose tip changed, and the public's comments — typed rows, ready for a
table or for JSON (timestamps as ISO 8601 strings)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from sqlalchemy import Text, case, select, type_coerce
from sqlmodel import col

from outreach.actions.posts import get_post
from outreach.actions.tips import check_category
from outreach.errors import ContentError, InputError
from outreach.library.content import TipDef, category_matches
from outreach.library.texts import text_problems
from outreach.opinions.rules import OpinionRules, load_rules
from outreach.schedule.plan import changed_tip_posts
from outreach.schedule.planner import approved_tips
from outreach.states import OpinionClass
from outreach.store.db import HEAD, sqlite_path
from outreach.store.models import Approval, AuditLog, Comment, Post, PostMetric

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
        "slot_key": p.slot_key,
    }


def list_posts(rt: Runtime, *, status: str | None, account: str | None,
               limit: int) -> list[PostRow]:
    """Posts, oldest scheduled first (an unknown account is an error naming the known)."""
    if account is not None:
        rt.settings.account(account)
    q = select(Post).order_by(col(Post.scheduled_at), col(Post.id))
    if status:
        q = q.where(col(Post.status) == status)
    if account:
        q = q.where(col(Post.account) == account)
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


# --- the tip library -------------------------------------------------------------------


class ContentRow(TypedDict):
    id: str
    category: str
    lang: str
    title: str
    source: str
    months: list[int]
    valid_until: date | None
    review_by: date | None
    variants: int
    approved: bool
    valid: bool


def content_rows(rt: Runtime, *, category: str | None, lang: str | None) -> list[ContentRow]:
    """The library's tips with their approval state, by category, language and id."""
    check_category(rt, category)
    lib = rt.library
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, rt.settings.policy)
    rows: list[ContentRow] = []
    for tip in sorted(lib.tips.values(), key=lambda t: (t.category, t.lang, t.id)):
        if category and not category_matches(category, tip.category):
            continue
        if lang and tip.lang != lang:
            continue
        rows.append({
            "id": tip.id, "category": tip.category, "lang": tip.lang, "title": tip.title,
            "source": tip.source, "months": list(tip.months), "valid_until": tip.valid_until,
            "review_by": tip.review_by, "variants": len(tip.variants),
            "approved": True if approved is None else tip.id in approved,
            "valid": tip.id not in lib.broken_tips,
        })
    return rows


def _schema_current(rt: Runtime) -> bool:
    """Whether the database exists at the current revision (read-only commands never
    create or migrate it)."""
    path = sqlite_path(rt.settings.database_url)
    return (path is None or path.exists()) and rt.db.current_revision() == HEAD


def tip_approval(rt: Runtime, tip: TipDef) -> dict[str, Any]:
    """Whether the tip is approved as it is now, by whom and when (read-only: no database
    yet means nothing is approved)."""
    if not rt.settings.policy.require_approval:
        return {"approved": True, "approval_required": False, "approved_by": None,
                "approved_at": None}
    row = None
    if _schema_current(rt):
        with rt.db.reader() as s:
            row = s.execute(select(Approval).where(
                col(Approval.tip_id) == tip.id, col(Approval.text_hash) == tip.text_hash,
            ).limit(1)).scalars().first()
    return {"approved": row is not None, "approval_required": True,
            "approved_by": row.approved_by if row else None,
            "approved_at": row.approved_at if row else None}


def tip_detail(rt: Runtime, tip_id: str, *, account: str | None = None,
               variant: int = 0) -> dict[str, Any]:
    """A tip with its approval, and with ``account`` the exact text that would be posted
    there, its length and what is wrong with it."""
    tip = rt.library.tip(tip_id)
    data: dict[str, Any] = {
        "id": tip.id, "category": tip.category, "lang": tip.lang, "title": tip.title,
        "text": tip.text, "variants": list(tip.variants), "tags": list(tip.tags),
        "months": list(tip.months), "valid_until": tip.valid_until, "review_by": tip.review_by,
        "source": tip.source, "file": f"{tip.file}:{tip.line}", "text_hash": tip.text_hash,
    }
    data.update(tip_approval(rt, tip))
    if account is not None:
        acc = rt.settings.account(account)
        text = rt.render(tip_id, acc, variant)
        client = rt.client(acc)
        problems = text_problems(text, client, rt.library)
        if tip.lang != acc.lang:
            problems.insert(0, f"the tip is in {tip.lang}; {acc.name} posts in {acc.lang}, so "
                               "it is never drawn or queued there")
        data.update(account=acc.name, rendered=text, length=client.text_length(text),
                    max_length=client.max_length, problems=problems)
    return data


class TipChange(NamedTuple):
    """A queued post whose tip changed since it was queued, and what will become of it."""

    post: Post
    tip: TipDef | None
    what: str


def queued_tip_changes(rt: Runtime) -> list[TipChange]:
    """Queued posts whose tip changed since (none before the database exists)."""
    if not _schema_current(rt):
        return []
    return [TipChange(post, rt.library.tips.get(post.tip_id or ""), what)
            for post, what in changed_tip_posts(rt)]


# --- the public's comments -------------------------------------------------------------


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
