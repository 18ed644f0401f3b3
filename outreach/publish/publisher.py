"""Claim, publish, retry, reconcile — exactly once.

A post row with a stable idempotency key exists before any network call. A
claim is one conditional UPDATE (``… WHERE id = ? AND status = :queued``)
that also sets ``claimed_by`` and ``lease_until``; the worker renews the lease
while the platform call runs. Anything that fails after the request may have
left is ``unconfirmed`` and is reconciled before any retry: by resending with
the same key while the platform remembers it (``idempotency_window``), else by
looking for the text on the account (``find_published``). Only rows whose lease
expired or was released are reconciled, so two daemons never take over each
other's live work; leases are read and written on the database's clock.

Every send — first attempt, retry, reconciling resend, reply — passes one gate
(``Publisher.gate``: pause, approval, text) just before the platform is called.
Automatic posts of an account are spaced by ``min_gap_minutes`` (``claim``).

The pieces: ``leases`` (the claim's statements and the lease keeper), ``outcomes``
(the rows an attempt ends with), ``claim`` (which due post goes next), ``reconcile``
(what became of an attempt that may have landed); this module sends and redraws.

Outcomes: TransientError → queued with backoff (failed after max_attempts);
RateLimited → queued until retry_at, no attempt counted; AuthError → the account
needs re-authorisation, its posts stay queued; ContentRejected → failed;
AmbiguousOutcome → unconfirmed; DuplicateContent → reconciled after an ambiguous
attempt, else failed.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, or_, select
from sqlmodel import col

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
    TransientError,
)
from outreach.library.media import media_row, stored_tip_pictures
from outreach.library.texts import text_problems
from outreach.media.images import ImageInfo, ImageRejected
from outreach.media.store import MediaMissing, MediaStore
from outreach.publish.claim import Claiming
from outreach.publish.leases import LeaseKeeper, now_for_leases, worker_id
from outreach.publish.media import Pictures
from outreach.publish.outcomes import FINAL_OUTCOMES, Refusal, RunSummary, backoff
from outreach.publish.reconcile import Reconciling
from outreach.schedule.history import approved_tips, load_history, tip_approved
from outreach.schedule.planner import Draw, SlotTime, plan_slots
from outreach.states import AccountState, Hold, PostKind, PostStatus
from outreach.store.accounts import set_account_state
from outreach.store.models import Account, Pause, Post, PostMedia, UTCDateTime
from outreach.store.sql import one_of

log = logging.getLogger(__name__)

REAUTH_CHECK_EVERY = timedelta(minutes=10)

__all__ = ["LeaseKeeper", "Publisher", "RunSummary", "worker_id"]


@functools.cache
def _accounts_query() -> Any:
    """Built once, as the statements below: a lane runs them for every pass or post, and
    building a statement (its cache key) cost more than running it."""
    return select(Account).where(one_of(col(Account.name), "b_names"))


@functools.cache
def _pause_query() -> Any:
    """A pause holding :b_account (or every account) at :b_now."""
    now = bindparam("b_now", type_=UTCDateTime)
    return select(col(Pause.reason), col(Pause.account)).where(
        col(Pause.started_at) <= now, or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
        or_(col(Pause.account).is_(None), col(Pause.account) == bindparam("b_account")),
    ).limit(1)


class Publisher(Claiming, Reconciling):
    """Claim, publish, retry and reconcile the due posts of the runtime's accounts."""

    # --- what may run ----------------------------------------------------------------

    def _account_rows(self, session: Any) -> dict[str, Account]:
        """The rows of this runtime's accounts (a lane's: its own, not the thousand others)."""
        return {a.name: a for a in session.execute(
            _accounts_query(), {"b_names": list(self.rt.settings.accounts)}).scalars()}

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
            elif rows.get(name) is not None and rows[name].state == AccountState.NEEDS_REAUTH:
                if not self._recheck_auth(acc, now):
                    blocked[name] = AccountState.NEEDS_REAUTH
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
            set_account_state(s, self.rt, account.name, AccountState.ACTIVE, now,
                              actor="daemon", last_error=None, last_success_at=now)
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
                blocked[post.account] = AccountState.NEEDS_REAUTH
            now = self.rt.clock()
        return summary

    def publish_one(self, post_id: int) -> str:
        """Claim and publish one queued post now (an officer's reply): the same machinery."""
        now = self.rt.clock()
        with self.rt.db.session() as s:
            post = self._claim(s, post_id, PostStatus.QUEUED, now)
            s.commit()
        if post is None:
            return "not queued"
        return self.process(post, now)

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
            pause = s.execute(_pause_query(), {"b_now": now, "b_account": post.account}).first()
            if pause is not None:
                return Refusal(Hold.PAUSED, f"held: paused ({pause[0]})")
            lib = self.rt.library
            if post.tip_id is not None:
                tip = lib.tips.get(post.tip_id)
                account = self.rt.settings.accounts[post.account]
                if (tip is None or post.tip_id in lib.broken_tips
                        or tip.expired(now.astimezone(account.timezone).date())
                        or not tip_approved(s, tip, self.policy)):
                    # every approval is read only for the redraw that follows
                    return Refusal(Hold.TIP, f"tip {post.tip_id} is no longer approved or valid",
                                   approved_tips(s, lib, self.policy))
            elif (post.kind != PostKind.SLOT and self.policy.require_approval
                  and post.approved_by is None):
                return Refusal(Hold.TEXT, "not approved")
        problems = text_problems(post.text, client, lib)
        if problems:
            return Refusal(Hold.TEXT, "; ".join(problems))
        return None

    def _refuse(self, post: Post, client: Any, now: datetime, refusal: Refusal) -> str:
        """A post just claimed from the queue that the gate stopped: held, redrawn or failed
        (the claim's attempt is given back; nothing was sent)."""
        if refusal.kind == Hold.PAUSED:
            return self._finish(post, now, status=PostStatus.QUEUED, attempts_delta=-1,
                                error=refusal.reason)
        if refusal.kind == Hold.TIP and post.kind == PostKind.SLOT:
            account = self.rt.settings.accounts[post.account]
            return self._redraw(post, account, client, now, refusal.approved)
        return self._finish(post, now, status=PostStatus.FAILED, attempts_delta=-1, error=refusal.reason)

    def _redraw(self, post: Post, account: AccountSettings, client: Any, now: datetime,
                approved: set[str] | None) -> str:
        with self.rt.db.reader() as s:
            history = load_history(s, account.name)
        assert post.id is not None and post.scheduled_at is not None
        slot = SlotTime(account.name, post.scheduled_at, tuple(
            c for c in (post.category or "").split(",") if c and c != "any"))
        # the slot's own previous draw must not count against it
        if post.tip_id in history.uses and post.scheduled_at in history.uses[post.tip_id]:
            history.uses[post.tip_id].remove(post.scheduled_at)
        lib = self.rt.library
        [(_, result)] = plan_slots([slot], account, lib, client, history, self.policy, approved)
        reason = result.reason if not isinstance(result, Draw) else ""
        pictures: list[tuple[ImageInfo, str]] = []
        if isinstance(result, Draw):  # the new tip's pictures replace the old tip's
            try:
                pictures = stored_tip_pictures(lib, MediaStore(self.rt.settings.media_dir),
                                               lib.tips[result.tip_id], result.variant,
                                               client.media_limits(), account.platform)
            except (ImageRejected, OSError) as exc:
                reason = f"tip {result.tip_id}: picture {exc}"
        with self.rt.db.session() as s:
            if isinstance(result, Draw) and not reason:
                n = self._update_owned(
                    s, post.id, status=PostStatus.QUEUED, tip_id=result.tip_id, variant=result.variant,
                    category=result.category, text=result.text,
                    attempts=col(Post.attempts) - 1, claimed_by=None, lease_until=None,
                    not_before=now, updated_at=now)
                if n:
                    s.execute(delete(PostMedia).where(col(PostMedia.post_id) == post.id))
                    s.add_all(PostMedia(**media_row(post.id, i, info, alt, now))
                              for i, (info, alt) in enumerate(pictures))
                s.commit()
                return "redrawn" if n else "lost"
            self._update_owned(s, post.id, status=PostStatus.MISSED, last_error=reason,
                               claimed_by=None, lease_until=None,
                               attempts=col(Post.attempts) - 1, updated_at=now)
            s.commit()
        return PostStatus.MISSED

    def _send(self, post: Post, client: Any, now: datetime, *, resend: bool = False) -> str:
        """Send through the gate. ``resend``: a post whose earlier attempt may have landed,
        sent again with the same idempotency key (a refusal then looks on the platform)."""
        assert post.id is not None
        refusal = self.gate(post, client, now)
        if refusal is not None and resend:
            if refusal.kind == Hold.PAUSED:  # reconciled (and resent, if need be) after resume
                return self._finish(post, now, status=PostStatus.UNCONFIRMED,
                                    error=f"{refusal.reason}; reconciled after resume")
            return self._look(post, client, now, after="refused", refusal=refusal.reason)
        if refusal is not None:
            return self._refuse(post, client, now, refusal)
        if resend:
            with self.rt.db.session() as s:
                self._update_owned(s, post.id, status=PostStatus.PUBLISHING,
                                   attempts=col(Post.attempts) + 1,
                                   last_attempt_at=now_for_leases(self.clock, now))
                s.commit()
            post.attempts += 1
            log.info("post %s: resending with the same idempotency key", post.id)
        try:
            with self.keeper.watch(post.id) as call:
                published = self._call(post, client)
        except ClientError as exc:
            return self._failure(post, client, exc, now)
        except MediaMissing as exc:  # never published without its picture
            return self._finish(post, now, status=PostStatus.FAILED,
                                error=f"not published without its picture: {exc.message}")
        if call.lost:
            log.warning("post %s: lease lost during the call; leaving it to reconciliation",
                        post.id)
        return self._published(post, published)

    def _call(self, post: Post, client: Any) -> Published:
        if post.kind == PostKind.REPLY:
            target = self._reply_target(post, client)
            return client.reply(target, post.text,
                                idempotency_key=post.idempotency_key)
        assert post.id is not None
        return Pictures(self.rt, client, post.id).send(lambda media: client.publish(
            post.text, idempotency_key=post.idempotency_key, media=media))

    def _failure(self, post: Post, client: Any, exc: ClientError, now: datetime) -> str:
        msg = exc.message
        log.info("post %s on %s: %s: %s", post.id, post.account, type(exc).__name__, msg)
        if isinstance(exc, RateLimited):
            return self._finish(post, now, status=PostStatus.QUEUED, attempts_delta=-1,
                                not_before=exc.retry_at, error=f"rate limited: {msg}")
        if isinstance(exc, AuthError):
            with self.rt.db.session() as s:
                set_account_state(s, self.rt, post.account, AccountState.NEEDS_REAUTH, now,
                                  actor="daemon", reason=msg, last_error=f"auth: {msg}")
                s.commit()
            self._reauth_checked[post.account] = now
            return self._finish(post, now, status=PostStatus.QUEUED, attempts_delta=-1,
                                error=f"auth: {msg}")
        if isinstance(exc, ContentRejected):
            return self._finish(post, now, status=PostStatus.FAILED, error=f"rejected: {msg}")
        if isinstance(exc, AmbiguousOutcome):
            return self._finish(post, now, status=PostStatus.UNCONFIRMED, ambiguous=True,
                                error=f"ambiguous: {msg}")
        if isinstance(exc, DuplicateContent):
            if post.ambiguous:
                return self._look(post, client, now, after="duplicate")
            return self._finish(post, now, status=PostStatus.FAILED, error=f"duplicate: {msg}")
        if isinstance(exc, TransientError | RemoteError):
            if post.attempts >= self.policy.max_attempts:
                return self._finish(post, now, status=PostStatus.FAILED,
                                    error=f"gave up after {post.attempts} attempts: {msg}")
            return self._finish(post, now, status=PostStatus.QUEUED, not_before=now + backoff(post.attempts),
                                error=f"retrying: {msg}")
        return self._finish(post, now, status=PostStatus.FAILED, error=msg)
