"""The one TOML loader: read a file, parse it, check its shape, name the line of a mistake.

config.toml, the content library's TOML files and opinions.toml are all read here:
:func:`read_toml` (bytes → :class:`TomlFile`, refusing an unreadable, oversized, non-UTF-8
or invalid file with :class:`Unreadable`), then :meth:`TomlFile.validate` checks a table
against a pydantic model (``extra="forbid"``, strict) and turns every validation error into
a :class:`TomlProblem` — the dotted key, the line it is on and the problem, in one line.

The locator (:class:`KeyLines`) scans the text once and remembers the line of every key,
table, array-of-tables entry and array value, so a key nested anywhere (``[accounts.gz]
max_length``, the third ``[[tip]]``'s ``variants[2]``, a key inside an inline table) is
found where the author wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import tomli
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from outreach.config.describe import describe
from outreach.i18n import _

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class Shape(BaseModel):
    """Base of every TOML shape: unknown keys refused, no coercion, read-only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_("is empty"))
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]


def slug_pattern(limit: int) -> re.Pattern[str]:
    """A name people type and files refer to: lower-case a-z, 0-9 and '-', at most ``limit``."""
    return re.compile(rf"[a-z0-9][a-z0-9-]{{0,{limit - 1}}}")


def slug(limit: int) -> AfterValidator:
    pattern = slug_pattern(limit)

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(_("must be a slug (a-z, 0-9, '-'), got {value!r}").format(value=value))
        return value

    return AfterValidator(check)


def _day(value: Any) -> Any:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(_("must be a date (YYYY-MM-DD without quotes), got {value!r}").format(value=value))
    return value


Day = Annotated[date, BeforeValidator(_day)]
"""A string with something besides white space in it."""


class Unreadable(Exception):
    """The file cannot be read or parsed; ``line`` is where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class TomlProblem:
    """One mistake: ``line`` (None: the file as a whole), where in the data (``loc``) and
    the problem."""

    line: int | None
    loc: Loc
    problem: str

    @property
    def key(self) -> str:
        """The dotted key (``accounts.a.slots[0].cron``)."""
        return dotted(self.loc)

    @property
    def message(self) -> str:
        return f"{self.key}: {self.problem}" if self.key else self.problem

    def where(self, name: str) -> str:
        """``name:line`` (or ``name``), for an error's ``where``."""
        return f"{name}:{self.line}" if self.line else name


def dotted(loc: Iterable[str | int]) -> str:
    """``('accounts', 'a', 'slots', 0, 'cron')`` → ``accounts.a.slots[0].cron``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- reading -------------------------------------------------------------------------


def shown_path(root: Path, path: Path) -> str:
    """``path`` as errors show it: from the folder holding ``root`` (``content/tips/a.toml``)."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def read_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes; :class:`Unreadable` when it is too big or cannot be read."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise Unreadable(_("file is over {max_bytes} bytes").format(max_bytes=max_bytes))
        return path.read_bytes()
    except OSError as exc:
        raise Unreadable(_("cannot read: {value}").format(value=exc.strerror or exc)) from None


def decode(raw: bytes | str) -> str:
    """UTF-8 text; :class:`Unreadable` naming the line of the first bad byte."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(_("not valid UTF-8"), raw[: exc.start].count(b"\n") + 1) from None


def toml_error(exc: tomli.TOMLDecodeError, text: str) -> tuple[str, int]:
    """tomli's message without its position, and the line it points at."""
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column \d+\)$", msg)
    if m:
        return msg[: m.start()], int(m[1])
    if msg.endswith("(at end of document)"):
        return msg[: -len("(at end of document)")].strip(), max(text.count("\n") + 1, 1)
    return msg, 1


def parse_toml(raw: bytes | str) -> TomlFile:
    """Parse TOML text (or UTF-8 bytes); :class:`Unreadable` names the line of a mistake."""
    text = decode(raw)
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        message, line = toml_error(exc, text)
        raise Unreadable(_("invalid TOML: {message}").format(message=message), line) from None
    return TomlFile(text, data)


def read_toml(path: Path, max_bytes: int | None = None) -> TomlFile:
    """Read and parse one TOML file (:class:`Unreadable` when it cannot be)."""
    return parse_toml(read_bytes(path, max_bytes))


class TomlFile:
    """A parsed TOML file: its ``data``, and where each key of it is in the ``text``."""

    def __init__(self, text: str, data: dict[str, Any]) -> None:
        self.text = text
        self.data = data
        self._lines: KeyLines | None = None
        self._entries: dict[str, list[int] | None] = {}  # entry_line's, per array of tables

    @property
    def lines(self) -> KeyLines:
        if self._lines is None:
            self._lines = KeyLines(self.text)
        return self._lines

    def line(self, loc: Loc) -> int | None:
        return self.lines.line(loc)

    def entry_line(self, name: str, index: int) -> int | None:
        """The line of the ``index``-th ``[[name]]`` entry of the top level. Found by the
        header lines alone (a library file of a thousand tips is not scanned key by key to
        place each tip) when they are exactly as many as the entries: every real header has
        one of the forms looked for, so a line that only looks like one (in a multi-line
        string or array) makes one too many, and the locator decides."""
        if name not in self._entries:
            header = re.compile(rf"^[ \t]*\[\[[ \t]*(?:{re.escape(name)}|\"{re.escape(name)}\"|"
                                rf"'{re.escape(name)}')[ \t]*\]\]", re.M)
            starts = [m.start() for m in header.finditer(self.text)]
            entries = self.data.get(name)
            found: list[int] | None = None
            if isinstance(entries, list) and len(starts) == len(entries):
                found, line, at = [], 1, 0
                for start in starts:
                    line += self.text.count("\n", at, start)
                    at = start
                    found.append(line)
            self._entries[name] = found
        lines = self._entries[name]
        return lines[index] if lines is not None else self.line((name, index))

    def problem(self, loc: Loc, message: str) -> TomlProblem:
        """A problem at ``loc`` (its key and line)."""
        return TomlProblem(self.line(loc), loc, message)

    def validate(self, model: type[M], value: Any, at: Loc = ()) -> tuple[M | None, list[TomlProblem]]:
        """``value`` (found at ``at`` in the file) checked against ``model``: the model, or
        None and every problem, first line first."""
        try:
            return model.model_validate(value), []
        except ValidationError as exc:
            problems = [self.problem((*at, *e["loc"]), describe(e, model))
                        for e in exc.errors(include_url=False)]
            return None, sorted(problems, key=lambda p: p.line or 0)


# --- the locator -----------------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")  # a number, date, boolean: up to what may follow it
_STRING = re.compile(r'''"""(?:\\.|[^"\\]|"(?!""))*"""(?:"{0,2})'''  # multi-line basic
                     r"|'''(?:[^']|'(?!''))*'''(?:'{0,2})"  # multi-line literal
                     r'''|"(?:\\.|[^"\\\n])*"'''  # basic
                     r"|'[^'\n]*'", re.S)  # literal


class KeyLines:
    """The line of every key in a TOML text, by its path in the parsed data.

    A path is a tuple of table keys and array indices, as a pydantic error's ``loc``:
    ``("tip", 2, "variants", 1)`` is the second variant of the third ``[[tip]]``. The text
    must be valid TOML (parse it first). Dotted keys, quoted keys (CJK too), inline tables,
    arrays over several lines, arrays of tables, multi-line strings and CRLF line ends are
    all understood.
    """

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._line = 1
        self._table: Loc = ()
        self._aot: dict[Loc, int] = {}
        self.lines: dict[Loc, int] = {}
        self._scan()

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, else of the nearest table around it (None: nowhere)."""
        path = tuple(loc)
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return None

    # scanning
    def _peek(self, n: int = 1) -> str:
        return self._s[self._i:self._i + n]

    def _advance(self, n: int = 1) -> None:
        self._line += self._s.count("\n", self._i, self._i + n)
        self._i += n

    def _skip(self, chars: str) -> None:
        while self._i < len(self._s) and self._s[self._i] in chars:
            self._advance()

    def _skip_blank(self) -> None:
        """White space, line ends and comments."""
        while self._i < len(self._s):
            ch = self._s[self._i]
            if ch in " \t\r\n":
                self._advance()
            elif ch == "#":
                end = self._s.find("\n", self._i)
                self._advance((end if end != -1 else len(self._s)) - self._i)
            else:
                return

    def _mark(self, path: Loc, line: int | None = None) -> None:
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line or self._line)

    def _scan(self) -> None:
        while True:
            self._skip_blank()
            if self._i >= len(self._s):
                return
            start = self._i
            if self._peek(2) == "[[":
                self._header(array=True)
            elif self._peek() == "[":
                self._header(array=False)
            else:
                self._pair(self._table)
            if self._i == start:  # not TOML after all: stop rather than loop
                return

    def _header(self, *, array: bool) -> None:
        self._advance(2 if array else 1)
        self._skip(" \t")
        parts = self._key()
        self._skip(" \t")
        self._advance(2 if array else 1)
        path: Loc = ()
        for n, part in enumerate(parts):
            path = (*path, part)
            last = n == len(parts) - 1
            if last and array:
                self._mark(path)
                self._aot[path] = self._aot.get(path, 0) + 1
                path = (*path, self._aot[path] - 1)
            elif path in self._aot:
                path = (*path, self._aot[path] - 1)
        self.lines[path] = self._line  # each [[x]] entry has its own line
        self._mark(path)
        self._table = path

    def _pair(self, table: Loc) -> None:
        line = self._line
        path = (*table, *self._key())
        self._mark(path, line)
        self._skip(" \t")
        if self._peek() == "=":
            self._advance()
        self._skip(" \t")
        self._value(path)

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip(" \t")
            ch = self._peek()
            if ch in ('"', "'"):
                start = self._i
                self._string()
                raw = self._s[start:self._i]
                parts.append(tomli.loads(f"k = {raw}")["k"] if ch == '"' else raw[1:-1])
            else:
                m = _BARE.match(self._s, self._i)
                if not m:
                    return parts
                parts.append(m[0])
                self._advance(m.end() - self._i)
            self._skip(" \t")
            if self._peek() != ".":
                return parts
            self._advance()

    def _string(self) -> None:
        """Past one string of any of the four kinds (a multi-line one may end in one or two
        more quotes: ``\"""a\"""""`` is ``a""``)."""
        m = _STRING.match(self._s, self._i)
        self._advance((m.end() if m else len(self._s)) - self._i)

    def _value(self, path: Loc) -> None:
        ch = self._peek()
        if ch in ('"', "'"):
            self._string()
        elif ch == "{":
            self._advance()
            while True:
                self._skip_blank()
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                start = self._i
                self._pair(path)
                self._skip_blank()
                if self._peek() == ",":
                    self._advance()
                elif self._i == start:
                    return
        elif ch == "[":
            self._advance()
            index = 0
            while True:
                self._skip_blank()
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                start = self._i
                self._mark((*path, index))
                self._value((*path, index))
                index += 1
                self._skip_blank()
                if self._peek() == ",":
                    self._advance()
                elif self._i == start:
                    return
        else:
            m = _SCALAR.match(self._s, self._i)
            self._advance((m.end() if m else len(self._s)) - self._i)
