"""What officers do to single posts: add, approve, cancel, reschedule, edit, retract.

Every change by a person is written to ``audit_log`` in the same transaction as the
change itself; a refusal is an ``OutreachError`` naming the post and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from outreach.actions.media import (
    ImageRequest,
    PrepareCache,
    PreparedMedia,
    prepare_images,
    store_media,
    tip_pictures,
)
from outreach.actions.rows import get_post, post_media
from outreach.actions.users import Permission, require_by_name
from outreach.config.settings import AccountSettings
from outreach.errors import ContentError, InputError, StateError
from outreach.i18n import _
from outreach.library.texts import control_character, render_tip, text_problems, wrap_text
from outreach.media.store import MediaStore
from outreach.publish.publisher import Publisher, worker_id
from outreach.schedule.history import approved_tips, load_history
from outreach.schedule.planner import USED_STATUSES, History, in_quiet_hours, new_key
from outreach.states import PostKind, PostStatus
from outreach.store.audit import audit
from outreach.store.models import AuditLog, Post, PostMedia
from outreach.times import check_not_past, parse_when, show_local

if TYPE_CHECKING:
    from outreach.runtime import Runtime

MAX_TEXT = 5_000
CHANGEABLE = (PostStatus.DRAFT, PostStatus.QUEUED)
"""The states in which a post's text or time may still change."""


@dataclass(frozen=True)
class NewPost:
    """A validated post, ready to insert."""

    account: AccountSettings
    at: datetime
    text: str
    tip_id: str | None
    variant: int | None
    category: str | None
    status: PostStatus
    warnings: tuple[str, ...] = ()
    media: tuple[PreparedMedia, ...] = ()
    notes: tuple[str, ...] = ()  # what was done to the pictures (scaled, converted …)


def prepare_post(rt: Runtime, session: Session, account_name: str, *, tip: str | None,
                 text: str | None, at: datetime, approved: set[str] | None,
                 images: Sequence[ImageRequest] = (), cache: PrepareCache | None = None,
                 history: History | None = None, warn: bool = True) -> NewPost:
    """Validate one post request (the same checks for `queue add` and every import row).
    ``images`` go with a text; a tip carries its own pictures from the library.
    ``history``: the account's tip uses, when read already; ``warn``: add the warnings."""
    account = rt.settings.account(account_name)
    lib = rt.library
    if (tip is None) == (text is None):
        raise InputError(_("give exactly one of a tip id or a text"))
    if tip is not None and images:
        raise InputError(_("a tip's pictures come from the library (its images); pictures of your own go "
                           "with a text"))
    client = rt.client(account)
    if tip is not None:
        tipdef = lib.tip(tip)
        if tipdef.id in lib.broken_tips:
            raise ContentError(_("tip {tip!r} has errors; run `outreach content check`").format(tip=tip))
        if tipdef.lang != account.lang:
            raise InputError(_("tip {tip!r} is in {lang}; account {name!r} posts in {lang2}").format(
                tip=tip, lang=tipdef.lang, name=account.name, lang2=account.lang))
        if approved is not None and tip not in approved:
            raise InputError(_("tip {tip!r} is not approved (run `outreach content approve {tip} --by "
                               "NAME`)").format(
                tip=tip))
        history = history if history is not None else load_history(session, account.name)
        chosen = history.next_variant(tip, at, len(tipdef.texts))
        body = render_tip(lib, tipdef, chosen, account)
        tip_media = tip_pictures(rt, account, tipdef, chosen)
        variant: int | None = chosen
        status = PostStatus.QUEUED
        category: str | None = tipdef.category
    else:
        assert text is not None
        if not text.strip():
            raise InputError(_("text is blank"))
        if len(text) > MAX_TEXT:
            raise InputError(_("text is over {MAX_TEXT} characters").format(MAX_TEXT=MAX_TEXT))
        control = control_character(text)
        if control:  # named where the officer wrote it, before the platform template wraps it
            raise InputError(_("text has a {control}").format(control=control))
        body = wrap_text(lib, account, text.strip())
        variant = None
        category = None
        status = PostStatus.DRAFT if rt.settings.policy.require_approval else PostStatus.QUEUED
    problems = text_problems(body, client, lib)
    if problems:
        raise InputError("; ".join(problems))
    warnings = post_warnings(rt, session, account, at, tip=tip, text=text) if warn else []
    notes: list[str] = []
    media = prepare_images(rt, account, images, notes, cache) if text is not None else tip_media
    return NewPost(account, at, body, tip, variant, category, status, tuple(warnings), media,
                   tuple(notes))


def post_warnings(rt: Runtime, session: Session, account: AccountSettings, at: datetime, *,
                  tip: str | None, text: str | None) -> list[str]:
    """What is allowed but probably not meant: a tip already used on the account within
    ``cooldown_days``, a time in quiet hours or on a blackout date, template marks in a
    literal text."""
    policy = rt.settings.policy
    out = []
    if tip is not None and policy.cooldown_days > 0:
        cooldown = timedelta(days=policy.cooldown_days)
        used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
        near = session.execute(select(col(Post.id), col(Post.status), used_at).where(
            col(Post.account) == account.name, col(Post.tip_id) == tip,
            col(Post.status).in_(USED_STATUSES),
            used_at > at - cooldown, used_at < at + cooldown,
        ).order_by(used_at).limit(3)).all()
        for post_id, status, when in near:
            out.append(_("tip {tip} is already {status} on {name} as post {post_id} ({when}), within "
                         "cooldown_days ({cooldown_days})").format(
                tip=tip, status=status, name=account.name, post_id=post_id,
                when=show_local(when, account.timezone), cooldown_days=policy.cooldown_days))
    local = at.astimezone(account.timezone)
    if local.date() in policy.blackout_dates:
        out.append(_("{at} is on a blackout date ({day}, policy.blackout_dates): slots stay silent "
                     "that day").format(
            at=show_local(at, account.timezone), day=local.date()))
    if policy.quiet_hours is not None and in_quiet_hours(local.time(), policy.quiet_hours):
        start, end = policy.quiet_hours
        out.append(_("{at} is in quiet hours ({start:%H:%M}-{end:%H:%M}, policy.quiet_hours)").format(
            at=show_local(at, account.timezone), start=start, end=end))
    if text is not None and ("{{" in text or "{%" in text):
        out.append(_("the text contains template marks ({{ … }}); it is not a template and is posted "
                     "literally, marks and all"))
    return out


def insert_post(session: Session, new: NewPost, *, by: str, now: datetime,
                store: MediaStore | None = None) -> Post:
    """Insert a prepared post and its pictures (``store`` is needed when it has some)."""
    post = Post(account=new.account.name, kind=PostKind.ADHOC, status=new.status,
                scheduled_at=new.at, not_before=new.at, tip_id=new.tip_id, variant=new.variant,
                category=new.category, text=new.text, idempotency_key=new_key(), created_by=by,
                created_at=now, updated_at=now, attempts=0, ambiguous=False, catch_up=False)
    if new.status == PostStatus.QUEUED and new.tip_id is None:
        post.approved_by, post.approved_at = by, now
    session.add(post)
    session.flush()
    detail: dict[str, Any] = {"status": new.status, "at": new.at.isoformat()}
    if new.media:
        assert store is not None and post.id is not None, "pictures need the media store"
        store_media(store, session, post.id, new.media, now)
        detail["images"] = [m.info.sha256 for m in new.media]
    audit(session, now, by, "queue_add", account=post.account, post_id=post.id,
          target=new.tip_id, detail=detail)
    return post


def add_post(rt: Runtime, account: str, *, tip: str | None, text: str | None, at: str | None,
             by: str, strict: bool = False, warnings: list[str] | None = None,
             images: Sequence[ImageRequest] = ()) -> Post:
    """Queue one post (with ``images``, each with its alt text). What is allowed but
    probably not meant is added to ``warnings``; with ``strict`` it is refused instead."""
    now = rt.clock()
    acc = rt.settings.account(account)
    when = parse_when(at, acc.timezone, now) if at is not None else now
    check_not_past(when, now, zone=acc.timezone)
    with rt.db.session() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy) if tip else None
        new = prepare_post(rt, s, account, tip=tip, text=text, at=when, approved=approved,
                           images=images)
        if strict and new.warnings:
            raise InputError("; ".join(new.warnings) + " (--strict: nothing was queued)")
        if warnings is not None:
            warnings.extend((*new.warnings, *new.notes))
        post = insert_post(s, new, by=by, now=now, store=MediaStore(rt.settings.media_dir))
        s.commit()
        return post


def approve_post(rt: Runtime, post_id: int, *, by: str) -> Post:
    """Approve a draft: four eyes, so not by whoever wrote its current text (unless the
    policy allows it). A ``by`` naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.APPROVE)
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status != PostStatus.DRAFT:
            raise StateError(_("post {post_id} is {status}; only drafts are approved").format(
                post_id=post_id, status=post.status))
        if text_author(s, post) == by and not rt.settings.policy.allow_self_approval:
            raise StateError(_("post {post_id} was written by {by}; another officer must approve it (or "
                               "set policy.allow_self_approval = true)").format(
                post_id=post_id, by=by))
        post.status, post.approved_by, post.approved_at = PostStatus.QUEUED, by, now
        post.updated_at = now
        audit(s, now, by, "queue_approve", account=post.account, post_id=post.id)
        s.commit()
        return post


def _update_unchanged(session: Session, post: Post, values: dict[str, Any], doing: str, *,
                      unclaimed: bool = False) -> None:
    """Write ``values`` to the post unless another writer changed its status first."""
    where = [col(Post.id) == post.id, col(Post.status) == post.status]
    if unclaimed:
        where.append(col(Post.claimed_by).is_(None))
    n = session.execute(update(Post).where(*where).values(**values)).rowcount  # type: ignore[attr-defined]
    if n != 1:
        raise StateError(_("post {id} changed while {doing}; try again").format(id=post.id, doing=doing))


def cancel_post(rt: Runtime, post_id: int, *, by: str, reason: str | None) -> Post:
    """Cancel a draft or queued post. One whose outcome is unknown (``unconfirmed``, or
    ``publishing`` after its worker died) is reconciled first: if it had landed it is
    retracted (status ``retracted``), otherwise cancelled."""
    now = rt.clock()
    with rt.db.reader() as s:
        status = get_post(s, post_id).status
    if status in (PostStatus.UNCONFIRMED, PostStatus.PUBLISHING):
        return Publisher(rt, worker=f"cancel:{worker_id()}").withdraw(post_id, by=by,
                                                                      reason=reason)
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in CHANGEABLE:
            hint = _(" (retract it instead)") if post.status == PostStatus.PUBLISHED else ""
            raise StateError(_("post {post_id} is {status}; only drafts, queued and unconfirmed posts "
                               "can be cancelled{hint}").format(
                post_id=post_id, status=post.status, hint=hint))
        _update_unchanged(s, post, {"status": PostStatus.CANCELLED, "updated_at": now},
                          _("cancelling"))
        audit(s, now, by, "queue_cancel", account=post.account, post_id=post_id, reason=reason)
        s.commit()
        s.refresh(post)
        return post


def reschedule_post(rt: Runtime, post_id: int, at: str, *, by: str,
                    warnings: list[str] | None = None) -> Post:
    """Move a draft or queued post; a slot post keeps its slot."""
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in CHANGEABLE:
            raise StateError(_("post {post_id} is {status}; only drafts and queued posts can be "
                               "rescheduled").format(
                post_id=post_id, status=post.status))
        acc = rt.settings.account(post.account)
        when = parse_when(at, acc.timezone, now)
        check_not_past(when, now, zone=acc.timezone)
        old = post.scheduled_at
        _update_unchanged(s, post, {"scheduled_at": when, "not_before": when, "updated_at": now},
                          _("rescheduling"))
        audit(s, now, by, "queue_reschedule", account=post.account, post_id=post_id,
              detail={"from": old.isoformat() if old else None, "to": when.isoformat()})
        s.commit()
        if warnings is not None:
            warnings.extend(post_warnings(rt, s, acc, when, tip=None, text=None))
        s.refresh(post)
        return post


def edit_post(rt: Runtime, post_id: int, *, text: str | None, at: str | None, by: str,
              warnings: list[str] | None = None,
              images: Sequence[ImageRequest] | None = None) -> Post:
    """Change a draft's or a queued post's text, pictures and/or time, audited. A new text
    or new pictures (``images``: None keeps them, empty removes them) pass the checks of
    `queue add` and need approval again (four eyes: not by their editor); a new time alone
    keeps the approval, as a reschedule does."""
    if text is None and at is None and images is None:
        raise InputError(_("give --text or --at, or new pictures (--image, --no-images)"))
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in CHANGEABLE or post.claimed_by is not None:
            raise StateError(_("post {post_id} is {status}; only drafts and queued posts can be "
                               "edited").format(
                post_id=post_id, status=post.status))
        acc = rt.settings.account(post.account)
        values: dict[str, Any] = {"updated_at": now}
        detail: dict[str, Any] = {}
        if at is not None:
            when = parse_when(at, acc.timezone, now)
            check_not_past(when, now, zone=acc.timezone)
            values.update(scheduled_at=when, not_before=when)
            detail.update(at_from=post.scheduled_at.isoformat() if post.scheduled_at else None,
                          at_to=when.isoformat())
        when = values.get("scheduled_at") or post.scheduled_at or now
        notes = post_warnings(rt, s, acc, when, tip=None, text=None) if at is not None else []
        if text is not None:
            new = prepare_post(rt, s, post.account, tip=None, text=text, at=when,
                               approved=None)
            notes = list(new.warnings)
            if new.text != post.text:
                values.update(text=new.text, tip_id=None, variant=None, status=new.status,
                              approved_by=None, approved_at=None)
                if new.status == PostStatus.QUEUED:  # approval not required: the editor's word
                    values.update(approved_by=by, approved_at=now)
                detail.update(text_from=post.text, text_to=new.text, tip_from=post.tip_id)
        media: tuple[PreparedMedia, ...] | None = None
        if images is not None:
            media = prepare_images(rt, acc, images, notes)
            old = [(m.sha256, m.alt) for m in post_media(s, [post_id]).get(post_id, [])]
            if [(m.info.sha256, m.alt) for m in media] != old:
                reapprove = (PostStatus.DRAFT if rt.settings.policy.require_approval
                             else PostStatus.QUEUED)
                values.update(status=reapprove, approved_by=None, approved_at=None)
                if reapprove == PostStatus.QUEUED:
                    values.update(approved_by=by, approved_at=now)
                detail.update(images_from=[sha for sha, _ in old],
                              images_to=[m.info.sha256 for m in media])
            else:
                media = None
        if not detail:
            return post
        _update_unchanged(s, post, values, _("editing"), unclaimed=True)
        if media is not None:
            s.execute(delete(PostMedia).where(col(PostMedia.post_id) == post_id))
            store_media(MediaStore(rt.settings.media_dir), s, post_id, media, now)
        audit(s, now, by, "queue_edit", account=post.account, post_id=post_id, detail=detail)
        s.commit()
        if warnings is not None:
            warnings.extend(notes)
        s.refresh(post)
        return post


def text_author(session: Session, post: Post) -> str | None:
    """Who wrote the post's current text: its last editor, else its author."""
    rows = session.execute(select(col(AuditLog.actor), col(AuditLog.detail)).where(
        col(AuditLog.post_id) == post.id, col(AuditLog.action) == "queue_edit",
    ).order_by(col(AuditLog.id).desc())).all()
    for actor, detail in rows:
        if isinstance(detail, dict) and ("text_to" in detail or "images_to" in detail):
            return str(actor)
    return post.created_by


def retract_post(rt: Runtime, post_id: int, *, by: str, reason: str) -> Post:
    """Delete a published post on its platform, then mark it retracted (audited). A ``by``
    naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.RETRACT)
    now = rt.clock()
    if not reason.strip():
        raise InputError(_("--reason must not be empty"))
    with rt.db.reader() as s:
        post = get_post(s, post_id)
    if post.status != PostStatus.PUBLISHED or not post.remote_id:
        raise StateError(_("post {post_id} is {status}; only published posts can be retracted").format(
            post_id=post_id, status=post.status))
    client = rt.client(post.account)
    client.delete(post.remote_id)  # a platform failure propagates: nothing is changed here
    with rt.db.session() as s:
        s.execute(update(Post).where(col(Post.id) == post_id)
                  .values(status=PostStatus.RETRACTED, updated_at=now))
        audit(s, now, by, "queue_retract", account=post.account, post_id=post_id, reason=reason,
              target=post.remote_id)
        s.commit()
        return get_post(s, post_id)
