"""Pictures against the running mastodon-mock peer, through the CLI (the slow lane).

A post with two pictures arrives with its alt texts as the attachments' descriptions; a
lost answer on the status create still gives one status and no second upload (the
``DroppingProxy`` in front of the peer counts what reached it); an upload the server has
forgotten is uploaded again and the status is never left without its pictures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.config.load import load_settings
from outreach.runtime import Runtime
from tests.conftest import Result
from tests.dropping_proxy import DroppingProxy
from tests.mastodon_peer import BOT_TOKEN, TOKEN_ENV, Peer
from tests.pictures import attach, picture
from tests.test_mastodon_e2e import CONFIG, add, ok, requests, show, with_text

pytestmark = pytest.mark.slow

Cli = Callable[..., Result]
ALTS = ("A red poster: four rules against phone fraud", "A green card: the 96110 hotline")


@pytest.fixture
def proxy(fresh: Peer) -> Iterator[DroppingProxy]:
    with DroppingProxy(fresh.url) as p:
        yield p


@pytest.fixture
def setup(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    def write(api_base: str) -> Path:
        (workspace / "config.toml").write_text(
            CONFIG.format(api_base=api_base, token_env=TOKEN_ENV), encoding="utf-8")
        monkeypatch.setenv(TOKEN_ENV, BOT_TOKEN)
        return workspace

    return write


def queue_with_pictures(cli: Cli, workspace: Path, text: str,
                        pictures: list[tuple[bytes, str]]) -> dict[str, Any]:
    """Queue ``text`` with its pictures, as an officer would."""
    post = add(cli, text)
    rt = Runtime(load_settings(workspace / "config.toml"))
    try:
        attach(rt, post["id"], pictures)
    finally:
        rt.close()
    return post


def two_pictures() -> list[tuple[bytes, str]]:
    return [(picture("red", (400, 300), "JPEG"), ALTS[0]), (picture("green"), ALTS[1])]


def test_two_pictures_arrive_with_their_alt_texts(fresh: Peer, setup: Callable[[str], Path],
                                                  cli: Cli) -> None:
    workspace = setup(fresh.url)
    text = "Two pictures: the four rules and the hotline"
    post = queue_with_pictures(cli, workspace, text, two_pictures())
    ok(cli("run", "--once"))
    [status] = with_text(fresh, post["text"])
    attachments = status["media_attachments"]
    assert [a["description"] for a in attachments] == list(ALTS)
    assert [a["type"] for a in attachments] == ["image", "image"]
    stored = show(cli, post["id"])
    assert stored["status"] == "published" and stored["remote_id"] == status["id"]
    with httpx.Client(timeout=10) as http:  # the bytes the server kept are ours
        served = [http.get(a["url"]).content for a in attachments]
    assert served == [p for p, _ in two_pictures()]


def test_a_lost_answer_on_the_create_gives_one_status_and_no_second_upload(
        fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli) -> None:
    workspace = setup(proxy.url)
    text = "Exactly once with pictures: hang up on anyone asking for your PIN"
    post = queue_with_pictures(cli, workspace, text, two_pictures())
    proxy.drop_next(1, "POST", "/api/v1/statuses")
    ok(cli("run", "--once"))
    assert proxy.dropped == [("POST", "/api/v1/statuses", 200)]  # it landed; answer lost
    assert show(cli, post["id"])["status"] == "unconfirmed"
    ok(cli("run", "--once"))
    stored = show(cli, post["id"])
    assert stored["status"] == "published"
    [status] = with_text(fresh, post["text"])
    assert stored["remote_id"] == status["id"]
    assert [a["description"] for a in status["media_attachments"]] == list(ALTS)
    assert len(requests(proxy, "POST", "/api/v2/media")) == 2  # each file uploaded once


def test_an_upload_the_server_forgot_is_uploaded_again(
        fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli) -> None:
    """The ids are stored, the create is refused for a while (429), the uploads expire
    meanwhile: the peer, like Mastodon before 4.3, then posts without them — the status
    is deleted and the pictures uploaded again, so what stays has both."""
    workspace = setup(proxy.url)
    text = "Uploads expire: this one must still carry both pictures"
    post = queue_with_pictures(cli, workspace, text, two_pictures())
    fresh.fault("status", path="/api/v1/statuses", methods=["POST"], status=429,
                headers={"Retry-After": "0"})
    ok(cli("run", "--once"))
    assert show(cli, post["id"])["status"] == "queued"
    uploads = requests(proxy, "POST", "/api/v2/media")
    assert len(uploads) == 2
    for media_id in _uploaded_ids(workspace, post["id"]):
        fresh.call("DELETE", f"/api/v1/media/{media_id}")  # expired on the server
    ok(cli("run", "--once"))
    stored = show(cli, post["id"])
    assert stored["status"] == "published", stored
    [status] = with_text(fresh, post["text"])
    assert [a["description"] for a in status["media_attachments"]] == list(ALTS)
    assert len(requests(proxy, "POST", "/api/v2/media")) == 4
    assert stored["remote_id"] == status["id"]


def _uploaded_ids(workspace: Path, post_id: int) -> list[str]:
    from outreach.publish.media import pictures_of

    rt = Runtime(load_settings(workspace / "config.toml"))
    try:
        ids = [r.remote_id for r in pictures_of(rt, post_id)]
    finally:
        rt.close()
    assert all(ids), ids
    return [i for i in ids if i]

