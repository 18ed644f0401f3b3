"""config.toml → frozen, validated settings.

Every problem is a ``ConfigError`` naming the file, the key and, where it can be
found, the line. Secrets never live in the file: a token comes from the
environment variable named by ``token_env`` or from a token file in the data
folder (written by ``outreach auth``), and is wrapped in ``Secret`` so that no
repr, log line or exception shows it.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.config.secrets import Secret, read_token
from outreach.errors import ConfigError

DEFAULT_CONFIG = "config.toml"
LANGS = ("zh", "en")


def _http_allowed(url: str) -> bool:
    """True for https, and for plain http to this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    from urllib.parse import urlsplit

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


NOTIFY_EVENTS = ("emergency", "post_failed", "needs_reauth", "token_expiring", "daemon_stale",
                 "daily_digest")


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
                raise ConfigError(f"notify target {self.name!r}: ${self.url_env} is not set")
            return Secret(value)
        assert self.url_file is not None
        path = self.url_file
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            raise ConfigError(f"notify target {self.name!r}: url_file not found",
                              where=str(path)) from None
        if mode & 0o077:
            raise ConfigError(f"url file is readable by others (mode {mode:o}); run: chmod 600 "
                              f"{path}", where=str(path))
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        if not lines or not lines[0].strip():
            raise ConfigError(f"notify target {self.name!r}: url_file is empty", where=str(path))
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
    request_deadline_seconds: int = 60  # the longest one platform request may take, in all
    policy: Policy = field(default_factory=Policy)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    opinions: OpinionSettings = field(default_factory=OpinionSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)

    def account(self, name: str) -> AccountSettings:
        from outreach.errors import NotFound

        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise NotFound(f"unknown account {name!r} (configured: {known})") from None


# --- loading -----------------------------------------------------------------------


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$OUTREACH_CONFIG``, else ./config.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("OUTREACH_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate config.toml."""
    p = config_path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (run `outreach init` or pass --config)", where=str(p)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", where=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8", where=f"{p}:{line}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = toml_error(exc, text)
        raise ConfigError(f"invalid TOML: {message}", where=f"{p}:{line}") from None
    return _Reader(p, text).settings(data)


def toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[str, int]:
    """tomllib's message without its position, and the line it points at."""
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column \d+\)$", msg)
    if m:
        return msg[: m.start()], int(m[1])
    if msg.endswith("(at end of document)"):
        return msg[: -len("(at end of document)")].strip(), max(text.count("\n") + 1, 1)
    return msg, 1


_KEY_LINE_RE = r'^\s*(?:"?{key}"?)\s*='


class _Reader:
    """Walks the parsed TOML, checking each key and type and remembering where it is."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.base = path.resolve().parent
        self.lines = text.splitlines()

    # where a key is, as well as the text lets us find it
    def _line(self, dotted: str) -> int | None:
        parts = [p for p in re.split(r"\.|\[\d+\]", dotted) if p]
        if not parts:
            return None
        key = parts[-1]
        section = ".".join(parts[:-1])
        if not section:  # a top-level table such as [extra]
            for i, line in enumerate(self.lines):
                s = line.strip()
                if s in (f"[{key}]", f"[[{key}]]") or s.startswith(f"[{key}."):
                    return i + 1
        start = 0
        if section:
            for i, line in enumerate(self.lines):
                s = line.strip()
                if s in (f"[{section}]", f"[[{section}]]") or s.startswith(f"[{section}]"):
                    start = i
                    break
            else:
                # a dotted table header such as [accounts.x] holding key parts
                for i, line in enumerate(self.lines):
                    if line.strip().startswith(f"[{parts[0]}"):
                        start = i
                        break
        pattern = re.compile(_KEY_LINE_RE.format(key=re.escape(key)))
        for i in range(start, len(self.lines)):
            if pattern.match(self.lines[i]):
                return i + 1
        # a key inside an inline table, e.g. slots = [{ cron = "..." }]
        for i in range(start, len(self.lines)):
            if re.search(r"[{,]\s*" + re.escape(key) + r"\s*=", self.lines[i]):
                return i + 1
        return None

    def error(self, dotted: str, message: str) -> ConfigError:
        line = self._line(dotted)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{dotted}: {message}", where=where)

    def table(self, data: Any, dotted: str, allowed: set[str] | frozenset[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(dotted, f"expected a table, got {_type_name(data)}")
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(f"{dotted}.{key}" if dotted else key, f"unknown key (known: {known})")
        return data

    def get(self, data: dict[str, Any], dotted: str, key: str, typ: type | tuple[type, ...],
            default: Any = None, required: bool = False) -> Any:
        name = f"{dotted}.{key}" if dotted else key
        if key not in data:
            if required:
                raise ConfigError(f"{name}: required key is missing", where=str(self.path))
            return default
        value = data[key]
        if isinstance(value, bool) and typ is not bool and not (
            isinstance(typ, tuple) and bool in typ
        ):
            raise self.error(name, f"expected {_type_label(typ)}, got a boolean")
        if not isinstance(value, typ):
            raise self.error(name, f"expected {_type_label(typ)}, got {_type_name(value)}")
        return value

    def positive(self, data: dict[str, Any], dotted: str, key: str, default: int,
                 minimum: int = 0, maximum: int = 100_000) -> int:
        value = self.get(data, dotted, key, int, default)
        if value < minimum:
            raise self.error(f"{dotted}.{key}", f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise self.error(f"{dotted}.{key}", f"must be at most {maximum}, got {value}")
        return int(value)

    def zone(self, value: Any, dotted: str) -> ZoneInfo:
        if not isinstance(value, str):
            raise self.error(dotted, f"expected a timezone name, got {_type_name(value)}")
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise self.error(dotted, f"unknown timezone {shown!r}") from None

    def settings(self, data: dict[str, Any]) -> Settings:
        from outreach.clients import client_class, known_platforms
        from outreach.schedule.cron import CronError, parse_cron

        self.table(data, "", {"outreach", "accounts", "policy", "metrics", "opinions", "report",
                              "notify"})
        top = self.table(data.get("outreach", {}), "outreach",
                         {"database", "timezone", "content_dir", "data_dir",
                          "request_deadline_seconds"})
        db = self.get(top, "outreach", "database", str, "sqlite:///outreach.db")
        database_url = self._database_url(db)
        tz = self.zone(top.get("timezone", "Asia/Shanghai"), "outreach.timezone")
        content_dir = self.base / self.get(top, "outreach", "content_dir", str, "content")
        data_dir = self.base / self.get(top, "outreach", "data_dir", str, "data")
        deadline = self.positive(top, "outreach", "request_deadline_seconds", 60, minimum=1,
                                 maximum=3600)

        accounts_raw = data.get("accounts", {})
        if not isinstance(accounts_raw, dict):
            raise self.error("accounts", f"expected a table, got {_type_name(accounts_raw)}")
        accounts: dict[str, AccountSettings] = {}
        for name, acc in accounts_raw.items():
            dotted = f"accounts.{name}"
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
                raise self.error(dotted, "account names use letters, digits, '-' and '_' only")
            if not isinstance(acc, dict):
                raise self.error(dotted, f"expected a table, got {_type_name(acc)}")
            platform = self.get(acc, dotted, "platform", str, required=True)
            if platform not in known_platforms():
                raise self.error(f"{dotted}.platform", f"unknown platform {platform!r} "
                                 f"(known: {', '.join(known_platforms())})")
            cls = client_class(platform)
            common = {"platform", "api_base", "token_env", "lang", "timezone", "max_length",
                      "vars", "slots", "display_name", "allow_insecure_http"}
            self.table(acc, dotted, common | set(cls.config_keys))
            lang = self.get(acc, dotted, "lang", str, "zh")
            if lang not in LANGS:
                raise self.error(f"{dotted}.lang", f"must be one of {', '.join(LANGS)}, got {lang!r}")
            acc_tz = self.zone(acc["timezone"], f"{dotted}.timezone") if "timezone" in acc else tz
            api_base = self.get(acc, dotted, "api_base", str)
            if api_base is not None and not re.match(r"https?://[^\s/]+", api_base):
                raise self.error(f"{dotted}.api_base", f"not an http(s) URL: {api_base!r}")
            insecure_ok = self.get(acc, dotted, "allow_insecure_http", bool, False)
            if api_base is not None and not insecure_ok and not _http_allowed(api_base):
                raise self.error(f"{dotted}.api_base", "plain http would send the token in clear; "
                                 "use https, a loopback address, or set allow_insecure_http = true")
            token_env = self.get(acc, dotted, "token_env", str)
            if token_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
                raise self.error(f"{dotted}.token_env", "not an environment variable name")
            max_length = self.get(acc, dotted, "max_length", int)
            if max_length is not None and max_length < 1:
                raise self.error(f"{dotted}.max_length", "must be positive")
            vars_ = self.get(acc, dotted, "vars", dict, {})
            display_name = self.get(acc, dotted, "display_name", str, "").strip()
            slots_raw = self.get(acc, dotted, "slots", list, [])
            slots: list[Slot] = []
            for i, s in enumerate(slots_raw):
                sd = f"{dotted}.slots[{i}]"
                self.table(s, sd, {"cron", "categories"})
                cron = self.get(s, sd, "cron", str, required=True)
                try:
                    parse_cron(cron)
                except CronError as exc:
                    raise self.error(f"{sd}.cron", f"bad cron {cron!r}: {exc}") from None
                cats = self.get(s, sd, "categories", list, [])
                if not all(isinstance(c, str) and c for c in cats):
                    raise self.error(f"{sd}.categories", "expected a list of category codes")
                slots.append(Slot(cron=cron, categories=tuple(cats)))
            options = {k: acc[k] for k in cls.config_keys if k in acc}
            for k, v in options.items():
                if not isinstance(v, str | int | bool):
                    raise self.error(f"{dotted}.{k}", f"expected a string, got {_type_name(v)}")
            accounts[name] = AccountSettings(
                name=name, platform=platform, lang=lang, timezone=acc_tz, api_base=api_base,
                token_env=token_env, max_length=max_length, vars=_freeze(vars_),
                slots=tuple(slots), options=MappingProxyType(options), data_dir=data_dir,
                display_name=display_name,
            )
            problem = cls.validate_options(options)
            if problem:
                key, message = problem
                raise self.error(f"{dotted}.{key}", message)

        policy = self._policy(data.get("policy", {}))
        metrics = self._metrics(data.get("metrics", {}))
        opinions = self._opinions(data.get("opinions", {}))
        report = self._report(data.get("report", {}))
        return Settings(path=self.path, database_url=database_url, timezone=tz,
                        content_dir=content_dir, data_dir=data_dir,
                        accounts=MappingProxyType(accounts), request_deadline_seconds=deadline,
                        policy=policy, metrics=metrics, opinions=opinions, report=report,
                        notify=self._notify(data.get("notify", {})))

    def _report(self, raw: Any) -> ReportSettings:
        keys = ("department", "title", "department_en", "title_en")
        r = self.table(raw, "report", set(keys))
        return ReportSettings(**{k: self.get(r, "report", k, str, "").strip() for k in keys})

    def _database_url(self, url: str) -> str:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///"):]
            if rel and rel != ":memory:":
                return f"sqlite:///{(self.base / rel)}"
        if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", url):
            raise self.error("outreach.database",
                             "expected sqlite:///FILE or postgresql+psycopg://...")
        return url

    def _policy(self, raw: Any) -> Policy:
        d = "policy"
        p = self.table(raw, d, {f for f in Policy.__dataclass_fields__})
        quiet = self.get(p, d, "quiet_hours", str, "")
        quiet_hours = None
        if quiet:
            m = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", quiet)
            if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
                raise self.error(f"{d}.quiet_hours", f"expected \"HH:MM-HH:MM\", got {quiet!r}")
            quiet_hours = (time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))
        blackout_raw = self.get(p, d, "blackout_dates", list, [])
        blackout: list[date] = []
        for v in blackout_raw:
            if isinstance(v, datetime):  # a TOML date-time would never equal a day
                raise self.error(f"{d}.blackout_dates", f"{v.isoformat()} is a date-time; "
                                 "expected a date without a time (YYYY-MM-DD)")
            if isinstance(v, date):
                blackout.append(v)
                continue
            try:
                blackout.append(date.fromisoformat(str(v)))
            except ValueError:
                shown = v.isoformat() if isinstance(v, time) else repr(v)
                raise self.error(f"{d}.blackout_dates",
                                 f"not a date (YYYY-MM-DD): {shown}") from None
        return Policy(
            require_approval=self.get(p, d, "require_approval", bool, True),
            allow_self_approval=self.get(p, d, "allow_self_approval", bool, False),
            lease_seconds=self.positive(p, d, "lease_seconds", 60, 5, 3600),
            cooldown_days=self.positive(p, d, "cooldown_days", 30, 0, 3650),
            catch_up_minutes=self.positive(p, d, "catch_up_minutes", 60, 0, 7 * 24 * 60),
            min_gap_minutes=self.positive(p, d, "min_gap_minutes", 30, 0, 24 * 60),
            max_attempts=self.positive(p, d, "max_attempts", 5, 1, 100),
            materialise_hours=self.positive(p, d, "materialise_hours", 24, 1, 24 * 31),
            quiet_hours=quiet_hours,
            blackout_dates=tuple(blackout),
        )

    def _metrics(self, raw: Any) -> MetricsSettings:
        m = self.table(raw, "metrics", {"poll"})
        if "poll" not in m:
            return MetricsSettings()
        tiers = []
        for i, t in enumerate(self.get(m, "metrics", "poll", list)):
            d = f"metrics.poll[{i}]"
            self.table(t, d, {"age_hours", "every_minutes"})
            tiers.append(PollTier(self.positive(t, d, "age_hours", 24, 1, 24 * 3660),
                                  self.positive(t, d, "every_minutes", 30, 1, 30 * 24 * 60)))
        tiers.sort(key=lambda t: t.age_hours)
        return MetricsSettings(poll=tuple(tiers))

    def _opinions(self, raw: Any) -> OpinionSettings:
        o = self.table(raw, "opinions", {"keep_days", "alert_command"})
        return OpinionSettings(keep_days=self.positive(o, "opinions", "keep_days", 180, 1, 36600),
                               alert_command=self.get(o, "opinions", "alert_command", str, ""))

    def _notify(self, raw: Any) -> NotifySettings:
        d = "notify"
        n = self.table(raw, d, {"targets", "escalate_after_minutes", "lang", "digest_at"})
        lang = self.get(n, d, "lang", str, "zh")
        if lang not in LANGS:
            raise self.error(f"{d}.lang", f"must be one of {', '.join(LANGS)}, got {lang!r}")
        at = self.get(n, d, "digest_at", str, "08:00")
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", at)
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            raise self.error(f"{d}.digest_at", f"expected \"HH:MM\", got {at!r}")
        targets: list[NotifyTarget] = []
        for i, t in enumerate(self.get(n, d, "targets", list, [])):
            td = f"{d}.targets[{i}]"
            self.table(t, td, {"name", "url_env", "url_file", "command", "events", "lang"})
            name = self.get(t, td, "name", str, required=True)
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
                raise self.error(f"{td}.name", "target names use letters, digits, '-' and '_' only")
            if any(x.name == name for x in targets):
                raise self.error(f"{td}.name", f"duplicate target name {name!r}")
            given = [k for k in ("url_env", "url_file", "command") if k in t]
            if len(given) != 1:
                raise self.error(td, "give exactly one of url_env, url_file or command "
                                     "(a URL never goes in this file)")
            url_env = self.get(t, td, "url_env", str)
            if url_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", url_env):
                raise self.error(f"{td}.url_env", "not an environment variable name")
            url_file = self.get(t, td, "url_file", str)
            command = self.get(t, td, "command", str)
            if command is not None and not command.strip():
                raise self.error(f"{td}.command", "is empty")
            events = self.get(t, td, "events", list, required=True)
            for e in events:
                if e not in NOTIFY_EVENTS:
                    raise self.error(f"{td}.events", f"unknown event {e!r} "
                                     f"(known: {', '.join(NOTIFY_EVENTS)})")
            t_lang = self.get(t, td, "lang", str)
            if t_lang is not None and t_lang not in LANGS:
                raise self.error(f"{td}.lang", f"must be one of {', '.join(LANGS)}, got {t_lang!r}")
            targets.append(NotifyTarget(
                name=name, events=tuple(events), url_env=url_env,
                url_file=self.base / url_file if url_file is not None else None,
                command=command, lang=t_lang))
        return NotifySettings(
            targets=tuple(targets), lang=lang, digest_at=time(int(m[1]), int(m[2])),
            escalate_after_minutes=self.positive(n, d, "escalate_after_minutes", 10, 1, 7 * 24 * 60))


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for templates and JSON)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", int: "an integer",
            float: "a number", bool: "a boolean"}.get(type(value), type(value).__name__)


def _type_label(typ: type | tuple[type, ...]) -> str:
    types = typ if isinstance(typ, tuple) else (typ,)
    names = {dict: "a table", list: "an array", str: "a string", int: "an integer",
             float: "a number", bool: "a boolean (true/false)"}
    return " or ".join(names.get(t, t.__name__) for t in types)
