"""Matching the rules' keywords, patterns and negations in a comment, and the text as the
rules and the model read it (what each key of ``content/opinions.toml`` means, and how a
comment is classified, is told in :mod:`outreach.opinions.classify`).

Most of a comment's time is spent here, so work that cannot change an answer is skipped: a
class's CJK keywords are looked for with one alternation, a pattern every match of which holds
a CJK character (or a letter a–z) is not tried on a comment without one, and a negation that
reaches back over a sentence (``[^。！？]{0,30}…``) is tried only where its phrase is.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PATTERN_WEIGHT = 2.0  # a pattern is a more specific signal than one keyword
FOREIGN_KEYWORD_FACTOR = 0.5  # keywords from the other language's list, when ``lang`` is given


# --- matching ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    view: str  # "compact" (no spaces; CJK keywords) or "spaced" (words, patterns)
    start: int
    end: int
    key: str  # what matched: the keyword, or the pattern's source
    weight: float
    pattern: bool = False


@dataclass(frozen=True)
class Matcher:
    """Compiled keywords, patterns and negations of one class or flag (see :meth:`build`)."""

    cjk_keywords: tuple[tuple[str, str], ...]  # (compact keyword, lang list it came from)
    word_res: tuple[tuple[re.Pattern[str], str], ...]  # one alternation per lang list
    patterns: tuple[re.Pattern[str], ...]
    neg_compact: tuple[str, ...]
    neg_spaced: tuple[re.Pattern[str], ...]
    neg_patterns: tuple[re.Pattern[str], ...] = ()
    # For each negation pattern, what must match somewhere for it to match (see _needed)
    neg_needed: tuple[re.Pattern[str] | None, ...] = ()
    # For each pattern, the script every match holds a character of (see _script_of)
    scripts: tuple[str, ...] = ()
    # One alternation of all CJK keywords: most comments have none of a class's keywords,
    # and one search says so faster than a find per keyword.
    cjk_any: re.Pattern[str] | None = None

    @classmethod
    def build(cls, keywords: Mapping[str, Sequence[str]], patterns: Sequence[re.Pattern[str]],
              negations: Sequence[str], negation_patterns: Sequence[re.Pattern[str]]) -> Matcher:
        """Compile one class's (or flag's) keywords by language, its compiled patterns, its
        negation phrases and its compiled negation patterns."""
        cjk: list[tuple[str, str]] = []
        word_res: list[tuple[re.Pattern[str], str]] = []
        for lang, words in keywords.items():
            plain: list[str] = []
            for word in words:
                norm = _normalise(word)
                if _has_cjk(norm):
                    cjk.append(("".join(norm.split()), lang))
                else:
                    plain.append(norm)
            if plain:
                word_res.append((_word_regex(plain), lang))
        phrases = [_normalise(n) for n in negations]
        cjk_keywords = tuple(dict.fromkeys(cjk))
        neg_spaced = tuple(_word_regex([n]) for n in phrases)
        return cls(
            cjk_keywords=cjk_keywords, word_res=tuple(word_res), patterns=tuple(patterns),
            neg_compact=tuple(dict.fromkeys("".join(n.split()) for n in phrases if _has_cjk(n))),
            neg_spaced=neg_spaced,
            neg_patterns=tuple(negation_patterns),
            neg_needed=tuple(_needed(p) for p in negation_patterns),
            scripts=tuple(_script_of(p) for p in patterns),
            cjk_any=re.compile("|".join(re.escape(kw) for kw, _ in cjk_keywords)) if cjk_keywords else None,
        )

    def hits(self, text: Text, lang: str | None) -> list[_Hit]:
        """Hits that are not inside a negation, one per distinct keyword or pattern."""
        negs: dict[str, list[tuple[int, int]]] = {}

        def free(view: str, span: tuple[int, int]) -> bool:
            # each view's negations are found when a hit in that view first needs them
            if view not in negs:
                if view == "compact":
                    seen = text.compact
                    found = [(m, m + len(p)) for p in self.neg_compact if p in seen
                             for m in _find_all(seen, p)]
                else:
                    seen = text.spaced
                    found = [m.span() for r in self.neg_spaced for m in r.finditer(seen)]
                found.extend(m.span() for r, need in zip(self.neg_patterns, self.neg_needed, strict=True)
                             if need is None or need.search(seen) for m in r.finditer(seen))
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
        present = {"": True, "cjk": text.cjk, "latin": text.latin}
        for pattern, script in zip(self.patterns, self.scripts or [""] * len(self.patterns), strict=True):
            if not present[script]:
                continue  # it needs characters of a script the comment has none of
            for m in pattern.finditer(text.spaced):
                if free("spaced", m.span()):
                    found.setdefault("re:" + pattern.pattern, _Hit(
                        "spaced", m.start(), m.end(), pattern.pattern, PATTERN_WEIGHT, True))
                    break
        return _drop_nested(list(found.values()))


_PARSER: Any = importlib.import_module("re._parser")  # the one re compiles with
_LATIN = re.compile(r"[a-z]")


def _is_cjk(ch: str) -> bool:
    return _CJK.match(ch) is not None


def _is_latin(ch: str) -> bool:
    return "a" <= ch.casefold() <= "z" and len(ch.casefold()) == 1


def _script_of(pattern: re.Pattern[str]) -> str:
    """``cjk`` when every match of the pattern holds a CJK character, ``latin`` when every match
    holds a letter a–z, else ``""``: a comment without any such character cannot match it."""
    try:
        parsed = _PARSER.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - a pattern re compiled; if its parser changes, skip nothing
        return ""
    for script, is_script in (("cjk", _is_cjk), ("latin", _is_latin)):
        if _needs(list(parsed), is_script):
            return script
    return ""


def _needs(items: list[Any], is_script: Callable[[str], bool]) -> bool:
    """True if every string the parsed sequence ``items`` matches holds a character of the script."""
    return any(_item_needs(str(op), av, is_script) for op, av in items)


def _item_needs(op: str, av: Any, is_script: Callable[[str], bool]) -> bool:
    if op == "LITERAL":
        return is_script(chr(av))
    if op == "IN":
        members = [(str(o), a) for o, a in av]
        return bool(members) and all(
            (o == "LITERAL" and is_script(chr(a)))
            or (o == "RANGE" and a[1] - a[0] < 0x10000
                and all(is_script(chr(c)) for c in range(a[0], a[1] + 1)))
            for o, a in members)
    if op == "BRANCH":
        return all(_needs(list(branch), is_script) for branch in av[1])
    if op == "SUBPATTERN":
        return _needs(list(av[3]), is_script)
    if op == "ATOMIC_GROUP":
        return _needs(list(av), is_script)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return av[0] >= 1 and _needs(list(av[2]), is_script)
    return False  # anything else may match without such a character


_LEADING_WINDOW = re.compile(r"\[(?:\\.|[^\]\\])+\](?:\{0,\d+\}|\*)")


def _needed(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """For a pattern that opens with a window of any characters of a class (``[^。！？]{0,30}…``,
    as the negations that reach back over a sentence do), the rest of it: the pattern matches
    only where the rest does, and the rest is found without trying the window at every
    position — most comments have none of those phrases. None: nothing to skip."""
    m = _LEADING_WINDOW.match(pattern.pattern)
    if m is None or m.end() == len(pattern.pattern):
        return None
    try:
        return re.compile(pattern.pattern[m.end():], pattern.flags)
    except re.error:
        return None


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
    """The text as the rules and the opinion model read it (:mod:`outreach.opinions.classify`, step 1)."""
    return _normalise(text)


@dataclass(frozen=True)
class Text:
    spaced: str
    compact: str
    cjk: bool = True  # has a CJK character
    latin: bool = True  # has a letter a–z

    @classmethod
    def of(cls, text: str) -> Text:
        spaced = _normalise(text)
        return cls(spaced, spaced.replace(" ", ""), _has_cjk(spaced), _LATIN.search(spaced) is not None)
