"""The command line's root: its options, the exit codes, and the only place that catches
``OutreachError``. The commands themselves live one module per sub-app, loaded when used
(see ``outreach.cli.lazy``).

Exit codes: 0 the command did its job; 1 an error the user must act on; 2 a
malformed command line.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer import _click as click
from typer import core

from outreach import i18n
from outreach.cli import language, output
from outreach.cli.lazy import LazyGroup
from outreach.errors import OutreachError
from outreach.i18n import _

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def _plain_argument_help() -> None:
    """Help names an argument by its metavar alone (ID, FILE), not also its Python type."""
    argument = getattr(core, "TyperArgument", None)
    shown = getattr(argument, "display_type_rich", None)
    if argument is None or shown is None:
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.metavar is not None else shown(self, ctx)

    argument.display_type_rich = display_type_rich


_plain_argument_help()
language.install()


class RootGroup(LazyGroup):
    """The root command: it chooses the language before it reads its arguments, so usage
    errors and help speak it too (a ``--json`` run speaks English: its output is data)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            # --json output is data for programs: the words inside it (problems, warnings,
            # notes) are English whatever the language, so it is the same in every locale
            json_run = "--json" in args[:args.index("--")] if "--" in args else "--json" in args
            i18n.set_language("en" if json_run else language.choose(self, args))
        except ValueError as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=RootGroup,
    help="outreach — public-safety tips on Weibo-style microblogs: a library, a schedule that "
         "publishes exactly once, and engagement and public-opinion reports.",
    no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """What the root options set, and the runtimes the command opened (closed at the end)."""

    config: Path | None = None
    verbose: bool = False
    runtimes: list[Runtime] = []


@app.callback()
def _main(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="config.toml (default: $OUTREACH_CONFIG, then ./config.toml).",
        dir_okay=False)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", metavar="zh|en", callback=language.check_lang, is_eager=True,
        help="Language of messages and help (default: $OUTREACH_LANG, then the locale: "
             "LC_ALL, LC_MESSAGES, LANG).")] = None,
) -> None:
    State.config = config
    State.verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def main() -> NoReturn:
    """Run the command, then leave without tearing the interpreter down (the console entry
    point is ``cli.start``).

    Every runtime is closed and the streams are flushed first; what is skipped is freeing
    each module object one by one, which costs a short command a fifth of its time.
    """
    code = run_cli()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the reader went away
            code = code or 1
    os._exit(code)


def run_cli() -> int:
    """Run the command line; user errors are one red line and exit 1, never a traceback.
    Returns the exit code (the tests call this in-process)."""
    code = 0
    try:
        app()  # standalone: usage errors exit 2, typer.Exit carries its code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OutreachError as exc:
        output.error(str(exc))
        code = 1
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        # recognised by name: sqlalchemy is not imported for commands that never use it
        if type(exc).__module__.startswith("sqlalchemy"):
            orig = getattr(exc, "orig", None)
            detail = str(orig).splitlines()[0] if orig is not None else type(exc).__name__
            output.error(_("database error: {detail}").format(detail=detail))
            code = 1
        elif os.environ.get("OUTREACH_DEBUG"):  # a bug: say so briefly; details when asked
            close_runtimes()
            raise
        else:
            output.error(_("internal error: {kind}: {error} (set OUTREACH_DEBUG=1 for details)")
                         .format(kind=type(exc).__name__, error=exc))
            code = 70
    close_runtimes()
    return code


def close_runtimes() -> None:
    while State.runtimes:
        State.runtimes.pop(0).close()
