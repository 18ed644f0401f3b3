"""Publishing a post with pictures, exactly once: upload ids stored before the status is
created and reused by every retry and reconciliation; a lost answer, a 429 or a timeout on
an upload, an upload the server forgot, a picture gone from the media store — on the local
platform and on Mastodon behind mocked routes (respx)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.config.load import load_settings
from outreach.media.store import MediaStore
from outreach.publish.media import Pictures
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.store.models import Post
from tests.conftest import local_config
from tests.factories import FakeClock, local_platform
from tests.pictures import attach, picture, pictures_of

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
API = "https://social.example"
TOKEN_ENV = "OUTREACH_TEST_MEDIA_TOKEN"
TEXT = "Lock your bike with two locks."

MASTODON_CONFIG = f"""\
[outreach]
database = "sqlite:///outreach.db"
timezone = "UTC"

[accounts.masto]
platform = "mastodon"
api_base = "{API}"
token_env = "{TOKEN_ENV}"
lang = "en"

[policy]
require_approval = false
min_gap_minutes = 0
max_attempts = 5
"""


def get(rt: Runtime, post_id: int) -> Post:
    with rt.db.reader() as s:
        post = s.get(Post, post_id)
    assert post is not None
    return post


# --- the local platform ----------------------------------------------------------------------


@pytest.fixture
def local_rt(runtime_factory: Callable[..., Runtime], clock: FakeClock) -> Runtime:
    clock.set(START)
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0))
    sync_accounts(rt)
    return rt


def test_a_local_post_goes_out_with_its_pictures(local_rt: Runtime) -> None:
    post = add_post(local_rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None,
                    by="officer-a")
    assert post.id is not None
    first, second = picture("red"), picture("blue", fmt="JPEG")
    attach(local_rt, post.id, [(first, "红色提示卡"), (second, "蓝色提示卡")])
    assert Publisher(local_rt).run_due().counts["published"] == 1
    [status] = local_platform(local_rt).statuses("pingan-local")
    stored = local_platform(local_rt).media(status["id"])
    assert [(m["data"], m["alt"], m["mime"]) for m in stored] == [
        (first, "红色提示卡", "image/png"), (second, "蓝色提示卡", "image/jpeg")]
    assert all(r.remote_id is None for r in pictures_of(local_rt, post.id))  # no uploads


@pytest.mark.parametrize("damage", ["deleted", "changed"])
def test_a_picture_gone_from_the_store_fails_the_post(local_rt: Runtime, damage: str) -> None:
    post = add_post(local_rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None,
                    by="officer-a")
    assert post.id is not None
    [row] = attach(local_rt, post.id, [(picture(), "提示卡")])
    path = MediaStore(local_rt.settings.media_dir).path(row.sha256)
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(picture("black"))
    summary = Publisher(local_rt).run_due()
    assert summary.counts["failed"] == 1
    failed = get(local_rt, post.id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.startswith("not published without its picture: image ")
    assert row.sha256[:12] in failed.last_error
    assert local_platform(local_rt).statuses("pingan-local") == []


# --- Mastodon ----------------------------------------------------------------------------------


class Server:
    """Mastodon's media and status routes on respx, with what each call carried."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.uploads: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.next_id = 100
        self.known: set[str] = set()
        self.faults: list[Any] = []  # per status create: an exception or response, or None
        self.upload_faults: list[Any] = []
        self.seen_stored: list[list[str | None]] = []
        self.rt: Runtime | None = None
        self.post_id: int | None = None
        router.get(f"{API}/api/v2/instance").respond(200, json={
            "configuration": {"statuses": {"max_characters": 500}}})
        router.post(f"{API}/api/v2/media").mock(side_effect=lambda r: self.upload(r))
        router.post(f"{API}/api/v1/statuses").mock(side_effect=self.status)
        router.get(f"{API}/api/v1/accounts/verify_credentials").respond(
            200, json={"id": "1", "username": "bot", "acct": "bot"})
        router.get(f"{API}/api/v1/accounts/1/statuses").mock(side_effect=self.timeline)

    def upload(self, request: httpx.Request) -> httpx.Response:
        fault = self.upload_faults.pop(0) if self.upload_faults else None
        if isinstance(fault, Exception):
            raise fault
        if fault is not None:
            return fault
        self.next_id += 1
        media_id = str(self.next_id)
        self.known.add(media_id)
        self.uploads.append({"id": media_id, "size": len(request.content)})
        return httpx.Response(200, json={"id": media_id, "type": "image",
                                         "url": f"{API}/m/{media_id}.png", "description": "x"})

    def status(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        if self.rt is not None and self.post_id is not None:
            self.seen_stored.append([r.remote_id for r in pictures_of(self.rt, self.post_id)])
        for earlier in self.statuses:
            if earlier["key"] == key:
                return httpx.Response(200, json=earlier["json"])
        ids = body.get("media_ids", [])
        if unknown := [i for i in ids if i not in self.known]:
            return httpx.Response(422, json={
                "error": f"Media {', '.join(unknown)} not found or already attached to another "
                         "post"})
        self.next_id += 1
        created = {"id": str(self.next_id), "created_at": "2027-03-01T02:00:00.000Z",
                   "content": f"<p>{body['status']}</p>", "url": f"{API}/@bot/{self.next_id}",
                   "media_attachments": [{"id": i, "type": "image"} for i in ids]}
        self.statuses.append({"key": key, "json": created, "media_ids": ids})
        self.known -= set(ids)  # attached: no longer free to attach again
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Exception):
            raise fault  # applied, and the answer is lost
        return httpx.Response(200, json=created)

    def timeline(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[s["json"] for s in reversed(self.statuses)])


@pytest.fixture
def masto(workspace: Path, clock: FakeClock,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, Server]]:
    clock.set(START)
    (workspace / "config.toml").write_text(MASTODON_CONFIG, encoding="utf-8")
    monkeypatch.setenv(TOKEN_ENV, "media-token-123")
    with respx.mock(assert_all_called=False) as router, httpx.Client(timeout=5) as http:
        server = Server(router)
        rt = Runtime(load_settings(workspace / "config.toml"), clock=clock, http=http)
        sync_accounts(rt)
        server.rt = rt
        yield rt, server
        rt.close()


def queue_two(rt: Runtime, server: Server) -> int:
    post = add_post(rt, "masto", tip=None, text=TEXT, at=None, by="officer-a")
    assert post.id is not None
    attach(rt, post.id, [(picture("red"), "A red poster"), (picture("green"), "A green one")])
    server.post_id = post.id
    return post.id


def test_upload_ids_are_stored_before_the_status_is_created(
        masto: tuple[Runtime, Server]) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    assert Publisher(rt).run_due().counts["published"] == 1
    assert [u["id"] for u in server.uploads] == ["101", "102"]
    assert server.seen_stored == [["101", "102"]]  # committed before the create
    assert server.statuses[0]["media_ids"] == ["101", "102"]
    rows = pictures_of(rt, post_id)
    assert [r.remote_id for r in rows] == ["101", "102"]
    assert all(r.uploaded_at is not None for r in rows)


def test_a_lost_answer_on_the_create_reuses_the_uploads(masto: tuple[Runtime, Server],
                                                        clock: FakeClock) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    server.faults = [httpx.ReadTimeout("answer lost")]
    assert Publisher(rt).run_due().counts["unconfirmed"] == 1
    clock.advance(minutes=2)
    assert Publisher(rt).run_due().counts["published"] == 1
    assert len(server.uploads) == 2  # not uploaded again
    assert len(server.statuses) == 1 and server.keys[0] == server.keys[1]
    post = get(rt, post_id)
    assert post.status == "published" and post.remote_id == server.statuses[0]["json"]["id"]


def test_a_lost_answer_found_by_reconciliation_after_the_window(
        masto: tuple[Runtime, Server], clock: FakeClock) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    server.faults = [httpx.ReadTimeout("answer lost")]
    Publisher(rt).run_due()
    clock.advance(hours=2)  # past Mastodon's hour: reconciled by the text on the timeline
    assert Publisher(rt).run_due().counts["published"] == 1
    assert len(server.uploads) == 2 and len(server.statuses) == 1
    assert get(rt, post_id).remote_id == server.statuses[0]["json"]["id"]


def test_a_worker_that_died_mid_upload_leaves_at_most_one_orphan(
        masto: tuple[Runtime, Server], clock: FakeClock) -> None:
    """A crash between an upload and storing its id: the claim runs out, reconciliation
    resends (nothing was created), the picture without an id is uploaded once more."""
    rt, server = masto
    post_id = queue_two(rt, server)
    server.upload_faults = [None, httpx.ReadTimeout("worker gone")]  # second upload: no id
    assert Publisher(rt).run_due().counts["retry"] == 1
    rows = pictures_of(rt, post_id)
    assert [r.remote_id for r in rows] == ["101", None]  # the first id was kept
    assert server.statuses == []
    post = get(rt, post_id)
    assert post.status == "queued" and "no status was sent" in (post.last_error or "")
    assert post.not_before is not None
    clock.set(post.not_before + timedelta(seconds=1))
    assert Publisher(rt).run_due().counts["published"] == 1
    assert [r.remote_id for r in pictures_of(rt, post_id)] == ["101", "102"]
    assert server.statuses[0]["media_ids"] == ["101", "102"]


def test_a_429_on_upload_waits_without_counting_an_attempt(
        masto: tuple[Runtime, Server], clock: FakeClock) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    reset = START + timedelta(minutes=30)
    server.upload_faults = [httpx.Response(429, json={"error": "Too many requests"}, headers={
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()})]
    assert Publisher(rt).run_due().counts["held"] == 1
    post = get(rt, post_id)
    assert post.status == "queued" and post.not_before == reset and post.attempts == 0
    assert server.statuses == [] and server.uploads == []
    clock.set(reset + timedelta(seconds=1))
    assert Publisher(rt).run_due().counts["published"] == 1
    assert len(server.uploads) == 2


def test_an_upload_timeout_is_retried_later(masto: tuple[Runtime, Server],
                                            clock: FakeClock) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    server.upload_faults = [httpx.ConnectTimeout("no route")]
    assert Publisher(rt).run_due().counts["retry"] == 1
    post = get(rt, post_id)
    assert post.status == "queued" and post.attempts == 1 and server.statuses == []
    assert post.not_before is not None
    clock.set(post.not_before + timedelta(seconds=1))
    assert Publisher(rt).run_due().counts["published"] == 1
    assert len(server.uploads) == 2 and len(server.statuses) == 1


def test_uploads_the_server_forgot_are_uploaded_again(masto: tuple[Runtime, Server]) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    client = rt.client("masto")
    Pictures(rt, client, post_id).attachments()  # uploaded earlier (ids stored)…
    server.known.clear()  # …and expired on the server since
    assert Publisher(rt).run_due().counts["published"] == 1
    assert len(server.uploads) == 4
    assert [r.remote_id for r in pictures_of(rt, post_id)] == ["103", "104"]
    assert server.statuses[0]["media_ids"] == ["103", "104"]
    assert server.keys[0] != server.keys[1]  # new uploads, a new request


def test_uploads_that_keep_expiring_give_up_after_a_bound(
        masto: tuple[Runtime, Server]) -> None:
    rt, server = masto
    post_id = queue_two(rt, server)
    original = server.upload

    def forgetful(request: httpx.Request) -> httpx.Response:
        answer = original(request)
        server.known.clear()
        return answer

    server.upload = forgetful  # type: ignore[method-assign]
    Publisher(rt).run_due()
    post = get(rt, post_id)
    assert post.status == "queued" and "uploaded again 2 time(s)" in (post.last_error or "")
    assert server.statuses == []
