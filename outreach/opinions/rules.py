"""The comment classes' rules: ``content/opinions.toml`` loaded and compiled (:func:`load_rules`).

The file holds one ``[class.CODE]`` table for each code in :data:`CLASS_ORDER` and one
``[flag.NAME]`` table for each lexical flag in :data:`LEXICAL_FLAGS`; what each key means,
and how the rules classify a comment, is told in :mod:`outreach.opinions.classify`.

The file is read by the one TOML loader (:mod:`outreach.config.toml`), its shape checked by
the models below; what the values mean (known class codes, ``yields_to`` naming a class,
regular expressions that compile, a reply deadline for a class that needs a reply) is
checked here. Any problem is one :class:`ContentError`, ``content/opinions.toml:LINE`` and
``key: problem``; when there are several, the first by line, with the number of others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from outreach.config.toml import (
    Loc,
    NonBlank,
    Shape,
    TomlFile,
    TomlProblem,
    Unreadable,
    parse_toml,
    read_bytes,
    shown_path,
)
from outreach.errors import ContentError
from outreach.i18n import _, ngettext

# What callers have always imported from here; classification lives in classify.py.
from outreach.opinions.classify import CLASS_ORDER as CLASS_ORDER
from outreach.opinions.classify import LEXICAL_FLAGS as LEXICAL_FLAGS
from outreach.opinions.classify import MODEL_SURE as MODEL_SURE
from outreach.opinions.classify import VOTE as VOTE
from outreach.opinions.classify import Matcher
from outreach.opinions.classify import Vote as Vote
from outreach.opinions.classify import classify as classify
from outreach.opinions.classify import classify_many as classify_many
from outreach.opinions.classify import evaluate as evaluate
from outreach.opinions.classify import normalise as normalise
from outreach.opinions.classify import rule_scores as rule_scores
from outreach.opinions.classify import vote_class as vote_class
from outreach.opinions.redact import redact as redact

log = logging.getLogger(__name__)

RULES_FILE = "opinions.toml"
MAX_FILE_BYTES = 1_000_000


# --- the rule set --------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRule:
    """One class of comment as configured in opinions.toml."""

    code: str
    zh: str
    en: str
    weight: float
    needs_reply: bool
    reply_within_hours: float | None  # None: no reply deadline
    yields_to: frozenset[str]
    matcher: Matcher = field(repr=False, compare=False)

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class OpinionRules:
    """Compiled classification rules (build them with :func:`load_rules`)."""

    classes: Mapping[str, ClassRule]  # in CLASS_ORDER
    flags: Mapping[str, Matcher] = field(repr=False)
    source: str = RULES_FILE

    def class_names(self, lang: str) -> dict[str, str]:
        """Display names of every class in ``lang`` (``zh``; anything else gives English)."""
        return {code: c.name(lang) for code, c in self.classes.items()}

    def reply_within_hours(self, klass: str) -> float | None:
        """Hours within which a comment of this class should be answered (None: no deadline)."""
        return self.classes[klass].reply_within_hours


# --- the file's shape ----------------------------------------------------------------




class KeywordsShape(Shape):
    zh: list[NonBlank] = []
    en: list[NonBlank] = []


class FlagShape(Shape):
    keywords: KeywordsShape = KeywordsShape()
    patterns: list[NonBlank] = []
    negations: list[NonBlank] = []
    negation_patterns: list[NonBlank] = []


class ClassShape(FlagShape):
    zh: NonBlank = Field(description='the Chinese name: zh = "..."')
    en: NonBlank = Field(description='the English name: en = "..."')
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    needs_reply: bool = False
    reply_within_hours: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    yields_to: list[str] = []


class RulesShape(Shape):
    classes: dict[str, Any] = Field(default={}, alias="class")
    flag: dict[str, Any] = {}


# --- loading -------------------------------------------------------------------------

_cache: dict[tuple[str, int, int], OpinionRules] = {}


def load_rules(content_dir: Path) -> OpinionRules:
    """Read and compile ``content_dir/opinions.toml``.

    Any problem raises :class:`ContentError` whose ``where`` is ``content/opinions.toml:LINE``
    and whose message names the key; when there are several, the first (by line) is
    reported with the number of others. Compiled rules are cached until the file changes.
    """
    path = content_dir / RULES_FILE
    rel = shown_path(content_dir, path)
    try:
        stat = path.stat()
    except OSError:
        raise ContentError(_("missing {file} (the comment classes)").format(file=RULES_FILE),
                           where=rel) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        raw = read_bytes(path, MAX_FILE_BYTES)
    except Unreadable as exc:
        raise ContentError(exc.message, where=rel) from None
    rules = parse_rules(raw, rel)
    _cache.clear()  # one rules file in use at a time; don't grow without bound
    _cache[key] = rules
    return rules


def parse_rules(raw: bytes | str, where: str = f"content/{RULES_FILE}") -> OpinionRules:
    """Compile rules from the text of an opinions.toml; ``where`` names it in errors."""
    try:
        toml = parse_toml(raw)
    except Unreadable as exc:
        raise ContentError(exc.message, where=f"{where}:{exc.line}" if exc.line else where) from None
    builder = _Builder(toml, where)
    rules = builder.build()
    if builder.problems:
        first = min(builder.problems, key=lambda p: p.line or 0)
        message = first.message
        more = len(builder.problems) - 1
        if more:
            message += ngettext(" (and {n} more problem)", " (and {n} more problems)",
                                more).format(n=more)
        raise ContentError(message, where=first.where(where))
    assert rules is not None
    log.debug("loaded opinion rules from %s", where)
    return rules


class _Builder:
    """Checks what the values of a parsed opinions.toml mean and compiles the rules."""

    def __init__(self, toml: TomlFile, source: str) -> None:
        self.toml = toml
        self.source = source
        self.problems: list[TomlProblem] = []

    def bad(self, loc: Loc, message: str) -> None:
        self.problems.append(self.toml.problem(loc, message))

    def shape(self, model: type[Shape], value: Any, loc: Loc) -> Any:
        shaped, problems = self.toml.validate(model, value, loc)
        self.problems.extend(problems)
        return shaped

    def build(self) -> OpinionRules | None:
        top = self.shape(RulesShape, self.toml.data, ())
        if top is None:
            return None
        for code in top.classes:
            if code not in CLASS_ORDER:
                self.bad(("class", code), _("unknown class (known: {known})").format(
                    known=", ".join(CLASS_ORDER)))
        for code in CLASS_ORDER:
            if code not in top.classes:
                self.bad(("class", code), _("is missing: add a [class.{code}] table").format(code=code))
        classes: dict[str, ClassRule] = {}
        for code in CLASS_ORDER:
            if code in top.classes:
                built = self._class(code, top.classes[code])
                if built is not None:
                    classes[code] = built
        flags: dict[str, Matcher] = {}
        for name, entry in top.flag.items():
            if name not in LEXICAL_FLAGS:
                known = ", ".join(LEXICAL_FLAGS)
                self.bad(("flag", name), _("unknown flag (it is computed from redaction; known: "
                                           "{known})").format(known=known)
                         if name == "has_personal_data" else
                         _("unknown flag (known: {known})").format(known=known))
                continue
            shaped = self.shape(FlagShape, entry, ("flag", name))
            if shaped is not None:
                flags[name] = self._matcher(("flag", name), shaped)
        if self.problems:
            return None
        return OpinionRules(classes=classes, flags=flags, source=self.source)

    def _class(self, code: str, entry: Any) -> ClassRule | None:
        loc: Loc = ("class", code)
        c = self.shape(ClassShape, entry, loc)
        if c is None:
            return None
        before = len(self.problems)
        if c.needs_reply and c.reply_within_hours is None:
            self.bad((*loc, "needs_reply"), _("true needs reply_within_hours (0 = immediately)"))
        for i, other in enumerate(c.yields_to):
            if other == code:
                self.bad((*loc, "yields_to", i), _("a class cannot yield to itself"))
            elif other not in CLASS_ORDER:
                self.bad((*loc, "yields_to", i), _("names unknown class {name!r}").format(name=other))
        matcher = self._matcher(loc, c)
        if len(self.problems) > before:
            return None
        return ClassRule(code=code, zh=c.zh.strip(), en=c.en.strip(), weight=float(c.weight),
                         needs_reply=c.needs_reply,
                         reply_within_hours=(float(c.reply_within_hours)
                                             if c.reply_within_hours is not None else None),
                         yields_to=frozenset(c.yields_to), matcher=matcher)

    def _matcher(self, loc: Loc, shaped: FlagShape) -> Matcher:
        return Matcher.build(
            {"zh": shaped.keywords.zh, "en": shaped.keywords.en},
            self._patterns(loc, "patterns", shaped.patterns), shaped.negations,
            self._patterns(loc, "negation_patterns", shaped.negation_patterns))

    def _patterns(self, loc: Loc, key: str, sources: list[str]) -> list[re.Pattern[str]]:
        compiled = []
        for i, source in enumerate(sources):
            try:
                compiled.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:
                self.bad((*loc, key, i), (
                    _("bad pattern {pattern!r}: {why} at position {pos}") if exc.pos is not None
                    else _("bad pattern {pattern!r}: {why}")).format(pattern=source, why=exc.msg,
                                                                     pos=exc.pos))
        return compiled
