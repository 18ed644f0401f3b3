"""Fan-out: one tip or text queued on every account of a group at once, as one batch.

Every account's post is rendered with its own ``vars`` and checked by its platform's rules
before anything is stored; one problem refuses the whole batch, listing every problem.
A batch is then approved or cancelled as one (four eyes as for a single post), audited.

The library, the approvals and the accounts' tip history are read once for the whole
batch, not once per account, so a province's thousand accounts queue in about a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from outreach.actions.media import ImageRequest, PrepareCache
from outreach.actions.posts import (
    CHANGEABLE,
    NewPost,
    approve_post,
    cancel_post,
    insert_post,
    post_warnings,
    prepare_post,
)
from outreach.actions.rows import get_batch
from outreach.actions.users import Permission, require_by_name
from outreach.config.settings import AccountSettings
from outreach.errors import ClientError, ContentError, InputError, NotFound, StateError
from outreach.i18n import _
from outreach.media.store import MediaStore
from outreach.schedule.history import approved_tips
from outreach.schedule.planner import USED_STATUSES, History
from outreach.states import PostStatus
from outreach.store.audit import audit
from outreach.store.models import AuditLog, Batch, Post
from outreach.times import check_not_past, parse_when, show_local

if TYPE_CHECKING:
    from outreach.runtime import Runtime

MAX_STAGGER = timedelta(days=1)
SHOWN_PROBLEMS = 50
_STAGGER_RE = re.compile(r"(\d{1,6})\s*(s|sec|m|min|h)", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_stagger(text: str | None) -> timedelta:
    """``10m``, ``90s``, ``1h``: the time between two accounts' posts (none: at once)."""
    if text is None or not text.strip():
        return timedelta(0)
    m = _STAGGER_RE.fullmatch(text.strip())
    if not m:
        raise InputError(_("--stagger: cannot read {text!r} (use 30s, 10m or 1h)").format(text=text))
    value = timedelta(seconds=int(m[1]) * _UNITS[m[2].lower()])
    if value > MAX_STAGGER:
        raise InputError(_("--stagger: {text!r} is over a day").format(text=text))
    return value


@dataclass(frozen=True)
class FanOut:
    """A stored batch and its posts, in the group's order."""

    batch_id: int
    accounts: str
    posts: tuple[Post, ...]
    warnings: tuple[str, ...]


def fan_out(rt: Runtime, accounts: str, *, tip: str | None, text: str | None,
            at: str | None, stagger: str | None, by: str, strict: bool = False,
            images: Sequence[ImageRequest] = ()) -> FanOut:
    """Queue one post per account of ``accounts`` (``@group``, or one account), each
    ``stagger`` after the one before, in the group's order, with the tip's pictures or
    ``images`` (each prepared once per platform). All or nothing: every account's post is
    checked first, and any problem refuses the batch naming every one."""
    names = rt.settings.select(accounts) or ()
    gap = parse_stagger(stagger)
    now = rt.clock()
    zone = rt.settings.zone_of(accounts)
    start = parse_when(at, zone, now) if at is not None else now
    check_not_past(start, now, zone=zone)
    problems: list[str] = []
    prepared: list[NewPost] = []
    warnings: list[str] = []
    pictures: PrepareCache = {}
    with rt.db.session() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy) if tip else None
        uses = _tip_uses(s, names, tip) if tip else {}
        for i, name in enumerate(names):
            at_i = start + i * gap
            try:
                new = prepare_post(rt, s, name, tip=tip, text=text, at=at_i,
                                   approved=approved, history=uses.get(name, History()),
                                   warn=tip is None, images=images, cache=pictures)
            except (InputError, ContentError) as exc:
                problems.append(f"{name}: {exc}")  # with where it is (a picture's file)
                continue
            prepared.append(new)
            notes = [*new.warnings, *new.notes]
            if tip is not None:  # the tip's uses were read once for every account
                notes = (_cooldown_warnings(rt, uses.get(name), new.account, tip, at_i)
                         + post_warnings(rt, s, new.account, at_i, tip=None, text=None))
            warnings.extend(f"{name}: {w}" for w in notes)
        if strict and warnings:
            problems.extend(warnings)
        if problems:
            raise InputError(_refusal(problems, len(names), strict=strict))
        batch = Batch(accounts=accounts.strip(), tip_id=tip, size=len(prepared),
                      stagger_seconds=int(gap.total_seconds()), created_by=by, created_at=now)
        s.add(batch)
        s.flush()
        store = MediaStore(rt.settings.media_dir)
        posts = [insert_post(s, new, by=by, now=now, store=store) for new in prepared]
        for post in posts:
            post.batch_id = batch.id
        audit(s, now, by, "queue_fan_out", target=accounts.strip()[:100], detail={
            "batch": batch.id, "posts": len(posts), "tip": tip, "at": start.isoformat(),
            "stagger_seconds": int(gap.total_seconds())})
        s.commit()
        batch_id = _stored(batch.id)
        posts = batch_posts(s, batch_id)  # one read reloads them all for the caller to show
    return FanOut(batch_id, accounts.strip(), tuple(posts), tuple(warnings))


def _tip_uses(session: Session, names: Sequence[str], tip: str) -> dict[str, _Uses]:
    """Every use of one tip on these accounts, in one read (``ix_posts_tip_uses``): what
    variant rotation and the cooldown warning need, per account."""
    used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
    out: dict[str, _Uses] = {}
    for i in range(0, len(names), 900):  # bound the statement's parameters
        rows = session.execute(select(
            col(Post.account), col(Post.id), col(Post.status), used_at,
            func.coalesce(col(Post.variant), 0),
        ).where(col(Post.account).in_(names[i:i + 900]), col(Post.tip_id) == tip,
                col(Post.status).in_(USED_STATUSES))).all()
        for account, post_id, status, at, variant in sorted(rows, key=lambda r: (r[3], r[4])):
            uses = out.setdefault(account, _Uses())
            uses.uses[tip].append(at)
            uses.variants[tip].append((at, variant))
            uses.posts.append((at, post_id, status))
    return out


class _Uses(History):
    """An account's history of one tip, with the posts that used it."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[datetime, int | None, str]] = []


def _cooldown_warnings(rt: Runtime, uses: _Uses | None, account: AccountSettings, tip: str,
                       at: datetime) -> list[str]:
    """The warning of `queue add` for a tip already used on the account within
    ``cooldown_days`` (at most three uses named), from the uses read once."""
    days = rt.settings.policy.cooldown_days
    if uses is None or days <= 0:
        return []
    cooldown = timedelta(days=days)
    near = [u for u in uses.posts if at - cooldown < u[0] < at + cooldown][:3]
    return [f"tip {tip} is already {status} on {account.name} as post {post_id} "
            f"({show_local(when, account.timezone)}), within cooldown_days ({days})"
            for when, post_id, status in near]


def _refusal(problems: Sequence[str], accounts: int, *, strict: bool) -> str:
    shown = list(problems[:SHOWN_PROBLEMS])
    if len(problems) > SHOWN_PROBLEMS:
        shown.append(_("(and {n} more)").format(n=len(problems) - SHOWN_PROBLEMS))
    why = " (--strict)" if strict else ""
    return ("\n".join(shown) + f"\nnothing was queued: {len(problems)} problem(s) on "
            f"{accounts} account(s){why}")


def _stored(batch_id: int | None) -> int:
    assert batch_id is not None, "a stored batch has an id"
    return batch_id


def batch_posts(session: Session, batch_id: int) -> list[Post]:
    """A batch's posts in the order they were queued; NotFound for an unknown batch."""
    get_batch(session, batch_id)
    return list(session.execute(select(Post).where(col(Post.batch_id) == batch_id)
                                .order_by(col(Post.id))).scalars())


def approve_batch(rt: Runtime, batch_id: int, *, by: str) -> list[Post]:
    """Approve every draft of a batch at once: one decision, four eyes as for one post
    (not by whoever wrote a draft's current text, unless the policy allows), audited on each
    post. Refused as a whole when any post of the batch is not a draft or not the approver's
    to approve; posts already cancelled are left out. A ``by`` naming a console user needs
    the approver role."""
    require_by_name(rt, by, Permission.APPROVE)
    now = rt.clock()
    with rt.db.session() as s:
        posts = [p for p in batch_posts(s, batch_id) if p.status != PostStatus.CANCELLED]
        wrong = [p for p in posts if p.status != PostStatus.DRAFT]
        if wrong:
            raise StateError(f"batch {batch_id}: " + "; ".join(
                f"post {p.id} on {p.account} is {p.status}" for p in wrong[:10])
                + " — only drafts are approved")
        if not posts:
            raise StateError(_("batch {batch_id} has no drafts left to approve").format(batch_id=batch_id))
        if not rt.settings.policy.allow_self_approval:
            own = _written_by(s, posts, by)
            if own:
                raise StateError(_("batch {batch_id}: post(s) {value} were written by {by}; another "
                                   "officer must approve them (or set policy.allow_self_approval = "
                                   "true)").format(
                    batch_id=batch_id, value=', '.join(map(str, own[:10])), by=by))
        ids = [p.id for p in posts]
        n = s.execute(update(Post).where(col(Post.id).in_(ids),
                                         col(Post.status) == PostStatus.DRAFT)
                      .values(status=PostStatus.QUEUED, approved_by=by, approved_at=now,
                              updated_at=now)).rowcount  # type: ignore[attr-defined]
        if n != len(ids):
            raise StateError(_("batch {batch_id} changed while approving; try again").format(
                batch_id=batch_id))
        for p in posts:
            audit(s, now, by, "queue_approve", account=p.account, post_id=p.id,
                  detail={"batch": batch_id})
        s.commit()
        return batch_posts(s, batch_id)


def _written_by(session: Session, posts: Sequence[Post], by: str) -> list[int]:
    """The posts whose current text ``by`` wrote: its last editor, else its author."""
    ids = [p.id for p in posts]
    edits = (col(AuditLog.post_id).in_(ids), col(AuditLog.action) == "queue_edit")
    last = select(func.max(col(AuditLog.id))).where(*edits).group_by(col(AuditLog.post_id))
    rows = session.execute(select(col(AuditLog.post_id), col(AuditLog.actor))
                           .where(*edits, col(AuditLog.id).in_(last))).all()
    editor = {post_id: actor for post_id, actor in rows}
    return [p.id for p in posts if p.id is not None and editor.get(p.id, p.created_by) == by]


@dataclass(frozen=True)
class Cancelled:
    """What cancelling a batch did: cancelled, retracted (had landed), and left alone."""

    cancelled: tuple[int, ...]
    retracted: tuple[int, ...]
    left: tuple[tuple[int, str], ...]  # (post id, status) of posts past cancelling


def cancel_batch(rt: Runtime, batch_id: int, *, by: str, reason: str | None) -> Cancelled:
    """Cancel every draft and queued post of a batch in one transaction (audited on each
    post); an unconfirmed one is reconciled first, as `queue cancel` does. Published posts
    are left alone and named (retract them one by one)."""
    now = rt.clock()
    with rt.db.session() as s:
        posts = batch_posts(s, batch_id)
        changeable = [p for p in posts if p.status in CHANGEABLE and p.claimed_by is None]
        ids = [p.id for p in changeable]
        if ids:
            n = s.execute(update(Post).where(
                col(Post.id).in_(ids), col(Post.status).in_(CHANGEABLE),
                col(Post.claimed_by).is_(None),
            ).values(status=PostStatus.CANCELLED, updated_at=now)).rowcount  # type: ignore[attr-defined]
            if n != len(ids):
                raise StateError(_("batch {batch_id} changed while cancelling; try again").format(
                    batch_id=batch_id))
            for p in changeable:
                audit(s, now, by, "queue_cancel", account=p.account, post_id=p.id,
                      reason=reason, detail={"batch": batch_id})
        s.commit()
        unsure = [p.id for p in posts if p.status in (PostStatus.UNCONFIRMED,
                                                      PostStatus.PUBLISHING)]
        rest = [(p.id, p.status) for p in posts if p not in changeable and p.id not in unsure]
    cancelled = [i for i in ids if i is not None]
    retracted: list[int] = []
    for post_id in unsure:
        assert post_id is not None
        post = cancel_post(rt, post_id, by=by, reason=reason)
        (retracted if post.status == PostStatus.RETRACTED else cancelled).append(post_id)
    left = tuple((i, st) for i, st in rest if i is not None and st != PostStatus.CANCELLED)
    return Cancelled(tuple(cancelled), tuple(retracted), left)


APPROVABLE = (PostStatus.DRAFT,)
CANCELLABLE = (*CHANGEABLE, PostStatus.UNCONFIRMED, PostStatus.PUBLISHING)
"""What `queue approve|cancel --account @group` chooses on the group's accounts."""


@dataclass(frozen=True)
class Refused:
    """A post a group-wide decision left as it was, and why."""

    post_id: int
    account: str
    reason: str


@dataclass(frozen=True)
class GroupDecision:
    """What approving or cancelling the posts of a group did, post by post."""

    done: tuple[int, ...]  # approved, or cancelled
    retracted: tuple[int, ...]  # cancelled after it had landed: deleted there
    refused: tuple[Refused, ...]
    posts: tuple[Post, ...] = ()  # the posts done, as they are now


def group_posts(rt: Runtime, accounts: str, statuses: Sequence[PostStatus]) -> list[Post]:
    """The posts of ``accounts`` (``@group`` or a name) in ``statuses``, in the group's
    order of accounts, then oldest scheduled first: what a group-wide decision would touch."""
    names = rt.settings.select(accounts) or ()
    order = {name: i for i, name in enumerate(names)}
    found: list[Post] = []
    with rt.db.reader() as s:
        for i in range(0, len(names), 900):  # bound the statement's parameters
            found.extend(s.execute(select(Post).where(
                col(Post.account).in_(names[i:i + 900]), col(Post.status).in_(statuses),
            )).scalars())
    return sorted(found, key=lambda p: (order[p.account], p.scheduled_at, p.id or 0))


def approve_posts(rt: Runtime, posts: Sequence[Post], *, by: str) -> GroupDecision:
    """Approve each of these drafts as `queue approve ID` does (four eyes, the approver's
    role); a post that may not be approved is refused with the reason, the others go on.
    A ``by`` whose role may not approve refuses the whole decision before anything."""
    require_by_name(rt, by, Permission.APPROVE)
    done: list[Post] = []
    refused: list[Refused] = []
    for post in posts:
        assert post.id is not None
        try:
            done.append(approve_post(rt, post.id, by=by))
        except (StateError, NotFound) as exc:
            refused.append(Refused(post.id, post.account, exc.message))
    return GroupDecision(tuple(_stored(p.id) for p in done), (), tuple(refused), tuple(done))


def cancel_posts(rt: Runtime, posts: Sequence[Post], *, by: str,
                 reason: str | None) -> GroupDecision:
    """Cancel each of these posts as `queue cancel ID` does (an unconfirmed one reconciled
    first, retracted if it had landed); one that cannot be cancelled now is refused with the
    reason, the others go on."""
    done: list[int] = []
    retracted: list[int] = []
    refused: list[Refused] = []
    for post in posts:
        assert post.id is not None
        try:
            after = cancel_post(rt, post.id, by=by, reason=reason)
        except (StateError, NotFound, ClientError) as exc:
            refused.append(Refused(post.id, post.account, exc.message))
            continue
        (retracted if after.status == PostStatus.RETRACTED else done).append(post.id)
    return GroupDecision(tuple(done), tuple(retracted), tuple(refused))
