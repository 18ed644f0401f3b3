"""Rendering a tip for an account, and the checks every outgoing text passes.

The same checks run when a post is queued and again just before it is
published: not blank, within the platform's length by its own rule, no
blocklisted word, and the platform's own rules (``text_problems``, if the client
declares any).
"""

from __future__ import annotations

from typing import Any

from outreach.config import AccountSettings
from outreach.content import Library, TipDef
from outreach.errors import ContentError


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


def text_problems(text: str, client: Any, lib: Library) -> list[str]:
    """Everything wrong with an outgoing text for this client; empty when it may go out."""
    problems = []
    if not text.strip():
        problems.append("text is blank")
        return problems
    length = client.text_length(text)
    if length > client.max_length:
        problems.append(f"text is {length} long by the platform's rule; the limit is "
                        f"{client.max_length}")
    word = lib.blocked_word(text)
    if word and lib.blocklist_error:
        problems.append(word)
    elif word:
        problems.append(f"contains blocklisted word {word!r}")
    problems.extend(client.text_problems(text))
    return problems


def check_text(text: str, client: Any, lib: Library) -> None:
    problems = text_problems(text, client, lib)
    if problems:
        raise ContentError("; ".join(problems))
