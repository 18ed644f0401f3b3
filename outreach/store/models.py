"""The tables. Their names and columns are a public interface: analysts query them.

Every instant is stored in UTC through ``UTCDateTime``, which gives back aware
datetimes on SQLite too (SQLite has no zone-aware type).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from outreach.states import (
    AccountState,
    NotificationStatus,
    OpinionClass,
    PostKind,
    PostStatus,
)
from outreach.times import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":  # the stored text straight to aware UTC: one call a value
            return as_utc
        if dialect.name == "postgresql":  # the session's TimeZone is UTC: already UTC
            return _utc
        return super().result_processor(dialect, coltype)


def _utc(value: datetime | None) -> datetime | None:
    """A driver's aware datetime, as UTC: one test when it already is."""
    return value if value is None or value.tzinfo is UTC else as_utc(value)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class JSONText(TypeDecorator[Any]):
    """A JSON value kept as text, readable from any SQL shell."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Account(SQLModel, table=True):
    """One configured account, as the database remembers it (config is the source of its settings)."""

    __tablename__ = "accounts"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    platform: str = Field(max_length=32)
    state: str = Field(default=AccountState.ACTIVE, max_length=16)  # active | needs_reauth (pause is derived)
    remote_id: str | None = None
    handle: str | None = None
    followers: int | None = None
    last_success_at: datetime | None = utc_column()
    last_error: str | None = None
    token_expires_at: datetime | None = utc_column()
    comments_since_id: str | None = None
    counts_fallback: bool = False
    created_at: datetime | None = utc_column()
    # what a rate limit left the last sweep to skip (collect/order.py), until one gets through
    metrics_skipped: int | None = None
    metrics_skipped_reason: str | None = None
    metrics_skipped_at: datetime | None = utc_column()
    metrics_resume_at: datetime | None = utc_column()


class Tip(SQLModel, table=True):
    """A mirror of the content library, refreshed on load, so reports can join on categories."""

    __tablename__ = "tips"
    id: str = Field(primary_key=True, max_length=100)
    category: str = Field(max_length=64, index=True)
    lang: str = Field(max_length=8)
    title: str = ""
    text_hash: str = Field(max_length=64)
    source: str = ""
    file: str = ""
    line: int = 0
    updated_at: datetime | None = utc_column()


class Approval(SQLModel, table=True):
    """An approval of a tip's exact text; editing the text withdraws it."""

    __tablename__ = "approvals"
    id: int | None = Field(default=None, primary_key=True)
    tip_id: str = Field(max_length=100, index=True)
    text_hash: str = Field(max_length=64)
    approved_by: str = Field(max_length=100)
    approved_at: datetime | None = utc_column(nullable=False)


class RateBudgetRow(SQLModel, table=True):
    """Calls one platform app made in one hour, counted by every process (store/budgets.py)."""

    __tablename__ = "rate_budgets"
    app: str = Field(primary_key=True, max_length=100)
    window_end: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    used: int = 0


class Batch(SQLModel, table=True):
    """One fan-out: the same tip or text queued on every account of a group at once; its
    posts carry its id (``posts.batch_id``)."""

    __tablename__ = "batches"
    id: int | None = Field(default=None, primary_key=True)
    accounts: str = Field(max_length=100)  # what was asked for: "@guangdong"
    tip_id: str | None = Field(default=None, max_length=100)
    size: int = 0
    stagger_seconds: int = 0
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime | None = utc_column()


class Post(SQLModel, table=True):
    """One intended publication. The row exists before any network call."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_due", "status", "not_before"),
        Index("ix_posts_status_kind_scheduled", "status", "kind", "scheduled_at"),
        Index("ix_posts_account_status", "account", "status"),
        Index("ix_posts_scheduled", "scheduled_at"),
        # covering: the planner reads a year of tip uses without touching post rows
        Index("ix_posts_tip_uses", "account", "tip_id", "status", "published_at",
              "scheduled_at", "variant"),
        # an account's last slot (kind between keeps status-and-time queries off it)
        Index("ix_posts_account_kind", "account", "kind", "scheduled_at"),
        # a period's posts, read from the index alone (kind, category and id carried)
        Index("ix_posts_account_published", "account", "status", "published_at", "kind",
              "category", postgresql_include=["id"]),
        Index("ix_posts_status_updated", "status", "updated_at"),  # failed in 24 h, stuck
    )
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64)
    kind: str = Field(default=PostKind.ADHOC, max_length=16)  # slot | adhoc | reply
    status: str = Field(default=PostStatus.DRAFT, max_length=16)
    slot_key: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    scheduled_at: datetime | None = utc_column(nullable=False)
    not_before: datetime | None = utc_column(nullable=False)
    tip_id: str | None = Field(default=None, max_length=100)
    variant: int | None = None
    category: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    reply_to_comment_id: int | None = None
    batch_id: int | None = Field(default=None, index=True)  # a fan-out's posts (batches)
    created_by: str | None = Field(default=None, max_length=100)
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: datetime | None = utc_column()
    remote_id: str | None = Field(default=None, max_length=100)
    remote_url: str | None = None
    published_at: datetime | None = utc_column()
    attempts: int = 0
    ambiguous: bool = False  # an attempt may have landed unseen: reconcile before failing
    catch_up: bool = False  # went out late (downtime, pause, re-auth): spaced by min_gap_minutes
    last_error: str | None = None
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = utc_column()
    first_attempt_at: datetime | None = utc_column()
    last_attempt_at: datetime | None = utc_column()
    metrics_checked_at: datetime | None = utc_column()
    created_at: datetime | None = utc_column()
    updated_at: datetime | None = utc_column()
    # Comments owed: the comment count a sweep saw change and whose comments are not stored
    # yet (None: nothing owed); the newest comment id stored for this post.
    comments_due: int | None = None
    comments_cursor: str | None = Field(default=None, max_length=100)


class PostMedia(SQLModel, table=True):
    """One picture on a post, in the order it is shown. The bytes are in the media store
    under ``sha256``; ``remote_id`` is the platform's id of an upload (Mastodon), written
    before the status is created and reused by every retry until the server forgets it."""

    __tablename__ = "post_media"
    __table_args__ = (UniqueConstraint("post_id", "position", name="uq_post_media_position"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(index=True)
    position: int = 0
    sha256: str = Field(max_length=64)
    mime: str = Field(max_length=32)
    size: int
    width: int
    height: int
    alt: str = Field(sa_column=Column(Text, nullable=False))
    remote_id: str | None = Field(default=None, max_length=100)
    uploaded_at: datetime | None = utc_column()
    created_at: datetime | None = utc_column()


class PostMetric(SQLModel, table=True):
    """A snapshot of a post's counts, written only when a count changed."""

    __tablename__ = "post_metrics"
    __table_args__ = (Index("ix_post_metrics_post_latest", "post_id", "observed_at", "id",
                            postgresql_include=["reposts", "comments", "likes"]),
                      Index("ix_post_metrics_observed", "observed_at", "post_id"))
    id: int | None = Field(default=None, primary_key=True)
    post_id: int
    observed_at: datetime | None = utc_column(nullable=False)
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None


class AccountMetric(SQLModel, table=True):
    """A snapshot of an account's figures: on change, and once a day."""

    __tablename__ = "account_metrics"
    __table_args__ = (Index("ix_account_metrics_account_time", "account", "observed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64)
    observed_at: datetime | None = utc_column(nullable=False)
    followers: int | None = None
    following: int | None = None
    statuses: int | None = None


class Comment(SQLModel, table=True):
    """A comment of the public under one of our posts (redacted before storing)."""

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("account", "remote_id", name="uq_comments_account_remote"),
        Index("ix_comments_post", "post_id"),
        Index("ix_comments_created", "created_at"),
        # open emergencies by account (status, the console's dashboard): a search, not a scan
        Index("ix_comments_class_replied", "class", "replied_at", "account"),
        Index("ix_comments_account_created", "account", "created_at"),  # a period's, by account
    )
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64)
    remote_id: str = Field(max_length=100)
    post_id: int | None = None
    in_reply_to_remote_id: str | None = Field(default=None, max_length=100)
    author: str = Field(default="", max_length=200)
    text: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = None
    created_at: datetime | None = utc_column(nullable=False)
    fetched_at: datetime | None = utc_column()
    opinion_class: str = Field(default=OpinionClass.CHATTER, sa_column=Column("class", String(32)))
    labels: list[str] | None = Field(default=None, sa_column=Column(JSONText))
    is_own: bool = False
    reply_required: bool = False  # its class wants an answer (kept once it is answered)
    replied_at: datetime | None = utc_column()  # when it was answered (None: not yet)
    redacted: bool = False
    # An emergency alert owed since alert_due_at, delivered at alerted_at (see collector).
    alert_due_at: datetime | None = utc_column()
    alerted_at: datetime | None = utc_column()
    alert_attempts: int = 0
    alert_lease_until: datetime | None = utc_column()
    fired: str | None = Field(default=None, max_length=8)  # rules | model | both | "" (unread)
    emergency_probability: float | None = None  # the learned model's
    # The officers' handling beside a reply: acknowledged, handed_over (to 110, a station, a
    # unit) or closed (no action needed; the reason in handled_note). See OpinionState.
    handled_state: str | None = Field(default=None, max_length=16)
    handled_to: str | None = Field(default=None, max_length=200)
    handled_by: str | None = Field(default=None, max_length=100)
    handled_at: datetime | None = utc_column()
    handled_note: str | None = Field(default=None, sa_column=Column(Text))
    assigned_to: str | None = Field(default=None, max_length=100)
    assigned_by: str | None = Field(default=None, max_length=100)
    assigned_at: datetime | None = utc_column()


class AuditLog(SQLModel, table=True):
    """Every change a person made: who, what, when, why."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = utc_column(nullable=False, index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40)
    account: str | None = Field(default=None, max_length=64)
    post_id: int | None = Field(default=None, index=True)
    target: str | None = Field(default=None, max_length=120)
    reason: str | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONText))


class Pause(SQLModel, table=True):
    """Incident mode: automatic posting stops while a pause is open (account None: all)."""

    __tablename__ = "pauses"
    id: int | None = Field(default=None, primary_key=True)
    account: str | None = Field(default=None, max_length=64)
    reason: str
    paused_by: str = Field(max_length=100)
    started_at: datetime | None = utc_column(nullable=False)
    ended_at: datetime | None = utc_column()
    ended_by: str | None = Field(default=None, max_length=100)


class DaemonHeartbeat(SQLModel, table=True):
    """Each running daemon writes its heartbeat here every tick."""

    __tablename__ = "daemon_heartbeats"
    id: str = Field(primary_key=True, max_length=120)
    host: str = Field(max_length=200)
    pid: int
    started_at: datetime | None = utc_column(nullable=False)
    heartbeat_at: datetime | None = utc_column(nullable=False)
    stopped_at: datetime | None = utc_column()
    last_tick_error: str | None = None




class Notification(SQLModel, table=True):
    """The outbox: one delivery of one event to one target, written in the transaction of the
    change that caused it and sent once by whichever worker claims it."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("target", "dedupe_key", name="uq_notifications_target_dedupe"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_comment", "comment_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=32)
    target: str = Field(max_length=64)
    dedupe_key: str = Field(max_length=200)
    level: int = 0  # an emergency's escalation step: 0 at once, n after n × the minutes
    account: str | None = Field(default=None, max_length=64)
    comment_id: int | None = None
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONText))
    status: str = Field(default=NotificationStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = utc_column()
    last_error: str | None = None
    created_at: datetime | None = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()
    updated_at: datetime | None = utc_column()


class User(SQLModel, table=True):
    """A person who signs in to the web console; ``role`` is officer, approver or admin.
    Only an Argon2 hash of the password is kept."""

    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str | None = Field(default=None, max_length=100)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=200)
    lang: str = Field(default="zh", max_length=8)
    disabled_at: datetime | None = utc_column()
    disabled_by: str | None = Field(default=None, max_length=100)
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime | None = utc_column()
    password_changed_at: datetime | None = utc_column()
    last_login_at: datetime | None = utc_column()


class LoginAttempt(SQLModel, table=True):
    """One try to sign in to the console (the throttle counts the failures)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_user", "username", "at"),
                      Index("ix_login_attempts_address", "address", "at"))
    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = utc_column(nullable=False)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
