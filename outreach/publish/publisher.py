"""Claim, publish, retry, reconcile — exactly once.

A post row with a stable idempotency key exists before any network call. A
claim is one conditional UPDATE (``… WHERE id = ? AND status = 'queued'``)
that also sets ``claimed_by`` and ``lease_until``; the worker renews the lease
while the platform call runs. Anything that fails after the request may have
left is ``unconfirmed`` and is reconciled before any retry: by resending with
the same key while the platform remembers it (``idempotency_window``), else by
looking for the text on the account (``find_published``). Only rows whose lease
expired or was released are reconciled, so two daemons never take over each
other's live work; leases are read and written on the database's clock.

Every send — first attempt, retry, reconciling resend, reply — passes one gate
(``Publisher.gate``: pause, approval, text) just before the platform is called.
Automatic posts of an account are spaced by ``min_gap_minutes`` (``_spacing``).

Outcomes: TransientError → queued with backoff (failed after max_attempts);
RateLimited → queued until retry_at, no attempt counted; AuthError → the account
needs re-authorisation, its posts stay queued; ContentRejected → failed;
AmbiguousOutcome → unconfirmed; DuplicateContent → reconciled after an ambiguous
attempt, else failed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy import update as _update
from sqlmodel import col

from outreach import notify
from outreach.clients.base import Published
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    RemoteError,
    StateError,
    TransientError,
)
from outreach.library.texts import text_problems
from outreach.schedule.planner import (
    Draw,
    SlotTime,
    _aware,
    approved_tips,
    draw,
    load_history,
    pause_intervals,
    paused_at,
)
from outreach.store.audit import audit
from outreach.store.db import db_now, read_db_now
from outreach.store.models import Account, Comment, Pause, Post, UTCDateTime
from outreach.times import utcnow

log = logging.getLogger(__name__)

BACKOFF_START = 30  # seconds; doubles per attempt
BACKOFF_CAP = 15 * 60
LATE_GRACE = timedelta(minutes=2)  # later than this, a post is a catch-up and is spaced
REAUTH_CHECK_EVERY = timedelta(minutes=10)
FINAL_OUTCOMES = frozenset({"published", "failed", "missed"})  # rows no claim can match again
# Added to the request deadline (``[outreach] request_deadline_seconds``, which ends every
# request) for the platform's own queueing: a request older than both that is not on the
# account did not land.
IN_FLIGHT_MARGIN = timedelta(seconds=30)


def update(entity: Any) -> Any:
    """A Core UPDATE of the entity's table: no ORM session synchronisation (no ORM object
    is loaded in these short sessions; rows are read again when needed)."""
    return _update(entity.__table__)


def lease_clock(rt: Any) -> str | None:
    """The database whose clock leases are written and compared with (its dialect), or None
    when the runtime's clock was injected (tests, the demo's simulated time): every host
    then judges a lease by one clock, so a host whose clock is off cannot take over a live
    post."""
    return None if rt.clock is not utcnow else str(rt.db.engine.dialect.name)


def _now_for_leases(clock: str | None, injected: Any, plus: timedelta = timedelta(0)) -> Any:
    """The database's clock (read once per statement) plus ``plus`` or, with an injected
    clock, the parameter ``injected`` that carries that instant."""
    return db_now(clock, plus.total_seconds()) if clock is not None else injected


@functools.cache
def _due_candidates(clock: str | None = None) -> Any:
    """What may be claimed at :now: on an account not paused — queued and due, or in flight
    with its lease expired (reconciliation; a pause holds its resend too). Built once: the
    claim runs for every post, and building the expression cost more than running it."""
    now: Any = bindparam("now")
    paused = exists().where(  # incident mode, for this account or for all of them
        col(Pause.started_at) <= now,
        or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
        or_(col(Pause.account).is_(None), col(Pause.account) == col(Post.account)))
    return select(col(Post.id), col(Post.status), col(Post.account), col(Post.scheduled_at),
                  col(Post.not_before), col(Post.kind)).where(
        col(Post.account).in_(bindparam("accounts", expanding=True)), ~paused, or_(
            (col(Post.status) == "queued") & (col(Post.not_before) <= now),
            col(Post.status).in_(("publishing", "unconfirmed"))
            & or_(col(Post.lease_until).is_(None),
                  col(Post.lease_until) < _now_for_leases(clock, now)),
        )).order_by(col(Post.not_before), col(Post.id)).limit(bindparam("limit"))


@functools.cache
def _owned_post(status: str | None = None) -> Any:
    """UPDATE of the post :b_id this worker holds (:b_worker), optionally only in ``status``;
    SET from the parameters given with it. Built once: the publisher writes one a post."""
    cond = [col(Post.id) == bindparam("b_id"), col(Post.claimed_by) == bindparam("b_worker")]
    if status is not None:
        cond.append(col(Post.status) == status)
    return update(Post).where(*cond)


@functools.cache
def _renewal(clock: str | None, lease_seconds: int) -> Any:
    """A lease renewal of the post this worker holds while it is publishing."""
    return _owned_post("publishing").values(lease_until=_now_for_leases(
        clock, bindparam("b_lease_until", type_=UTCDateTime), timedelta(seconds=lease_seconds)))


@functools.cache
def _account_update() -> Any:
    return update(Account).where(col(Account.name) == bindparam("b_name"))


@functools.cache
def _claim_statement(queued: bool, catch_up: bool, clock: str | None = None,
                     lease_seconds: int = 60) -> Any:
    """The claim's UPDATE … RETURNING as an ORM select (see ``Publisher._claim``), with
    :b_id, :b_status, :b_now, :b_worker and :b_not_before. The lease and the attempt's time
    are on ``clock`` (see ``lease_clock``). Built once per shape."""
    now: Any = bindparam("b_now", type_=UTCDateTime)
    sent = _now_for_leases(clock, now)
    values: dict[str, Any] = {
        "claimed_by": bindparam("b_worker"), "updated_at": now,
        "lease_until": _now_for_leases(clock, bindparam("b_lease_until", type_=UTCDateTime),
                                       timedelta(seconds=lease_seconds))}
    cond = [col(Post.id) == bindparam("b_id"), col(Post.status) == bindparam("b_status")]
    if queued:
        if catch_up:
            values["catch_up"] = True
        values.update(status="publishing", attempts=col(Post.attempts) + 1, last_attempt_at=sent,
                      first_attempt_at=func.coalesce(col(Post.first_attempt_at), sent),
                      not_before=bindparam("b_not_before", type_=UTCDateTime))
    else:
        cond.append(or_(col(Post.lease_until).is_(None), col(Post.lease_until) < sent))
    claim = update(Post).where(*cond).values(**values)
    return select(Post).from_statement(claim.returning(*claim.table.c))


AUTOMATIC = ("slot", "adhoc")  # spaced by min_gap_minutes; a reply answers a person at once
ON_TIME_SLACK = timedelta(seconds=10)  # claimed this soon after its due time: sent on time


@functools.cache
def _last_sent() -> Any:
    """When the account's last automatic post went out (its ``not_before`` at the claim),
    among those sent since :b_since (read from ``ix_posts_due``)."""
    return select(func.max(col(Post.not_before))).where(
        col(Post.status).in_(("published", "publishing", "unconfirmed")),
        col(Post.not_before) > bindparam("b_since", type_=UTCDateTime),
        col(Post.account) == bindparam("b_account"), col(Post.kind).in_(AUTOMATIC))


@functools.cache
def _upcoming() -> Any:
    """The account's queued automatic posts still on time, due in [:b_from, :b_until]."""
    return select(col(Post.not_before)).where(
        col(Post.status) == "queued",
        col(Post.not_before) >= bindparam("b_from", type_=UTCDateTime),
        col(Post.not_before) <= bindparam("b_until", type_=UTCDateTime),
        col(Post.account) == bindparam("b_account"), col(Post.kind).in_(AUTOMATIC),
        col(Post.id) != bindparam("b_id"),
        col(Post.scheduled_at) >= bindparam("b_on_time", type_=UTCDateTime),
    ).order_by(col(Post.not_before))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


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


class LeaseKeeper:
    """Renews the leases of a publisher's posts while their platform calls run.

    One thread with its own sessions, started by the first call and gone once it wakes to
    find nothing in flight, so a loop of posts does not start a thread for each one.
    """

    def __init__(self, rt: Any, worker: str, lease: timedelta,
                 interval: float | None = None) -> None:
        self.rt, self.worker, self.lease = rt, worker, lease
        self.clock = lease_clock(rt)
        self.interval = interval or max(lease.total_seconds() / 3, 0.5)
        self._lock = threading.Lock()
        self._calls: dict[int, Call] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, post_id: int) -> Iterator[Call]:
        """Keep ``post_id``'s lease alive for the block; ``.lost`` says if it was taken."""
        call = Call()
        with self._lock:
            self._calls[post_id] = call
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease-keeper",
                                                daemon=True)
                self._thread.start()
        try:
            yield call
        finally:
            with self._lock:
                self._calls.pop(post_id, None)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if not self._calls:  # decided under the lock: a new call starts a new thread
                    self._thread = None
                    return
                calls = list(self._calls.items())
            for post_id, call in calls:
                if call.lost:  # taken over: nothing of ours to renew
                    continue
                try:
                    call.lost = not self._renew(post_id)
                except Exception:  # a renewal that fails is retried at the next interval
                    log.warning("lease renewal for post %s failed", post_id, exc_info=True)

    def _renew(self, post_id: int) -> bool:
        with self.rt.db.session() as s:
            n = s.execute(_renewal(self.clock, int(self.lease.total_seconds())), {
                "b_id": post_id, "b_worker": self.worker,
                "b_lease_until": self.rt.clock() + self.lease}).rowcount
            s.commit()
        return n == 1


@dataclass(frozen=True)
class Refusal:
    """Why the gate stopped a send: ``kind`` is paused, tip or text."""

    kind: str
    reason: str
    approved: set[str] | None = None


@dataclass
class Call:
    """A platform call in flight, as the lease keeper sees it."""

    lost: bool = False


class Publisher:
    def __init__(self, rt: Any, *, worker: str | None = None,
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

    # --- what may run ----------------------------------------------------------------

    def _account_rows(self, session: Any) -> dict[str, Account]:
        return {a.name: a for a in session.execute(select(Account)).scalars()}

    def blocked_accounts(self, rows: dict[str, Account], now: datetime) -> dict[str, str]:
        """Accounts whose queued posts must wait, with the reason."""
        blocked: dict[str, str] = {}
        for name, acc in self.rt.settings.accounts.items():
            try:
                configured = self.rt.configured(acc)
            except ConfigError as exc:
                blocked[name] = exc.message
                continue
            if not configured:
                blocked[name] = "unconfigured: no token"
            elif rows.get(name) is not None and rows[name].state == "needs_reauth":
                if not self._recheck_auth(acc, now):
                    blocked[name] = "needs_reauth"
        return blocked

    def _recheck_auth(self, account: AccountSettings, now: datetime) -> bool:
        """A needs_reauth account is tried again at most every ten minutes (new token?)."""
        last = self._reauth_checked.get(account.name)
        if last is not None and now - last < REAUTH_CHECK_EVERY:
            return False
        self._reauth_checked[account.name] = now
        try:
            self.rt.client(account).verify()
        except ClientError:
            return False
        with self.rt.db.session() as s:
            s.execute(update(Account).where(col(Account.name) == account.name)
                      .values(state="active", last_error=None, last_success_at=now))
            audit(s, now, "daemon", "account_reauthorised", account=account.name)
            s.commit()
        log.info("account %s is authorised again", account.name)
        return True

    # --- the loop ----------------------------------------------------------------------

    def run_due(self, now: datetime | None = None, *, limit: int | None = None) -> RunSummary:
        """Publish (or reconcile) everything due now; returns what happened."""
        summary = RunSummary()
        now = now or self.rt.clock()
        with self.rt.db.reader() as s:
            rows = self._account_rows(s)
        blocked = self.blocked_accounts(rows, now)
        self._expire_slots(now, blocked)
        done = 0
        seen: set[int] = set()  # a post handled in this pass waits for the next one
        while limit is None or done < limit:
            if self.stop():
                break
            post = self.claim_next(now, blocked, exclude=seen)
            if post is None:
                break
            assert post.id is not None
            done += 1
            try:
                outcome = self.process(post, now)
            except Exception as exc:  # never let one post stop the loop
                log.exception("post %s: unexpected error", post.id)
                self._release(post.id, f"internal error: {type(exc).__name__}")
                outcome = "error"
                summary.errors.append(f"post {post.id}: {type(exc).__name__}")
            summary.add(outcome)
            if outcome not in FINAL_OUTCOMES:  # it may be claimable again: not in this pass
                seen.add(post.id)
            if outcome == "held" and post.account in self._reauth_checked:
                blocked[post.account] = "needs_reauth"
            now = self.rt.clock()
        return summary

    def _expire_slots(self, now: datetime, blocked: dict[str, str]) -> None:
        """Queued slot posts whose moment has passed for good become ``missed``.

        A slot that fell in a pause is missed with reason ``paused`` (resume never
        publishes it); one later than ``catch_up_minutes`` is missed as late, so a
        daemon back from downtime never bursts.
        """
        catch_up = now - timedelta(minutes=self.policy.catch_up_minutes)
        with self.rt.db.session() as s:
            due = s.execute(select(col(Post.id), col(Post.account), col(Post.scheduled_at)).where(
                col(Post.kind) == "slot", col(Post.status) == "queued",
                col(Post.scheduled_at) <= now,
                col(Post.account).in_(list(self.rt.settings.accounts)),  # a lane: its own
            )).all()
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
                                             col(Post.status) == "queued")
                          .values(status="missed", last_error=reason, updated_at=now))
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
                c[1] == "queued", c[5] == "slot", c[5] == "slot" and now - c[3] > LATE_GRACE))
            for post_id, status, account, scheduled_at, not_before, kind in candidates:
                if exclude and post_id in exclude:
                    continue
                late = status == "queued" and now - scheduled_at > LATE_GRACE
                if status == "queued" and kind in AUTOMATIC:
                    wait = self._spacing(s, post_id, account, kind, scheduled_at, now)
                    if wait is not None:
                        s.execute(update(Post).where(col(Post.id) == post_id,
                                                     col(Post.status) == "queued")
                                  .values(**wait, updated_at=now))
                        continue
                # the instant it went out, for spacing: its due time when on time, else now
                sent = not_before if now - not_before <= ON_TIME_SLACK else now
                post = self._claim(s, post_id, status, now, catch_up=late, sent=sent)
                if post is not None:
                    s.commit()
                    if status != "queued":
                        self._reconciling.add(post_id)
                    return post
            s.commit()
        return None

    def publish_one(self, post_id: int) -> str:
        """Claim and publish one queued post now (an officer's reply): the same machinery."""
        now = self.rt.clock()
        with self.rt.db.session() as s:
            post = self._claim(s, post_id, "queued", now)
            s.commit()
        if post is None:
            return "not queued"
        return self.process(post, now)

    def withdraw(self, post_id: int, *, by: str, reason: str | None) -> Post:
        """Cancel a post whose last attempt may have landed (``unconfirmed``, or
        ``publishing`` with its lease run out): reconcile it first. Not on the platform —
        cancelled; on it — retracted (deleted there), since the officer wants it gone."""
        now = self.rt.clock()
        with self.rt.db.reader() as s:
            row = s.get(Post, post_id)
        if row is None:
            raise StateError(f"post {post_id} changed while cancelling; try again")
        client = self.rt.client(row.account)  # an account that cannot be reached: no claim
        with self.rt.db.session() as s:
            status = row.status
            post = self._claim(s, post_id, status, now) if status in (
                "publishing", "unconfirmed") else None
            s.commit()
        if post is None and status in ("publishing", "unconfirmed"):
            raise StateError(f"post {post_id} is being published right now; try again in "
                             f"{self.policy.lease_seconds} seconds")
        if post is None:
            raise StateError(f"post {post_id} changed while cancelling (it is {status} now); "
                             "try again")
        since = (post.first_attempt_at or post.created_at or now) - timedelta(minutes=2)
        try:
            found = client.find_published(post.text, since)
        except ClientError:
            self._finish(post, now, status="unconfirmed", ambiguous=True,
                         error=post.last_error)
            raise
        if found is None:
            sent = post.last_attempt_at or post.first_attempt_at
            current = self.lease_now()
            if sent is not None and current < sent + self.in_flight_grace:
                self._finish(post, now, status="unconfirmed", ambiguous=True,
                             error=post.last_error)
                wait = int((sent + self.in_flight_grace - current).total_seconds()) + 1
                raise StateError(f"post {post_id}'s last attempt may still be landing; try "
                                 f"again in {wait} seconds")
            with self.rt.db.session() as s:
                n = self._update_owned(s, post_id, status="cancelled", claimed_by=None,
                                       lease_until=None, updated_at=now,
                                       last_error="cancelled; it was not on the platform")
                if n == 1:
                    audit(s, now, by, "queue_cancel", account=post.account, post_id=post_id,
                          reason=reason, detail={"reconciled": "not on the platform"})
                s.commit()
        else:
            if self._published(post, found) != "published":
                raise StateError(f"post {post_id} changed while cancelling; try again")
            try:
                client.delete(found.remote_id)
            except ClientError as exc:
                raise StateError(
                    f"post {post_id} had already been published as {found.remote_id} and "
                    f"deleting it failed ({exc.message}); it stays published — retract it with "
                    f"`outreach queue retract {post_id} --reason …`") from None
            with self.rt.db.session() as s:
                s.execute(update(Post).where(col(Post.id) == post_id,
                                             col(Post.status) == "published")
                          .values(status="retracted", updated_at=now,
                                  last_error="it had landed before the cancel; retracted"))
                audit(s, now, by, "queue_retract", account=post.account, post_id=post_id,
                      reason=reason or "cancelled after an unconfirmed attempt",
                      target=found.remote_id)
                s.commit()
        with self.rt.db.reader() as s:
            done = s.get(Post, post_id)
        assert done is not None
        return done

    def _update_owned(self, s: Any, post_id: int | None, **values: Any) -> int:
        """UPDATE the post this worker holds; the rows changed (0: the claim was lost)."""
        return int(s.execute(_owned_post().values(**values),
                             {"b_id": post_id, "b_worker": self.worker}).rowcount or 0)

    def _claim(self, s: Any, post_id: int, status: str, now: datetime, *,
               catch_up: bool = False, sent: datetime | None = None) -> Post | None:
        """The conditional UPDATE that makes this worker the post's owner, returning the row
        (None when another worker or a state change got there first). A queued post becomes
        an attempt; one in flight is claimed for reconciliation once its lease expired."""
        queued = status == "queued"
        return s.scalars(_claim_statement(queued, queued and catch_up, self.clock,
                                          self.policy.lease_seconds), {
            "b_id": post_id, "b_status": status, "b_now": now, "b_worker": self.worker,
            "b_not_before": sent or now, "b_lease_until": now + self.lease}).one_or_none()

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
        at = max(now, _aware(last) + gap) if last is not None else now
        if kind == "slot" and now - scheduled_at > ON_TIME_SLACK:
            limit = scheduled_at + timedelta(minutes=self.policy.catch_up_minutes)
            upcoming = s.execute(_upcoming(), {
                "b_account": account, "b_id": post_id, "b_from": at - gap,
                "b_until": limit + gap, "b_on_time": now - ON_TIME_SLACK}).scalars().all()
            for other in upcoming:  # in time order: step past each one too close
                other = _aware(other)
                if other - gap < at < other + gap:
                    at = other + gap
            if at > limit:
                return {"status": "missed", "last_error": (
                    f"late: no room {self.policy.min_gap_minutes} minute(s) (min_gap_minutes) "
                    f"from the account's other posts within {self.policy.catch_up_minutes} "
                    "minutes of the slot (catch_up_minutes)")}
        return {"not_before": at} if at > now else None

    # --- one post --------------------------------------------------------------------

    def process(self, post: Post, now: datetime) -> str:
        account = self.rt.settings.accounts[post.account]
        client = self.rt.client(account)
        if post.id in self._reconciling:
            self._reconciling.discard(post.id)
            return self.reconcile(post, client, now)
        return self._send(post, client, now)

    def gate(self, post: Post, client: Any, now: datetime) -> Refusal | None:
        """Why ``post`` must not go out now, or None: the one check before every send (the
        first attempt, a retry, a reconciling resend, a reply). A pause holds it; a tip no
        longer approved or in date, an ad-hoc post not approved, or a text that fails the
        platform's length rule or the blocklist refuses it."""
        with self.rt.db.reader() as s:
            pause = s.execute(select(col(Pause.reason), col(Pause.account)).where(
                col(Pause.started_at) <= now,
                or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
                or_(col(Pause.account).is_(None), col(Pause.account) == post.account),
            ).limit(1)).first()
            if pause is not None:
                return Refusal("paused", f"held: paused ({pause[0]})")
            lib = self.rt.library
            if post.tip_id is not None:
                approved = approved_tips(s, lib, self.policy)
                tip = lib.tips.get(post.tip_id)
                account = self.rt.settings.accounts[post.account]
                if (tip is None or post.tip_id in lib.broken_tips
                        or (approved is not None and post.tip_id not in approved)
                        or tip.expired(now.astimezone(account.timezone).date())):
                    return Refusal("tip", f"tip {post.tip_id} is no longer approved or valid",
                                   approved)
            elif (post.kind != "slot" and self.policy.require_approval
                  and post.approved_by is None):
                return Refusal("text", "not approved")
        problems = text_problems(post.text, client, lib)
        if problems:
            return Refusal("text", "; ".join(problems))
        return None

    def _refuse(self, post: Post, client: Any, now: datetime, refusal: Refusal) -> str:
        """A post just claimed from the queue that the gate stopped: held, redrawn or failed
        (the claim's attempt is given back; nothing was sent)."""
        if refusal.kind == "paused":
            return self._finish(post, now, status="queued", attempts_delta=-1,
                                error=refusal.reason)
        if refusal.kind == "tip" and post.kind == "slot":
            account = self.rt.settings.accounts[post.account]
            return self._redraw(post, account, client, now, refusal.approved)
        return self._finish(post, now, status="failed", attempts_delta=-1, error=refusal.reason)

    def _redraw(self, post: Post, account: AccountSettings, client: Any, now: datetime,
                approved: set[str] | None) -> str:
        with self.rt.db.reader() as s:
            history = load_history(s, account.name)
        assert post.scheduled_at is not None
        slot = SlotTime(account.name, post.scheduled_at, tuple(
            c for c in (post.category or "").split(",") if c and c != "any"))
        # the slot's own previous draw must not count against it
        if post.tip_id in history.uses and post.scheduled_at in history.uses[post.tip_id]:
            history.uses[post.tip_id].remove(post.scheduled_at)
        result = draw(slot, account, self.rt.library, client, history, self.policy, approved)
        with self.rt.db.session() as s:
            if isinstance(result, Draw):
                n = self._update_owned(
                    s, post.id, status="queued", tip_id=result.tip_id, variant=result.variant,
                    category=result.category, text=result.text,
                    attempts=col(Post.attempts) - 1, claimed_by=None, lease_until=None,
                    not_before=now, updated_at=now)
                s.commit()
                return "redrawn" if n else "lost"
            self._update_owned(s, post.id, status="missed", last_error=result.reason,
                               claimed_by=None, lease_until=None,
                               attempts=col(Post.attempts) - 1, updated_at=now)
            s.commit()
        return "missed"

    def _send(self, post: Post, client: Any, now: datetime, *, resend: bool = False) -> str:
        """Send through the gate. ``resend``: a post whose earlier attempt may have landed,
        sent again with the same idempotency key (a refusal then looks on the platform)."""
        assert post.id is not None
        refusal = self.gate(post, client, now)
        if refusal is not None and resend:
            if refusal.kind == "paused":  # reconciled (and resent, if need be) after resume
                return self._finish(post, now, status="unconfirmed",
                                    error=f"{refusal.reason}; reconciled after resume")
            return self._look(post, client, now, after="refused", refusal=refusal.reason)
        if refusal is not None:
            return self._refuse(post, client, now, refusal)
        if resend:
            with self.rt.db.session() as s:
                self._update_owned(s, post.id, status="publishing",
                                   attempts=col(Post.attempts) + 1,
                                   last_attempt_at=_now_for_leases(self.clock, now))
                s.commit()
            post.attempts += 1
            log.info("post %s: resending with the same idempotency key", post.id)
        try:
            with self.keeper.watch(post.id) as call:
                published = self._call(post, client)
        except ClientError as exc:
            return self._failure(post, client, exc, now)
        if call.lost:
            log.warning("post %s: lease lost during the call; leaving it to reconciliation",
                        post.id)
        return self._published(post, published)

    def _call(self, post: Post, client: Any) -> Published:
        if post.kind == "reply":
            target = self._reply_target(post, client)
            return client.reply(target, post.text,
                                idempotency_key=post.idempotency_key)
        return client.publish(post.text,
                              idempotency_key=post.idempotency_key)

    def _reply_target(self, post: Post, client: Any) -> str:
        with self.rt.db.reader() as s:
            comment = s.get(Comment, post.reply_to_comment_id)
            parent = s.get(Post, comment.post_id) if comment and comment.post_id else None
        if comment is None:
            raise ContentRejected("the comment to answer no longer exists")
        return client.reply_target(parent.remote_id if parent is not None else None,
                                   comment.remote_id)

    def _failure(self, post: Post, client: Any, exc: ClientError, now: datetime) -> str:
        msg = exc.message
        log.info("post %s on %s: %s: %s", post.id, post.account, type(exc).__name__, msg)
        if isinstance(exc, RateLimited):
            return self._finish(post, now, status="queued", attempts_delta=-1,
                                not_before=exc.retry_at, error=f"rate limited: {msg}")
        if isinstance(exc, AuthError):
            with self.rt.db.session() as s:
                notify.needs_reauth(s, self.rt, post.account, msg, now)
                s.execute(update(Account).where(col(Account.name) == post.account)
                          .values(state="needs_reauth", last_error=f"auth: {msg}"))
                audit(s, now, "daemon", "account_needs_reauth", account=post.account, reason=msg)
                s.commit()
            self._reauth_checked[post.account] = now
            return self._finish(post, now, status="queued", attempts_delta=-1,
                                error=f"auth: {msg}")
        if isinstance(exc, ContentRejected):
            return self._finish(post, now, status="failed", error=f"rejected: {msg}")
        if isinstance(exc, AmbiguousOutcome):
            return self._finish(post, now, status="unconfirmed", ambiguous=True,
                                error=f"ambiguous: {msg}")
        if isinstance(exc, DuplicateContent):
            if post.ambiguous:
                return self._look(post, client, now, after="duplicate")
            return self._finish(post, now, status="failed", error=f"duplicate: {msg}")
        if isinstance(exc, TransientError | RemoteError):
            if post.attempts >= self.policy.max_attempts:
                return self._finish(post, now, status="failed",
                                    error=f"gave up after {post.attempts} attempts: {msg}")
            return self._finish(post, now, status="queued", not_before=now + backoff(post.attempts),
                                error=f"retrying: {msg}")
        return self._finish(post, now, status="failed", error=msg)

    def reconcile(self, post: Post, client: Any, now: datetime) -> str:
        """A post whose last attempt may have landed: find out before any retry."""
        window = client.idempotency_window
        first = post.first_attempt_at
        if (window is not None and first is not None and now - first < window
                and post.attempts < self.policy.max_attempts):
            # the platform still remembers the key: resending cannot duplicate
            return self._send(post, client, now, resend=True)
        return self._look(post, client, now, after="reconcile")

    def _look(self, post: Post, client: Any, now: datetime, *, after: str,
              refusal: str | None = None) -> str:
        since = (post.first_attempt_at or post.created_at or now) - timedelta(minutes=2)
        try:
            found = (client.find_reply(self._reply_target(post, client), post.text, since)
                     if post.kind == "reply" else client.find_published(post.text, since))
        except RateLimited as exc:
            return self._finish(post, now, status="unconfirmed", lease_until=exc.retry_at,
                                error=f"reconcile waits: {exc.message}", keep_lease=True)
        except ClientError as exc:
            return self._finish(post, now, status="unconfirmed",
                                lease_until=self.lease_now() + backoff(post.attempts),
                                keep_lease=True, error=f"reconcile failed: {exc.message}")
        if found is not None:
            log.info("post %s: found on the platform as %s", post.id, found.remote_id)
            return self._published(post, found)
        # A request sent by a worker that died may still be landing (the platform can take as
        # long as a read timeout to apply it): "not found" is only an answer once that is past.
        sent = post.last_attempt_at or post.first_attempt_at  # on the lease clock
        if sent is not None and self.lease_now() < sent + self.in_flight_grace:
            return self._finish(post, now, status="unconfirmed", lease_until=sent + self.in_flight_grace,
                                keep_lease=True, error="not found yet; the last attempt may still "
                                                       "be landing")
        if refusal is not None:
            return self._finish(post, now, status="failed",
                                error=f"not sent again: {refusal}")
        if after == "duplicate":
            return self._finish(post, now, status="failed",
                                error="the platform reports duplicate content, and it is not on "
                                      "the account's timeline")
        if post.attempts >= self.policy.max_attempts:
            return self._finish(post, now, status="failed",
                                error=f"gave up after {post.attempts} attempts; not found on the "
                                      "platform")
        log.info("post %s: not on the platform; retrying", post.id)
        return self._finish(post, now, status="queued", not_before=now,
                            error="not found after an ambiguous attempt; retrying")

    # --- writing outcomes --------------------------------------------------------------

    def _published(self, post: Post, published: Published) -> str:
        now = self.rt.clock()
        with self.rt.db.session() as s:
            n = s.execute(_owned_post(), {
                "b_id": post.id, "b_worker": self.worker, "status": "published",
                "remote_id": published.remote_id, "remote_url": published.url,
                "published_at": published.created_at, "claimed_by": None, "lease_until": None,
                "last_error": None, "updated_at": now}).rowcount
            if n == 1:
                audit(s, now, "daemon", "published", account=post.account, post_id=post.id,
                      target=published.remote_id)
                if post.kind == "reply" and post.reply_to_comment_id is not None:
                    s.execute(update(Comment).where(col(Comment.id) == post.reply_to_comment_id)
                              .values(replied_at=published.created_at))
                s.execute(_account_update(), {"b_name": post.account, "last_success_at": now,
                                              "last_error": None})
            s.commit()
        if n != 1:
            log.warning("post %s was published as %s but the claim was lost; the owner of the "
                        "claim reconciles it", post.id, published.remote_id)
            return "lost"
        log.info("post %s published on %s as %s", post.id, post.account, published.remote_id)
        return "published"

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
            if status == "failed":
                s.execute(update(Account).where(col(Account.name) == post.account)
                          .values(last_error=f"post {post.id}: {error}"))
                notify.post_failed(s, self.rt, post.id, post.account, error, now)
            s.commit()
        return status if status != "queued" else ("held" if attempts_delta < 0 else "retry")

    def _release(self, post_id: int | None, error: str) -> None:
        """Give a claim back after an internal error; the row is reconciled next tick."""
        with self.rt.db.session() as s:
            self._update_owned(s, post_id, claimed_by=None, lease_until=None, last_error=error,
                               status="unconfirmed", ambiguous=True)
            s.commit()

    def release_all(self) -> int:
        """On shutdown: give back every claim this worker holds (they are reconciled)."""
        with self.rt.db.session() as s:
            n = s.execute(update(Post).where(col(Post.claimed_by) == self.worker,
                                             col(Post.status) == "publishing")
                          .values(claimed_by=None, lease_until=None, status="unconfirmed",
                                  ambiguous=True, last_error="released at shutdown")).rowcount
            s.commit()
        return int(n or 0)
