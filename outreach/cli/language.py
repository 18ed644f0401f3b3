"""The command line's language: chosen once per run, and spoken by click's own words too.

``--lang`` on the root command wins, then ``OUTREACH_LANG``, then the POSIX locale (see
:func:`outreach.i18n.language_from_env`). The choice is made before the root command parses
its arguments, so even a usage error on the root line, or ``--help`` given before ``--lang``,
speaks it.

Help texts are written at import time (docstrings, ``help=``), in English: they are message
ids, and a command's texts are translated when its help is rendered. The click that typer
carries spells its own words (``Usage:``, ``Error:``, ``Missing argument``, ``No such
option``) in plain f-strings; :func:`install` routes typer's gettext to the catalogue and
renders click's messages through :data:`CLICK_MESSAGES`, templates matched against the
English text. What no template matches stays English.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import IO, Any

import typer.core
from rich.cells import cell_len
from typer import _click as click
from typer._click import exceptions, formatting, termui
from typer._click._compat import get_text_stderr
from typer._click.utils import echo

from outreach import i18n
from outreach.i18n import N_, _

CLICK_MESSAGES = (
    N_("No such option: {name} (Possible options: {names})"),
    N_("No such option: {name}"),
    N_("Missing argument {name}. {reason}"),
    N_("Missing option {name}. {reason}"),
    N_("Missing parameter {name}. {reason}"),
    N_("Missing argument {name}."),
    N_("Missing option {name}."),
    N_("Missing parameter {name}."),
    N_("Missing argument."),
    N_("Missing option."),
    N_("Invalid value for {name}: {reason}"),
    N_("Invalid value: {reason}"),
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Option {name} does not take a value."),
    N_("Option {name} requires an argument."),
    N_("Option {name} requires {n} arguments."),
    N_("Argument {name} takes {n} values."),
    N_("Choose from:\n\t{choices}"),
    N_("Value {value} is not a valid {kind}."),
    N_("Value must be an iterable."),
    # what a prompt says back
    N_("Error: The value you entered was invalid."),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
    N_("Error: {reason}"),
    N_("File {path} does not exist."),
    N_("Directory {path} does not exist."),
    N_("Path {path} does not exist."),
    N_("File {path} is a directory."),
    N_("Path {path} is a directory."),
    N_("Directory {path} is a file."),
    N_("Path {path} is a file."),
    N_("File {path} is not readable."),
    N_("Path {path} is not readable."),
    N_("Directory {path} is not readable."),
    N_("File {path} is not writable."),
    N_("Path {path} is not writable."),
    N_("Directory {path} is not writable."),
    # the checks typer leaves to pydantic
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Input should be a valid boolean, unable to interpret input"),
    N_("Input should be greater than or equal to {n}"),
    N_("Input should be less than or equal to {n}"),
    N_("Input should be greater than {n}"),
    N_("Input should be less than {n}"),
    N_("Input should be {choices}"),
)
"""The sentences click and typer build from English pieces, as templates: ``{reason}``
holds another of them (translated in turn), the other fields are names and values."""

CLICK_WORDS = (
    N_("Usage: "),
    N_("Try '{command} {option}' for help."),
    N_("Error: {message}"),
    N_("Show this message and exit."),
    N_("Aborted!"),
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
    # typer's own, asked for through gettext
    N_("Options"), N_("Arguments"), N_("Commands"), N_("{heading}:"), N_("required"),
    N_("default: {default}"),
    N_("env var: {var}"), N_("(dynamic)"), N_("Missing command."), N_("No such command {name!r}."),
)

_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _FIELD.split(template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                    for i, p in enumerate(parts))
    return re.compile(regex, re.S)


def translate_message(text: str) -> str:
    """One of click's sentences in the current language (itself when none matches)."""
    if i18n.current_language() == i18n.DEFAULT_LANG:
        return text
    for template in CLICK_MESSAGES:
        found = _pattern(template).fullmatch(text)
        if found is None:
            continue
        fields = found.groupdict()
        if "reason" in fields:
            fields["reason"] = translate_message(fields["reason"])
        return _(template).format(**fields)
    return text


# --- choosing the language ----------------------------------------------------------------


def lang_argument(command: click.Command, args: Sequence[str]) -> str | None:
    """The value of ``--lang`` among the root command's own options in ``args`` (they end at
    the first word that is not an option: the command)."""
    takes_value = {opt for p in command.params if p.param_type_name == "option"
                   and not getattr(p, "is_flag", False) and not getattr(p, "count", False)
                   for opt in p.opts}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--lang":
            return args[i + 1] if i + 1 < len(args) else None
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if arg == "--" or not arg.startswith("-"):
            return None
        i += 2 if arg in takes_value else 1
    return None


def choose(command: click.Command, args: Sequence[str],
           environ: Mapping[str, str] | None = None) -> str:
    """The language of this run: ``--lang``, else the environment. A bad ``--lang`` is left
    for the option to refuse (a usage error); a bad ``OUTREACH_LANG`` raises ValueError."""
    given = lang_argument(command, args)
    if given is not None:
        try:
            return i18n.parse_lang(given)
        except ValueError:
            pass
    return i18n.language_from_env(environ)


def check_lang(value: str | None) -> str | None:
    """The ``--lang`` option's check: a language outreach speaks."""
    if value is None:
        return None
    try:
        return i18n.parse_lang(value)
    except ValueError:
        raise typer.BadParameter(_("{value!r} is not a language outreach speaks ({langs})")
                                 .format(value=value, langs=", ".join(i18n.LANGS))) from None


# --- rendering click's words -------------------------------------------------------------


def _localise(obj: Any, *names: str) -> None:
    """Translate ``obj``'s texts in place, from the English kept the first time."""
    ids: dict[str, str | None] = obj.__dict__.setdefault(
        "_outreach_msgids", {n: getattr(obj, n, None) for n in names})
    for name, msgid in ids.items():
        if isinstance(msgid, str) and msgid:
            setattr(obj, name, _(msgid))


def localise_command(command: click.Command) -> None:
    _localise(command, "help", "short_help", "epilog")


def _get_help(self: click.Command, ctx: click.Context) -> str:
    localise_command(self)
    for param in [*self.params, self.get_help_option(ctx)]:
        if param is not None:
            _localise(param, "help")
    return _original_get_help(self, ctx)


def _get_short_help_str(self: click.Command, limit: int = 45) -> str:
    localise_command(self)
    if self.short_help or not self.help or not _is_wide(self.help):
        return _original_short_help(self, limit)
    paragraph = _join_lines(inspect.cleandoc(self.help).partition("\f")[0].split("\n\n")[0])
    sentence = paragraph.split("。", 1)[0] + ("。" if "。" in paragraph else "")
    if cell_len(sentence) <= limit:
        return sentence
    while cell_len(sentence) > limit - 1:
        sentence = sentence[:-1]
    return sentence.rstrip() + "…"


# --- text in Chinese: measured in cells, broken between characters ------------------------

_TOKENS = re.compile(r"[\x21-\x7e]+|\s+|.", re.S)
_NO_LINE_START = frozenset("，。、；：？！）》」』”’…,.;:?!)")


def _is_wide(text: str) -> bool:
    return any(cell_len(ch) > 1 for ch in text)


def _join_lines(text: str) -> str:
    """One paragraph's lines as one line: a space between words, none between CJK."""
    out = ""
    for line in (part.strip() for part in text.splitlines()):
        if out and line and not (_is_wide(out[-1]) or _is_wide(line[0])):
            out += " "
        out += line
    return out


def _fill(text: str, width: int, first: str, rest: str) -> str:
    lines: list[str] = []
    line = first
    for token in _TOKENS.findall(_join_lines(text)):
        if token.isspace():
            if line.strip():
                line += " "
            continue
        if cell_len(line + token) <= width or not line.strip():
            line += token
            continue
        carry = ""
        if token in _NO_LINE_START and not line[-1].isspace():
            line, carry = line[:-1], line[-1]  # "。" never starts a line: take one along
        lines.append(line.rstrip())
        line = rest + carry + token
    lines.append(line.rstrip())
    return "\n".join(lines)


def _wrap_text(text: str, width: int = 78, initial_indent: str = "",
               subsequent_indent: str = "", preserve_paragraphs: bool = False) -> str:
    """click's ``wrap_text``, measuring Chinese by display width (two cells a character)
    and breaking lines between characters, which have no spaces to break at."""
    if not _is_wide(text):
        return _original_wrap_text(text, width, initial_indent, subsequent_indent,
                                   preserve_paragraphs)
    paragraphs = text.split("\n\n") if preserve_paragraphs else [text]
    return "\n\n".join(_fill(p, width, initial_indent, subsequent_indent)
                         for p in paragraphs if p.strip())


def _write_usage(self: formatting.HelpFormatter, prog: str, args: str = "",
                 prefix: str | None = None) -> None:
    _original_write_usage(self, prog, args, _("Usage: ") if prefix is None else prefix)


def _prompt_echo(message: Any = None, *args: Any, **kwargs: Any) -> None:
    """click's prompts echo their complaints in English: say them in the current language."""
    _original_prompt_echo(translate_message(message) if isinstance(message, str) else message,
                          *args, **kwargs)


def _write_heading(self: formatting.HelpFormatter, heading: str) -> None:
    # typer asks gettext for its headings; our own groups' "Commands" is translated here
    self.write(f"{'':>{self.current_indent}}{_('{heading}:').format(heading=_(heading))}\n")


def _show_error(self: exceptions.ClickException, file: IO[Any] | None = None) -> None:
    echo(_("Error: {message}").format(message=translate_message(self.format_message())),
         file=file or get_text_stderr(), color=self.show_color)


def _show_usage_error(self: exceptions.UsageError, file: IO[Any] | None = None) -> None:
    file = file or get_text_stderr()
    color = None
    if self.ctx is not None:
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = _("Try '{command} {option}' for help.").format(
                command=self.ctx.command_path, option=self.ctx.help_option_names[0]) + "\n"
        color = self.ctx.color
        echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=color)
    echo(_("Error: {message}").format(message=translate_message(self.format_message())),
         file=file, color=color)


_original_get_help = click.Command.get_help
_original_short_help = click.Command.get_short_help_str
_original_write_usage = formatting.HelpFormatter.write_usage
_original_wrap_text = formatting.wrap_text
_original_prompt_echo = termui.echo


def install() -> None:
    """Make typer's click speak the current language (idempotent)."""
    typer.core._ = i18n.gettext
    click.Command.get_help = _get_help  # type: ignore[method-assign]
    click.Command.get_short_help_str = _get_short_help_str  # type: ignore[method-assign]
    formatting.HelpFormatter.write_usage = _write_usage  # type: ignore[method-assign]
    formatting.HelpFormatter.write_heading = _write_heading  # type: ignore[method-assign]
    formatting.wrap_text = _wrap_text
    termui.echo = _prompt_echo
    exceptions.ClickException.show = _show_error  # type: ignore[method-assign]
    exceptions.UsageError.show = _show_usage_error  # type: ignore[method-assign]
