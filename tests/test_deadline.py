"""Every platform request has one deadline for the whole of it.

A server that answers a byte at a time never trips httpx's per-read timeout; these tests
run the real clients against real slow servers on 127.0.0.1 (tests/trickle_server.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.clients.http import Cancelled, DeadlinePassed, HttpClient, http_client, send
from outreach.clients.mastodon.client import MastodonClient
from outreach.clients.mastodon.instance import InstanceLimits
from outreach.clients.weibo.client import WeiboClient
from outreach.config.settings import AccountSettings
from outreach.errors import AmbiguousOutcome, TransientError
from tests.factories import WEIBO_OPTIONS, account_settings
from tests.trickle_server import TrickleServer

TOKEN_ENV = "OUTREACH_TEST_SLOW_TOKEN"
DEADLINE = 1.0
SLACK = 1.5  # scheduling on a busy machine


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "slow-token-0123456789")


def account(platform: str, url: str, tmp_path: Path) -> AccountSettings:
    options = {**WEIBO_OPTIONS, "uid": "1"} if platform == "weibo" else {}
    return account_settings(data_dir=tmp_path, name="slow", platform=platform, api_base=url,
                            token_env=TOKEN_ENV, options=options)


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = http_client(request_deadline=DEADLINE)
    yield client
    client.close()


def client_for(platform: str, url: str, tmp_path: Path, http: httpx.Client) -> Any:
    cls = WeiboClient if platform == "weibo" else MastodonClient
    return cls(account(platform, url, tmp_path), http=http)


def timed(fn: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("platform", ["weibo", "mastodon"])
@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_trickled_answer_to_a_publish_is_ambiguous_at_the_deadline(tmp_path, http, platform,
                                                                    mode):
    with TrickleServer(0.2, mode) as server:
        client = client_for(platform, server.url, tmp_path, http)
        if platform == "mastodon":
            client._instance._limits = InstanceLimits()  # no /instance call
        exc, took = timed(lambda: client.publish("夜间出行注意安全。", idempotency_key="k1"))
    assert isinstance(exc, AmbiguousOutcome), exc
    assert "deadline" in exc.message and "slow-token" not in exc.message
    assert took < DEADLINE + SLACK


@pytest.mark.parametrize("platform", ["weibo", "mastodon"])
def test_a_trickled_answer_to_a_read_is_transient_at_the_deadline(tmp_path, http, platform):
    with TrickleServer(0.2, "headers") as server:
        client = client_for(platform, server.url, tmp_path, http)
        exc, took = timed(client.verify)
    assert isinstance(exc, TransientError), exc
    assert "deadline" in exc.message
    assert took < DEADLINE + SLACK


def test_a_send_the_server_never_reads_is_cut_at_the_deadline(http):
    """The request itself is too slow to leave: bytes were written, so it may have arrived."""
    with TrickleServer(0.2, "stall") as server:
        exc, took = timed(lambda: send(http, "POST", server.url + "/upload", max_bytes=1000,
                                       content=b"x" * 64_000_000))
    assert isinstance(exc, DeadlinePassed) and exc.sent, exc
    assert took < DEADLINE + SLACK


def test_a_deadline_before_the_request_left_is_transient_even_for_a_publish(tmp_path):
    """One connection, held by a slow request: the next one's deadline passes while it
    waits for a connection, before a byte of it was sent."""
    http = HttpClient(request_deadline=30, timeout=httpx.Timeout(20, connect=5, pool=5),
                      limits=httpx.Limits(max_connections=1))
    with http, TrickleServer(0.2, "headers") as server:
        blocker = threading.Thread(target=timed, args=(lambda: send(
            http, "GET", server.url + "/slow", max_bytes=1000),), daemon=True)
        blocker.start()
        time.sleep(0.3)  # the only connection is taken (for 30 s at most)
        http.request_deadline = DEADLINE
        client = client_for("weibo", server.url, tmp_path, http)
        exc, took = timed(lambda: client.publish("夜间出行注意安全。", idempotency_key="k2"))
        http.cancel()
        blocker.join()
    assert isinstance(exc, TransientError) and not isinstance(exc, AmbiguousOutcome), exc
    assert "never reached" in exc.message and "deadline" in exc.message
    assert took < DEADLINE + SLACK


def test_cancel_ends_a_request_in_flight_and_refuses_new_ones(tmp_path):
    http = http_client(request_deadline=600)
    with http, TrickleServer(1.0, "headers") as server:
        client = client_for("weibo", server.url, tmp_path, http)
        result: list[BaseException | None] = []
        t = threading.Thread(target=lambda: result.append(timed(
            lambda: client.publish("夜间出行注意安全。", idempotency_key="k3"))[0]))
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        assert http.cancel() == 1
        t.join(5)
        assert not t.is_alive() and time.monotonic() - started < 2
        assert isinstance(result[0], AmbiguousOutcome) and "cancelled" in result[0].message
        exc, took = timed(lambda: client.publish("夜间出行注意安全。", idempotency_key="k4"))
        assert isinstance(exc, TransientError) and not isinstance(exc, AmbiguousOutcome), exc
        with pytest.raises(Cancelled):
            send(http, "GET", server.url, max_bytes=10)


def test_a_quick_answer_is_untouched(tmp_path, http):
    with TrickleServer(0.0, "headers") as server:
        response, body = send(http, "GET", server.url + "/fast", max_bytes=10_000)
    assert response.status_code == 200 and body and b"slow" in body


def write_weibo_config(ws: Path, url: str, deadline: int | None) -> None:
    from tests.conftest import local_config

    text = local_config(slots="", require_approval=False)
    if deadline is not None:
        text = text.replace('data_dir = "data"\n',
                            f'data_dir = "data"\nrequest_deadline_seconds = {deadline}\n')
    policy = text.index("[policy]")
    weibo = (f'[accounts.slow]\nplatform = "weibo"\napi_base = "{url}"\n'
             f'token_env = "{TOKEN_ENV}"\nshare_url = "https://example.gov.cn/safety"\n'
             'rip = "203.0.113.7"\nlang = "zh"\nslots = []\n\n')
    (ws / "config.toml").write_text(text[:policy] + weibo + text[policy:], "utf-8")


def test_accounts_check_ends_at_the_configured_deadline(workspace, cli, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "slow-token-0123456789")
    with TrickleServer(0.5, "headers") as server:
        write_weibo_config(workspace, server.url, deadline=2)
        started = time.monotonic()
        r = cli("accounts", "check")
        took = time.monotonic() - started
    assert r.code == 1, r.out + r.err
    assert "deadline" in " ".join(r.out.split()) and "Traceback" not in r.err
    assert took < 2 * 2 + 3  # the slow account, then the local one


def test_accounts_check_waits_for_slow_platforms_side_by_side(workspace, cli, monkeypatch):
    """Two slow accounts cost one deadline, not two."""
    monkeypatch.setenv(TOKEN_ENV, "slow-token-0123456789")
    with TrickleServer(0.5, "headers") as server:
        write_weibo_config(workspace, server.url, deadline=3)
        text = (workspace / "config.toml").read_text("utf-8")
        policy = text.index("[policy]")
        second = text[text.index("[accounts.slow]"):policy].replace("[accounts.slow]",
                                                                       "[accounts.slow-2]")
        (workspace / "config.toml").write_text(text[:policy] + second + text[policy:], "utf-8")
        started = time.monotonic()
        r = cli("accounts", "check", "--json")
        took = time.monotonic() - started
    assert r.code == 1
    assert [(a["name"], a["ok"]) for a in r.json] == [
        ("pingan-local", True), ("slow", False), ("slow-2", False)]
    assert took < 3 + 2.5, took


@pytest.mark.slow
def test_accounts_check_against_a_byte_every_4_s_ends_within_70_s(workspace, cli, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "slow-token-0123456789")
    """The default deadline (60 s), a server that sends one byte every 4 s."""
    with TrickleServer(4.0, "headers") as server:
        write_weibo_config(workspace, server.url, deadline=None)
        started = time.monotonic()
        r = cli("accounts", "check")
        took = time.monotonic() - started
    assert r.code != 0, r.out + r.err
    assert took < 70, took
