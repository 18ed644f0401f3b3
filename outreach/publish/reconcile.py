"""Reconciling a post whose last attempt may have landed, before any retry.

By resending with the same key while the platform remembers it
(``idempotency_window``), else by looking for the text on the account
(``find_published``); ``not found`` counts only once a request still in flight
could no longer land. An officer's withdrawal of such a post reconciles it first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col

from outreach.errors import ClientError, RateLimited, StateError
from outreach.i18n import _
from outreach.publish.leases import update
from outreach.publish.outcomes import Owner, backoff
from outreach.states import PostKind, PostStatus
from outreach.store.audit import audit
from outreach.store.models import Post

if TYPE_CHECKING:
    from outreach.clients.base import MicroblogClient

log = logging.getLogger(__name__)


class Reconciling(Owner):
    """Finding out what became of an attempt that may have landed."""

    def reconcile(self, post: Post, client: MicroblogClient, now: datetime) -> str:
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
                     if post.kind == PostKind.REPLY else client.find_published(post.text, since))
        except RateLimited as exc:
            return self._finish(post, now, status=PostStatus.UNCONFIRMED, lease_until=exc.retry_at,
                                error=f"reconcile waits: {exc.message}", keep_lease=True)
        except ClientError as exc:
            return self._finish(post, now, status=PostStatus.UNCONFIRMED,
                                lease_until=self.lease_now() + backoff(post.attempts),
                                keep_lease=True, error=f"reconcile failed: {exc.message}")
        if found is not None:
            log.info("post %s: found on the platform as %s", post.id, found.remote_id)
            return self._published(post, found)
        # A request sent by a worker that died may still be landing (the platform can take as
        # long as a read timeout to apply it): "not found" is only an answer once that is past.
        sent = post.last_attempt_at or post.first_attempt_at  # on the lease clock
        if sent is not None and self.lease_now() < sent + self.in_flight_grace:
            return self._finish(post, now, status=PostStatus.UNCONFIRMED,
                                lease_until=sent + self.in_flight_grace, keep_lease=True,
                                error="not found yet; the last attempt may still be landing")
        if refusal is not None:
            return self._finish(post, now, status=PostStatus.FAILED,
                                error=f"not sent again: {refusal}")
        if after == "duplicate":
            return self._finish(post, now, status=PostStatus.FAILED,
                                error="the platform reports duplicate content, and it is not on "
                                      "the account's timeline")
        if post.attempts >= self.policy.max_attempts:
            return self._finish(post, now, status=PostStatus.FAILED,
                                error=f"gave up after {post.attempts} attempts; not found on the "
                                      "platform")
        log.info("post %s: not on the platform; retrying", post.id)
        return self._finish(post, now, status=PostStatus.QUEUED, not_before=now,
                            error="not found after an ambiguous attempt; retrying")

    def withdraw(self, post_id: int, *, by: str, reason: str | None) -> Post:
        """Cancel a post whose last attempt may have landed (``unconfirmed``, or
        ``publishing`` with its lease run out): reconcile it first. Not on the platform —
        cancelled; on it — retracted (deleted there), since the officer wants it gone."""
        now = self.rt.clock()
        with self.rt.db.reader() as s:
            row = s.get(Post, post_id)
        if row is None:
            raise StateError(_("post {post_id} changed while cancelling; try again").format(
                post_id=post_id))
        client = self.rt.client(row.account)  # an account that cannot be reached: no claim
        with self.rt.db.session() as s:
            status = row.status
            post = self._claim(s, post_id, status, now) if status in (
                PostStatus.PUBLISHING, PostStatus.UNCONFIRMED) else None
            s.commit()
        if post is None and status in (PostStatus.PUBLISHING, PostStatus.UNCONFIRMED):
            raise StateError(_("post {post_id} is being published right now; try again in "
                               "{lease_seconds} seconds").format(
                post_id=post_id, lease_seconds=self.policy.lease_seconds))
        if post is None:
            raise StateError(_("post {post_id} changed while cancelling (it is {status} now); try "
                               "again").format(
                post_id=post_id, status=status))
        since = (post.first_attempt_at or post.created_at or now) - timedelta(minutes=2)
        try:
            found = client.find_published(post.text, since)
        except ClientError:
            self._finish(post, now, status=PostStatus.UNCONFIRMED, ambiguous=True,
                         error=post.last_error)
            raise
        if found is None:
            sent = post.last_attempt_at or post.first_attempt_at
            current = self.lease_now()
            if sent is not None and current < sent + self.in_flight_grace:
                self._finish(post, now, status=PostStatus.UNCONFIRMED, ambiguous=True,
                             error=post.last_error)
                wait = int((sent + self.in_flight_grace - current).total_seconds()) + 1
                raise StateError(_("post {post_id}'s last attempt may still be landing; try again in "
                                   "{wait} seconds").format(
                    post_id=post_id, wait=wait))
            with self.rt.db.session() as s:
                n = self._update_owned(s, post_id, status=PostStatus.CANCELLED, claimed_by=None,
                                       lease_until=None, updated_at=now,
                                       last_error="cancelled; it was not on the platform")
                if n == 1:
                    audit(s, now, by, "queue_cancel", account=post.account, post_id=post_id,
                          reason=reason, detail={"reconciled": "not on the platform"})
                s.commit()
        else:
            if self._published(post, found) != PostStatus.PUBLISHED:
                raise StateError(_("post {post_id} changed while cancelling; try again").format(
                    post_id=post_id))
            try:
                client.delete(found.remote_id)
            except ClientError as exc:
                raise StateError(
                    _("post {post_id} had already been published as {remote_id} and deleting it failed "
                      "({message}); it stays published — retract it with `outreach queue retract "
                      "{post_id} --reason …`").format(
                        post_id=post_id, remote_id=found.remote_id, message=exc.message)) from None
            with self.rt.db.session() as s:
                s.execute(update(Post).where(col(Post.id) == post_id,
                                             col(Post.status) == PostStatus.PUBLISHED)
                          .values(status=PostStatus.RETRACTED, updated_at=now,
                                  last_error="it had landed before the cancel; retracted"))
                audit(s, now, by, "queue_retract", account=post.account, post_id=post_id,
                      reason=reason or "cancelled after an unconfirmed attempt",
                      target=found.remote_id)
                s.commit()
        with self.rt.db.reader() as s:
            done = s.get(Post, post_id)
        assert done is not None
        return done
