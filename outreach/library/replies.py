"""Stock replies (标准答复): ``content/replies.toml``, named answers per comment class and
language, rendered with the account's variables (hotlines, city) by the same sandboxed
renderer as tips, and checked by ``content check`` like tips.

An entry::

    [[reply]]
    name = "call-110"            # what ``opinions reply ID --stock NAME`` names
    class = "emergency"          # the opinion class it answers (opinions.toml's codes)
    source = "…"                 # the law, notice or agency the answer rests on (required)
    review_by = 2027-12-31       # optional: past it, ``content check`` warns
    text = { zh = "…", en = "…" }
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from outreach.config.settings import AccountSettings
from outreach.config.toml import (
    Day,
    NonBlank,
    Shape,
    Unreadable,
    dotted,
    read_toml,
    shown_path,
    slug,
    slug_pattern,
)
from outreach.errors import ContentError, InputError, NotFound
from outreach.i18n import _
from outreach.library.model import Library, Problem
from outreach.library.texts import control_character, text_problems
from outreach.states import OpinionClass

if TYPE_CHECKING:
    from outreach.runtime import Runtime

REPLIES_FILE = "replies.toml"
LANGS = ("zh", "en")
MAX_FILE_BYTES = 1_000_000
_NAME_RE = slug_pattern(64)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


class TextsShape(Shape):
    zh: NonBlank | None = None
    en: NonBlank | None = None


class ReplyShape(Shape):
    name: Annotated[str, slug(64)]
    class_: NonBlank = Field(alias="class")
    source: NonBlank
    text: TextsShape
    review_by: Day | None = None


class RepliesFileShape(Shape):
    reply: list[Any] = Field(default=[], description="stock replies are [[reply]] tables")


@dataclass(frozen=True)
class StockReply:
    name: str
    klass: str
    source: str
    texts: dict[str, str]
    review_by: date | None
    file: str
    line: int


@dataclass
class StockReplies:
    """The entries of replies.toml by name, and every problem found loading them."""

    entries: dict[str, StockReply] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, name: str) -> StockReply:
        errors = [p for p in self.problems if p.severity == "error" and p.tip_id in ("", name)]
        if name in self.entries and not errors:
            return self.entries[name]
        if errors:
            raise ContentError(_("stock reply {name!r} is unusable: {value}").format(
                name=name, value=errors[0]))
        known = ", ".join(sorted(self.entries)) or "none"
        raise NotFound(_("no stock reply named {name!r} (known: {known})").format(name=name, known=known))


def load_replies(root: Path) -> StockReplies:
    """Read ``root/replies.toml`` (absent: no stock replies); problems are collected."""
    out = StockReplies()
    path = root / REPLIES_FILE
    if not path.exists():
        return out
    rel = shown_path(root, path)
    try:
        toml = read_toml(path, MAX_FILE_BYTES)
    except Unreadable as exc:
        out.problems.append(Problem(rel, exc.line or 0, "", exc.message))
        return out

    def bad(loc: tuple[str | int, ...], message: str, name: str = "", within: int = 2) -> None:
        line = toml.line(loc) or 0
        key = dotted(loc[within:])
        out.problems.append(Problem(rel, line, name, f"{key}: {message}" if key else message))

    _shape, file_problems = toml.validate(RepliesFileShape, toml.data)
    for p in file_problems:
        out.problems.append(Problem(rel, p.line or 0, "", p.message))
    entries = toml.data.get("reply", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        raw = entry.get("name") if isinstance(entry, dict) else None
        name = raw if isinstance(raw, str) and _NAME_RE.fullmatch(raw) else ""
        shaped, problems = toml.validate(ReplyShape, entry, ("reply", i))
        for p in problems:
            bad(p.loc, p.problem, name)
        if shaped is None:
            continue
        if shaped.class_ not in tuple(OpinionClass):
            bad(("reply", i, "class"), _("unknown class {class_!r}").format(class_=shaped.class_), name)
        texts = {lang: t.strip() for lang in LANGS if (t := getattr(shaped.text, lang))}
        for lang, text in texts.items():
            control = control_character(text)
            if control:
                bad(("reply", i, "text", lang), _("has a {control}").format(control=control), name)
        if name in out.entries:
            other = out.entries[name]
            bad(("reply", i, "name"), _("duplicate name (also {file}:{line})").format(
                file=other.file, line=other.line), name)
            continue
        out.entries[name] = StockReply(name, shaped.class_, shaped.source.strip(), texts,
                                       shaped.review_by, rel, toml.line(("reply", i)) or 0)
    return out


def comment_lang(text: str | None) -> str | None:
    """The language a comment is written in, when its text says: Han characters → ``zh``,
    Latin letters without them → ``en``; None otherwise (emoji, deleted text)."""
    if not text:
        return None
    if _HAN.search(text):
        return "zh"
    return "en" if _LATIN.search(text) else None


def render_reply(lib: Library, entry: StockReply, lang: str, account: AccountSettings) -> str:
    """The entry's text in ``lang`` with the account's variables (ContentError if it fails)."""
    return lib.renderer.render_string(entry.texts[lang], account.template_variables)


def pick_lang(entry: StockReply, comment_text: str | None, account: AccountSettings) -> str:
    """The comment's language if the entry has it, else the account's."""
    for lang in (comment_lang(comment_text), account.lang):
        if lang in entry.texts:
            return lang
    raise InputError(_("stock reply {name!r} has no text in {value} or {lang}").format(
        name=entry.name, value=comment_lang(comment_text) or account.lang, lang=account.lang))


def check_replies(rt: Runtime) -> list[Problem]:
    """``content check``'s part: loading problems; a missing language some account posts in;
    a past review date (a warning); every text rendered for every account of its language,
    checked by that platform's rules (length, blocklist)."""
    stock = load_replies(rt.settings.content_dir)
    problems = list(stock.problems)
    lib = rt.library
    today = rt.clock().astimezone(rt.settings.timezone).date()
    accounts = list(rt.settings.accounts.values())
    for entry in stock.entries.values():
        def add(message: str, severity: str = "error", e: StockReply = entry) -> None:
            problems.append(Problem(e.file, e.line, e.name, message, severity))

        if entry.review_by is not None and entry.review_by < today:
            add(f"review_by {entry.review_by} has passed", "warning")
        for lang in sorted({a.lang for a in accounts} - set(entry.texts)):
            add(f"text.{lang}: missing (an account posts in {lang})")
        for account in accounts:
            if account.lang not in entry.texts:
                continue
            try:
                text = render_reply(lib, entry, account.lang, account)
            except ContentError as exc:
                add(f"text.{account.lang}: {exc.message}")
                continue
            for p in text_problems(text, rt.client(account), lib):
                if p != lib.blocklist_error:
                    add(f"text.{account.lang} on {account.name} ({account.platform}): {p}")
    return problems
