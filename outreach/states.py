"""The words stored in status columns, as enums: the one place they are spelled.

Each is a ``StrEnum``, so a member *is* its stored string: it compares equal to the
text read back from the database, goes into JSON unchanged and binds into SQL as is.
"""

from __future__ import annotations

from enum import StrEnum


class PostStatus(StrEnum):
    """A post's life: draft → queued → publishing → published, or one of the ends."""

    DRAFT = "draft"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    UNCONFIRMED = "unconfirmed"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"
    RETRACTED = "retracted"


class PostKind(StrEnum):
    SLOT = "slot"  # drawn by the planner for a schedule slot
    ADHOC = "adhoc"  # queued by a person
    REPLY = "reply"  # an answer to a comment


class AccountState(StrEnum):
    """An account as ``accounts list`` shows it (paused is derived from the pauses table)."""

    ACTIVE = "active"
    PAUSED = "paused"
    NEEDS_REAUTH = "needs_reauth"
    UNCONFIGURED = "unconfigured"


class OpinionClass(StrEnum):
    """The classes of the public's comments, most urgent first (ties break in this order)."""

    EMERGENCY = "emergency"
    HELP = "help"
    TIP = "tip"
    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"
    PRIVACY = "privacy"
    SPAM_ABUSE = "spam_abuse"
    NEGATIVE = "negative"
    PRAISE = "praise"
    CHATTER = "chatter"


class OpinionState(StrEnum):
    """Where a comment of the public stands: ``new → acknowledged → replied | handed_over |
    closed`` (the last three settle it)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    REPLIED = "replied"
    HANDED_OVER = "handed_over"
    CLOSED = "closed"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


POST_STATUSES: tuple[str, ...] = tuple(PostStatus)
ACCOUNT_STATES: tuple[str, ...] = tuple(AccountState)
NOTIFICATION_STATUSES: tuple[str, ...] = tuple(NotificationStatus)
OPINION_STATES: tuple[str, ...] = tuple(OpinionState)
