"""Rendering a tip for an account, and the checks every outgoing text passes.

The same checks run when a post is queued and again just before it is
published: not blank, within the platform's length by its own rule, no
blocklisted word, and the platform's own rules (``text_problems``, if the client
declares any).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from outreach.config.settings import AccountSettings
from outreach.i18n import _
from outreach.library.model import Library, TipDef

if TYPE_CHECKING:
    from outreach.clients.base import MicroblogClient


def render_tip(lib: Library, tip: TipDef, variant: int, account: AccountSettings) -> str:
    """Render variant ``variant`` of a tip and wrap it in the platform's template."""
    renderer = lib.renderer
    variables = account.template_variables
    body = renderer.render_string(tip.texts[variant], variables)
    title = renderer.render_string(tip.title, variables) if tip.title else ""
    return wrap_text(lib, account, body, title=title, tags=tip.tags)


def wrap_text(lib: Library, account: AccountSettings, body: str, *, title: str = "",
              tags: tuple[str, ...] | list[str] = ()) -> str:
    """Put a text (a rendered tip, or a literal ad-hoc text) into the platform template."""
    share_url = account.options.get("share_url", "")
    return lib.renderer.wrap(account.platform, body, title=title, tags=tags,
                             variables=account.wrapper_variables,
                             share_url=share_url if isinstance(share_url, str) else "")


_C0 = (
    "NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION", "ENQUIRY",
    "ACKNOWLEDGE", "BELL", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED", "LINE TABULATION",
    "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN", "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE", "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL",
    "END OF MEDIUM", "SUBSTITUTE", "ESCAPE", "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE", "INFORMATION SEPARATOR TWO", "INFORMATION SEPARATOR ONE",
)
_C1 = (
    "PADDING CHARACTER", "HIGH OCTET PRESET", "BREAK PERMITTED HERE", "NO BREAK HERE", "INDEX",
    "NEXT LINE", "START OF SELECTED AREA", "END OF SELECTED AREA", "CHARACTER TABULATION SET",
    "CHARACTER TABULATION WITH JUSTIFICATION", "LINE TABULATION SET", "PARTIAL LINE FORWARD",
    "PARTIAL LINE BACKWARD", "REVERSE LINE FEED", "SINGLE SHIFT TWO", "SINGLE SHIFT THREE",
    "DEVICE CONTROL STRING", "PRIVATE USE ONE", "PRIVATE USE TWO", "SET TRANSMIT STATE",
    "CANCEL CHARACTER", "MESSAGE WAITING", "START OF GUARDED AREA", "END OF GUARDED AREA",
    "START OF STRING", "SINGLE GRAPHIC CHARACTER INTRODUCER", "SINGLE CHARACTER INTRODUCER",
    "CONTROL SEQUENCE INTRODUCER", "STRING TERMINATOR", "OPERATING SYSTEM COMMAND",
    "PRIVACY MESSAGE", "APPLICATION PROGRAM COMMAND",
)
# bidirectional formatting: reorders what a reader sees (the Trojan Source trick)
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _char_name(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x20:
        return _C0[cp]
    if cp == 0x7F:
        return "DELETE"
    if 0x80 <= cp <= 0x9F:
        return _C1[cp - 0x80]
    if 0xD800 <= cp <= 0xDFFF:
        return "SURROGATE"
    return unicodedata.name(ch, "UNNAMED")


def control_character(text: str) -> str | None:
    """The first character a post must not carry, described with its position, or None.

    Control characters (C0, DEL, C1: escape sequences, NUL, a lone carriage return that
    overwrites the line), bidirectional overrides and isolates, and lone surrogates. A line
    feed, a tab and a CR LF line end are text.
    """
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    i = found.start()
    ch = text[i]
    return _("control character U+{code:04X} ({name}) at character {n}").format(
        code=ord(ch), name=_char_name(ch), n=i + 1)


# one scan of the text (a loop over its characters cost more than rendering it)
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
                        + "".join(sorted(_BIDI)) + "]|\r(?!\n)")


def text_problems(text: str, client: MicroblogClient, lib: Library) -> list[str]:
    """Everything wrong with an outgoing text for this client; empty when it may go out."""
    problems = []
    if not text.strip():
        problems.append(_("text is blank"))
        return problems
    control = control_character(text)
    if control:
        problems.append(_("text has a {control}").format(control=control))
    length = client.text_length(text)
    if length > client.max_length:
        problems.append(_("text is {length} long by the platform's rule; the limit is "
                          "{limit}").format(length=length, limit=client.max_length))
    word = lib.blocked_word(text)
    if word and lib.blocklist_error:
        problems.append(word)
    elif word:
        problems.append(_("contains blocklisted word {word!r}").format(word=word))
    problems.extend(client.text_problems(text))
    return problems
