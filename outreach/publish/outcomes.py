"""What became of a post: the owner of claims and the rows it writes.

``Owner`` is the state a publishing worker keeps (its id, lease, clock) and the writes
that end an attempt — published, queued again, failed, unconfirmed — each one only
while this worker still holds the claim.
"""

from __future__ import annotations

import functools
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam
from sqlmodel import col

from outreach.clients.base import Published
from outreach.errors import ContentRejected
from outreach.i18n import _
from outreach.notify import outbox
from outreach.publish.leases import (
    LeaseKeeper,
    claim_statement,
    lease_clock,
    owned_post,
    update,
    worker_id,
)
from outreach.states import Hold, PostKind, PostStatus
from outreach.store.audit import audit
from outreach.store.db import read_db_now, rowcount
from outreach.store.models import Account, Comment, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)


BACKOFF_START = 30  # seconds; doubles per attempt
BACKOFF_CAP = 15 * 60
# rows no claim can match again
FINAL_OUTCOMES = frozenset({PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.MISSED})
# Added to the request deadline (``[outreach] request_deadline_seconds``, which ends every
# request) for the platform's own queueing: a request older than both that is not on the
# account did not land.
IN_FLIGHT_MARGIN = timedelta(seconds=30)


@functools.cache
def account_update() -> Any:
    return update(Account).where(col(Account.name) == bindparam("b_name"))


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """30 s doubling per attempt, capped at 15 min, with ±20 % jitter."""
    base = min(BACKOFF_START * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=min(base * jitter, BACKOFF_CAP))


@dataclass
class RunSummary:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1


@dataclass(frozen=True)
class Refusal:
    """Why the gate stopped a send, and what it said."""

    kind: Hold
    reason: str
    approved: set[str] | None = None


class Owner:
    """A worker that claims posts and writes their outcomes (see ``Publisher``)."""

    def __init__(self, rt: Runtime, *, worker: str | None = None,
                 stop: Callable[[], bool] | None = None) -> None:
        self.rt = rt
        self.worker = worker or worker_id()
        self.policy = rt.settings.policy
        self.lease = timedelta(seconds=self.policy.lease_seconds)
        self.in_flight_grace = (timedelta(seconds=rt.settings.request_deadline_seconds)
                                + IN_FLIGHT_MARGIN)
        self.stop = stop or (lambda: False)
        self._reauth_checked: dict[str, datetime] = {}
        self._reconciling: set[int] = set()  # claimed to find out what became of them
        self.keeper = LeaseKeeper(rt, self.worker, self.lease)
        self.clock = lease_clock(rt)

    def lease_now(self) -> datetime:
        """Now on the clock leases use (see ``lease_clock``)."""
        if self.clock is None:
            return self.rt.clock()
        with self.rt.db.reader() as s:
            return read_db_now(s)

    def _update_owned(self, s: Any, post_id: int | None, **values: Any) -> int:
        """UPDATE the post this worker holds; the rows changed (0: the claim was lost)."""
        return rowcount(s.execute(owned_post().values(**values),
                                  {"b_id": post_id, "b_worker": self.worker}))

    def _claim(self, s: Any, post_id: int, status: str, now: datetime, *,
               catch_up: bool = False, sent: datetime | None = None) -> Post | None:
        """The conditional UPDATE that makes this worker the post's owner, returning the row
        (None when another worker or a state change got there first). A queued post becomes
        an attempt; one in flight is claimed for reconciliation once its lease expired."""
        queued = status == PostStatus.QUEUED
        return s.scalars(claim_statement(queued, queued and catch_up, self.clock,
                                          self.policy.lease_seconds), {
            "b_id": post_id, "b_status": status, "b_now": now, "b_worker": self.worker,
            "b_not_before": sent or now, "b_lease_until": now + self.lease}).one_or_none()

    def _reply_target(self, post: Post, client: Any) -> str:
        with self.rt.db.reader() as s:
            comment = s.get(Comment, post.reply_to_comment_id)
            parent = s.get(Post, comment.post_id) if comment and comment.post_id else None
        if comment is None:
            raise ContentRejected(_("the comment to answer no longer exists"))
        return client.reply_target(parent.remote_id if parent is not None else None,
                                   comment.remote_id)

    # --- writing outcomes --------------------------------------------------------------

    def _published(self, post: Post, published: Published) -> str:
        now = self.rt.clock()
        with self.rt.db.session() as s:
            n = rowcount(s.execute(owned_post(), {
                "b_id": post.id, "b_worker": self.worker, "status": PostStatus.PUBLISHED,
                "remote_id": published.remote_id, "remote_url": published.url,
                "published_at": published.created_at, "claimed_by": None, "lease_until": None,
                "last_error": None, "updated_at": now}))
            if n == 1:
                audit(s, now, "daemon", "published", account=post.account, post_id=post.id,
                      target=published.remote_id)
                if post.kind == PostKind.REPLY and post.reply_to_comment_id is not None:
                    s.execute(update(Comment).where(col(Comment.id) == post.reply_to_comment_id)
                              .values(replied_at=published.created_at))
                s.execute(account_update(), {"b_name": post.account, "last_success_at": now,
                                              "last_error": None})
            s.commit()
        if n != 1:
            log.warning("post %s was published as %s but the claim was lost; the owner of the "
                        "claim reconciles it", post.id, published.remote_id)
            return "lost"
        log.info("post %s published on %s as %s", post.id, post.account, published.remote_id)
        return PostStatus.PUBLISHED

    def _finish(self, post: Post, now: datetime, *, status: str, error: str | None = None,
                not_before: datetime | None = None, attempts_delta: int = 0,
                ambiguous: bool = False, lease_until: datetime | None = None,
                keep_lease: bool = False) -> str:
        values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": now,
                                  "claimed_by": None,
                                  "lease_until": lease_until if keep_lease else None}
        if not_before is not None:
            values["not_before"] = not_before
        if attempts_delta:
            values["attempts"] = col(Post.attempts) + attempts_delta
        if ambiguous:
            values["ambiguous"] = True
        with self.rt.db.session() as s:
            self._update_owned(s, post.id, **values)
            if status == PostStatus.FAILED:
                s.execute(update(Account).where(col(Account.name) == post.account)
                          .values(last_error=f"post {post.id}: {error}"))
                outbox.post_failed(s, self.rt, post.id, post.account, error, now)
            s.commit()
        return status if status != PostStatus.QUEUED else ("held" if attempts_delta < 0 else "retry")

    def _release(self, post_id: int | None, error: str) -> None:
        """Give a claim back after an internal error; the row is reconciled next tick."""
        with self.rt.db.session() as s:
            self._update_owned(s, post_id, claimed_by=None, lease_until=None, last_error=error,
                               status=PostStatus.UNCONFIRMED, ambiguous=True)
            s.commit()

    def release_all(self) -> int:
        """On shutdown: give back every claim this worker holds (they are reconciled)."""
        with self.rt.db.session() as s:
            n = rowcount(s.execute(update(Post).where(
                col(Post.claimed_by) == self.worker, col(Post.status) == PostStatus.PUBLISHING,
            ).values(claimed_by=None, lease_until=None, status=PostStatus.UNCONFIRMED,
                     ambiguous=True, last_error="released at shutdown")))
            s.commit()
        return n

    def _send(self, post: Post, client: Any, now: datetime, *, resend: bool = False) -> str:
        """Send through the gate (``Publisher._send``)."""
        raise NotImplementedError
