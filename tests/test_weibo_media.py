"""A picture on Weibo: statuses/share as multipart/form-data with one ``pic`` part, a share
without one still form-encoded — with respx on a recorded share answer, and against the
fake Weibo server (which parses the multipart body and counts its parts)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from PIL import Image

from outreach.clients.base import Attachment
from outreach.clients.weibo.api import API_BASE
from outreach.clients.weibo.client import WeiboClient
from outreach.errors import ContentRejected
from tests.factories import FakeClock
from tests.test_mastodon_media import multipart
from tests.test_weibo_client import NOW, SHARE, TIP, TOKEN, TOKEN_ENV, fixture, form, make_account
from tests.weibo_server import WeiboServer


def jpeg(size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WeiboClient]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with httpx.Client(timeout=5) as http:
        yield WeiboClient(make_account(tmp_path), http=http, clock=FakeClock(NOW))


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API_BASE, assert_all_called=False) as router:
        yield router


def test_a_share_with_a_picture_is_multipart_with_one_pic_part(
        client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    picture = jpeg()
    published = client.publish(TIP, idempotency_key="k",
                               media=[Attachment(picture, "image/jpeg", "反诈海报")])
    assert published.remote_id
    parts = multipart(route.calls.last.request)
    assert parts["pic"] == ("pic.jpg", "image/jpeg", picture)
    assert parts["rip"] == "203.0.113.7"
    assert parts["status"].startswith(TIP) and "https://example.gov.cn/safety" in parts["status"]
    assert "access_token" not in parts  # the token stays in the header
    assert route.calls.last.request.headers["Authorization"] == f"OAuth2 {TOKEN}"


def test_a_text_only_share_stays_form_encoded(client: WeiboClient,
                                              api: respx.MockRouter) -> None:
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(TIP, idempotency_key="k")
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert set(form(request)) == {"status", "rip"}


@pytest.mark.parametrize(("media", "message"), [
    ([Attachment(b"\xff\xd8\xff" + b"0" * 10, "image/jpeg", "a")] * 2, "one picture"),
    ([Attachment(b"RIFF....WEBP", "image/webp", "a")], "JPEG, GIF or PNG"),
    ([Attachment(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "image/jpeg", "a")], "5 MB"),
])
def test_what_weibo_would_refuse_is_refused_before_sending(
        client: WeiboClient, api: respx.MockRouter, media: list[Attachment],
        message: str) -> None:
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    with pytest.raises(ContentRejected, match=message):
        client.publish(TIP, idempotency_key="k", media=media)
    assert route.call_count == 0


def test_image_size_too_large_from_weibo_is_a_rejection(client: WeiboClient,
                                                       api: respx.MockRouter) -> None:
    api.post(SHARE).respond(400, json={"error": "Image size too large!", "error_code": 20006,
                                       "request": SHARE})
    with pytest.raises(ContentRejected, match="20006"):
        client.publish(TIP, idempotency_key="k", media=[Attachment(jpeg(), "image/jpeg", "a")])


# --- against the fake server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0) as weibo:
        yield weibo


@pytest.fixture
def served(server: WeiboServer, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[WeiboClient]:
    server.reset()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    account = dataclasses.replace(make_account(tmp_path), api_base=server.url)
    with httpx.Client(timeout=10) as http:
        yield WeiboClient(account, http=http, clock=FakeClock(NOW))


def test_the_fake_server_gets_one_pic_part_under_5_mb(server: WeiboServer,
                                                      served: WeiboClient) -> None:
    picture = jpeg((800, 600), "navy")
    served.publish(TIP, idempotency_key="k", media=[Attachment(picture, "image/jpeg", "海报")])
    [request] = server.requests(SHARE)
    assert request["encoding"] == "multipart"
    pics = [p for p in request["parts"] if p["name"] == "pic"]
    assert len(pics) == 1 and pics[0]["size"] == len(picture) < 5 * 1024 * 1024
    assert pics[0]["content_type"] == "image/jpeg"
    [status] = server.statuses()
    assert status["pic_bytes"] == len(picture)


def test_the_fake_server_gets_a_text_only_share_form_encoded(server: WeiboServer,
                                                             served: WeiboClient) -> None:
    served.publish(TIP, idempotency_key="k")
    [request] = server.requests(SHARE)
    assert request["encoding"] == "form" and "parts" not in request
    [status] = server.statuses()
    assert status["pic_bytes"] is None


def test_the_fake_server_refuses_what_is_not_a_picture(server: WeiboServer,
                                                       served: WeiboClient) -> None:
    # past the client's own check (it trusts the stored type): the server reads the bytes
    with pytest.raises(ContentRejected, match="20005"):
        served.publish(TIP, idempotency_key="k",
                       media=[Attachment(b"not an image", "image/png", "a")])
    assert server.statuses() == []
    assert json.dumps(server.requests(SHARE)[0]["parts"])  # still recorded
