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
    CHECK_FAILED = "check_failed"  # stored only: the last `accounts check` failed for a reason
    # other than a refused token; shown as one of the four above, with the failure said apart


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


class NotifyEvent(StrEnum):
    """What a notification is about (``[notify]`` targets subscribe to these)."""

    EMERGENCY = "emergency"
    POST_FAILED = "post_failed"
    NEEDS_REAUTH = "needs_reauth"
    TOKEN_EXPIRING = "token_expiring"
    DAEMON_STALE = "daemon_stale"
    DAILY_DIGEST = "daily_digest"


class Hold(StrEnum):
    """Why the publisher's last check before a send stopped it."""

    PAUSED = "paused"  # the account is paused: the post waits for the resume
    TIP = "tip"  # the post's tip is no longer approved or valid
    TEXT = "text"  # the text itself fails a check or lacks approval


POST_STATUSES: tuple[str, ...] = tuple(PostStatus)
ACCOUNT_STATES: tuple[str, ...] = tuple(s for s in AccountState if s is not AccountState.CHECK_FAILED)
NOTIFICATION_STATUSES: tuple[str, ...] = tuple(NotificationStatus)
NOTIFY_EVENTS: tuple[str, ...] = tuple(NotifyEvent)
OPINION_STATES: tuple[str, ...] = tuple(OpinionState)
