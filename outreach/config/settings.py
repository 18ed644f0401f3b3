"""The settings read from config.toml: frozen dataclasses (loaded by :mod:`outreach.config.load`).

Secrets never live in the file: a token comes from the
environment variable named by ``token_env`` or from a token file in the data
folder (written by ``outreach auth``), and is wrapped in ``Secret`` so that no
repr, log line or exception shows it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from outreach.config.groups import select_accounts
from outreach.config.secrets import Secret, read_token
from outreach.errors import ConfigError, NotFound
from outreach.i18n import _
from outreach.states import NOTIFY_EVENTS  # noqa: F401  (the config's list of events)

DEFAULT_CONFIG = "config.toml"
LANGS = ("zh", "en")


@dataclass(frozen=True)
class Slot:
    """A recurring posting time: a five-field cron in the account's zone."""

    cron: str
    categories: tuple[str, ...] = ()  # empty: any category


@dataclass(frozen=True)
class AccountSettings:
    name: str
    platform: str
    lang: str
    timezone: ZoneInfo
    api_base: str | None
    token_env: str | None
    max_length: int | None
    vars: Mapping[str, Any]
    slots: tuple[Slot, ...]
    options: Mapping[str, Any]  # the platform's own keys (config_keys)
    data_dir: Path
    display_name: str = ""  # what people call the account (平安北京); the name when empty

    @property
    def label(self) -> str:
        """The name people read: ``display_name``, else the config name."""
        return self.display_name or self.name

    @cached_property
    def template_variables(self) -> Mapping[str, Any]:
        """What a tip's text may use: the account's ``vars`` (``city`` and ``hashtag`` always
        defined). Computed once per account; read-only."""
        variables = thaw(self.vars)
        variables.setdefault("city", "")
        variables.setdefault("hashtag", "")
        return MappingProxyType(variables)

    @cached_property
    def wrapper_variables(self) -> Mapping[str, Any]:
        """What the platform template may use as well: the platform options not shadowed by
        ``vars``. Computed once per account; read-only."""
        context = dict(self.template_variables)
        context.update({k: v for k, v in thaw(self.options).items() if k not in context})
        return MappingProxyType(context)

    @property
    def token_file(self) -> Path:
        return self.data_dir / "tokens" / f"{self.name}.token"

    def token(self) -> Secret | None:
        """The account's token: ``token_env`` wins, else the stored token file.

        A token file readable by group or others is refused with a clear message.
        """
        return read_token(self.token_env, self.token_file)


@dataclass(frozen=True)
class Policy:
    require_approval: bool = True
    allow_self_approval: bool = False
    lease_seconds: int = 60
    cooldown_days: int = 30
    catch_up_minutes: int = 60
    min_gap_minutes: int = 30
    max_attempts: int = 5
    materialise_hours: int = 24
    quiet_hours: tuple[time, time] | None = None
    blackout_dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class PollTier:
    age_hours: int
    every_minutes: int


@dataclass(frozen=True)
class MetricsSettings:
    poll: tuple[PollTier, ...] = (
        PollTier(24, 30),
        PollTier(168, 360),
        PollTier(720, 1440),
    )


@dataclass(frozen=True)
class OpinionSettings:
    keep_days: int = 180
    alert_command: str = ""




@dataclass(frozen=True)
class NotifyTarget:
    """Where notifications go: an apprise URL (a secret: from ``url_env`` or a 0600
    ``url_file``) or a ``command`` run with the notification's JSON on stdin."""

    name: str
    events: tuple[str, ...]
    url_env: str | None = None
    url_file: Path | None = None
    command: str | None = None
    lang: str | None = None

    def url(self) -> Secret:
        """The target's apprise URL; a ConfigError (never showing it) when it is missing."""
        if self.url_env:
            value = os.environ.get(self.url_env, "").strip()
            if not value:
                raise ConfigError(_("notify target {name!r}: ${url_env} is not set").format(
                    name=self.name, url_env=self.url_env))
            return Secret(value)
        assert self.url_file is not None
        path = self.url_file
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            raise ConfigError(_("notify target {name!r}: url_file not found").format(name=self.name),
                              where=str(path)) from None
        if mode & 0o077:
            raise ConfigError(_("url file is readable by others (mode {mode:o}); run: chmod 600 "
                                "{path}").format(
                mode=mode, path=path), where=str(path))
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        if not lines or not lines[0].strip():
            raise ConfigError(_("notify target {name!r}: url_file is empty").format(
                name=self.name), where=str(path))
        return Secret(lines[0].strip())


@dataclass(frozen=True)
class NotifySettings:
    targets: tuple[NotifyTarget, ...] = ()
    escalate_after_minutes: int = 10
    lang: str = "zh"
    digest_at: time = time(8, 0)

    def for_event(self, event: str) -> tuple[NotifyTarget, ...]:
        """The targets of an event, in the order listed (the escalation order)."""
        return tuple(t for t in self.targets if event in t.events)


@dataclass(frozen=True)
class ReportSettings:
    department: str = ""  # the header of every report (北京市公安局)
    title: str = ""  # the report's name after the period (网络宣传与民意报告); a default when empty
    department_en: str = ""  # the same for reports in English (--lang en); else the above
    title_en: str = ""


@dataclass(frozen=True)
class Settings:
    path: Path
    database_url: str
    timezone: ZoneInfo
    content_dir: Path
    data_dir: Path
    accounts: Mapping[str, AccountSettings]
    media_dir: Path = Path("media")  # the media store's root (images by SHA-256)
    request_deadline_seconds: int = 60  # the longest one platform request may take, in all
    policy: Policy = field(default_factory=Policy)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    opinions: OpinionSettings = field(default_factory=OpinionSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    # each group's accounts, expanded in order (config/groups.py); `--account @group`
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def select(self, spec: str | None) -> tuple[str, ...] | None:
        """The accounts an ``--account`` value means (``@group`` or a name); None for None
        (every account). Unknown names are ``NotFound``, naming the known ones."""
        return None if spec is None else select_accounts(spec, self.accounts, self.groups)

    def zone_of(self, spec: str | None) -> ZoneInfo:
        """The zone a user's days and times are read in: the account's, else (every account,
        or a group of several) the config's."""
        names = self.select(spec)
        return (self.account(names[0]).timezone if names is not None and len(names) == 1
                else self.timezone)

    def account(self, name: str) -> AccountSettings:
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise NotFound(_("unknown account {name!r} (configured: {known})").format(
                name=name, known=known)) from None


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$OUTREACH_CONFIG``, else ./config.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("OUTREACH_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG)


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for templates and JSON)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
