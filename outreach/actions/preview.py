"""What a post would look like before it is queued: the exact text the platform would get
(the tip rendered, or the literal text wrapped by the platform template), its length by the
platform's own rule, the checks the publisher runs, and the warnings of ``queue add``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from outreach.actions.posts import MAX_TEXT, post_warnings
from outreach.errors import OutreachError
from outreach.i18n import _
from outreach.library.texts import control_character, render_tip, text_problems, wrap_text
from outreach.schedule.history import load_history
from outreach.times import parse_when

if TYPE_CHECKING:
    from outreach.runtime import Runtime


class Preview(TypedDict):
    account: str
    text: str
    length: int
    max_length: int
    problems: list[str]
    warnings: list[str]


def preview_post(rt: Runtime, account: str, *, tip: str | None, text: str | None,
                 at: str | None) -> Preview:
    """The post as ``queue add`` would store it, with every problem listed instead of raised
    (a problem blocks queueing; a warning does not)."""
    acc = rt.settings.account(account)
    client = rt.client(acc)
    lib = rt.library
    now = rt.clock()
    problems: list[str] = []
    body = ""
    when = now
    if at:
        try:
            when = parse_when(at, acc.timezone, now)
        except OutreachError as exc:
            problems.append(exc.message)
    with rt.db.reader() as s:
        if tip:
            try:
                tipdef = lib.tip(tip)
                variant = load_history(s, acc.name).next_variant(tip, when, len(tipdef.texts))
                body = render_tip(lib, tipdef, variant, acc)
                if tipdef.lang != acc.lang:
                    problems.append(_("tip {tip!r} is in {lang}; account {name!r} posts in {lang2}").format(
                        tip=tip, lang=tipdef.lang, name=acc.name, lang2=acc.lang))
            except OutreachError as exc:
                problems.append(exc.message)
        elif text and text.strip():
            control = control_character(text)
            if control:
                problems.append(_("text has a {control}").format(control=control))
            elif len(text) > MAX_TEXT:
                problems.append(_("text is over {MAX_TEXT} characters").format(MAX_TEXT=MAX_TEXT))
            else:
                try:
                    body = wrap_text(lib, acc, text.strip())
                except OutreachError as exc:
                    problems.append(exc.message)
        if body:
            problems.extend(text_problems(body, client, lib))
        warnings = post_warnings(rt, s, acc, when, tip=tip or None,
                                 text=text if not tip else None)
    return {"account": acc.name, "text": body, "length": client.text_length(body),
            "max_length": client.max_length, "problems": problems, "warnings": warnings}
