"""Pictures against the running mastodon-mock peer, through the CLI (the slow lane).

A post with two pictures arrives with its alt texts as the attachments' descriptions; a
lost answer on the status create still gives one status and no second upload (the
``DroppingProxy`` in front of the peer counts what reached it); an upload the server has
forgotten is uploaded again and the status is never left without its pictures.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image

from tests.conftest import Result
from tests.dropping_proxy import DroppingProxy
from tests.mastodon_peer import BOT_TOKEN, TOKEN_ENV, Peer
from tests.pictures import picture
from tests.test_mastodon_e2e import CONFIG, ok, requests, show, with_text

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
    """Queue ``text`` with its pictures, as an officer would: files and ``--image/--alt``."""
    args: list[str] = []
    for n, (data, alt) in enumerate(pictures):
        suffix = "jpg" if data.startswith(b"\xff\xd8") else "png"
        path = workspace / f"upload-{n}.{suffix}"
        path.write_bytes(data)
        args += ["--image", str(path), "--alt", alt]
    post: dict[str, Any] = ok(cli("queue", "add", "--account", "masto", "--text", text,
                                  *args, "--json")).json
    assert post["status"] == "queued" and post["images"] == len(pictures)
    return post


def stored_media(cli: Cli, post_id: int) -> list[dict[str, Any]]:
    media: list[dict[str, Any]] = show(cli, post_id)["media"]
    return media


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
    assert [m["remote_id"] for m in stored["media"]] == [a["id"] for a in attachments]
    with httpx.Client(timeout=10) as http:  # the bytes the server kept are the stored ones
        served = [http.get(a["url"]).content for a in attachments]
    assert [hashlib.sha256(b).hexdigest() for b in served] == [
        m["sha256"] for m in stored["media"]]


def test_no_gps_position_reaches_the_server(fresh: Peer, setup: Callable[[str], Path],
                                            cli: Cli) -> None:
    """A photo taken at a scene, with its GPS position in EXIF, queued and published: the
    bytes the server serves back carry no EXIF GPS (nor the camera's other EXIF)."""
    workspace = setup(fresh.url)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SceneCam"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (116.0, 23.0, 17.0)}
    photo = picture("orange", (640, 480), "JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(photo)) as original:  # the file does carry a position
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    post = queue_with_pictures(cli, workspace, "Witness appeal: have you seen this van?",
                               [(photo, "A white van parked by a lamp post at night")])
    ok(cli("run", "--once"))
    [status] = with_text(fresh, post["text"])
    [attachment] = status["media_attachments"]
    with httpx.Client(timeout=10) as http:
        served = http.get(attachment["url"]).content
    with Image.open(io.BytesIO(served)) as image:
        exif_back = image.getexif()
        assert image.size == (640, 480)
        assert not exif_back.get_ifd(ExifTags.IFD.GPSInfo)
        assert ExifTags.Base.GPSInfo not in exif_back and ExifTags.Base.Make not in exif_back
    assert b"SceneCam" not in served


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
    uploaded = [m["remote_id"] for m in stored_media(cli, post["id"])]
    assert all(uploaded)  # stored before the create was tried
    for media_id in uploaded:
        fresh.call("DELETE", f"/api/v1/media/{media_id}")  # expired on the server
    ok(cli("run", "--once"))
    stored = show(cli, post["id"])
    assert stored["status"] == "published", stored
    [status] = with_text(fresh, post["text"])
    assert [a["description"] for a in status["media_attachments"]] == list(ALTS)
    assert len(requests(proxy, "POST", "/api/v2/media")) == 4
    assert stored["remote_id"] == status["id"]

