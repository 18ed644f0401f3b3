"""The one place the command line loads lazily: each top-level command and sub-app lives in
its own module, imported only when that command runs (or its help is asked for).

``outreach --help`` lists every command from :data:`COMMANDS` — the module that holds it
and the first paragraph of its help — without importing any of them; a command's module
imports what it needs at its top, as any module does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click as click  # the click typer builds on (it carries its own)
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command lives, and the first paragraph of its help (shown in the listing)."""

    module: str
    help: str


COMMANDS: dict[str, Lazy] = {
    "init": Lazy("outreach.cli.run",
                 "Write a starter config.toml and content/ library (never overwrites)."),
    "demo": Lazy("outreach.cli.run",
                 "Run the whole pipeline on the local platform through N simulated days."),
    "plan": Lazy("outreach.cli.plan",
                 "Preview what will be published: the same draw the daemon makes."),
    "pause": Lazy("outreach.cli.run",
                  "Incident mode: stop automatic posting now (one account, or all)."),
    "resume": Lazy("outreach.cli.run", "End a pause (never bursts: missed slots stay missed, "
                                       "held posts are spaced)."),
    "run": Lazy("outreach.cli.run",
                "The daemon: materialise slots, publish exactly once, collect metrics."),
    "status": Lazy("outreach.cli.status",
                   "Daemon heartbeat, accounts and queue health (exit 1 when unhealthy)."),
    "report": Lazy("outreach.cli.report", "Engagement and public-opinion report "
                                          "(本月共发博文N篇，被转发M条次，网民评论K条，粉丝增至F人)."),
    "watchdog": Lazy("outreach.cli.notify", "For a systemd timer or cron: notify (daemon_stale) "
                                            "when the daemon's heartbeat is stale, once per "
                                            "outage; exit 1 while it is stale."),
    "content": Lazy("outreach.cli.content",
                    "The tip library: check, list, show, approve, revoke, stale."),
    "queue": Lazy("outreach.cli.queue", "The post queue: add, import, list, show, approve, "
                                        "cancel, reschedule, edit, retract."),
    "accounts": Lazy("outreach.cli.accounts", "Configured accounts: list, check."),
    "metrics": Lazy("outreach.cli.metrics", "Engagement metrics: collect."),
    "db": Lazy("outreach.cli.db", "The database: upgrade, backup."),
    "opinions": Lazy("outreach.cli.opinions", "The public's comments (民意): list them (the "
                                              "default), reply, mark-replied, ack, "
                                              "hand-over, close, assign, show, stock, "
                                              "train."),
    "auth": Lazy("outreach.cli.auth", "Authorise accounts on their platforms (tokens stay "
                                      "outside config.toml)."),
    "notify": Lazy("outreach.cli.notify", "The notification outbox: list, test, retry."),
    "users": Lazy("outreach.cli.users", "Web console users and their roles (officer, "
                                        "approver, admin): add, list, disable, set-password."),
    "web": Lazy("outreach.cli.web", "The officers' web console (serve it behind a TLS proxy)."),
}


def sub_app(name: str, **settings: Any) -> typer.Typer:
    """The Typer of a sub-app listed in :data:`COMMANDS` (its help is the listing's)."""
    return typer.Typer(name=name, help=COMMANDS[name].help, rich_markup_mode=None, **settings)


def commands_app() -> typer.Typer:
    """The Typer a module's top-level commands are registered on."""
    return typer.Typer(rich_markup_mode=None)


_groups: dict[str, TyperGroup] = {}


def load(name: str) -> click.Command:
    """Import the module of command ``name`` and build its click command."""
    module = COMMANDS[name].module
    if module not in _groups:
        _groups[module] = typer.main.get_group(importlib.import_module(module).app)
    group: click.Command = _groups[module]
    if group.name == name:  # the module is a sub-app
        return group
    command = _groups[module].commands.get(name)
    if command is None:
        raise LookupError(f"{module} has no command {name!r}")
    return command


class LazyCommands(MutableMapping[str, click.Command]):
    """The commands of :data:`COMMANDS`, each loaded the first time it is looked up."""

    def __init__(self) -> None:
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self.loaded[name] = load(name)
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (n for n in self.loaded if n not in COMMANDS)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self.loaded))


class LazyGroup(TyperGroup):
    """The root group: its commands come from :class:`LazyCommands`, and its help lists
    them without loading any."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = self.commands
        loaded = commands.loaded if isinstance(commands, LazyCommands) else commands
        shown = [(name, loaded.get(name) or TyperCommand(name=name, help=COMMANDS[name].help))
                 for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in shown if not cmd.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])
