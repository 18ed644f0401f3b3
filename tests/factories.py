"""Test factories: an account's settings, a workspace on disk, the one fake clock, and the
local account's client of a runtime.

Tests build these here rather than by hand, so a new settings field or a change to the
workspace layout is made once::

    account = account_settings(data_dir=tmp_path, platform="weibo", options=WEIBO_OPTIONS)
    clock = FakeClock()
    client = LocalClient(account_settings(data_dir=tmp_path), clock=clock)
    clock.advance(days=3)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from outreach.clients.base import MicroblogClient
from outreach.clients.local import LocalClient, LocalPlatform
from outreach.config.settings import AccountSettings, Slot
from outreach.library.starter import write_starter
from outreach.runtime import Runtime

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
"""Where a :class:`FakeClock` starts unless told otherwise."""

WEIBO_OPTIONS: Mapping[str, str] = MappingProxyType(
    {"share_url": "https://example.gov.cn/safety", "rip": "203.0.113.7"})
"""The platform keys a Weibo account needs (the compliance link and the registered IP);
add ``uid`` where a test reads the account's own timeline."""


class FakeClock:
    """An injected clock: it moves only when told.

    Pass it wherever code takes a clock (a ``Callable[[], datetime]``): calling it and
    :meth:`now` give the same aware UTC time.
    """

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move on by ``delta`` or by ``timedelta(**kwargs)``; the new time."""
        self.current += (delta or timedelta()) + timedelta(**kwargs)
        return self.current

    def set(self, value: datetime) -> datetime:
        """Jump to ``value`` (forwards or back); the new time."""
        self.current = value
        return value


def account_settings(
    *,
    data_dir: Path,
    name: str = "acct",
    platform: str = "local",
    lang: str = "zh",
    timezone: ZoneInfo | str = "Asia/Shanghai",
    api_base: str | None = None,
    token_env: str | None = None,
    max_length: int | None = None,
    vars: Mapping[str, Any] | None = None,
    slots: tuple[Slot, ...] = (),
    options: Mapping[str, Any] | None = None,
    display_name: str = "",
) -> AccountSettings:
    """An account's settings as the loader would freeze them (read-only mappings, a zone);
    a local account in Beijing time unless overridden."""
    return AccountSettings(
        name=name,
        platform=platform,
        lang=lang,
        timezone=ZoneInfo(timezone) if isinstance(timezone, str) else timezone,
        api_base=api_base,
        token_env=token_env,
        max_length=max_length,
        vars=MappingProxyType(dict(vars or {})),
        slots=slots,
        options=MappingProxyType(dict(options or {})),
        data_dir=data_dir,
        display_name=display_name,
    )


def make_workspace(root: Path, config_text: str, monkeypatch: pytest.MonkeyPatch, *,
                   user: str = "officer-a") -> Path:
    """A starter workspace in ``root`` (content/ and ``config_text`` as config.toml), made
    the current folder and the configuration in use, acted in by ``user``. Token variables
    from the environment are dropped, so only what the test sets is seen."""
    root.mkdir(parents=True, exist_ok=True)
    write_starter(root)
    (root / "config.toml").write_text(config_text, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("OUTREACH_CONFIG", str(root / "config.toml"))
    monkeypatch.setenv("OUTREACH_USER", user)
    for var in list(os.environ):
        if var.startswith("OUTREACH_") and var.endswith("_TOKEN"):
            monkeypatch.delenv(var)
    return root


def local_client(rt: Runtime, name: str = "pingan-local") -> LocalClient:
    """The runtime's client of a local account."""
    client = rt.client(name)
    assert isinstance(client, LocalClient), f"{name} is not a local account"
    return client


def local_platform(rt: Runtime, name: str = "pingan-local") -> LocalPlatform:
    """The simulated platform a local account posts to (what the public would see)."""
    return local_client(rt, name).platform_db


def remember_keys(client: MicroblogClient, window: timedelta = timedelta(hours=1)) -> None:
    """Make one client honour idempotency keys for ``window``, as Mastodon does (a client
    class says how long its platform keeps them; this sets it for the instance alone)."""
    vars(client)["idempotency_window"] = window


def shared_app_config(api_base: str, names: Iterable[str], *, database: str, budget: int,
                      token_env: str, extra: str = "") -> str:
    """A config of Weibo accounts on the fake server at ``api_base`` that share one app
    ("pingan-app") and its hourly call budget; approval off, no gap between posts."""
    text = (f'[outreach]\ndatabase = "{database}"\ntimezone = "Asia/Shanghai"\n'
            'content_dir = "content"\ndata_dir = "data"\n\n')
    for name in names:
        text += (f'[accounts.{name}]\nplatform = "weibo"\napi_base = "{api_base}"\n'
                 f'token_env = "{token_env}"\n'
                 'share_url = "https://example.gov.cn/safety"\nrip = "203.0.113.7"\n'
                 f'{extra}app = "pingan-app"\napp_calls_per_hour = {budget}\n\n')
    return text + "[policy]\nrequire_approval = false\nmin_gap_minutes = 0\n"
