"""Rendering: the sandboxed, bounded Jinja2 environment every tip and platform template
goes through (:class:`Renderer`).
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from outreach.errors import ContentError
from outreach.i18n import _

MAX_RENDERED = 10_000  # characters: a template that renders more is refused
# Bounds checked *while* a template renders, so a runaway one stops in milliseconds
# instead of running for hours or taking gigabytes before the size cap could look:
MAX_WORK = 100_000  # loop iterations and calls, all of one render together
MAX_VALUE = 100_000  # characters (or items) of any value built along the way
MAX_EMITTED = 200_000  # characters written anywhere: the output, macros, set blocks
MAX_NUMBER_ARG = 1_000_000  # a bigger int given to a call or filter is refused (widths, counts)
MAX_INT_BITS = 100_000  # about 30,000 digits

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
    return ContentError(_("{what} is over the size cap of {MAX_VALUE} characters while rendering").format(
        what=what, MAX_VALUE=MAX_VALUE))


def _charge_work(n: int = 1) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.work += n
    if budget.work > MAX_WORK:
        raise ContentError(_("rendering stopped after {MAX_WORK} loop iterations and calls (a loop or "
                             "macro runs away)").format(
            MAX_WORK=MAX_WORK))


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
        raise ContentError(_("number {value} is too large here (at most {MAX_NUMBER_ARG})").format(
            value=value if value.bit_length() < 64 else '(huge)', MAX_NUMBER_ARG=MAX_NUMBER_ARG))


def _check_format(fmt: str) -> None:
    for m in _FORMAT_NUMBERS.finditer(fmt):
        numbers = [g for g in m.groups()[:2] if g] + re.findall(r"\d+", m.group(3) or "")
        if any(len(n) > 7 or int(n) > MAX_VALUE for n in numbers):
            raise _too_big(_("a format width"))


def _projected(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse before the call the few operations whose result can dwarf their inputs."""
    if name == "join" and isinstance(value, list | tuple):
        sep = args[0] if args and isinstance(args[0], str) else kwargs.get("d", "")
        if _weight(value) + len(sep if isinstance(sep, str) else "") * len(value) > MAX_VALUE:
            raise _too_big(_("a joined text"))
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = value.count(old) if old else len(value) + 1
            if len(value) + count * max(len(new) - len(old), 0) > MAX_VALUE:
                raise _too_big(_("a replaced text"))
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        if isinstance(width, int) and len(value) + value.count("\n") * abs(width) > MAX_VALUE:
            raise _too_big(_("an indented text"))
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
            raise ContentError(_("template output is over {MAX_EMITTED} characters while rendering (a "
                                 "loop or macro writes too much)").format(
                MAX_EMITTED=MAX_EMITTED))
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
                raise ContentError(_("range of {size} items is over the loop limit of {MAX_WORK}").format(
                    size=size, MAX_WORK=MAX_WORK))
        for a in (*args, *kwargs.values()):
            _check_number(a)
        if __obj is __self.globals.get("lipsum"):
            n = args[0] if args else kwargs.get("n", 5)
            if isinstance(n, int) and n > 100:
                raise ContentError(_("lipsum(n={n}) is over 100 paragraphs").format(n=n))
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
                raise ContentError(_("number too large while rendering"))
            return
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > 0 and (
                    n > MAX_VALUE or _weight(seq) * n > MAX_VALUE):
                raise _too_big(_("a repeated text"))
    elif operator == "**" and ints and right > 0:
        if abs(left) > 1 and abs(left).bit_length() * right > MAX_INT_BITS:
            raise ContentError(_("number too large while rendering"))
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            if _weight(left) + _weight(right) > MAX_VALUE:
                raise _too_big(_("a joined text"))
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
        self._names: dict[str, frozenset[str] | None] = {}

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
            raise ContentError(_("rendered text is over the size cap of {MAX_RENDERED} characters").format(
                MAX_RENDERED=MAX_RENDERED))
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
                        _("rendered text is over the size cap of {MAX_RENDERED} characters").format(
                            MAX_RENDERED=MAX_RENDERED))
                parts.append(part)
            return "".join(parts)
        except RecursionError:
            raise ContentError(_("template recursion is too deep (a macro calls itself without "
                                 "end)")) from None
        except jinja2.UndefinedError as exc:
            raise ContentError(_("undefined template variable: {message}").format(
                message=exc.message)) from None
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(_("template syntax error (line {lineno}): {message}").format(
                lineno=exc.lineno, message=exc.message)) from None
        except jinja2.exceptions.SecurityError as exc:
            raise ContentError(_("template not allowed: {exc}").format(exc=exc)) from None
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise ContentError(_("template error: {exc}").format(exc=exc)) from None
        finally:
            _budget.reset(token)

    def wrapper_names(self, platform: str) -> frozenset[str] | None:
        """The variables the platform's template reads (None: unknown, it does not parse)."""
        names = self._names.get(platform)
        if names is None and platform not in self._names:
            source = self.platform_templates.get(platform)
            try:
                names = (frozenset(jinja2.meta.find_undeclared_variables(self.env.parse(source)))
                         if source is not None else frozenset())
            except jinja2.TemplateError:
                names = None
            self._names[platform] = names
        return names

    def wrap(self, platform: str, body: str, *, title: str, tags: Iterable[str],
             variables: Mapping[str, Any], share_url: str = "") -> str:
        """Put a text into the platform's template."""
        if platform in self.broken:  # never post without the wrapper the team wrote
            raise ContentError(_("the platform template is broken ({value})").format(
                value=self.broken[platform]))
        source = self.platform_templates.get(platform)
        if source is None:
            return body
        context = dict(variables)
        context.update(title=title, text=body, tags=list(tags), share_url=share_url)
        return self.render_string(source, context)
