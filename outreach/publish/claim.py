"""Which due post goes next: the claim, the spacing between an account's posts, and
slots whose moment has passed for good.

Reconciliation comes first, then officers' posts, then slots on time, then late ones;
automatic posts of an account are spaced by ``min_gap_minutes``.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, func, or_, select
from sqlmodel import col

from outreach.publish.leases import now_for_leases, update
from outreach.publish.outcomes import Owner
from outreach.schedule.history import pause_intervals
from outreach.schedule.planner import paused_at
from outreach.states import PostKind, PostStatus
from outreach.store.models import Pause, Post, UTCDateTime
from outreach.store.sql import one_of
from outreach.times import aware

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


LATE_GRACE = timedelta(minutes=2)  # later than this, a post is a catch-up and is spaced
# spaced by min_gap_minutes; a reply answers a person at once
AUTOMATIC = (PostKind.SLOT, PostKind.ADHOC)
ON_TIME_SLACK = timedelta(seconds=10)  # claimed this soon after its due time: sent on time


@functools.cache
def _due_candidates(clock: str | None = None) -> Any:
    """What may be claimed at :now:: a queued post due on an account not paused; a post left
    ``publishing`` whose lease expired (its worker died mid-call), paused or not — looking
    on the platform sends nothing, and an incident is when an officer most needs to know
    whether it went out (a resend is then held by the gate as ``unconfirmed``); and an
    ``unconfirmed`` one whose lease expired, on an account not paused (its resend waits for
    the resume). Less the rows another daemon is claiming this instant. Built once: the
    claim runs for every post, and building the expression cost more than running it."""
    now: Any = bindparam("now")
    paused = exists().where(  # incident mode, for this account or for all of them
        col(Pause.started_at) <= now,
        or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
        or_(col(Pause.account).is_(None), col(Pause.account) == col(Post.account)))
    expired = or_(col(Post.lease_until).is_(None),
                  col(Post.lease_until) < now_for_leases(clock, now))
    return select(col(Post.id), col(Post.status), col(Post.account), col(Post.scheduled_at),
                  col(Post.not_before), col(Post.kind)).where(
        one_of(col(Post.account), "accounts"), or_(
            (col(Post.status) == PostStatus.QUEUED) & (col(Post.not_before) <= now) & ~paused,
            (col(Post.status) == PostStatus.PUBLISHING) & expired,
            (col(Post.status) == PostStatus.UNCONFIRMED) & expired & ~paused,
        )).order_by(col(Post.not_before), col(Post.id)).limit(bindparam("limit")).with_for_update(
        # PostgreSQL: daemons sharing the queue read different candidates instead of all
        # queueing on the first row's lock (SQLite has one writer; it renders nothing)
        skip_locked=True, of=Post)


@functools.cache
def _last_sent() -> Any:
    """When the account's last automatic post went out (its ``not_before`` at the claim),
    among those sent since :b_since (read from ``ix_posts_due``)."""
    return select(func.max(col(Post.not_before))).where(
        col(Post.status).in_((PostStatus.PUBLISHED, PostStatus.PUBLISHING, PostStatus.UNCONFIRMED)),
        col(Post.not_before) > bindparam("b_since", type_=UTCDateTime),
        col(Post.account) == bindparam("b_account"), col(Post.kind).in_(AUTOMATIC))


@functools.cache
def _upcoming() -> Any:
    """The account's queued automatic posts still on time, due in [:b_from, :b_until]."""
    return select(col(Post.not_before)).where(
        col(Post.status) == PostStatus.QUEUED,
        col(Post.not_before) >= bindparam("b_from", type_=UTCDateTime),
        col(Post.not_before) <= bindparam("b_until", type_=UTCDateTime),
        col(Post.account) == bindparam("b_account"), col(Post.kind).in_(AUTOMATIC),
        col(Post.id) != bindparam("b_id"),
        col(Post.scheduled_at) >= bindparam("b_on_time", type_=UTCDateTime),
    ).order_by(col(Post.not_before))


@functools.cache
def _queued_slots() -> Any:
    """The queued slot posts of :b_accounts due by :b_now (each pass of a lane asks)."""
    return select(col(Post.id), col(Post.account), col(Post.scheduled_at)).where(
        col(Post.kind) == PostKind.SLOT, col(Post.status) == PostStatus.QUEUED,
        col(Post.scheduled_at) <= bindparam("b_now", type_=UTCDateTime),
        one_of(col(Post.account), "b_accounts"))


class Claiming(Owner):
    """Claiming the next due post of the accounts not blocked."""

    def _expire_slots(self, now: datetime, blocked: dict[str, str]) -> None:
        """Queued slot posts whose moment has passed for good become ``missed``.

        A slot that fell in a pause is missed with reason ``paused`` (resume never
        publishes it); one later than ``catch_up_minutes`` is missed as late, so a
        daemon back from downtime never bursts.
        """
        catch_up = now - timedelta(minutes=self.policy.catch_up_minutes)
        with self.rt.db.session() as s:
            due = s.execute(_queued_slots(), {  # a lane: its own accounts
                "b_now": now, "b_accounts": list(self.rt.settings.accounts)}).all()
            pauses: dict[str, list[tuple[datetime, datetime | None]]] = {}
            for post_id, account, at in due:
                if account not in pauses:
                    pauses[account] = pause_intervals(s, account)
                if paused_at(pauses[account], at):
                    reason = "paused"
                elif at < catch_up:
                    why = blocked.get(account, "the daemon was not running")
                    reason = (f"late: not published within {self.policy.catch_up_minutes} "
                              f"minutes of the slot ({why})")
                else:
                    continue
                s.execute(update(Post).where(col(Post.id) == post_id,
                                             col(Post.status) == PostStatus.QUEUED)
                          .values(status=PostStatus.MISSED, last_error=reason, updated_at=now))
            s.commit()

    def claim_next(self, now: datetime, blocked: dict[str, str],
                   exclude: set[int] | None = None) -> Post | None:
        """Claim one due post (or one whose lease expired) with a conditional UPDATE."""
        accounts = [a for a in self.rt.settings.accounts if a not in blocked]
        with self.rt.db.session() as s:
            candidates = s.execute(_due_candidates(self.clock), {
                "now": now, "accounts": accounts, "limit": 50 + len(exclude or ())}).all()
            # reconciliation first, then officers' posts (they take the first gap), then
            # slots on time, then late ones (each spaced; a late slot only where it fits)
            candidates = sorted(candidates, key=lambda c: (
                c[1] == PostStatus.QUEUED, c[5] == PostKind.SLOT,
                c[5] == PostKind.SLOT and now - c[3] > LATE_GRACE))
            for post_id, status, account, scheduled_at, not_before, kind in candidates:
                if exclude and post_id in exclude:
                    continue
                late = status == PostStatus.QUEUED and now - scheduled_at > LATE_GRACE
                if status == PostStatus.QUEUED and kind in AUTOMATIC:
                    wait = self._spacing(s, post_id, account, kind, scheduled_at, now)
                    if wait is not None:
                        s.execute(update(Post).where(col(Post.id) == post_id,
                                                     col(Post.status) == PostStatus.QUEUED)
                                  .values(**wait, updated_at=now))
                        continue
                # the instant it went out, for spacing: its due time when on time, else now
                sent = not_before if now - not_before <= ON_TIME_SLACK else now
                post = self._claim(s, post_id, status, now, catch_up=late, sent=sent)
                if post is not None:
                    s.commit()
                    if status != PostStatus.QUEUED:
                        self._reconciling.add(post_id)
                    return post
            s.commit()
        return None

    def _spacing(self, s: Any, post_id: int, account: str, kind: str, scheduled_at: datetime,
                 now: datetime) -> dict[str, Any] | None:
        """What to write instead of claiming a due post that must wait, or None to go now.

        ``min_gap_minutes`` holds between any two automatic posts of an account (slots, on
        time or late, and officers' posts once due): each waits for the gap after the last
        one sent. A slot not sent on time must also leave the gap before the account's next
        on-time post — catch-up goes only where it fits — and is ``missed`` when that is past
        ``catch_up_minutes`` after its slot. An officer's post is never dropped: it takes
        the first gap and the slots behind it wait.
        """
        gap = timedelta(minutes=self.policy.min_gap_minutes)
        if gap <= timedelta(0):
            return None
        last = s.execute(_last_sent(), {"b_account": account, "b_since": now - gap}).scalar()
        at = max(now, aware(last) + gap) if last is not None else now
        if kind == PostKind.SLOT and now - scheduled_at > ON_TIME_SLACK:
            limit = scheduled_at + timedelta(minutes=self.policy.catch_up_minutes)
            upcoming = s.execute(_upcoming(), {
                "b_account": account, "b_id": post_id, "b_from": at - gap,
                "b_until": limit + gap, "b_on_time": now - ON_TIME_SLACK}).scalars().all()
            for other in upcoming:  # in time order: step past each one too close
                other = aware(other)
                if other - gap < at < other + gap:
                    at = other + gap
            if at > limit:
                return {"status": PostStatus.MISSED, "last_error": (
                    f"late: no room {self.policy.min_gap_minutes} minute(s) (min_gap_minutes) "
                    f"from the account's other posts within {self.policy.catch_up_minutes} "
                    "minutes of the slot (catch_up_minutes)")}
        return {"not_before": at} if at > now else None
