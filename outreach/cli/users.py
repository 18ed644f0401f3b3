"""`outreach users …`: the web console's users and their roles (officer, approver, admin)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from outreach.actions.users import LANGS, Role, add_user, disable_user, list_users, set_password
from outreach.cli import output
from outreach.cli.common import ByOpt, JsonOpt, runtime, who
from outreach.cli.lazy import sub_app
from outreach.cli.words import name as word
from outreach.i18n import N_, _
from outreach.states import AccountState

app = sub_app("users", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The user's sign-in name.")]
StdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of standard input "
                             "(else it is asked for, twice, without echo).")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    value: str = typer.prompt(_("Password"), hide_input=True,
                              confirmation_prompt=_("Repeat for confirmation"))
    return value


@app.command("add")
def users_add(
    name: NameArg,
    role: Annotated[str, typer.Option(
        help="What the user may do: officer < approver < admin (each also does the one "
             "before).")],
    display_name: Annotated[str | None, typer.Option(
        "--display-name", help="The name the console shows.")] = None,
    lang: Annotated[str, typer.Option(help="The console's language for them: zh, en.")] = "zh",
    password_stdin: StdinOpt = False,
    by: ByOpt = None,
) -> None:
    """Add a console user (the password is kept as an Argon2 hash)."""
    if role not in tuple(Role):
        raise typer.BadParameter(_("must be one of {values}").format(values=", ".join(Role)),
                                 param_hint="--role")
    if lang not in LANGS:
        raise typer.BadParameter(_("must be one of {values}").format(values=", ".join(LANGS)),
                                 param_hint="--lang")
    actor = who(by)
    password = _password(password_stdin)
    rt = runtime()
    user = add_user(rt, name, role=role, password=password, by=actor,
                    display_name=display_name, lang=lang)
    output.message(_("console user {name} added ({role})").format(name=user.name,
                                                                  role=word(user.role)))


@app.command("list")
def users_list(json_: JsonOpt = False) -> None:
    """List console users with their roles (never a password or hash)."""
    rt = runtime()
    rows = list_users(rt)

    def show() -> None:
        if not rows:
            output.message(_("no console users yet: add one with `outreach users add NAME "
                             "--role admin`"))
            return
        output.grid([_(m) for m in (N_("name"), N_("display name"), N_("role"), N_("lang"),
                                    N_("state"), N_("last sign-in"))],
                    [(output.plain(r["name"]), output.plain(r["display_name"] or "-"),
                      word(r["role"]), r["lang"],
                      _("disabled") if r["disabled"] else word(AccountState.ACTIVE),
                      r["last_login_at"] or "-") for r in rows])

    output.emit(rows, json_, show)


@app.command("disable")
def users_disable(name: NameArg, by: ByOpt = None) -> None:
    """Stop a user signing in (their open sessions end at once)."""
    rt = runtime()
    disable_user(rt, name, by=who(by))
    output.message(_("console user {name} disabled").format(name=name))


@app.command("set-password")
def users_set_password(name: NameArg, password_stdin: StdinOpt = False,
                       by: ByOpt = None) -> None:
    """Give a user a new password (their open sessions end)."""
    actor = who(by)
    password = _password(password_stdin)
    rt = runtime()
    set_password(rt, name, password, by=actor)
    output.message(_("password of {name} changed; their sessions have ended").format(name=name))
