"""Claim, publish, retry, reconcile — exactly once.

A post row with a stable idempotency key exists before any network call. A
claim is one conditional UPDATE (``… WHERE id = ? AND status = 'queued'``)
that also sets ``claimed_by`` and ``lease_until``; the worker renews the lease
while the platform call runs. Anything that fails after the request may have
left is ``unconfirmed`` and is reconciled before any retry: by resending with
the same key while the platform remembers it (``idempotency_window``), else by
looking for the text on the account (``find_published``). Only rows whose lease
expired or was released are reconciled, so two daemons never take over each
other's live work.

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

from sqlalchemy import bindparam, exists, func, insert, or_, select
from sqlalchemy import update as _update
from sqlmodel import col

from outreach import notify
from outreach.clients.base import Published
from outreach.config import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    RemoteError,
    TransientError,
)
from outreach.models import Account, AuditLog, Comment, Pause, Post, UTCDateTime
from outreach.planner import (
    Draw,
    SlotTime,
    approved_tips,
    draw,
    load_history,
    pause_intervals,
    paused_at,
)
from outreach.texts import text_problems

log = logging.getLogger(__name__)

BACKOFF_START = 30  # seconds; doubles per attempt
BACKOFF_CAP = 15 * 60
LATE_GRACE = timedelta(minutes=2)  # later than this, a post is a catch-up and is spaced
REAUTH_CHECK_EVERY = timedelta(minutes=10)
FINAL_OUTCOMES = frozenset({"published", "failed", "missed"})  # rows no claim can match again
# Longer than the clients' read timeout (20 s) plus a margin for the platform's own
# queueing: a request older than this that is not on the account did not land.
IN_FLIGHT_GRACE = timedelta(seconds=30)


def update(entity: Any) -> Any:
    """A Core UPDATE of the entity's table: no ORM session synchronisation (no ORM object
    is loaded in these short sessions; rows are read again when needed)."""
    return _update(entity.__table__)


@functools.cache
def _due_candidates() -> Any:
    """What may be claimed at :now: — queued and due on an account not paused, or in flight
    with its lease expired (reconciliation). Built once: the claim runs for every post, and
    building the expression cost more than running it."""
    now: Any = bindparam("now")
    paused = exists().where(  # incident mode, for this account or for all of them
        col(Pause.started_at) <= now,
        or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
        or_(col(Pause.account).is_(None), col(Pause.account) == col(Post.account)))
    return select(col(Post.id), col(Post.status), col(Post.account), col(Post.scheduled_at)).where(
        col(Post.account).in_(bindparam("accounts", expanding=True)), or_(
            (col(Post.status) == "queued") & (col(Post.not_before) <= now) & ~paused,
            col(Post.status).in_(("publishing", "unconfirmed"))
            & or_(col(Post.lease_until).is_(None), col(Post.lease_until) < now),
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
def _account_update() -> Any:
    return update(Account).where(col(Account.name) == bindparam("b_name"))


@functools.cache
def _audit_insert() -> Any:
    return insert(AuditLog.__table__)  # type: ignore[attr-defined]


@functools.cache
def _claim_statement(queued: bool, catch_up: bool) -> Any:
    """The claim's UPDATE … RETURNING as an ORM select (see ``Publisher._claim``), with
    :b_id, :b_status, :b_now, :b_worker and :b_lease_until. Built once per shape."""
    now: Any = bindparam("b_now", type_=UTCDateTime)
    values: dict[str, Any] = {"claimed_by": bindparam("b_worker"),
                              "lease_until": bindparam("b_lease_until", type_=UTCDateTime),
                              "updated_at": now}
    cond = [col(Post.id) == bindparam("b_id"), col(Post.status) == bindparam("b_status")]
    if queued:
        if catch_up:
            values["catch_up"] = True
        values.update(status="publishing", attempts=col(Post.attempts) + 1, last_attempt_at=now,
                      first_attempt_at=func.coalesce(col(Post.first_attempt_at), now))
    else:
        cond.append(or_(col(Post.lease_until).is_(None), col(Post.lease_until) < now))
    claim = update(Post).where(*cond).values(**values)
    return select(Post).from_statement(claim.returning(*claim.table.c))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """30 s doubling per attempt, capped at 15 min, with ±20 % jitter."""
    base = min(BACKOFF_START * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=min(base * jitter, BACKOFF_CAP))


def audit(session: Any, now: datetime, actor: str, action: str, *, account: str | None = None,
          post_id: int | None = None, target: str | None = None, reason: str | None = None,
          detail: dict[str, Any] | None = None) -> None:
    session.execute(_audit_insert(), {
        "at": now, "actor": actor, "action": action, "account": account, "post_id": post_id,
        "target": target, "reason": reason, "detail": detail})


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
            n = s.execute(_owned_post("publishing"), {
                "b_id": post_id, "b_worker": self.worker,
                "lease_until": self.rt.clock() + self.lease}).rowcount
            s.commit()
        return n == 1


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
        self.stop = stop or (lambda: False)
        self._reauth_checked: dict[str, datetime] = {}
        self._reconciling: set[int] = set()  # claimed to find out what became of them
        self.keeper = LeaseKeeper(rt, self.worker, self.lease)

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
            candidates = s.execute(_due_candidates(), {
                "now": now, "accounts": accounts, "limit": 50 + len(exclude or ())}).all()
            # reconciliation first, then posts on time, then catch-up and held ones (spaced)
            candidates = sorted(candidates, key=lambda c: (
                c[1] == "queued", c[1] == "queued" and now - c[3] > LATE_GRACE))
            for post_id, status, account, scheduled_at in candidates:
                if exclude and post_id in exclude:
                    continue
                late = status == "queued" and now - scheduled_at > LATE_GRACE
                if late:
                    wait = self._spacing(s, account, now)
                    if wait is not None:
                        s.execute(update(Post).where(col(Post.id) == post_id,
                                                     col(Post.status) == "queued")
                                  .values(not_before=wait, updated_at=now))
                        continue
                post = self._claim(s, post_id, status, now, catch_up=late)
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

    def _update_owned(self, s: Any, post_id: int | None, **values: Any) -> int:
        """UPDATE the post this worker holds; the rows changed (0: the claim was lost)."""
        return int(s.execute(_owned_post().values(**values),
                             {"b_id": post_id, "b_worker": self.worker}).rowcount or 0)

    def _claim(self, s: Any, post_id: int, status: str, now: datetime, *,
               catch_up: bool = False) -> Post | None:
        """The conditional UPDATE that makes this worker the post's owner, returning the row
        (None when another worker or a state change got there first). A queued post becomes
        an attempt; one in flight is claimed for reconciliation once its lease expired."""
        queued = status == "queued"
        return s.scalars(_claim_statement(queued, queued and catch_up), {
            "b_id": post_id, "b_status": status, "b_now": now, "b_worker": self.worker,
            "b_lease_until": now + self.lease}).one_or_none()

    def _spacing(self, s: Any, account: str, now: datetime) -> datetime | None:
        """When a late or held post must wait: at most one such post per account per
        ``min_gap_minutes`` (posts on time are never held back by it)."""
        gap = timedelta(minutes=self.policy.min_gap_minutes)
        if gap <= timedelta(0):
            return None
        last = s.execute(select(func.max(col(Post.last_attempt_at))).where(
            col(Post.account) == account, col(Post.catch_up).is_(True),
            col(Post.status).in_(("published", "publishing", "unconfirmed")),
        )).scalar()
        if last is None:
            return None
        from outreach.planner import _aware

        last = _aware(last)
        return last + gap if now < last + gap else None

    # --- one post --------------------------------------------------------------------

    def process(self, post: Post, now: datetime) -> str:
        account = self.rt.settings.accounts[post.account]
        client = self.rt.client(account)
        if post.id in self._reconciling:
            self._reconciling.discard(post.id)
            return self.reconcile(post, client, now)
        problem = self._recheck(post, account, client, now)
        if problem is not None:
            return problem
        return self._send(post, client, now)

    def _recheck(self, post: Post, account: AccountSettings, client: Any,
                 now: datetime) -> str | None:
        """Approved, still valid text, still ours: else fix the row and say what happened."""
        lib = self.rt.library
        if post.tip_id is not None:
            with self.rt.db.reader() as s:
                approved = approved_tips(s, lib, self.policy)
            tip = lib.tips.get(post.tip_id)
            ok = (tip is not None and post.tip_id not in lib.broken_tips
                  and (approved is None or post.tip_id in approved)
                  and not tip.expired(now.astimezone(account.timezone).date()))
            if not ok and post.kind == "slot":
                return self._redraw(post, account, client, now, approved)
            if not ok:
                return self._finish(post, now, status="failed", attempts_delta=-1,
                                    error=f"tip {post.tip_id} is no longer approved or valid")
        problems = text_problems(post.text, client, lib)
        if problems:
            return self._finish(post, now, status="failed", attempts_delta=-1,
                                error="; ".join(problems))
        return None

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

    def _send(self, post: Post, client: Any, now: datetime) -> str:
        assert post.id is not None
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
        window = getattr(client, "idempotency_window", None)
        first = post.first_attempt_at
        if (window is not None and first is not None and now - first < window
                and post.attempts < self.policy.max_attempts):
            # the platform still remembers the key: resending cannot duplicate
            with self.rt.db.session() as s:
                self._update_owned(s, post.id, status="publishing",
                                   attempts=col(Post.attempts) + 1, last_attempt_at=now)
                s.commit()
            post.attempts += 1
            log.info("post %s: resending with the same idempotency key", post.id)
            return self._send(post, client, now)
        return self._look(post, client, now, after="reconcile")

    def _look(self, post: Post, client: Any, now: datetime, *, after: str) -> str:
        since = (post.first_attempt_at or post.created_at or now) - timedelta(minutes=2)
        try:
            found = client.find_published(post.text, since)
        except RateLimited as exc:
            return self._finish(post, now, status="unconfirmed", lease_until=exc.retry_at,
                                error=f"reconcile waits: {exc.message}", keep_lease=True)
        except ClientError as exc:
            return self._finish(post, now, status="unconfirmed",
                                lease_until=now + backoff(post.attempts), keep_lease=True,
                                error=f"reconcile failed: {exc.message}")
        if found is not None:
            log.info("post %s: found on the platform as %s", post.id, found.remote_id)
            return self._published(post, found)
        # A request sent by a worker that died may still be landing (the platform can take as
        # long as a read timeout to apply it): "not found" is only an answer once that is past.
        sent = post.last_attempt_at or post.first_attempt_at
        if sent is not None and now < sent + IN_FLIGHT_GRACE:
            return self._finish(post, now, status="unconfirmed", lease_until=sent + IN_FLIGHT_GRACE,
                                keep_lease=True, error="not found yet; the last attempt may still "
                                                       "be landing")
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
                              .values(replied_at=published.created_at, needs_reply=False))
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
