"""The console's language: ``?lang=`` (remembered for the session), else the session's, else
the user's setting, else zh. The words themselves are the one catalogue of ``outreach.i18n``
(``_()`` in the routes and templates); statuses, JSON keys and the public's text are never
translated — only the labels the console shows for them."""

from __future__ import annotations

from typing import Any

from outreach.actions.users import SignedIn
from outreach.i18n import LANGS, N_, gettext
from outreach.web.session import Session

DEFAULT_LANG = "zh"

LABELS = (
    # statuses, states, roles and classes the console shows by their value (``_(post.status)``)
    N_("draft"), N_("queued"), N_("publishing"), N_("published"), N_("unconfirmed"),
    N_("failed"), N_("missed"), N_("cancelled"), N_("retracted"), N_("held"), N_("planned"),
    N_("active"), N_("paused"), N_("needs_reauth"), N_("unconfigured"),
    N_("new"), N_("acknowledged"), N_("replied"), N_("handed_over"), N_("closed"),
    N_("officer"), N_("approver"), N_("admin"),
    N_("emergency"), N_("help"), N_("tip"), N_("complaint"), N_("inquiry"), N_("suggestion"),
    N_("privacy"), N_("spam_abuse"), N_("negative"), N_("praise"), N_("chatter"),
    # the dashboard's queue figures (``failed_today`` shown as "failed today")
    N_("drafts"), N_("due"), N_("overdue"), N_("failed today"),
    # weekdays as ``strftime("%a")`` spells them in the C locale
    N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"),
)
"""Words the console shows for values known only at run time, marked for the catalogue."""


def words(message: str, **values: Any) -> str:
    """``message`` in the current language, its ``{placeholders}`` filled with ``values`` —
    the templates' ``_()``."""
    text = gettext(message)
    return text.format(**values) if values else text


def pick_lang(asked: str | None, session: Session, user: SignedIn | None) -> str:
    """``?lang=`` (remembered for the session), else the session's, else the user's
    setting, else zh."""
    if asked in LANGS:
        session.lang = asked
        return asked
    if session.lang in LANGS:
        return session.lang
    if user is not None and user.lang in LANGS:
        return user.lang
    return DEFAULT_LANG
