"""A harness for the running mastodon-mock peer (see .ci/mastodon-peer.sh).

The peer is a separate process started by ``.ci/mastodon-peer.sh start``, which
prints ``export OUTREACH_MASTODON_TEST_URL=...``. Tests call ``peer_url()``, which
skips when the variable is unset; benchmarks and scripts use ``peer_url_or_none()``
and ``Peer`` directly, without pytest::

    from tests.mastodon_peer import Peer, bot_account, peer_url_or_none
    with Peer(peer_url_or_none()) as peer:
        peer.reset()
        ids = peer.post_many(2000)
        account = bot_account(peer.url, Path("/tmp/x"))

Fans act with plain HTTP calls and their own tokens; the bot's client under test
uses the ``bot_token`` seeded by ``tests/peer/peer.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from outreach.clients.base import Counts, as_int
from outreach.config.settings import AccountSettings
from tests.factories import account_settings

URL_ENV = "OUTREACH_MASTODON_TEST_URL"
PEER_PYTHON_ENV = "OUTREACH_PEER_PYTHON"
TOKEN_ENV = "OUTREACH_TEST_MASTODON_TOKEN"
SKIP_REASON = f"{URL_ENV} is not set; .ci/run starts the mastodon-mock peer"

BOT = "outreachbot"
BOT_TOKEN = "bot_token"
FAN_TOKENS: Mapping[str, str] = MappingProxyType({"fan1": "fan1_token", "fan2": "fan2_token"})
TOKENS: Mapping[str, str] = MappingProxyType({BOT: BOT_TOKEN, **FAN_TOKENS})


class PeerError(RuntimeError):
    """The peer answered a harness call with an error (a bug in the test setup)."""


def peer_url_or_none() -> str | None:
    """The running peer's base URL, or None when no peer was started."""
    url = os.environ.get(URL_ENV, "").strip()
    return url.rstrip("/") or None


def peer_url() -> str:
    """The running peer's base URL; skips the calling test when there is none."""
    url = peer_url_or_none()
    if url is None:
        pytest.skip(SKIP_REASON)
    return url


def bot_account(
    url: str,
    data_dir: Path,
    *,
    token: str = BOT_TOKEN,
    token_env: str = TOKEN_ENV,
    environ: MutableMapping[str, str] | None = None,
    name: str = "peerbot",
    max_length: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> AccountSettings:
    """Settings of a Mastodon account for the bot on the peer; sets ``token_env`` to the token."""
    env = os.environ if environ is None else environ
    env[token_env] = token
    return account_settings(name=name, platform="mastodon", lang="en", timezone="UTC",
                            api_base=url, token_env=token_env, max_length=max_length,
                            options=options, data_dir=data_dir)


class Peer:
    """Control and inspect the peer: reset, fan actions, server-side views, faults."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self.bot_id = ""
        self.fan_ids: dict[str, str] = {}
        self._load_ids()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, token: str | None = BOT_TOKEN, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self._http.request(method, path, headers=headers, **kwargs)
        if resp.status_code >= 400:
            raise PeerError(f"{method} {path} -> {resp.status_code} {resp.text[:300]}")
        return resp

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def _load_ids(self) -> None:
        me = self._json("GET", "/api/v1/accounts/verify_credentials", token=BOT_TOKEN)
        self.bot_id = str(me["id"])
        self.fan_ids = {
            fan: str(self._json("GET", "/api/v1/accounts/verify_credentials", token=tok)["id"])
            for fan, tok in FAN_TOKENS.items()
        }

    def reset(self) -> None:
        """Drop everything, re-seed, clear faults; account ids change, so they are re-read."""
        self.call("POST", "/api/v1/_mock/reset", token=None)
        self._load_ids()

    # --- acting --------------------------------------------------------------------------

    def post(self, text: str, *, token: str = BOT_TOKEN, **fields: Any) -> str:
        """Post a status as the bot (or another token); its id."""
        return str(self._json("POST", "/api/v1/statuses", token=token,
                              json={"status": text, **fields})["id"])

    def post_many(self, n: int, prefix: str = "safety tip") -> list[str]:
        """Post ``n`` distinct statuses as the bot, serially; their ids, oldest first."""
        return [self.post(f"{prefix} {i}") for i in range(n)]

    def reblog(self, status_id: str, fan: str = "fan1") -> None:
        self.call("POST", f"/api/v1/statuses/{status_id}/reblog", token=FAN_TOKENS[fan])

    def favourite(self, status_id: str, fan: str = "fan1") -> None:
        self.call("POST", f"/api/v1/statuses/{status_id}/favourite", token=FAN_TOKENS[fan])

    def reply(self, status_id: str, fan: str, text: str, *, mention: str | None = BOT) -> str:
        """A fan's reply; like Mastodon's own UI it starts with ``@mention`` (so we're notified)."""
        body = f"@{mention} {text}" if mention else text
        return self.post(body, token=TOKENS.get(fan, fan), in_reply_to_id=status_id)

    def follow(self, fan: str, target: str | None = None) -> None:
        self.call("POST", f"/api/v1/accounts/{target or self.bot_id}/follow",
                  token=FAN_TOKENS[fan])

    # --- the server's view -----------------------------------------------------------------

    def status(self, status_id: str) -> dict[str, Any]:
        """One status as the server serialises it (live counts)."""
        body: dict[str, Any] = self._json("GET", f"/api/v1/statuses/{status_id}")
        return body

    def counts(self, status_id: str) -> Counts:
        st = self.status(status_id)
        return Counts(reposts=as_int(st["reblogs_count"]), comments=as_int(st["replies_count"]),
                      likes=as_int(st["favourites_count"]))

    def account(self) -> dict[str, Any]:
        """The bot's account (followers_count, following_count, statuses_count)."""
        body: dict[str, Any] = self._json("GET", f"/api/v1/accounts/{self.bot_id}")
        return body

    def own_statuses(self) -> list[dict[str, Any]]:
        """Every status of the bot (replies too, reblogs not), newest first."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 40, "exclude_reblogs": "true"}
        while True:
            page = self._json("GET", f"/api/v1/accounts/{self.bot_id}/statuses", params=params)
            out.extend(page)
            if len(page) < 40:
                return out
            params["max_id"] = page[-1]["id"]

    # --- faults ------------------------------------------------------------------------------

    def fault(
        self,
        kind: str,
        *,
        path: str | None = None,
        path_regex: str | None = None,
        methods: list[str] | None = None,
        count: int | None = 1,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        delay_ms: int = 0,
        truncate: bool = True,
    ) -> dict[str, Any]:
        """Add a fault rule; ``kind`` is status | ratelimit | latency | malformed | timeout.

        The peer applies the first matching rule to each request (never to /api/v1/_mock/*)
        and drops it after ``count`` uses (None: forever). ``path`` matches exactly or as a
        glob with ``*``. Returns the rule as the peer stored it (with its ``id``).
        """
        effect: dict[str, Any] = {"type": kind, "delay_ms": delay_ms, "truncate": truncate}
        if status is not None:
            effect["status"] = status
        if headers is not None:
            effect["headers"] = dict(headers)
        if body is not None:
            effect["body"] = body
        rule = {
            "match": {"methods": methods, "path": path, "path_regex": path_regex},
            "effect": effect,
            "count": count,
        }
        stored: dict[str, Any] = self._json("POST", "/api/v1/_mock/faults", token=None, json=rule)
        return stored

    def clear_faults(self) -> None:
        self.call("DELETE", "/api/v1/_mock/faults", token=None)
