"""The local platform with pictures: stored with the status (once, whatever the retries),
checked like a platform would, and its simulated audience reposts and likes a status with
a picture ``PICTURE_BOOST`` times more."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from outreach.clients.base import Attachment
from outreach.clients.local import LocalClient
from outreach.clients.local.audience import PICTURE_BOOST, draw_audience
from outreach.errors import ContentRejected
from tests.factories import FakeClock, account_settings


def png(colour: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def client(tmp_path: Path) -> LocalClient:
    return LocalClient(account_settings(data_dir=tmp_path), clock=FakeClock())


def test_pictures_are_stored_with_the_status_in_order(client: LocalClient) -> None:
    a, b = png("red"), png("green")
    media = [Attachment(a, "image/png", "红色海报"), Attachment(b, "image/png", "绿色海报")]
    first = client.publish("夜间出行注意安全", idempotency_key="k1", media=media)
    again = client.publish("夜间出行注意安全", idempotency_key="k1", media=media)
    assert again.remote_id == first.remote_id
    stored = client.platform_db.media(int(first.remote_id))
    assert [(m["alt"], m["data"]) for m in stored] == [("红色海报", a), ("绿色海报", b)]
    [status] = client.platform_db.statuses("acct")
    assert status["pictures"] == 2


@pytest.mark.parametrize(("media", "message"), [
    ([Attachment(png(), "image/png", "a")] * 10, "takes 9"),
    ([Attachment(png(), "image/png", " ")], "no alt text"),
    ([Attachment(b"x", "image/tiff", "a")], "not one the local platform takes"),
])
def test_what_the_platform_cannot_take_is_rejected(client: LocalClient,
                                                   media: list[Attachment], message: str) -> None:
    with pytest.raises(ContentRejected, match=message):
        client.publish("夜间出行注意安全", idempotency_key="k", media=media)
    assert client.platform_db.statuses("acct") == []


def test_a_picture_draws_more_reposts_and_likes_but_the_same_comments() -> None:
    plain = draw_audience(2011, "acct", 7)
    pictured = draw_audience(2011, "acct", 7, pictures=1)
    assert abs(pictured.reposts - plain.reposts * PICTURE_BOOST) <= 1  # both rounded
    assert pictured.likes > plain.likes
    assert pictured.comments == plain.comments and pictured.tau_hours == plain.tau_hours


def test_the_simulated_counts_see_the_picture(tmp_path: Path) -> None:
    clock = FakeClock()
    client = LocalClient(account_settings(data_dir=tmp_path), clock=clock)
    texts = [f"安全提示第{n}条" for n in range(40)]
    ids = [client.publish(t, idempotency_key=t, media=[Attachment(png(), "image/png", "海报")]
                          if n % 2 else ()).remote_id for n, t in enumerate(texts)]
    clock.advance(days=7)
    counts = client.fetch_counts(ids)
    with_pic = [counts[i].reposts or 0 for n, i in enumerate(ids) if n % 2]
    without = [counts[i].reposts or 0 for n, i in enumerate(ids) if not n % 2]
    assert sum(with_pic) > sum(without)
