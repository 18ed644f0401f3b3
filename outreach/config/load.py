"""config.toml → :class:`~outreach.config.settings.Settings`.

The file is read by the one TOML loader (:mod:`outreach.config.toml`), its shape checked
by the models of :mod:`outreach.config.model`; what the values mean is checked here: cron
expressions, zone names, URLs, names, dates, and each platform's own options (through its
client class). Every problem is one ``ConfigError`` reading ``config.toml:LINE: key: problem``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from outreach.clients import client_class, known_platforms
from outreach.config.describe import type_name
from outreach.config.groups import expand_groups
from outreach.config.model import (
    ConfigShape,
    MetricsShape,
    NotifyShape,
    NotifyTargetShape,
    PolicyShape,
    account_shape,
)
from outreach.config.settings import (
    NOTIFY_EVENTS,
    AccountSettings,
    MetricsSettings,
    NotifySettings,
    NotifyTarget,
    OpinionSettings,
    Policy,
    PollTier,
    ReportSettings,
    Settings,
    Slot,
    config_path,
    freeze,
)
from outreach.config.toml import Loc, TomlFile, Unreadable, parse_toml
from outreach.errors import ConfigError
from outreach.i18n import _
from outreach.schedule.cron import CronError, parse_cron

M = TypeVar("M", bound=BaseModel)
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HH_MM = r"(\d{1,2}):(\d{2})"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate config.toml (``--config``, ``$OUTREACH_CONFIG`` or ./config.toml)."""
    p = config_path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            _("config file not found (run `outreach init` or pass --config)"), where=str(p)
        ) from None
    except OSError as exc:
        raise ConfigError(_("cannot read config file: {strerror}").format(
            strerror=exc.strerror), where=str(p)) from None
    try:
        toml = parse_toml(raw)
    except Unreadable as exc:
        raise ConfigError(exc.message, where=f"{p}:{exc.line}" if exc.line else str(p)) from None
    return _Reader(p, toml).settings()


def http_allowed(url: str) -> bool:
    """True for https, and for plain http to this machine only (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return True
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _times(pattern: str, text: str) -> list[time] | None:
    """The HH:MM times ``text`` gives in ``pattern``'s groups (None: it does not fit)."""
    m = re.fullmatch(pattern, text)
    if not m:
        return None
    numbers = [int(g) for g in m.groups()]
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    if any(h > 23 or mi > 59 for h, mi in pairs):
        return None
    return [time(h, mi) for h, mi in pairs]


class _Reader:
    """Checks what the values of one parsed config.toml mean, naming the line of a problem."""

    def __init__(self, path: Path, toml: TomlFile) -> None:
        self.path = path
        self.toml = toml
        self.base = path.resolve().parent

    def error(self, loc: Loc, message: str) -> ConfigError:
        problem = self.toml.problem(loc, message)
        return ConfigError(problem.message, where=problem.where(str(self.path)))

    def shape(self, model: type[M], value: Any, loc: Loc = ()) -> M:
        shaped, problems = self.toml.validate(model, value, loc)
        if shaped is None:
            first = problems[0]
            raise ConfigError(first.message, where=first.where(str(self.path)))
        return shaped

    def zone(self, value: str, loc: Loc) -> ZoneInfo:
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise self.error(loc, _("unknown timezone {shown!r}").format(shown=shown)) from None

    def settings(self) -> Settings:
        cfg = self.shape(ConfigShape, self.toml.data)
        top = cfg.outreach
        database_url = self._database_url(top.database)
        tz = self.zone(top.timezone, ("outreach", "timezone"))
        data_dir = self.base / top.data_dir
        accounts = {name: self._account(name, raw, tz, data_dir)
                    for name, raw in cfg.accounts.items()}
        o, r = cfg.opinions, cfg.report
        return Settings(
            path=self.path, database_url=database_url, timezone=tz,
            content_dir=self.base / top.content_dir, data_dir=data_dir,
            accounts=MappingProxyType(accounts),
            media_dir=self._media_dir(top.media_dir, database_url, data_dir),
            request_deadline_seconds=top.request_deadline_seconds,
            policy=self._policy(cfg.policy), metrics=self._metrics(cfg.metrics),
            opinions=OpinionSettings(keep_days=o.keep_days, alert_command=o.alert_command),
            report=ReportSettings(department=r.department.strip(), title=r.title.strip(),
                                  department_en=r.department_en.strip(),
                                  title_en=r.title_en.strip()),
            notify=self._notify(cfg.notify),
            groups=expand_groups(cfg.groups, accounts, name_ok=lambda n: bool(_NAME_RE.fullmatch(n)),
                                 error=self.error),
        )

    def _media_dir(self, configured: str | None, database_url: str, data_dir: Path) -> Path:
        """``media_dir`` as configured; else beside a SQLite file (``outreach.db`` →
        ``media/`` in its folder); else (PostgreSQL, in-memory SQLite) ``data_dir/media``."""
        if configured is not None:
            if not configured.strip():
                raise self.error(("outreach", "media_dir"), _("must not be empty"))
            return self.base / configured
        if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
            return Path(database_url[len("sqlite:///"):]).parent / "media"
        return data_dir / "media"

    def _database_url(self, url: str) -> str:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///"):]
            if rel and rel != ":memory:":
                return f"sqlite:///{(self.base / rel)}"
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", url):
            raise self.error(("outreach", "database"),
                             _("expected sqlite:///FILE or postgresql+psycopg://..."))
        return url

    def _account(self, name: str, raw: dict[str, Any], tz: ZoneInfo,
                 data_dir: Path) -> AccountSettings:
        loc: Loc = ("accounts", name)
        if not _NAME_RE.fullmatch(name):
            raise self.error(loc, _("account names use letters, digits, '-' and '_' only"))
        platform = raw.get("platform")
        if platform is None:
            raise self.error((*loc, "platform"), _("required key is missing"))
        if not isinstance(platform, str):
            raise self.error((*loc, "platform"), _("expected a string, got {platform}").format(
                platform=type_name(platform)))
        if platform not in known_platforms():
            raise self.error((*loc, "platform"), _("unknown platform {platform!r} (known: {value})").format(
                platform=platform, value=', '.join(known_platforms())))
        cls = client_class(platform)
        acc = self.shape(account_shape(platform, cls.config_keys), raw, loc)
        acc_tz = self.zone(acc.timezone, (*loc, "timezone")) if acc.timezone is not None else tz
        api_base = acc.api_base
        if api_base is not None and not re.match(r"https?://[^\s/]+", api_base):
            raise self.error((*loc, "api_base"), _("not an http(s) URL: {api_base!r}").format(
                api_base=api_base))
        if api_base is not None and not acc.allow_insecure_http and not http_allowed(api_base):
            raise self.error((*loc, "api_base"), _("plain http would send the token in clear; use https, "
                                                   "a loopback address, or set allow_insecure_http = true"))
        if acc.token_env is not None and not _ENV_RE.fullmatch(acc.token_env):
            raise self.error((*loc, "token_env"), _("not an environment variable name"))
        slots = []
        for i, slot in enumerate(acc.slots):
            try:
                parse_cron(slot.cron)
            except CronError as exc:
                raise self.error((*loc, "slots", i, "cron"),
                                 _("bad cron {cron!r}: {exc}").format(cron=slot.cron, exc=exc)) from None
            slots.append(Slot(cron=slot.cron, categories=tuple(slot.categories)))
        options = {k: raw[k] for k in cls.config_keys if k in raw}
        problem = cls.validate_options(options)
        if problem:
            key, message = problem
            raise self.error((*loc, key), message)
        return AccountSettings(
            name=name, platform=platform, lang=acc.lang, timezone=acc_tz, api_base=api_base,
            token_env=acc.token_env, max_length=acc.max_length, vars=freeze(acc.vars),
            slots=tuple(slots), options=MappingProxyType(options), data_dir=data_dir,
            display_name=acc.display_name.strip(),
        )

    def _policy(self, p: PolicyShape) -> Policy:
        quiet_hours = None
        if p.quiet_hours:
            times = _times(rf"{_HH_MM}\s*-\s*{_HH_MM}", p.quiet_hours)
            if times is None:
                raise self.error(("policy", "quiet_hours"),
                                 _("expected \"HH:MM-HH:MM\", got {quiet_hours!r}").format(
                                     quiet_hours=p.quiet_hours))
            quiet_hours = (times[0], times[1])
        loc: Loc = ("policy", "blackout_dates")
        blackout: list[date] = []
        for i, v in enumerate(p.blackout_dates):
            if isinstance(v, datetime):  # a TOML date-time would never equal a day
                raise self.error((*loc, i), _("{value} is a date-time; expected a date without a time "
                                              "(YYYY-MM-DD)").format(
                    value=v.isoformat()))
            if isinstance(v, date):
                blackout.append(v)
                continue
            try:
                blackout.append(date.fromisoformat(str(v)))
            except ValueError:
                shown = v.isoformat() if isinstance(v, time) else repr(v)
                raise self.error((*loc, i), _("not a date (YYYY-MM-DD): {shown}").format(
                    shown=shown)) from None
        return Policy(
            require_approval=p.require_approval, allow_self_approval=p.allow_self_approval,
            lease_seconds=p.lease_seconds, cooldown_days=p.cooldown_days,
            catch_up_minutes=p.catch_up_minutes, min_gap_minutes=p.min_gap_minutes,
            max_attempts=p.max_attempts, materialise_hours=p.materialise_hours,
            quiet_hours=quiet_hours, blackout_dates=tuple(blackout),
        )

    @staticmethod
    def _metrics(m: MetricsShape) -> MetricsSettings:
        if m.poll is None:
            return MetricsSettings()
        tiers = sorted((PollTier(t.age_hours, t.every_minutes) for t in m.poll),
                       key=lambda t: t.age_hours)
        return MetricsSettings(poll=tuple(tiers))

    def _notify(self, n: NotifyShape) -> NotifySettings:
        digest_at = _times(_HH_MM, n.digest_at)
        if digest_at is None:
            raise self.error(("notify", "digest_at"), _("expected \"HH:MM\", got {digest_at!r}").format(
                digest_at=n.digest_at))
        targets: list[NotifyTarget] = []
        for i, t in enumerate(n.targets):
            targets.append(self._target(("notify", "targets", i), t, targets))
        return NotifySettings(targets=tuple(targets), lang=n.lang, digest_at=digest_at[0],
                              escalate_after_minutes=n.escalate_after_minutes)

    def _target(self, loc: Loc, t: NotifyTargetShape, before: list[NotifyTarget]) -> NotifyTarget:
        if not _NAME_RE.fullmatch(t.name):
            raise self.error((*loc, "name"), _("target names use letters, digits, '-' and '_' only"))
        if any(x.name == t.name for x in before):
            raise self.error((*loc, "name"), _("duplicate target name {name!r}").format(name=t.name))
        if sum(v is not None for v in (t.url_env, t.url_file, t.command)) != 1:
            raise self.error(loc, _("give exactly one of url_env, url_file or command (a URL never goes "
                                    "in this file)"))
        if t.url_env is not None and not _ENV_RE.fullmatch(t.url_env):
            raise self.error((*loc, "url_env"), _("not an environment variable name"))
        if t.command is not None and not t.command.strip():
            raise self.error((*loc, "command"), _("is empty"))
        for i, e in enumerate(t.events):
            if e not in NOTIFY_EVENTS:
                raise self.error((*loc, "events", i), _("unknown event {e!r} (known: {value})").format(
                    e=e, value=', '.join(NOTIFY_EVENTS)))
        return NotifyTarget(
            name=t.name, events=tuple(t.events), url_env=t.url_env,
            url_file=self.base / t.url_file if t.url_file is not None else None,
            command=t.command, lang=t.lang)
