"""Against the mastodon-mock peer, through the CLI: a pause holds a reconciling resend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.dropping_proxy import DroppingProxy
from tests.mastodon_peer import Peer
from tests.test_mastodon_e2e import add, ok, proxy, setup, show, with_text

pytestmark = pytest.mark.slow

__all__ = ["proxy", "setup"]  # fixtures shared with the end-to-end tests

Cli = Callable[..., Result]


def test_a_502_then_a_pause_sends_nothing_until_resume(
    fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli
) -> None:
    setup(proxy.url)
    post = add(cli, "Held in a pause: never share a verification code by phone")
    fresh.fault("status", path="/api/v1/statuses", methods=["POST"], status=502, count=1)

    ok(cli("run", "--once"))
    assert show(cli, post["id"])["status"] == "unconfirmed"  # a 5xx may have been applied
    assert fresh.own_statuses() == []

    ok(cli("pause", "--reason", "incident drill", "--by", "chief"))
    for _ in range(2):
        ok(cli("run", "--once"))
        assert fresh.own_statuses() == []
    held = show(cli, post["id"])
    assert held["status"] == "unconfirmed"

    ok(cli("resume", "--by", "chief"))
    ok(cli("run", "--once"))
    ok(cli("run", "--once"))
    done = show(cli, post["id"])
    assert done["status"] == "published"
    landed = with_text(fresh, done["text"])
    assert len(landed) == 1 and len(fresh.own_statuses()) == 1
    assert done["remote_id"] == landed[0]["id"]
