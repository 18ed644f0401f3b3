"""The content library: load and validate tips, categories, campaigns and the
blocklist; render tips through a sandboxed Jinja2 environment.

Layout of ``content/``:

- ``tips/*.toml``        ``[[tip]]`` entries — the only files read as tips
- ``categories.toml``    ``[[category]]`` code / zh / en (codes nest: ``fraud.task``)
- ``calendar.toml``      ``[[campaign]]`` date windows (solar or lunar) → category weights
- ``templates/*.j2``     one wrapper per platform (``weibo.j2``, ``mastodon.j2``, ``local.j2``)
- ``blocklist.txt``      words never to publish (matched after width/case/space folding)

Problems are collected, not raised one at a time, so ``content check`` can list
them all as ``file:line: id: problem``; a tip with an error is never drawn.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
import lunardate
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from outreach.errors import ContentError

MAX_RENDERED = 10_000  # characters: a template that renders more is refused
# Bounds checked *while* a template renders, so a runaway one stops in milliseconds
# instead of running for hours or taking gigabytes before the size cap could look:
MAX_WORK = 100_000  # loop iterations and calls, all of one render together
MAX_VALUE = 100_000  # characters (or items) of any value built along the way
MAX_EMITTED = 200_000  # characters written anywhere: the output, macros, set blocks
MAX_NUMBER_ARG = 1_000_000  # a bigger int given to a call or filter is refused (widths, counts)
MAX_INT_BITS = 100_000  # about 30,000 digits
MAX_FILE_BYTES = 2_000_000
TIP_KEYS = {
    "id", "category", "lang", "title", "text", "variants", "tags", "months",
    "valid_until", "review_by", "source", "author",
}
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


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

    @property
    def texts(self) -> tuple[str, ...]:
        """The main text and its variants; variant n is ``texts[n]``."""
        return (self.text, *self.variants)

    @cached_property
    def text_hash(self) -> str:
        """What an approval is bound to: everything that reaches the public."""
        h = hashlib.sha256()
        for part in (self.title, *self.texts, "\x1f".join(self.tags)):
            h.update(part.encode("utf-8"))
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
        return lunardate.LunarDate(year, month, day).to_solar_date()
    except ValueError:
        # lunar day 30 of a 29-day month means the month's last day
        return lunardate.LunarDate(year, month, day - 1).to_solar_date()


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

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @cached_property
    def broken_tips(self) -> frozenset[str]:
        return frozenset(p.tip_id for p in self.errors if p.tip_id)

    def tip(self, tip_id: str) -> TipDef:
        from outreach.errors import NotFound

        try:
            return self.tips[tip_id]
        except KeyError:
            raise NotFound(f"unknown tip {tip_id!r}") from None

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


class _Budget:
    """What one render has used so far (see :class:`BoundedEnvironment`)."""

    __slots__ = ("work", "emitted")

    def __init__(self) -> None:
        self.work = 0
        self.emitted = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("render_budget",
                                                                        default=None)
# a number in a %-style or {}-style format spec: a width or precision
_FORMAT_NUMBERS = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d*)(?:\.(\d+))?|\{[^{}]*?:([^{}]*)\}")


def _too_big(what: str) -> ContentError:
    return ContentError(f"{what} is over the size cap of {MAX_VALUE} characters while rendering")


def _charge_work(n: int = 1) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.work += n
    if budget.work > MAX_WORK:
        raise ContentError(f"rendering stopped after {MAX_WORK} loop iterations and calls "
                           "(a loop or macro runs away)")


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters and items in a value, nested items counted each time they appear (what
    printing it would produce); stops counting once past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 1
    total = len(value)
    for item in (value.values() if isinstance(value, dict) else value):
        if total > limit:
            break
        if isinstance(item, (str, *_CONTAINERS)):
            total += _weight(item, limit - total)
    return total


def _check_size(value: Any, what: str = "a value") -> Any:
    if isinstance(value, (str, *_CONTAINERS)) and _weight(value) > MAX_VALUE:
        raise _too_big(what)
    return value


def _check_number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER_ARG:
        raise ContentError(f"number {value if value.bit_length() < 64 else '(huge)'} is too "
                           f"large here (at most {MAX_NUMBER_ARG})")


def _check_format(fmt: str) -> None:
    for m in _FORMAT_NUMBERS.finditer(fmt):
        numbers = [g for g in m.groups()[:2] if g] + re.findall(r"\d+", m.group(3) or "")
        if any(len(n) > 7 or int(n) > MAX_VALUE for n in numbers):
            raise _too_big("a format width")


def _projected(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse before the call the few operations whose result can dwarf their inputs."""
    if name == "join" and isinstance(value, list | tuple):
        sep = args[0] if args and isinstance(args[0], str) else kwargs.get("d", "")
        if _weight(value) + len(sep if isinstance(sep, str) else "") * len(value) > MAX_VALUE:
            raise _too_big("a joined text")
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = value.count(old) if old else len(value) + 1
            if len(value) + count * max(len(new) - len(old), 0) > MAX_VALUE:
                raise _too_big("a replaced text")
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        if isinstance(width, int) and len(value) + value.count("\n") * abs(width) > MAX_VALUE:
            raise _too_big("an indented text")
    elif name == "format" and isinstance(value, str):
        _check_format(value)


def _guard_filter(name: str, func: Any) -> Any:
    """A filter that checks its arguments and its result against the render's bounds."""
    passes = getattr(func, "jinja_pass_arg", None) is not None

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _charge_work()
        value_at = 1 if passes else 0
        rest = args[value_at + 1:]
        for a in (*rest, *kwargs.values()):
            _check_number(a)
        if len(args) > value_at:
            _projected(name, args[value_at], rest, kwargs)
        return _check_size(func(*args, **kwargs))

    return guarded


def _loop(iterable: Any) -> Any:
    """Every ``{% for %}`` iterates through this: each item costs one unit of work."""
    for item in iterable:
        _charge_work()
        yield item


def _emit(value: Any) -> Any:
    """Every piece of output, wherever it is written, is counted (macros and ``{% set %}``
    blocks buffer theirs, so the top-level output alone would see it too late)."""
    budget = _budget.get()
    if budget is not None:
        budget.emitted += len(value) if isinstance(value, str) else len(str(value))
        if budget.emitted > MAX_EMITTED:
            raise ContentError(f"template output is over {MAX_EMITTED} characters while "
                               "rendering (a loop or macro writes too much)")
    return value


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with bounds on work and size checked as the template runs.

    Loops and calls share a work budget (:data:`MAX_WORK`); ``*``, ``**``, ``+``, ``%`` and
    ``~`` refuse results over :data:`MAX_VALUE` before building them; calls and filters refuse
    huge numeric arguments and over-size results; every write to any output is counted
    (:data:`MAX_EMITTED`). The checks only run inside :meth:`Renderer.render_string`.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(_outreach_loop=_loop, _outreach_emit=_emit,
                            _outreach_value=lambda v: _check_size(v, "a joined text"))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)

        def wrap(node: Any, filter_name: str) -> nodes.Expr:
            return nodes.Filter(node, filter_name, [], [], None, None, lineno=node.lineno)

        for loop in tree.find_all(nodes.For):
            loop.iter = wrap(loop.iter, "_outreach_loop")
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [wrap(n, "_outreach_value") for n in concat.nodes]
        for out in tree.find_all(nodes.Output):
            out.nodes = [wrap(nodes.Const(n.data, lineno=n.lineno), "_outreach_emit")
                         if isinstance(n, nodes.TemplateData) else wrap(n, "_outreach_emit")
                         for n in out.nodes]
        return tree

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if _budget.get() is not None:
            _check_binop(operator, left, right)
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if _budget.get() is None:
            return super().call(__context, __obj, *args, **kwargs)
        _charge_work()
        if __obj is safe_range:
            try:
                size = len(range(*args))
            except (TypeError, ValueError, OverflowError):
                size = 0
            if size > MAX_WORK:
                raise ContentError(f"range of {size} items is over the loop limit of {MAX_WORK}")
        for a in (*args, *kwargs.values()):
            _check_number(a)
        if __obj is __self.globals.get("lipsum"):
            n = args[0] if args else kwargs.get("n", 5)
            if isinstance(n, int) and n > 100:
                raise ContentError(f"lipsum(n={n}) is over 100 paragraphs")
        bound = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        target = getattr(bound, "__self__", None)
        method = getattr(bound, "__name__", "")
        if isinstance(target, str):
            if method in ("format", "format_map"):
                _check_format(target)
            elif method == "join" and args and isinstance(args[0], list | tuple):
                _projected("join", args[0], (target,), {})
            elif method == "replace":
                _projected("replace", target, args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _check_binop(operator: str, left: Any, right: Any) -> None:
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
    if operator == "*":
        if ints:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise ContentError("number too large while rendering")
            return
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > 0 and (
                    n > MAX_VALUE or _weight(seq) * n > MAX_VALUE):
                raise _too_big("a repeated text")
    elif operator == "**" and ints and right > 0:
        if abs(left) > 1 and abs(left).bit_length() * right > MAX_INT_BITS:
            raise ContentError("number too large while rendering")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            if _weight(left) + _weight(right) > MAX_VALUE:
                raise _too_big("a joined text")
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


class Renderer:
    """Sandboxed Jinja2 that cannot change any object, StrictUndefined, autoescape off (it is
    plain text), size-capped, with work and size bounded while it renders
    (:class:`BoundedEnvironment`).

    Compiled templates are cached by source text, so rendering a tip twice costs one
    compilation.
    """

    def __init__(self, platform_templates: Mapping[str, str],
                 broken: Mapping[str, str] | None = None) -> None:
        self.env = BoundedEnvironment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self.platform_templates = dict(platform_templates)
        self.broken = dict(broken or {})
        self._cache: dict[str, jinja2.Template] = {}

    def compile(self, source: str) -> jinja2.Template:
        tpl = self._cache.get(source)
        if tpl is None:
            tpl = self.env.from_string(source)
            self._cache[source] = tpl
        return tpl

    def render_string(self, source: str, context: Mapping[str, Any]) -> str:
        """Render one template; any template problem becomes a ContentError."""
        if "{" not in source:  # no tag, expression or comment: rendering only fixes newlines
            out = source.replace("\r\n", "\n").replace("\r", "\n")
        else:
            out = self._render(source, context)
        if len(out) > MAX_RENDERED:
            raise ContentError(f"rendered text is over the size cap of {MAX_RENDERED} characters")
        return out.strip()

    def _render(self, source: str, context: Mapping[str, Any]) -> str:
        token = _budget.set(_Budget())
        try:
            parts: list[str] = []
            size = 0
            for part in self.compile(source).generate(**context):
                size += len(part)
                if size > MAX_RENDERED:  # stop now: the rest is never produced
                    raise ContentError(
                        f"rendered text is over the size cap of {MAX_RENDERED} characters")
                parts.append(part)
            return "".join(parts)
        except RecursionError:
            raise ContentError("template recursion is too deep (a macro calls itself "
                               "without end)") from None
        except jinja2.UndefinedError as exc:
            raise ContentError(f"undefined template variable: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(f"template syntax error (line {exc.lineno}): {exc.message}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise ContentError(f"template not allowed: {exc}") from None
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise ContentError(f"template error: {exc}") from None
        finally:
            _budget.reset(token)

    def wrap(self, platform: str, body: str, *, title: str, tags: Iterable[str],
             variables: Mapping[str, Any], share_url: str = "") -> str:
        """Put a text into the platform's template."""
        if platform in self.broken:  # never post without the wrapper the team wrote
            raise ContentError(f"the platform template is broken ({self.broken[platform]})")
        source = self.platform_templates.get(platform)
        if source is None:
            return body
        context = dict(variables)
        context.update(title=title, text=body, tags=list(tags), share_url=share_url)
        return self.render_string(source, context)


# --- loading -----------------------------------------------------------------------


def load_library(root: Path) -> Library:
    """Read the whole library under ``root``; problems are collected on the result."""
    lib = Library(root=root)
    if not root.is_dir():
        raise ContentError("content folder not found", where=str(root))
    _load_categories(lib)
    _load_calendar(lib)
    _load_blocklist(lib)
    _load_templates(lib)
    tips_dir = root / "tips"
    files = sorted(tips_dir.glob("*.toml")) if tips_dir.is_dir() else []
    if not files:
        lib.problems.append(Problem(_rel(root, tips_dir), 0, "", "no tip files (tips/*.toml)"))
    for path in files:
        _load_tip_file(lib, path)
    return lib


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read_toml(lib: Library, path: Path) -> tuple[dict[str, Any], list[str]] | None:
    rel = _rel(lib.root, path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            lib.problems.append(Problem(rel, 0, "", f"file is over {MAX_FILE_BYTES} bytes"))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        lib.problems.append(Problem(rel, 0, "", f"cannot read: {exc.strerror}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        lib.problems.append(Problem(rel, line, "", "not valid UTF-8"))
        return None
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as exc:
        from outreach.config.settings import toml_error

        message, line = toml_error(exc, text)
        lib.problems.append(Problem(rel, line, "", f"invalid TOML: {message}"))
        return None


def _entry_lines(lines: list[str], header: str) -> list[int]:
    return [i + 1 for i, line in enumerate(lines) if line.strip().startswith(header)]


def _load_categories(lib: Library) -> None:
    path = lib.root / "categories.toml"
    if not path.exists():
        lib.problems.append(Problem(_rel(lib.root, path), 0, "", "missing categories.toml"))
        return
    loaded = _read_toml(lib, path)
    if loaded is None:
        return
    data, lines = loaded
    rel = _rel(lib.root, path)
    starts = _entry_lines(lines, "[[category]]")
    for i, entry in enumerate(data.get("category", [])):
        line = starts[i] if i < len(starts) else 0
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry.get(k) for k in ("code", "zh", "en")
        ):
            lib.problems.append(Problem(rel, line, "", "a category needs code, zh and en strings"))
            continue
        code = entry["code"]
        if code in lib.categories:
            lib.problems.append(Problem(rel, line, "", f"duplicate category {code!r}"))
        lib.categories[code] = Category(code, entry["zh"], entry["en"])
    for code in lib.categories:
        if "." in code and code.rsplit(".", 1)[0] not in lib.categories:
            lib.problems.append(Problem(rel, 0, "", f"category {code!r} has no parent category"))


def _load_calendar(lib: Library) -> None:
    path = lib.root / "calendar.toml"
    if not path.exists():
        return
    loaded = _read_toml(lib, path)
    if loaded is None:
        return
    data, lines = loaded
    rel = _rel(lib.root, path)
    starts = _entry_lines(lines, "[[campaign]]")
    for i, entry in enumerate(data.get("campaign", [])):
        line = starts[i] if i < len(starts) else 0
        cid = entry.get("id", "") if isinstance(entry, dict) else ""
        try:
            lib.campaigns.append(_campaign(entry, lib.categories))
        except ValueError as exc:
            lib.problems.append(Problem(rel, line, str(cid), str(exc)))


def _campaign(entry: Any, categories: Mapping[str, Category]) -> Campaign:
    if not isinstance(entry, dict):
        raise ValueError("a campaign must be a table")
    unknown = set(entry) - {"id", "name", "calendar", "start", "end", "categories"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
    cid = entry.get("id")
    if not isinstance(cid, str) or not cid:
        raise ValueError("campaign needs an id")
    calendar = entry.get("calendar", "solar")
    if calendar not in ("solar", "lunar"):
        raise ValueError(f"calendar must be solar or lunar, got {calendar!r}")
    name = entry.get("name", {})
    if isinstance(name, str):
        name = {"zh": name, "en": name}
    start, end = (_month_day(entry.get(k), k) for k in ("start", "end"))
    weights = entry.get("categories")
    if not isinstance(weights, dict) or not weights:
        raise ValueError("campaign needs categories = { code = weight, ... }")
    for code, w in weights.items():
        if categories and code not in categories:
            raise ValueError(f"unknown category {code!r}")
        if isinstance(w, bool) or not isinstance(w, int | float) or w <= 0:
            raise ValueError(f"weight for {code!r} must be a positive number")
    return Campaign(cid, str(name.get("zh", cid)), str(name.get("en", cid)), calendar,
                    start, end, {k: float(v) for k, v in weights.items()})


def _month_day(value: Any, key: str) -> tuple[int, int]:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}-\d{2}", value):
        raise ValueError(f"{key} must be \"MM-DD\", got {value!r}")
    month, day = int(value[:2]), int(value[3:])
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError(f"{key} is not a valid month-day: {value!r}")
    return month, day


def _load_blocklist(lib: Library) -> None:
    path = lib.root / "blocklist.txt"
    if not path.exists():
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        rel = _rel(lib.root, path)
        lib.problems.append(Problem(rel, 0, "", f"cannot read: {exc}"))
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
        rel = _rel(lib.root, path)
        try:
            source = path.read_text(encoding="utf-8")
            env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            problem = f"template syntax: {exc.message}"
            lib.problems.append(Problem(rel, exc.lineno or 0, "", problem))
            lib.broken_templates[path.stem] = f"{rel}:{exc.lineno or 0}: {problem}"
            continue
        except (OSError, UnicodeDecodeError) as exc:
            lib.problems.append(Problem(rel, 0, "", f"cannot read: {exc}"))
            lib.broken_templates[path.stem] = f"{rel}: cannot read"
            continue
        lib.templates[path.stem] = source


def _load_tip_file(lib: Library, path: Path) -> None:
    loaded = _read_toml(lib, path)
    if loaded is None:
        return
    data, lines = loaded
    rel = _rel(lib.root, path)
    extra = set(data) - {"tip"}
    if extra:
        lib.problems.append(Problem(rel, 1, "", f"unknown top-level key(s): {', '.join(sorted(extra))}"
                                    " (tips are [[tip]] tables)"))
    entries = data.get("tip", [])
    if not isinstance(entries, list):
        lib.problems.append(Problem(rel, 1, "", "tip must be an array of tables ([[tip]])"))
        return
    starts = _entry_lines(lines, "[[tip]]")
    for i, entry in enumerate(entries):
        line = starts[i] if i < len(starts) else 0
        tip = _tip(lib, rel, line, entry)
        if tip is None:
            continue
        if tip.id in lib.tips:
            other = lib.tips[tip.id]
            lib.problems.append(Problem(rel, line, tip.id,
                                        f"duplicate id (also {other.file}:{other.line})"))
            continue
        lib.tips[tip.id] = tip


def _tip(lib: Library, rel: str, line: int, entry: Any) -> TipDef | None:
    def bad(message: str, tip_id: str = "") -> None:
        lib.problems.append(Problem(rel, line, tip_id, message))

    if not isinstance(entry, dict):
        bad("a tip must be a table")
        return None
    tip_id = entry.get("id")
    if not isinstance(tip_id, str) or not _ID_RE.fullmatch(tip_id):
        bad(f"id must be a slug (a-z, 0-9, '-'), got {tip_id!r}")
        return None
    ok = True
    unknown = set(entry) - TIP_KEYS
    if unknown:
        bad(f"unknown key(s): {', '.join(sorted(unknown))}", tip_id)
        ok = False
    for key in ("category", "lang", "text"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            bad(f"missing or empty {key}", tip_id)
            ok = False
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        bad("missing source (the law, notice or agency the advice comes from)", tip_id)
        ok = False
    if not ok:
        return None
    if entry["category"] not in lib.categories:
        bad(f"unknown category {entry['category']!r}", tip_id)
        ok = False
    if entry["lang"] not in ("zh", "en"):
        bad(f"lang must be zh or en, got {entry['lang']!r}", tip_id)
        ok = False
    title = entry.get("title", "")
    variants = entry.get("variants", [])
    tags = entry.get("tags", [])
    months = entry.get("months", [])
    if not isinstance(title, str):
        bad("title must be a string", tip_id)
        ok = False
    if not isinstance(variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
        bad("variants must be a list of non-empty strings", tip_id)
        ok = False
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        bad("tags must be a list of strings", tip_id)
        ok = False
    if not isinstance(months, list) or not all(
        isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in months
    ):
        bad("months must be a list of month numbers 1-12", tip_id)
        ok = False
    dates: dict[str, date | None] = {}
    for key in ("valid_until", "review_by"):
        value = entry.get(key)
        if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
            dates[key] = value
        else:
            bad(f"{key} must be a date (YYYY-MM-DD without quotes), got {value!r}", tip_id)
            ok = False
    author = entry.get("author")
    if author is not None and not isinstance(author, str):
        bad("author must be a string", tip_id)
        ok = False
    if not ok:
        return None
    from outreach.library.texts import control_character

    fields = [("title", title), ("text", entry["text"])]
    fields += [(f"variant {i}", v) for i, v in enumerate(variants, 1)]
    fields += [(f"tag {i}", t) for i, t in enumerate(tags, 1)]
    for label, value in fields:  # the raw field, so the position is where the author wrote it
        control = control_character(value)
        if control:  # loaded, so `content show` can show it, but broken: never drawn
            bad(f"{label} has a {control}", tip_id)
    return TipDef(
        id=tip_id, category=entry["category"], lang=entry["lang"], title=title.strip(),
        text=entry["text"].strip(), source=str(source).strip(), file=rel, line=line,
        variants=tuple(v.strip() for v in variants), tags=tuple(tags),
        months=tuple(sorted(set(months))), valid_until=dates["valid_until"],
        review_by=dates["review_by"], author=author,
    )
