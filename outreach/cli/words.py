"""What a status, a state or a class is called on a terminal, in the current language.

The values themselves (``queued``, ``needs_reauth``, ``emergency``) stay as they are in JSON,
in the database and on the command line (``--status queued``); only the word shown changes.
"""

from __future__ import annotations

from outreach.actions.users import Role
from outreach.i18n import N_, _
from outreach.states import (
    AccountState,
    NotificationStatus,
    OpinionClass,
    OpinionState,
    PostStatus,
)

NAMES: dict[str, str] = {
    PostStatus.DRAFT: N_("draft"), PostStatus.QUEUED: N_("queued"),
    PostStatus.PUBLISHING: N_("publishing"), PostStatus.UNCONFIRMED: N_("unconfirmed"),
    PostStatus.PUBLISHED: N_("published"), PostStatus.FAILED: N_("failed"),
    PostStatus.CANCELLED: N_("cancelled"), PostStatus.MISSED: N_("missed"),
    PostStatus.RETRACTED: N_("retracted"),
    AccountState.ACTIVE: N_("active"), AccountState.PAUSED: N_("paused"),
    AccountState.NEEDS_REAUTH: N_("needs_reauth"), AccountState.UNCONFIGURED: N_("unconfigured"),
    OpinionClass.EMERGENCY: N_("emergency"), OpinionClass.HELP: N_("help"),
    OpinionClass.TIP: N_("tip"), OpinionClass.COMPLAINT: N_("complaint"),
    OpinionClass.INQUIRY: N_("inquiry"), OpinionClass.SUGGESTION: N_("suggestion"),
    OpinionClass.PRIVACY: N_("privacy"), OpinionClass.SPAM_ABUSE: N_("spam_abuse"),
    OpinionClass.NEGATIVE: N_("negative"), OpinionClass.PRAISE: N_("praise"),
    OpinionClass.CHATTER: N_("chatter"),
    OpinionState.NEW: N_("new"), OpinionState.ACKNOWLEDGED: N_("acknowledged"),
    OpinionState.REPLIED: N_("replied"), OpinionState.HANDED_OVER: N_("handed_over"),
    OpinionState.CLOSED: N_("closed"),
    NotificationStatus.PENDING: N_("pending"), NotificationStatus.SENDING: N_("sending"),
    NotificationStatus.SENT: N_("sent"),
    Role.OFFICER: N_("officer"), Role.APPROVER: N_("approver"), Role.ADMIN: N_("admin"),
    # what `plan` shows of a slot not yet drawn into a post
    "planned": N_("planned"), "held": N_("held"),
}


def name(value: str) -> str:
    """The word shown for a status, state or class (the value itself when it has none)."""
    msgid = NAMES.get(value)
    return _(msgid) if msgid else value
