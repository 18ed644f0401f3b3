"""The content library as loaded: tips, categories, campaigns, the blocklist and the
platform templates (:class:`Library`), and the problems found while loading them.

Layout of ``content/`` (read by :mod:`outreach.library.load`):

- ``tips/*.toml``        ``[[tip]]`` entries — the only files read as tips
- ``categories.toml``    ``[[category]]`` code / zh / en (codes nest: ``fraud.task``)
- ``calendar.toml``      ``[[campaign]]`` date windows (solar or lunar) → category weights
- ``templates/*.j2``     one wrapper per platform (``weibo.j2``, ``mastodon.j2``, ``local.j2``)
- ``blocklist.txt``      words never to publish (matched after width/case/space folding)

Problems are collected, not raised one at a time, so ``content check`` can list
them all as ``file:line: id: key: problem``; a tip with an error is never drawn.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import lunardate

from outreach.errors import NotFound
from outreach.i18n import _
from outreach.library.render import Renderer


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    tip_id: str
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.tip_id or '-'}: {self.message}"


@dataclass(frozen=True)
class TipImage:
    """A picture a tip names: its file (relative to ``content/``), alt text, and the SHA-256
    of the file's bytes when the library was loaded (what an approval is bound to)."""

    file: str
    alt: str
    sha256: str


@dataclass(frozen=True)
class TipDef:
    id: str
    category: str
    lang: str
    title: str
    text: str
    source: str
    file: str
    line: int
    variants: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    months: tuple[int, ...] = ()
    valid_until: date | None = None
    review_by: date | None = None
    author: str | None = None
    images: tuple[TipImage, ...] = ()
    variant_images: tuple[tuple[TipImage, ...] | None, ...] = ()
    """Per variant (1 …): its own pictures, or None where it shows the tip's."""

    @property
    def texts(self) -> tuple[str, ...]:
        """The main text and its variants; variant n is ``texts[n]``."""
        return (self.text, *self.variants)

    def images_for(self, variant: int) -> tuple[TipImage, ...]:
        """The pictures variant ``variant`` carries (a variant's own replace the tip's)."""
        if variant > 0 and variant - 1 < len(self.variant_images):
            own = self.variant_images[variant - 1]
            if own is not None:
                return own
        return self.images

    @property
    def has_images(self) -> bool:
        return bool(self.images) or any(v for v in self.variant_images)

    @cached_property
    def text_hash(self) -> str:
        """What an approval is bound to: everything that reaches the public (the pictures'
        bytes and alt texts too, when the tip has any)."""
        h = hashlib.sha256()
        for part in (self.title, *self.texts, "\x1f".join(self.tags)):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        if self.has_images:
            for variant in range(len(self.texts)):
                for image in self.images_for(variant):
                    h.update(f"{variant}\x1f{image.file}\x1f{image.sha256}\x1f{image.alt}"
                             .encode())
                    h.update(b"\x1e")
        return h.hexdigest()

    def in_season(self, day: date) -> bool:
        return not self.months or day.month in self.months

    def expired(self, day: date) -> bool:
        return self.valid_until is not None and day > self.valid_until


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Campaign:
    id: str
    name_zh: str
    name_en: str
    calendar: str  # solar | lunar
    start: tuple[int, int]
    end: tuple[int, int]
    weights: Mapping[str, float]

    def window(self, year: int) -> tuple[date, date]:
        """The solar dates the campaign covers when it starts in (solar or lunar) ``year``."""
        wraps = self.end < self.start
        return (_to_solar(self.calendar, year, *self.start),
                _to_solar(self.calendar, year + 1 if wraps else year, *self.end))

    def active(self, day: date) -> bool:
        for year in (day.year - 1, day.year):
            try:
                start, end = self.window(year)
            except ValueError:
                continue
            if start <= day <= end:
                return True
        return False


def _to_solar(calendar: str, year: int, month: int, day: int) -> date:
    if calendar == "solar":
        if month == 2 and day == 29:
            try:
                return date(year, 2, 29)
            except ValueError:
                return date(year, 2, 28)
        return date(year, month, day)
    try:
        solar: date = lunardate.LunarDate(year, month, day).to_solar_date()
    except ValueError:
        # lunar day 30 of a 29-day month means the month's last day
        solar = lunardate.LunarDate(year, month, day - 1).to_solar_date()
    return solar


def category_matches(slot_category: str, tip_category: str) -> bool:
    """A slot category ``fraud`` takes ``fraud`` and every ``fraud.*``."""
    return tip_category == slot_category or tip_category.startswith(slot_category + ".")


def normalise_for_blocklist(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class Library:
    root: Path
    tips: dict[str, TipDef] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    campaigns: list[Campaign] = field(default_factory=list)
    blocklist: tuple[str, ...] = ()
    templates: dict[str, str] = field(default_factory=dict)
    broken_templates: dict[str, str] = field(default_factory=dict)  # platform → the problem
    blocklist_error: str | None = None  # set when blocklist.txt cannot be read: fail closed
    problems: list[Problem] = field(default_factory=list)
    _active: dict[date, list[Campaign]] = field(default_factory=dict, repr=False)
    _weights: dict[tuple[str, date], float] = field(default_factory=dict, repr=False)
    _by_lang: dict[str, list[TipDef]] = field(default_factory=dict, repr=False)
    _matching: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict, repr=False)
    prepared_images: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)
    """Tip pictures already prepared into the media store (``library.media``)."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @cached_property
    def broken_tips(self) -> frozenset[str]:
        return frozenset(p.tip_id for p in self.errors if p.tip_id)

    def tip(self, tip_id: str) -> TipDef:
        try:
            return self.tips[tip_id]
        except KeyError:
            raise NotFound(_("unknown tip {tip_id!r}").format(tip_id=tip_id)) from None

    def tips_in(self, lang: str) -> list[TipDef]:
        """The tips in one language, in library order (cached)."""
        tips = self._by_lang.get(lang)
        if tips is None:
            tips = self._by_lang[lang] = [t for t in self.tips.values() if t.lang == lang]
        return tips

    def matching_categories(self, slot_categories: tuple[str, ...]) -> frozenset[str] | None:
        """The tip categories a slot's categories take (None: any category)."""
        if not slot_categories:
            return None
        codes = self._matching.get(slot_categories)
        if codes is None:
            known = set(self.categories) | {t.category for t in self.tips.values()}
            codes = self._matching[slot_categories] = frozenset(
                c for c in known if any(category_matches(s, c) for s in slot_categories))
        return codes

    def campaign_weight(self, tip_category: str, day: date) -> float:
        """The strongest boost any active campaign gives this category (1.0: none)."""
        key = (tip_category, day)
        weight = self._weights.get(key)
        if weight is None:
            weight = 1.0
            for c in self.active_campaigns(day):
                for code, w in c.weights.items():
                    if category_matches(code, tip_category):
                        weight = max(weight, w)
            self._weights[key] = weight
        return weight

    def active_campaigns(self, day: date) -> list[Campaign]:
        active = self._active.get(day)
        if active is None:
            active = self._active[day] = [c for c in self.campaigns if c.active(day)]
        return active

    def blocked_word(self, text: str) -> str | None:
        if self.blocklist_error:  # an unreadable blocklist refuses everything, never nothing
            return self.blocklist_error
        norm = normalise_for_blocklist(text)
        for word in self.blocklist:
            if word and word in norm:
                return word
        return None

    @cached_property
    def renderer(self) -> Renderer:
        return Renderer(self.templates, self.broken_templates)
