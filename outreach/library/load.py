"""Loading the content library: every TOML file through the one loader
(:mod:`outreach.config.toml`), shapes checked by the models below, then what the values
mean (known categories, control characters, duplicate ids); plus the blocklist and the
platform templates.

Problems are collected on the :class:`~outreach.library.model.Library`, one line each:
``file:line: id: key: problem``. One bad tip or file never hides the others.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BeforeValidator, Field

from outreach.config.describe import type_name
from outreach.config.toml import (
    Day,
    NonBlank,
    Shape,
    TomlFile,
    TomlProblem,
    Unreadable,
    dotted,
    read_toml,
    shown_path,
    slug,
    slug_pattern,
)
from outreach.errors import ContentError
from outreach.i18n import _
from outreach.library.media import ImageShape, VariantShape, read_tip_image
from outreach.library.model import (
    Campaign,
    Category,
    Library,
    Problem,
    TipDef,
    TipImage,
    normalise_for_blocklist,
)
from outreach.library.texts import control_character
from outreach.media.images import ImageRejected

MAX_FILE_BYTES = 2_000_000
_ID_RE = slug_pattern(100)


# --- shapes --------------------------------------------------------------------------


def _month_day(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}-\d{2}", value):
        raise ValueError(_("must be \"MM-DD\", got {value!r}").format(value=value))
    month, day = int(value[:2]), int(value[3:])
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError(_("not a valid month-day: {value!r}").format(value=value))
    return month, day


def _names(value: Any) -> Any:
    return {"zh": value, "en": value} if isinstance(value, str) else value


MonthDay = Annotated[tuple[int, int], BeforeValidator(_month_day)]


class TipShape(Shape):
    id: Annotated[str, slug(100)]
    category: NonBlank
    lang: Literal["zh", "en"]
    text: NonBlank
    source: NonBlank = Field(description="the law, notice or agency the advice comes from")
    title: str = ""
    variants: list[Any] = Field(default=[], description="texts, or tables {text, images}")
    images: list[Any] = Field(default=[], description="pictures: [{ file, alt }]")
    tags: list[Annotated[str, Field(min_length=1)]] = []
    months: list[Annotated[int, Field(ge=1, le=12)]] = []
    valid_until: Day | None = None
    review_by: Day | None = None
    author: str | None = None


class TipFileShape(Shape):
    tip: list[Any] = Field(default=[], description="tips are [[tip]] tables")


class CategoryShape(Shape):
    code: NonBlank
    zh: NonBlank
    en: NonBlank


class CategoriesShape(Shape):
    category: list[Any] = []


class NamesShape(Shape):
    zh: str | None = None
    en: str | None = None


class CampaignShape(Shape):
    id: NonBlank
    name: Annotated[NamesShape, BeforeValidator(_names)] = NamesShape()
    calendar: Literal["solar", "lunar"] = "solar"
    start: MonthDay
    end: MonthDay
    categories: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)


class CalendarShape(Shape):
    campaign: list[Any] = []


# --- loading -------------------------------------------------------------------------


def load_library(root: Path) -> Library:
    """Read the whole library under ``root``; problems are collected on the result."""
    lib = Library(root=root)
    if not root.is_dir():
        raise ContentError(_("content folder not found"), where=str(root))
    _load_categories(lib)
    _load_calendar(lib)
    _load_blocklist(lib)
    _load_templates(lib)
    tips_dir = root / "tips"
    files = sorted(tips_dir.glob("*.toml")) if tips_dir.is_dir() else []
    if not files:
        lib.problems.append(Problem(shown_path(root, tips_dir), 0, "", _("no tip files (tips/*.toml)")))
    for path in files:
        _load_tip_file(lib, path)
    return lib


class _File:
    """One TOML file of the library being read: its problems go on the library."""

    def __init__(self, lib: Library, path: Path) -> None:
        self.lib = lib
        self.rel = shown_path(lib.root, path)
        self.toml: TomlFile | None = None
        try:
            self.toml = read_toml(path, MAX_FILE_BYTES)
        except Unreadable as exc:
            self.lib.problems.append(Problem(self.rel, exc.line or 0, "", exc.message))

    def bad(self, loc: tuple[str | int, ...], message: str, item_id: str = "",
            within: int = 0) -> None:
        """A problem at ``loc``; its key is named from ``within`` parts on (inside an entry)."""
        assert self.toml is not None
        self.report(self.toml.problem(loc, message), item_id, within)

    def report(self, problem: TomlProblem, item_id: str = "", within: int = 0) -> None:
        key = dotted(problem.loc[within:])
        message = f"{key}: {problem.problem}" if key else problem.problem
        self.lib.problems.append(Problem(self.rel, problem.line or 0, item_id, message))

    def entries(self, shape: type[Shape], key: str) -> list[Any]:
        """The entries of the file's ``[[key]]`` array, after checking the file's shape."""
        assert self.toml is not None
        _shape, problems = self.toml.validate(shape, self.toml.data)
        for p in problems:
            self.report(p)
        entries = self.toml.data.get(key, [])
        return entries if isinstance(entries, list) else []

    def entry(self, shape: type[Shape], loc: tuple[str | int, ...], value: Any,
              item_id: str = "") -> Any:
        """One entry checked against ``shape`` (None, with its problems reported, if wrong)."""
        assert self.toml is not None
        shaped, problems = self.toml.validate(shape, value, loc)
        for p in problems:
            self.report(p, item_id, within=2)
        return shaped


def _load_categories(lib: Library) -> None:
    path = lib.root / "categories.toml"
    if not path.exists():
        lib.problems.append(Problem(shown_path(lib.root, path), 0, "", _("missing categories.toml")))
        return
    f = _File(lib, path)
    if f.toml is None:
        return
    for i, entry in enumerate(f.entries(CategoriesShape, "category")):
        c = f.entry(CategoryShape, ("category", i), entry)
        if c is None:
            continue
        if c.code in lib.categories:
            f.bad(("category", i, "code"), _("duplicate category {code!r}").format(code=c.code), within=2)
        lib.categories[c.code] = Category(c.code, c.zh, c.en)
    for code in lib.categories:
        if "." in code and code.rsplit(".", 1)[0] not in lib.categories:
            lib.problems.append(Problem(f.rel, 0, "", _("category {code!r} has no parent category").format(
                code=code)))


def _load_calendar(lib: Library) -> None:
    path = lib.root / "calendar.toml"
    if not path.exists():
        return
    f = _File(lib, path)
    if f.toml is None:
        return
    for i, entry in enumerate(f.entries(CalendarShape, "campaign")):
        cid = entry.get("id", "") if isinstance(entry, dict) else ""
        c = f.entry(CampaignShape, ("campaign", i), entry, str(cid))
        if c is None:
            continue
        unknown = [code for code in c.categories if lib.categories and code not in lib.categories]
        for code in unknown:
            f.bad(("campaign", i, "categories", code), _("unknown category {code!r}").format(
                code=code), c.id,
                  within=2)
        if not unknown:
            lib.campaigns.append(Campaign(
                c.id, c.name.zh if c.name.zh is not None else c.id,
                c.name.en if c.name.en is not None else c.id, c.calendar, c.start, c.end,
                dict(c.categories)))


def _load_blocklist(lib: Library) -> None:
    path = lib.root / "blocklist.txt"
    if not path.exists():
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        rel = shown_path(lib.root, path)
        lib.problems.append(Problem(rel, 0, "", _("cannot read: {exc}").format(exc=exc)))
        lib.blocklist_error = f"{rel} cannot be read, so no text may go out until it is fixed"
        return
    words = []
    for raw in text.splitlines():
        s = raw.strip()
        if s and not s.startswith("#"):
            words.append(normalise_for_blocklist(s))
    lib.blocklist = tuple(sorted(set(words), key=len, reverse=True))


def _load_templates(lib: Library) -> None:
    tdir = lib.root / "templates"
    if not tdir.is_dir():
        return
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    for path in sorted(tdir.glob("*.j2")):
        rel = shown_path(lib.root, path)
        try:
            source = path.read_text(encoding="utf-8")
            env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            problem = f"template syntax: {exc.message}"
            lib.problems.append(Problem(rel, exc.lineno or 0, "", problem))
            lib.broken_templates[path.stem] = f"{rel}:{exc.lineno or 0}: {problem}"
            continue
        except (OSError, UnicodeDecodeError) as exc:
            lib.problems.append(Problem(rel, 0, "", _("cannot read: {exc}").format(exc=exc)))
            lib.broken_templates[path.stem] = f"{rel}: cannot read"
            continue
        lib.templates[path.stem] = source


def _load_tip_file(lib: Library, path: Path) -> None:
    f = _File(lib, path)
    if f.toml is None:
        return
    for i, entry in enumerate(f.entries(TipFileShape, "tip")):
        tip = _tip(f, i, entry)
        if tip is None:
            continue
        if tip.id in lib.tips:
            other = lib.tips[tip.id]
            f.bad(("tip", i, "id"), _("duplicate id (also {file}:{line})").format(
                file=other.file, line=other.line), tip.id,
                  within=2)
            continue
        lib.tips[tip.id] = tip


def _tip(f: _File, i: int, entry: Any) -> TipDef | None:
    assert f.toml is not None
    raw_id = entry.get("id") if isinstance(entry, dict) else None
    tip_id = raw_id if isinstance(raw_id, str) and _ID_RE.fullmatch(raw_id) else ""
    t = f.entry(TipShape, ("tip", i), entry, tip_id)
    if t is None:
        return None
    if t.category not in f.lib.categories:
        f.bad(("tip", i, "category"), _("unknown category {category!r}").format(
            category=t.category), tip_id, within=2)
        return None
    variants = _variants(f, i, t.variants, tip_id)
    images = _images(f, ("tip", i, "images"), t.images, tip_id)
    if variants is None or images is None:
        return None
    texts = [text for text, _ in variants]
    fields: list[tuple[tuple[str | int, ...], str]] = [(("title",), t.title), (("text",), t.text)]
    fields += [((("variants", n, "text") if isinstance(t.variants[n], dict) else
                 ("variants", n)), v) for n, v in enumerate(texts)]
    fields += [(("tags", n), v) for n, v in enumerate(t.tags)]
    for loc, value in fields:  # the raw field, so the position is where the author wrote it
        control = control_character(value)
        if control:  # loaded, so `content show` can show it, but broken: never drawn
            f.bad(("tip", i, *loc), _("has a {control}").format(control=control), tip_id, within=2)
    return TipDef(
        id=t.id, category=t.category, lang=t.lang, title=t.title.strip(),
        text=t.text.strip(), source=t.source.strip(), file=f.rel, line=f.toml.entry_line("tip", i) or 0,
        variants=tuple(v.strip() for v in texts), tags=tuple(t.tags),
        months=tuple(sorted(set(t.months))), valid_until=t.valid_until,
        review_by=t.review_by, author=t.author, images=images,
        variant_images=tuple(own for _, own in variants),
    )


def _variants(f: _File, i: int, raw: list[Any], tip_id: str
              ) -> list[tuple[str, tuple[TipImage, ...] | None]] | None:
    """A tip's variants: a text, or a table ``{ text, images }`` whose pictures replace the
    tip's (None: a problem was reported)."""
    out: list[tuple[str, tuple[TipImage, ...] | None]] = []
    ok = True
    for n, value in enumerate(raw):
        loc = ("tip", i, "variants", n)
        if isinstance(value, str):
            if not value.strip():
                f.bad(loc, _("is empty"), tip_id, within=2)
                ok = False
            out.append((value, None))
        elif isinstance(value, dict):
            v = f.entry(VariantShape, loc, value, tip_id)
            own = None if v is None or v.images is None else _images(
                f, (*loc, "images"), v.images, tip_id)
            if v is None or (v.images is not None and own is None):
                ok = False
                continue
            out.append((v.text, own))
        else:
            f.bad(loc, _("expected a string or a table {{ text, images }}, got {value}").format(
                value=type_name(value)), tip_id, within=2)
            ok = False
    return out if ok else None


def _images(f: _File, loc: tuple[str | int, ...], raw: list[Any],
            tip_id: str) -> tuple[TipImage, ...] | None:
    """Pictures as a tip or variant names them: each file read (inside ``content/``) and
    identified by its content, each with alt text (None: a problem was reported)."""
    out = []
    for n, value in enumerate(raw):
        image = f.entry(ImageShape, (*loc, n), value, tip_id)
        if image is None:
            return None
        try:
            sha, _data = read_tip_image(f.lib.root, image.file.strip())
        except ImageRejected as exc:
            f.bad((*loc, n, "file"), str(exc), tip_id, within=2)
            return None
        control = control_character(image.alt)
        if control:
            f.bad((*loc, n, "alt"), _("has a {control}").format(control=control), tip_id, within=2)
            return None
        out.append(TipImage(image.file.strip(), image.alt.strip(), sha))
    return tuple(out)
