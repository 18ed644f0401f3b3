"""Pictures on Mastodon against mocked routes (respx): the upload with its alt text, the
wait for processing (an injected clock and sleep, never a real one), the instance's
limits, ``media_ids[]`` on the status, and what an unknown upload id comes back as."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from outreach.clients.base import Attachment
from outreach.clients.mastodon.client import MastodonClient
from outreach.clients.mastodon.instance import MASTODON_DEFAULT_MEDIA
from outreach.errors import AmbiguousOutcome, ContentRejected, MediaExpired, RateLimited, TransientError
from tests.factories import FakeClock
from tests.test_mastodon_client import (
    API,
    INSTANCE_V2,
    NOW,
    STATUSES,
    TOKEN,
    TOKEN_ENV,
    make_account,
    status_json,
)

MEDIA_UPLOAD = f"{API}/api/v2/media"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def media_json(id_: str, *, url: str | None = None, description: str = "alt") -> dict[str, Any]:
    return {"id": id_, "type": "image", "url": url, "preview_url": url, "remote_url": None,
            "text_url": None, "description": description, "blurhash": "UFBWY:8_0Jxv",
            "meta": {"original": {"width": 640, "height": 480}}}


def done(id_: str, description: str = "alt") -> dict[str, Any]:
    return media_json(id_, url=f"{API}/system/media/{id_}.png", description=description)


class Sleeper:
    """An injected sleep: it only moves the fake clock, and records each wait."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sleeper(clock: FakeClock) -> Sleeper:
    return Sleeper(clock)


@pytest.fixture
def client(tmp_path: Path, clock: FakeClock, sleeper: Sleeper,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[MastodonClient]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with httpx.Client(timeout=5) as http:
        yield MastodonClient(make_account(tmp_path), http=http, clock=clock, sleep=sleeper)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}/api/v2/instance").respond(200, json=INSTANCE_V2)
        yield router


def multipart(request: httpx.Request) -> dict[str, Any]:
    """The parts of a multipart body: name -> (filename, content type, bytes) or text."""
    ctype = request.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts: dict[str, Any] = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = chunk.strip(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        disposition = headers["Content-Disposition"]
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        if "filename=" in disposition:
            parts[name] = (disposition.split('filename="', 1)[1].split('"', 1)[0],
                           headers.get("Content-Type"), body)
        else:
            parts[name] = body.decode()
    return parts


# --- upload --------------------------------------------------------------------------------


def test_upload_sends_the_file_and_the_alt_text_as_description(
        client: MastodonClient, api: respx.MockRouter, sleeper: Sleeper) -> None:
    route = api.post(MEDIA_UPLOAD).respond(200, json=done("110", "防诈骗海报：四条规则"))
    assert client.upload_media(PNG, mime="image/png", alt="防诈骗海报：四条规则") == "110"
    parts = multipart(route.calls.last.request)
    assert parts["file"] == ("picture.png", "image/png", PNG)
    assert parts["description"] == "防诈骗海报：四条规则"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sleeper.waits == []  # processed at once: no polling


def test_a_202_is_polled_until_the_url_is_set(
        client: MastodonClient, api: respx.MockRouter, sleeper: Sleeper) -> None:
    api.post(MEDIA_UPLOAD).respond(202, json=media_json("111"))
    poll = api.get(f"{API}/api/v1/media/111").mock(side_effect=[
        httpx.Response(206, json=media_json("111")),
        httpx.Response(206, json=media_json("111")),
        httpx.Response(200, json=done("111")),
    ])
    assert client.upload_media(PNG, mime="image/png", alt="a poster") == "111"
    assert poll.call_count == 3
    assert sleeper.waits == [0.5, 1.0, 2.0]


def test_processing_that_outlasts_the_deadline_is_transient(
        client: MastodonClient, api: respx.MockRouter, sleeper: Sleeper) -> None:
    api.post(MEDIA_UPLOAD).respond(202, json=media_json("112"))
    api.get(f"{API}/api/v1/media/112").respond(206, json=media_json("112"))
    with pytest.raises(TransientError, match="still being processed after 60 s"):
        client.upload_media(PNG, mime="image/png", alt="a poster")
    assert sum(sleeper.waits) == pytest.approx(60)


@pytest.mark.parametrize("alt", ["", "   ", "x" * 1501])
def test_alt_text_is_required_and_within_mastodons_limit(
        client: MastodonClient, api: respx.MockRouter, alt: str) -> None:
    route = api.post(MEDIA_UPLOAD).respond(200, json=done("113"))
    with pytest.raises(ContentRejected):
        client.upload_media(PNG, mime="image/png", alt=alt)
    assert route.call_count == 0


def test_a_429_on_upload_is_rate_limited_on_the_media_bucket(
        client: MastodonClient, api: respx.MockRouter) -> None:
    api.post(MEDIA_UPLOAD).respond(429, json={"error": "Too many requests"}, headers={
        "X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-11-28T08:30:00.000Z"})
    with pytest.raises(RateLimited) as info:
        client.upload_media(PNG, mime="image/png", alt="a poster")
    assert info.value.retry_at.isoformat() == "2026-11-28T08:30:00+00:00"
    status = api.post(STATUSES).respond(200, json=status_json("1", "still free"))
    client.publish("still free", idempotency_key="k-free")  # posting keeps its own budget
    assert status.call_count == 1


def test_an_upload_timeout_is_ambiguous(client: MastodonClient, api: respx.MockRouter) -> None:
    api.post(MEDIA_UPLOAD).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousOutcome):  # it may exist: at most one orphan upload
        client.upload_media(PNG, mime="image/png", alt="a poster")


# --- limits ----------------------------------------------------------------------------------


def test_media_limits_come_from_the_instance_once(
        client: MastodonClient, api: respx.MockRouter) -> None:
    body = json.loads(json.dumps(INSTANCE_V2))
    body["configuration"]["statuses"]["max_media_attachments"] = 6
    body["configuration"]["media_attachments"] = {
        "supported_mime_types": ["image/jpeg", "image/png", "video/mp4", "audio/mpeg"],
        "image_size_limit": 10485760, "image_matrix_limit": 16777216}
    route = api.get(f"{API}/api/v2/instance").respond(200, json=body)
    limits = client.media_limits()
    assert (limits.max_count, limits.max_bytes, limits.max_pixels) == (6, 10485760, 16777216)
    assert limits.mimes == {"image/jpeg", "image/png"}
    assert client.max_length == 500 and client.media_limits() == limits
    assert route.call_count == 1  # one question for the length rule and the pictures


@pytest.mark.parametrize("answer", [httpx.Response(503, json={"error": "down"}),
                                    httpx.Response(200, json=INSTANCE_V2)])
def test_media_limits_default_when_absent_or_unreachable(
        client: MastodonClient, api: respx.MockRouter, answer: httpx.Response) -> None:
    api.get(f"{API}/api/v2/instance").mock(return_value=answer)
    limits = client.media_limits()
    assert limits.max_bytes == MASTODON_DEFAULT_MEDIA.max_bytes
    assert limits.max_pixels == MASTODON_DEFAULT_MEDIA.max_pixels
    assert limits.max_count == 4


# --- the status ------------------------------------------------------------------------------


def with_media(id_: str, text: str, ids: list[str]) -> dict[str, Any]:
    return {**status_json(id_, text), "media_attachments": [done(i) for i in ids]}


def pictures(*ids: str) -> list[Attachment]:
    return [Attachment(PNG, "image/png", f"alt {i}", remote_id=i) for i in ids]


def test_publish_names_the_uploads_in_order(client: MastodonClient,
                                            api: respx.MockRouter) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["media_ids"]
        return httpx.Response(200, json=with_media("9", "two pictures", ids))

    route = api.post(STATUSES).mock(side_effect=echo)
    client.publish("two pictures", idempotency_key="post-7", media=pictures("21", "20"))
    sent = json.loads(route.calls.last.request.content)
    assert sent["media_ids"] == ["21", "20"]
    key = route.calls.last.request.headers["Idempotency-Key"]
    assert key.startswith("post-7-m")
    client.publish("two pictures", idempotency_key="post-7", media=pictures("21", "20"))
    assert route.calls.last.request.headers["Idempotency-Key"] == key  # a retry: the same
    client.publish("two pictures", idempotency_key="post-7", media=pictures("31", "30"))
    assert route.calls.last.request.headers["Idempotency-Key"] != key  # new uploads: new


def test_a_text_only_status_keeps_the_posts_own_key(client: MastodonClient,
                                                    api: respx.MockRouter) -> None:
    route = api.post(STATUSES).respond(200, json=status_json("9", "text"))
    client.publish("text", idempotency_key="post-8")
    assert route.calls.last.request.headers["Idempotency-Key"] == "post-8"
    assert "media_ids" not in json.loads(route.calls.last.request.content)


def test_an_unknown_upload_id_is_media_expired(client: MastodonClient,
                                               api: respx.MockRouter) -> None:
    # Mastodon ≥ 4.3 (PostStatusService#validate_media!): 422 with this message
    api.post(STATUSES).respond(422, json={
        "error": "Media 21 not found or already attached to another post"})
    with pytest.raises(MediaExpired, match="21"):
        client.publish("with a picture", idempotency_key="k", media=pictures("21"))


def test_an_unprocessed_upload_is_transient(client: MastodonClient,
                                            api: respx.MockRouter) -> None:
    api.post(STATUSES).respond(422, json={
        "error": "Cannot attach files that have not finished processing. Try again in a moment!"})
    with pytest.raises(TransientError):
        client.publish("with a picture", idempotency_key="k", media=pictures("21"))


def test_a_status_that_came_back_without_its_pictures_is_deleted(
        client: MastodonClient, api: respx.MockRouter) -> None:
    """An older server (and the test peer) leaves out an upload it does not know."""
    api.post(STATUSES).respond(200, json=with_media("40", "with pictures", ["21"]))
    delete = api.delete(f"{STATUSES}/40").respond(200, json=status_json("40"))
    with pytest.raises(MediaExpired, match="22"):
        client.publish("with pictures", idempotency_key="k", media=pictures("21", "22"))
    assert delete.call_count == 1


def test_publish_refuses_pictures_not_uploaded(client: MastodonClient,
                                               api: respx.MockRouter) -> None:
    with pytest.raises(ValueError, match="upload them first"):
        client.publish("x", idempotency_key="k", media=[Attachment(PNG, "image/png", "a")])


def test_the_fake_clock_is_what_bounds_the_wait(tmp_path: Path, clock: FakeClock,
                                                monkeypatch: pytest.MonkeyPatch,
                                                api: respx.MockRouter) -> None:
    """A short request deadline ends the wait sooner (the deadline of the HTTP client)."""
    from outreach.clients.http import http_client

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    waits = Sleeper(clock)
    api.post(MEDIA_UPLOAD).respond(202, json=media_json("50"))
    api.get(f"{API}/api/v1/media/50").respond(206, json=media_json("50"))
    with http_client(request_deadline=5) as http:
        client = MastodonClient(make_account(tmp_path), http=http, clock=clock, sleep=waits)
        with pytest.raises(TransientError, match="after 5 s"):
            client.upload_media(PNG, mime="image/png", alt="a poster")
    assert clock() - NOW == timedelta(seconds=5)

