"""民意分析: what the public's comments of a period talk about, beside the previous period.

Words come from the stored (redacted) texts: Chinese is split by jieba, English by a plain
tokenizer (letters, lower-cased); a word counts once per comment; one-character Chinese
words, English words under three letters, numbers, redaction marks (``[手机号]``) and the
words of ``content/stopwords.txt`` are left out; jieba keeps the words of
``content/words.txt`` (and the places) whole. Places are the names (and their aliases)
listed in ``content/places.txt``, matched in the text (and counted there, not as words).
Spam and abuse never make a concern.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import jieba

from outreach.reports.figures import instant
from outreach.reports.model import Analysis, ClassConcerns, Concern, Example, Place
from outreach.states import OpinionClass

jieba.setLogLevel(logging.WARNING)  # its dictionary loading is otherwise logged to stderr

STOPWORDS_FILE = "stopwords.txt"
PLACES_FILE = "places.txt"
WORDS_FILE = "words.txt"
TOP_WORDS = 10  # the report layout's 高频关键词 Top10
TOP_PER_CLASS = 5
EXAMPLES = 5
EXAMPLE_CHARS = 140
LEFT_OUT = frozenset({OpinionClass.SPAM_ABUSE})

_MARK = re.compile(r"\[[^\[\]]{1,20}\]")  # what redaction put in place of a number
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")

Row = tuple[int, str, datetime, str]  # id, class, created_at, text


@dataclass(frozen=True)
class Lexicon:
    """The stop list, the words to keep whole and the places (canonical name → the names it
    is written as)."""

    stopwords: frozenset[str]
    places: tuple[tuple[str, tuple[str, ...]], ...]
    whole: tuple[str, ...] = ()

    @property
    def place_names(self) -> frozenset[str]:
        return frozenset(n.lower() for _, names in self.places for n in names)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def load_lexicon(content_dir: Path) -> Lexicon:
    """``stopwords.txt`` and ``words.txt`` (one word a line) and ``places.txt`` (``name,
    alias, …`` a line); ``#`` starts a comment. A missing file is an empty list."""
    stop = frozenset(w.lower() for w in _lines(content_dir / STOPWORDS_FILE))
    places = []
    for line in _lines(content_dir / PLACES_FILE):
        names = tuple(n.strip() for n in line.split(",") if n.strip())
        if names:
            places.append((names[0], names))
    return Lexicon(stop, tuple(places), tuple(_lines(content_dir / WORDS_FILE)))


@cache
def _tokenizer(whole: tuple[str, ...]) -> jieba.Tokenizer:
    """A jieba tokenizer that keeps these words whole (built once per list)."""
    tk = jieba.Tokenizer()
    for name in whole:
        if _HAN.search(name):
            tk.add_word(name)
    return tk


def words(text: str, lex: Lexicon) -> set[str]:
    """The words of one comment worth counting (each once)."""
    text = _MARK.sub(" ", text)
    tk = _tokenizer((*lex.whole, *(n for _, names in lex.places for n in names)))
    out: set[str] = set()
    for run in _HAN_RUN.findall(text):
        out.update(w for w in tk.lcut(run) if len(w) >= 2)
    latin = _HAN_RUN.sub(" ", text).lower()
    out.update(w for w in _LATIN_WORD.findall(latin) if len(w) >= 3)
    return out - lex.stopwords - lex.place_names


def places_in(text: str, lex: Lexicon) -> set[str]:
    lowered = text.lower()
    return {place for place, names in lex.places
            if any((n in text) if _HAN.search(n) else
                   re.search(rf"\b{re.escape(n.lower())}\b", lowered) for n in names)}


def _concerns(now: Counter[str], before: Counter[str], top: int) -> list[Concern]:
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Concern(word=w, count=n, previous=before[w], change=n - before[w]) for w, n in ranked]


def _count(rows: Iterable[Row], lex: Lexicon) -> tuple[Counter[str], dict[str, Counter[str]],
                                                       Counter[str], dict[int, set[str]]]:
    overall: Counter[str] = Counter()
    per: dict[str, Counter[str]] = {}
    places: Counter[str] = Counter()
    seen: dict[int, set[str]] = {}
    for cid, klass, _, text in rows:
        places.update(places_in(text, lex))
        if klass in LEFT_OUT:
            continue
        ws = words(text, lex)
        seen[cid] = ws
        overall.update(ws)
        per.setdefault(klass, Counter()).update(ws)
    return overall, per, places, seen


def analyse(rows: Sequence[Row], previous: Sequence[Row], lex: Lexicon,
            class_names: dict[str, str], order: Sequence[str]) -> Analysis:
    """The analysis of a period's comments (``rows``, newest first) against the previous
    period's."""
    overall, per, places, seen = _count(rows, lex)
    overall_before, per_before, places_before, _ = _count(previous, lex)
    keywords = _concerns(overall, overall_before, TOP_WORDS)
    sizes = Counter(klass for _, klass, _, _ in rows)
    rank = {c: i for i, c in enumerate(order)}
    by_class = [ClassConcerns.model_validate({
        "class": c, "name": class_names.get(c, c), "comments": sizes[c],
        "concerns": _concerns(per[c], per_before.get(c, Counter()), TOP_PER_CLASS)})
        for c in sorted(per, key=lambda c: (rank.get(c, len(rank)), c)) if per[c]]
    examples = []
    for concern in keywords[:EXAMPLES]:
        for cid, klass, created, text in rows:  # newest first: the latest mention
            if concern.word in seen.get(cid, ()):
                short = text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"
                examples.append(Example.model_validate({
                    "id": cid, "word": concern.word, "class": klass,
                    "created_at": instant(created), "text": short}))
                break
    return Analysis(
        comments=len(rows), previous_comments=len(previous), keywords=keywords,
        by_class=by_class,
        places=[Place(place=p, count=n, previous=places_before[p], change=n - places_before[p])
                for p, n in sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))],
        examples=examples,
    )
