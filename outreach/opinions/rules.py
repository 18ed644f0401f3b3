"""The public's comments (民意): classification, personal-data redaction, evaluation.

Pure functions over text and a rule set; nothing here touches the database or prints.

Rules live in ``content/opinions.toml`` so officers can edit them without code:

- one ``[class.CODE]`` table for each code in :data:`CLASS_ORDER`: ``zh``/``en`` display names,
  ``keywords = { zh = [...], en = [...] }`` (usually written as a ``[class.CODE.keywords]``
  sub-table), ``patterns`` (regular expressions, case-insensitive), ``negations`` (phrases),
  ``negation_patterns`` (regular expressions), ``weight``, ``needs_reply``,
  ``reply_within_hours`` and ``yields_to``;
- one ``[flag.NAME]`` table for each lexical flag in :data:`LEXICAL_FLAGS` (keywords, patterns,
  negations, negation_patterns).

How a comment is classified:

1. The text is normalised: ANSI sequences and control characters go, then NFKC (full-width
   letters and digits become ASCII), case folding, and runs of white space become one space.
2. Every class collects hits. A keyword with a CJK character matches anywhere in the text with
   its spaces removed (``救 命`` is ``救命``); any other keyword matches as a whole word
   (``help me`` does not match ``helpful``). Patterns are searched in the spaced text. A hit
   that overlaps a negation of the same class (``报警`` inside ``不是报警``, ``emergency``
   inside ``not an emergency``) does not count; other hits still do, so ``不是报警，有人持刀``
   is an emergency. Personal data (see :func:`redact`) is a hit for ``privacy``.
3. A class's score is its ``weight`` × (1 per distinct keyword + :data:`PATTERN_WEIGHT` per
   pattern). When the caller gives ``lang``, keywords from the other language's list count
   half (comments mix languages, so they still count).
4. **Any emergency hit makes the comment an emergency**, whatever else it says. Otherwise a
   class that ``yields_to`` another matched class drops out (praise yields to complaint, so
   sarcastic thanks are a complaint), and the highest score wins; ties go to the earlier
   class in :data:`CLASS_ORDER`. Nothing matched: ``chatter``.
5. With the learned model (:mod:`outreach.opinions.model`), a model emergency probability at
   or above its threshold also makes an emergency. Otherwise the rules and the model vote:
   each class gets the model's probability plus :data:`RULE_VOTE` times its share of the
   rules' score (``yields_to`` still applies). ``fired`` says who recognised the class. A
   comment no rule matched and the model is not sure of (:data:`MODEL_SURE`) takes the model's
   likeliest class (:data:`MODEL_LEAN`) and the ``unmatched`` label. The weights
   (:data:`VOTE`) were chosen by grouped cross-validation on the training corpus.

Every other class that matched becomes a label, followed by the derived flags (:data:`FLAGS`).

A keyword lexicon only knows the phrasings someone wrote into it. Measured on fresh comments
written before the rules saw them, successive versions caught between a fifth and a half of
the emergencies; the model, trained on a corpus of many phrasings, is beside them for that
reason. What neither recognises carries the ``unmatched`` label (without a model, and so
without a likeliest class, it is ``chatter``): callers route those to a person as unread.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from outreach.errors import ContentError, InputError
from outreach.opinions.redact import has_personal_data as has_personal_data
from outreach.opinions.redact import id_check_ok as id_check_ok
from outreach.opinions.redact import luhn_ok as luhn_ok
from outreach.opinions.redact import redact as redact

if TYPE_CHECKING:
    from outreach.opinions.model import OpinionModel

log = logging.getLogger(__name__)

CLASS_ORDER: tuple[str, ...] = (
    "emergency", "help", "tip", "complaint", "inquiry", "suggestion", "privacy",
    "spam_abuse", "negative", "praise", "chatter",
)
"""The opinion classes, most urgent first; ties are broken in this order."""

EMERGENCY = "emergency"
FALLBACK = "chatter"
LEXICAL_FLAGS: tuple[str, ...] = ("police_related", "location_mentioned", "question")
"""Flags read from ``[flag.NAME]`` tables in opinions.toml."""
FLAGS: tuple[str, ...] = (
    "police_related", "location_mentioned", "has_personal_data", "question", "unmatched",
)
"""Derived labels, in the order they follow the class labels. ``unmatched``: neither a rule
nor the model recognised the comment, so ``chatter`` is only the fallback — the inbox lists
it as unread."""

RULES = "rules"
MODEL = "model"
BOTH = "both"
RULE_VOTE = 0.5
"""How much the rules' vote weighs against the model's probabilities (which sum to 1): each
class the rules matched (after ``yields_to``) adds its share of the rules' score, times this."""
MODEL_SURE = 0.5
"""The model alone recognises a comment when its top class has at least this probability;
a comment neither the rules nor the model recognises is labelled ``unmatched``."""
MODEL_LEAN = 0.1
"""A comment no rule matched takes the model's likeliest class when that class has at least
this probability, recognised or not; below it, ``chatter``."""


class Vote(NamedTuple):
    """The vote's weights: see :data:`RULE_VOTE` and :data:`MODEL_LEAN`.

    :data:`VOTE` was chosen by grouped cross-validation on the training corpus
    (:func:`outreach.opinions.model.vote_grid`, printed by ``bench/run.py --only opinions``):
    the best accuracy with the rules voting and emergency recall kept."""

    rule_vote: float
    model_lean: float


VOTE = Vote(RULE_VOTE, MODEL_LEAN)
PATTERN_WEIGHT = 2.0  # a pattern is a more specific signal than one keyword
PERSONAL_DATA_WEIGHT = 2.0  # what finding a phone/ID/card/e-mail adds to ``privacy``
FOREIGN_KEYWORD_FACTOR = 0.5  # keywords from the other language's list, when ``lang`` is given
RULES_FILE = "opinions.toml"
MAX_FILE_BYTES = 1_000_000

_CLASS_KEYS = frozenset({"zh", "en", "weight", "needs_reply", "reply_within_hours", "keywords", "patterns",
                         "negations", "negation_patterns", "yields_to"})
_FLAG_KEYS = frozenset({"keywords", "patterns", "negations", "negation_patterns"})
_LANGS = ("zh", "en")


# --- rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    view: str  # "compact" (no spaces; CJK keywords) or "spaced" (words, patterns)
    start: int
    end: int
    key: str  # what matched: the keyword, or the pattern's source
    weight: float
    pattern: bool = False


@dataclass(frozen=True)
class _Matcher:
    """Compiled keywords, patterns and negations of one class or flag."""

    cjk_keywords: tuple[tuple[str, str], ...]  # (compact keyword, lang list it came from)
    word_res: tuple[tuple[re.Pattern[str], str], ...]  # one alternation per lang list
    patterns: tuple[re.Pattern[str], ...]
    neg_compact: tuple[str, ...]
    neg_spaced: tuple[re.Pattern[str], ...]
    neg_patterns: tuple[re.Pattern[str], ...] = ()
    # One alternation of all CJK keywords: most comments have none of a class's keywords,
    # and one search says so faster than a find per keyword.
    cjk_any: re.Pattern[str] | None = None

    def hits(self, text: _Text, lang: str | None) -> list[_Hit]:
        """Hits that are not inside a negation, one per distinct keyword or pattern."""
        negs: dict[str, list[tuple[int, int]]] = {}

        def free(view: str, span: tuple[int, int]) -> bool:
            # each view's negations are found when a hit in that view first needs them
            if view not in negs:
                if view == "compact":
                    found = [(m, m + len(p)) for p in self.neg_compact for m in _find_all(text.compact, p)]
                else:
                    found = [m.span() for r in self.neg_spaced for m in r.finditer(text.spaced)]
                seen = getattr(text, view)
                found.extend(m.span() for r in self.neg_patterns for m in r.finditer(seen))
                negs[view] = found
            return not any(span[0] < e and s < span[1] for s, e in negs[view])

        def factor(src: str) -> float:
            return FOREIGN_KEYWORD_FACTOR if lang is not None and src != lang else 1.0

        found: dict[str, _Hit] = {}
        if self.cjk_any is None or self.cjk_any.search(text.compact):
            for kw, src in self.cjk_keywords:
                for start in _find_all(text.compact, kw):
                    if free("compact", (start, start + len(kw))):
                        found.setdefault(kw, _Hit("compact", start, start + len(kw), kw, factor(src)))
                        break
        for regex, src in self.word_res:
            for m in regex.finditer(text.spaced):
                if free("spaced", m.span()):
                    found.setdefault(m[0], _Hit("spaced", m.start(), m.end(), m[0], factor(src)))
        for pattern in self.patterns:
            for m in pattern.finditer(text.spaced):
                if free("spaced", m.span()):
                    found.setdefault("re:" + pattern.pattern, _Hit(
                        "spaced", m.start(), m.end(), pattern.pattern, PATTERN_WEIGHT, True))
                    break
        return _drop_nested(list(found.values()))


def _drop_nested(hits: list[_Hit]) -> list[_Hit]:
    """A keyword inside a longer keyword of the same class (怎么办 in 该怎么办) counts once."""
    words = [h for h in hits if not h.pattern]
    return [h for h in hits if h.pattern or not any(
        o.view == h.view and o.start <= h.start and h.end <= o.end and o.end - o.start > h.end - h.start
        for o in words)]


def _find_all(haystack: str, needle: str) -> Iterable[int]:
    start = haystack.find(needle)
    while start != -1:
        yield start
        start = haystack.find(needle, start + 1)


@dataclass(frozen=True)
class OpinionClass:
    """One class of comment as configured in opinions.toml."""

    code: str
    zh: str
    en: str
    weight: float
    needs_reply: bool
    reply_within_hours: float | None  # None: no reply deadline
    yields_to: frozenset[str]
    matcher: _Matcher = field(repr=False, compare=False)

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class OpinionRules:
    """Compiled classification rules (build them with :func:`load_rules`)."""

    classes: Mapping[str, OpinionClass]  # in CLASS_ORDER
    flags: Mapping[str, _Matcher] = field(repr=False)
    source: str = RULES_FILE

    def class_names(self, lang: str) -> dict[str, str]:
        """Display names of every class in ``lang`` (``zh``; anything else gives English)."""
        return {code: c.name(lang) for code, c in self.classes.items()}

    def reply_within_hours(self, klass: str) -> float | None:
        """Hours within which a comment of this class should be answered (None: no deadline)."""
        return self.classes[klass].reply_within_hours


@dataclass(frozen=True)
class Opinion:
    """What a comment is: one primary class, the other classes and flags it shows, the scores."""

    klass: str
    labels: tuple[str, ...]
    needs_reply: bool
    score: dict[str, float]
    fired: str = ""
    """Who recognised the class: ``rules``, ``model``, ``both``, or ``""`` (nobody: unread)."""
    probability: float | None = None
    """The model's emergency probability (None: classified by the rules alone)."""


# --- loading -------------------------------------------------------------------------

_cache: dict[tuple[str, int, int], OpinionRules] = {}


def load_rules(content_dir: Path) -> OpinionRules:
    """Read and compile ``content_dir/opinions.toml``.

    Any problem raises :class:`ContentError` whose ``where`` is ``content/opinions.toml:LINE``
    and whose message names the class and key; when there are several, the first (by line)
    is reported with the number of others. Compiled rules are cached until the file changes.
    """
    path = content_dir / RULES_FILE
    rel = _rel(content_dir, path)
    try:
        stat = path.stat()
    except OSError:
        raise ContentError(f"missing {RULES_FILE} (the comment classes)", where=rel) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if stat.st_size > MAX_FILE_BYTES:
        raise ContentError(f"file is over {MAX_FILE_BYTES} bytes", where=rel)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"cannot read: {exc.strerror}", where=rel) from None
    rules = parse_rules(raw, rel)
    _cache.clear()  # one rules file in use at a time; don't grow without bound
    _cache[key] = rules
    return rules


def parse_rules(raw: bytes | str, where: str = f"content/{RULES_FILE}") -> OpinionRules:
    """Compile rules from the text of an opinions.toml; ``where`` names it in errors."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ContentError("not valid UTF-8", where=f"{where}:{line}") from None
    else:
        text = raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        from outreach.config.settings import toml_error

        message, line = toml_error(exc, text)
        raise ContentError(f"invalid TOML: {message}", where=f"{where}:{line}") from None
    builder = _Builder(text, where)
    rules = builder.build(data)
    if builder.problems:
        problems = sorted(builder.problems, key=lambda p: p[0])
        line, message = problems[0]
        more = len(problems) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ContentError(message, where=f"{where}:{line}")
    assert rules is not None
    log.debug("loaded opinion rules from %s", where)
    return rules


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


class _Locator:
    """Finds the line of a table, key or array value in the TOML text, as well as it can."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str]] = []
        for i, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                name = ".".join(p.strip().strip("\"'") for p in m[1].split("."))
                self.headers.append((i, name))

    def _section(self, name: str) -> tuple[int, int] | None:
        for n, (line, header) in enumerate(self.headers):
            if header == name:
                end = self.headers[n + 1][0] - 1 if n + 1 < len(self.headers) else len(self.lines)
                return line, end
        return None

    def _key(self, start: int, end: int, key: str) -> int | None:
        regex = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[.=]")
        for i in range(start, end + 1):
            if regex.match(self.lines[i - 1]):
                return i
        return None

    def line(self, *path: str, value: str | None = None) -> int:
        """The line of ``path`` (e.g. ``class, help, keywords, zh``), or of ``value`` in it."""
        found: tuple[int, int] | None = None  # (line, end of its section)
        for cut in range(len(path), 0, -1):
            section = self._section(".".join(path[:cut]))
            if section is None:
                continue
            line, end = section
            for key in path[cut:cut + 1]:
                key_line = self._key(line + 1, end, key)
                if key_line is not None:
                    line = key_line
            found = (line, end)
            break
        if found is None:  # a top-level key, before the first table
            first = self.headers[0][0] - 1 if self.headers else len(self.lines)
            top = self._key(1, first, path[-1]) if path else None
            return top if top is not None else 1
        line, end = found
        if value is not None:
            forms = {value, json.dumps(value, ensure_ascii=False)[1:-1]}
            for i in range(line, end + 1):
                if any(f in self.lines[i - 1] for f in forms):
                    return i
        return line


class _Builder:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.where = _Locator(text)
        self.problems: list[tuple[int, str]] = []

    def bad(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def build(self, data: dict[str, Any]) -> OpinionRules | None:
        for key in sorted(set(data) - {"class", "flag"}):
            self.bad(self.where.line(key), f"unknown top-level key {key!r} (expected [class.*] and [flag.*])")
        classes_raw = data.get("class", {})
        flags_raw = data.get("flag", {})
        if not isinstance(classes_raw, dict):
            self.bad(self.where.line("class"), "class must be a table of [class.CODE] tables")
            classes_raw = {}
        if not isinstance(flags_raw, dict):
            self.bad(self.where.line("flag"), "flag must be a table of [flag.NAME] tables")
            flags_raw = {}
        for code in classes_raw:
            if code not in CLASS_ORDER:
                self.bad(self.where.line("class", code),
                         f"unknown class {code!r} (known: {', '.join(CLASS_ORDER)})")
        for code in CLASS_ORDER:
            if code not in classes_raw:
                self.bad(self.where.line("class"), f"class {code!r} is missing: add a [class.{code}] table")
        classes: dict[str, OpinionClass] = {}
        for code in CLASS_ORDER:
            entry = classes_raw.get(code)
            if entry is not None:
                built = self._class(code, entry)
                if built is not None:
                    classes[code] = built
        flags: dict[str, _Matcher] = {}
        for name, entry in flags_raw.items():
            if name not in LEXICAL_FLAGS:
                hint = " (it is computed from redaction)" if name == "has_personal_data" else ""
                self.bad(self.where.line("flag", name),
                         f"unknown flag {name!r}{hint} (known: {', '.join(LEXICAL_FLAGS)})")
                continue
            if not isinstance(entry, dict):
                self.bad(self.where.line("flag", name), f"flag {name!r} must be a table")
                continue
            for key in sorted(set(entry) - _FLAG_KEYS):
                self.bad(self.where.line("flag", name, key), f"flag {name!r}: unknown key {key!r}")
            flags[name] = self._matcher(("flag", name), f"flag {name!r}", entry)
        if self.problems:
            return None
        return OpinionRules(classes=classes, flags=flags, source=self.source)

    def _class(self, code: str, entry: Any) -> OpinionClass | None:
        path = ("class", code)
        label = f"class {code!r}"
        if not isinstance(entry, dict):
            self.bad(self.where.line(*path), f"{label} must be a table")
            return None
        before = len(self.problems)
        for key in sorted(set(entry) - _CLASS_KEYS):
            self.bad(self.where.line(*path, key),
                     f"{label}: unknown key {key!r} (allowed: {', '.join(sorted(_CLASS_KEYS))})")
        names = {}
        for lang in _LANGS:
            value = entry.get(lang)
            if not isinstance(value, str) or not value.strip():
                self.bad(self.where.line(*path, lang), f"{label}: missing {lang} name ({lang} = \"...\")")
            else:
                names[lang] = value.strip()
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < math.inf:
            self.bad(self.where.line(*path, "weight"), f"{label}: weight must be a positive number")
            weight = 1.0
        needs_reply = entry.get("needs_reply", False)
        if not isinstance(needs_reply, bool):
            self.bad(self.where.line(*path, "needs_reply"), f"{label}: needs_reply must be true or false")
            needs_reply = False
        hours = entry.get("reply_within_hours")
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int | float)
                                  or not 0 <= hours < math.inf):
            self.bad(self.where.line(*path, "reply_within_hours"),
                     f"{label}: reply_within_hours must be a number of hours, 0 or more")
            hours = None
        if needs_reply and "reply_within_hours" not in entry:
            self.bad(self.where.line(*path, "needs_reply"),
                     f"{label}: needs_reply = true needs reply_within_hours (0 = immediately)")
        yields = entry.get("yields_to", [])
        if not isinstance(yields, list) or not all(isinstance(y, str) for y in yields):
            self.bad(self.where.line(*path, "yields_to"), f"{label}: yields_to must be a list of class codes")
            yields = []
        for other in yields:
            if other not in CLASS_ORDER or other == code:
                self.bad(self.where.line(*path, "yields_to", value=other),
                         f"{label}: yields_to names unknown class {other!r}" if other != code
                         else f"{label}: a class cannot yield to itself")
        matcher = self._matcher(path, label, entry)
        if len(self.problems) > before:
            return None
        return OpinionClass(code=code, zh=names["zh"], en=names["en"], weight=float(weight),
                            needs_reply=needs_reply,
                            reply_within_hours=float(hours) if hours is not None else None,
                            yields_to=frozenset(yields), matcher=matcher)

    def _strings(self, path: tuple[str, ...], label: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.bad(self.where.line(*path),
                     f"{label}: {'.'.join(path[2:])} must be a list of non-empty strings")
            return []
        return list(value)

    def _matcher(self, path: tuple[str, ...], label: str, entry: dict[str, Any]) -> _Matcher:
        keywords = entry.get("keywords", {})
        by_lang: dict[str, list[str]] = {}
        if not isinstance(keywords, dict):
            self.bad(self.where.line(*path, "keywords"),
                     f"{label}: keywords must be {{ zh = [...], en = [...] }}")
            keywords = {}
        for key in sorted(set(keywords) - set(_LANGS)):
            self.bad(self.where.line(*path, "keywords", key),
                     f"{label}: unknown key {key!r} in keywords (use zh and en)")
        for lang in _LANGS:
            if lang in keywords:
                by_lang[lang] = self._strings((*path, "keywords", lang), label, keywords[lang])
        cjk: list[tuple[str, str]] = []
        word_res: list[tuple[re.Pattern[str], str]] = []
        for lang, words in by_lang.items():
            plain: list[str] = []
            for word in words:
                norm = _normalise(word)
                if _has_cjk(norm):
                    cjk.append(("".join(norm.split()), lang))
                else:
                    plain.append(norm)
            if plain:
                word_res.append((_word_regex(plain), lang))
        patterns = self._patterns(path, label, entry, "patterns")
        neg_patterns = self._patterns(path, label, entry, "negation_patterns")
        phrases = self._strings((*path, "negations"), label, entry.get("negations", []))
        negations = [_normalise(n) for n in phrases]
        neg_spaced = [_word_regex([n]) for n in negations]
        cjk_keywords = tuple(dict.fromkeys(cjk))
        return _Matcher(
            cjk_keywords=cjk_keywords, word_res=tuple(word_res), patterns=tuple(patterns),
            neg_compact=tuple(dict.fromkeys("".join(n.split()) for n in negations if _has_cjk(n))),
            neg_spaced=tuple(neg_spaced), neg_patterns=tuple(neg_patterns),
            cjk_any=re.compile("|".join(re.escape(kw) for kw, _ in cjk_keywords)) if cjk_keywords else None,
        )

    def _patterns(self, path: tuple[str, ...], label: str, entry: dict[str, Any],
                  key: str) -> list[re.Pattern[str]]:
        compiled = []
        for source in self._strings((*path, key), label, entry.get(key, [])):
            try:
                compiled.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:
                position = f" at position {exc.pos}" if exc.pos is not None else ""
                self.bad(self.where.line(*path, key, value=source),
                         f"{label}: bad pattern in {key} {source!r}: {exc.msg}{position}")
        return compiled


def _word_regex(words: Sequence[str]) -> re.Pattern[str]:
    """Whole-word alternation (longest first), so ``help me`` never matches ``helpme``-less text."""
    alts = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")


# --- normalising ---------------------------------------------------------------------

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]")


def _has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def _normalise(text: str) -> str:
    """ANSI and control characters out; NFKC; case-folded; white space collapsed."""
    text = _ANSI.sub(" ", text)
    text = "".join(
        " " if unicodedata.category(ch) == "Cc" else "" if unicodedata.category(ch) == "Cf" else ch
        for ch in text
    )
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalise(text: str) -> str:
    """The text as the rules and the opinion model read it (see the module docstring, step 1)."""
    return _normalise(text)


@dataclass(frozen=True)
class _Text:
    spaced: str
    compact: str

    @classmethod
    def of(cls, text: str) -> _Text:
        spaced = _normalise(text)
        return cls(spaced, spaced.replace(" ", ""))


# --- classifying ---------------------------------------------------------------------


def classify(text: str, rules: OpinionRules, lang: str | None = None,
             model: OpinionModel | None = None, vote: Vote | None = None) -> Opinion:
    """Classify one comment (raw or already redacted) by the rules and, if given, the model.

    ``lang`` is the comment's or the account's language when known (``zh``/``en``): keywords
    from the other language's list then count half. Any emergency signal of the rules that is
    not negated makes the comment an ``emergency``, and so does a model emergency probability
    at or above the model's threshold. Otherwise the rules and the model vote (see
    :data:`RULE_VOTE`), a class that ``yields_to`` another class the rules matched dropping
    out as before. A comment neither recognises is labelled ``unmatched``; it takes the
    model's likeliest class (:data:`MODEL_LEAN`), or ``chatter``. ``vote`` overrides the
    vote's weights (:data:`VOTE`; cross-validation tries others).
    """
    if lang not in _LANGS:
        lang = None  # unknown or mixed: every keyword counts in full
    t = _Text.of(text)
    personal = has_personal_data(text)
    score = _scores(t, personal, rules, lang)
    matched = [c for c in CLASS_ORDER if score[c] > 0]
    probability: float | None = None
    if model is None:
        primary = _primary(matched, score, rules)
        fired = RULES if matched else ""
        extra: list[str] = []
    else:
        p = model.probabilities(t.spaced)
        probability = round(p[EMERGENCY], 4)
        primary, fired, extra = _vote(matched, score, rules, p, model.threshold, vote)
    labels = [c for c in matched if c != primary]
    labels += [c for c in extra if c != primary and c not in labels]
    for flag in FLAGS:
        if flag == "has_personal_data":
            if personal:
                labels.append(flag)
        elif flag == "unmatched":
            if not fired:
                labels.append(flag)
        elif flag in rules.flags and rules.flags[flag].hits(t, None):
            labels.append(flag)
    klass = rules.classes[primary]
    log.debug("comment classified %s by %s (scores %s, p %s)", primary, fired or "nobody",
              {c: s for c, s in score.items() if s}, probability)
    return Opinion(klass=primary, labels=tuple(labels), needs_reply=klass.needs_reply, score=score,
                   fired=fired, probability=probability)


def _scores(t: _Text, personal: bool, rules: OpinionRules, lang: str | None) -> dict[str, float]:
    """Each class's rule score: its weight × its hits (personal data counts for privacy)."""
    score: dict[str, float] = {}
    for code, klass in rules.classes.items():
        total = sum(h.weight for h in klass.matcher.hits(t, lang))
        if code == "privacy" and personal:
            total += PERSONAL_DATA_WEIGHT
        score[code] = round(total * klass.weight, 3)
    return score


def rule_scores(text: str, rules: OpinionRules, lang: str | None = None) -> dict[str, float]:
    """The rules' score of each class for one comment, as :func:`classify` computes it."""
    t = _Text.of(text)
    return _scores(t, has_personal_data(text), rules, lang if lang in _LANGS else None)


def vote_class(score: Mapping[str, float], rules: OpinionRules, p: Mapping[str, float],
               threshold: float, vote: Vote | None = None) -> str:
    """The class :func:`classify` gives a comment from its rule scores and model probabilities."""
    matched = [c for c in CLASS_ORDER if score[c] > 0]
    return _vote(matched, score, rules, p, threshold, vote)[0]


def _primary(matched: list[str], score: Mapping[str, float], rules: OpinionRules) -> str:
    if EMERGENCY in matched:
        return EMERGENCY
    present = set(matched)
    eligible = [c for c in matched if not rules.classes[c].yields_to & present] or matched
    if not eligible:
        return FALLBACK
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    return max(eligible, key=lambda c: (score[c], -order[c]))


def _vote(matched: list[str], score: Mapping[str, float], rules: OpinionRules,
          p: Mapping[str, float], threshold: float, vote: Vote | None = None
          ) -> tuple[str, str, list[str]]:
    """(class, who recognised it, the model's own class as an extra label) from both."""
    rule_vote, lean_at = vote or VOTE
    by_rules = EMERGENCY in matched
    by_model = p[EMERGENCY] >= threshold
    if by_rules or by_model:
        return EMERGENCY, BOTH if by_rules and by_model else RULES if by_rules else MODEL, []
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    present = set(matched)
    eligible = [c for c in matched if not rules.classes[c].yields_to & present] or matched
    total = sum(score[c] for c in eligible)
    candidates = [c for c in CLASS_ORDER if c != EMERGENCY and not rules.classes[c].yields_to & present]
    combined = {c: p[c] + (rule_vote * score[c] / total if c in eligible and total else 0.0)
                for c in candidates}
    primary = max(combined, key=lambda c: (combined[c], -order[c]))
    model_top = max((c for c in CLASS_ORDER if c != EMERGENCY), key=lambda c: (p[c], -order[c]))
    model_sure = p[model_top] >= MODEL_SURE
    if not matched and not model_sure:  # neither knows it: a person should read it
        return primary if p[model_top] >= lean_at else FALLBACK, "", []
    rules_say, model_says = primary in present, model_sure and primary == model_top
    fired = BOTH if rules_say and model_says else RULES if rules_say else MODEL if model_says else ""
    if not fired:  # the vote chose a class neither holds on its own: the model's lean decides
        fired = MODEL
    return primary, fired, [model_top] if model_sure else []


# --- evaluation ----------------------------------------------------------------------


def evaluate(rows: Iterable[tuple[str, str, str]], rules: OpinionRules,
             model: OpinionModel | None = None) -> dict[str, dict[str, float]]:
    """Per-class precision, recall and support of :func:`classify` on labelled rows.

    ``rows`` are ``(text, lang, expected_class)``. The result maps each class code to
    ``{"precision", "recall", "support", "predicted"}`` and ``"overall"`` to
    ``{"accuracy", "support"}``. A class never predicted has precision 0.0; one with no
    rows has recall 0.0.
    """
    support = dict.fromkeys(CLASS_ORDER, 0)
    predicted = dict.fromkeys(CLASS_ORDER, 0)
    correct = dict.fromkeys(CLASS_ORDER, 0)
    n = 0
    for i, (text, lang, expected) in enumerate(rows, 1):
        if expected not in support:
            raise InputError(f"row {i}: unknown class {expected!r} (known: {', '.join(CLASS_ORDER)})")
        got = classify(text, rules, lang or None, model).klass
        n += 1
        support[expected] += 1
        predicted[got] += 1
        if got == expected:
            correct[expected] += 1
    result: dict[str, dict[str, float]] = {}
    for code in CLASS_ORDER:
        result[code] = {
            "precision": correct[code] / predicted[code] if predicted[code] else 0.0,
            "recall": correct[code] / support[code] if support[code] else 0.0,
            "support": float(support[code]),
            "predicted": float(predicted[code]),
        }
    result["overall"] = {"accuracy": sum(correct.values()) / n if n else 0.0, "support": float(n)}
    return result
