"""MastodonClient against mocked routes (respx), with bodies shaped like real Mastodon's."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from outreach.clients.base import AccountCounts, AccountInfo, Counts, Published
from outreach.clients.mastodon import api as mastodon_module
from outreach.clients.mastodon.client import MastodonClient
from outreach.clients.mastodon.parse import html_to_text
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    OutreachError,
    RateLimited,
    RemoteError,
    TransientError,
)
from tests.factories import FakeClock, account_settings

API = "https://social.example"
TOKEN = "test-token-0123456789"
TOKEN_ENV = "OUTREACH_TEST_MASTODON_UNIT_TOKEN"
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
BOT_ID = "109348800000000001"
STATUSES = f"{API}/api/v1/statuses"
OWN_STATUSES = f"{API}/api/v1/accounts/{BOT_ID}/statuses"


# --- realistic bodies --------------------------------------------------------------------


def account_json(
    id_: str = BOT_ID, username: str = "outreachbot", *, followers: int = 569, statuses: int = 971
) -> dict[str, Any]:
    return {
        "id": id_,
        "username": username,
        "acct": username,
        "display_name": "Outreach Bot",
        "locked": False,
        "bot": True,
        "created_at": "2022-11-13T00:00:00.000Z",
        "note": "<p>Safety tips from the outreach team</p>",
        "url": f"{API}/@{username}",
        "avatar": f"{API}/avatars/original/missing.png",
        "followers_count": followers,
        "following_count": 12,
        "statuses_count": statuses,
        "last_status_at": "2026-11-28",
        "emojis": [],
        "fields": [],
    }


def status_json(
    id_: str,
    text: str = "Lock your bike",
    *,
    reblogs: int = 0,
    replies: int = 0,
    favourites: int = 0,
    created_at: str = "2026-11-28T05:11:46.244Z",
    account: dict[str, Any] | None = None,
    in_reply_to_id: str | None = None,
    content: str | None = None,
) -> dict[str, Any]:
    acc = account or account_json()
    return {
        "id": id_,
        "created_at": created_at,
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": BOT_ID if in_reply_to_id else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{API}/users/{acc['username']}/statuses/{id_}",
        "url": f"{API}/@{acc['username']}/{id_}",
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": content if content is not None else f"<p>{text}</p>",
        "filtered": [],
        "reblog": None,
        "application": None,
        "account": acc,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


INSTANCE_V2 = {
    "domain": "social.example",
    "title": "Social Example",
    "version": "4.3.2",
    "configuration": {
        "urls": {"streaming": "wss://social.example"},
        "accounts": {"max_featured_tags": 10},
        "statuses": {
            "max_characters": 500,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
    },
}

RATE_HEADERS_ISO = {
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "2026-11-28T08:05:00.019685Z",
}


# --- fixtures ----------------------------------------------------------------------------


def make_account(tmp_path: Path, **changes: Any) -> AccountSettings:
    fields: dict[str, Any] = dict(
        name="masto", platform="mastodon", lang="en", timezone="UTC", api_base=API,
        token_env=TOKEN_ENV,
    )
    fields.update(changes)
    return account_settings(data_dir=tmp_path, **fields)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def make_client(
    tmp_path: Path, http: httpx.Client, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., MastodonClient]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    def make(**changes: Any) -> MastodonClient:
        return MastodonClient(make_account(tmp_path, **changes), http=http, clock=clock)

    return make


@pytest.fixture
def client(make_client: Callable[..., MastodonClient]) -> MastodonClient:
    return make_client()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}/api/v1/accounts/verify_credentials").respond(
            200, json={**account_json(), "source": {"privacy": "public", "note": ""}}
        )
        router.get(f"{API}/api/v2/instance").respond(200, json=INSTANCE_V2)
        yield router


class Timeline:
    """The account's statuses on a fake server: pages by max_id, lookups by id[]."""

    def __init__(self, n: int, *, first_id: int = 109348800000001000, step: int = 7919) -> None:
        acc = account_json(statuses=n)
        self.statuses = [
            status_json(str(first_id + i * step), f"tip {i}", reblogs=i % 3, replies=i % 5,
                        favourites=i, account=acc)
            for i in range(n)
        ][::-1]  # newest first
        self.pages: list[int] = []  # sizes of the pages served
        self.lookups: list[int] = []  # sizes of the id[] lookups served
        self.refuse_lookup: int | None = None

    @property
    def ids(self) -> list[str]:
        """Oldest first."""
        return [s["id"] for s in reversed(self.statuses)]

    def page(self, request: httpx.Request) -> httpx.Response:
        q = parse_qs(urlsplit(str(request.url)).query)
        assert q.get("exclude_reblogs") == ["true"]
        limit = min(int(q.get("limit", ["20"])[0]), 40)
        items = self.statuses
        if "max_id" in q:
            items = [s for s in items if int(s["id"]) < int(q["max_id"][0])]
        items = items[:limit]
        self.pages.append(len(items))
        return httpx.Response(200, json=items)

    def lookup(self, request: httpx.Request) -> httpx.Response:
        if self.refuse_lookup is not None:
            return httpx.Response(self.refuse_lookup, json={"error": "Record not found"})
        ids = parse_qs(urlsplit(str(request.url)).query).get("id[]", [])
        assert len(ids) <= 20, "Mastodon refuses more than 20 ids"
        self.lookups.append(len(ids))
        by_id = {s["id"]: s for s in self.statuses}
        return httpx.Response(200, json=[by_id[i] for i in ids if i in by_id])

    def install(self, router: respx.MockRouter) -> tuple[respx.Route, respx.Route, respx.Route]:
        pages = router.get(OWN_STATUSES).mock(side_effect=self.page)
        lookup = router.get(STATUSES).mock(side_effect=self.lookup)
        single = router.get(url__regex=rf"{STATUSES}/\d+$").respond(500)
        return pages, lookup, single

    def expected(self, ids: list[str]) -> dict[str, Counts]:
        by_id = {s["id"]: s for s in self.statuses}
        return {
            i: Counts(reposts=by_id[i]["reblogs_count"], comments=by_id[i]["replies_count"],
                      likes=by_id[i]["favourites_count"])
            for i in ids if i in by_id
        }


# --- publishing ----------------------------------------------------------------------------


def test_publish_sends_idempotency_key_language_and_visibility(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    route = api.post(STATUSES).respond(200, json=status_json("109348800000000100", "Lock it"))
    published = client.publish("Lock it", idempotency_key="post-42")
    assert published == Published(
        remote_id="109348800000000100",
        url=f"{API}/@outreachbot/109348800000000100",
        created_at=datetime(2026, 11, 28, 5, 11, 46, 244000, tzinfo=UTC),
    )
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "post-42"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "status": "Lock it", "visibility": "public", "language": "en",
    }


def test_visibility_option_and_uri_when_url_is_missing(
    make_client: Callable[..., MastodonClient], api: respx.MockRouter
) -> None:
    client = make_client(options=MappingProxyType({"visibility": "unlisted"}))
    body = status_json("7", "hi", created_at="2026-11-28T13:11:46+08:00")
    body["url"] = None
    route = api.post(STATUSES).respond(200, json=body)
    published = client.publish("hi", idempotency_key="k")
    assert json.loads(route.calls.last.request.content)["visibility"] == "unlisted"
    assert published.url == body["uri"]
    assert published.created_at == datetime(2026, 11, 28, 5, 11, 46, tzinfo=UTC)


def test_reply_sends_in_reply_to_id_and_key(client: MastodonClient, api: respx.MockRouter) -> None:
    body = status_json("9", "@fan1 thanks", in_reply_to_id="8")
    route = api.post(STATUSES).respond(200, json=body)
    assert client.reply("8", "@fan1 thanks", idempotency_key="reply-1").remote_id == "9"
    request = route.calls.last.request
    assert json.loads(request.content)["in_reply_to_id"] == "8"
    assert request.headers["Idempotency-Key"] == "reply-1"


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_blank_text_is_refused_without_any_request(
    client: MastodonClient, api: respx.MockRouter, text: str
) -> None:
    with pytest.raises(ContentRejected, match="blank"):
        client.publish(text, idempotency_key="k")
    assert api.calls.call_count == 0


def test_over_length_is_refused_without_any_request(
    make_client: Callable[..., MastodonClient], api: respx.MockRouter
) -> None:
    client = make_client(max_length=500)
    with pytest.raises(ContentRejected, match="501"):
        client.publish("a" * 501, idempotency_key="k")
    assert api.calls.call_count == 0


def test_over_length_by_instance_limit_never_posts(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    post = api.post(STATUSES).respond(200, json=status_json("1"))
    with pytest.raises(ContentRejected):
        client.publish("a" * 501, idempotency_key="k")
    assert post.call_count == 0
    client.publish("a" * 500, idempotency_key="k")  # exactly at the limit goes out
    assert post.call_count == 1


def test_url_counts_as_reserved_characters(client: MastodonClient, api: respx.MockRouter) -> None:
    long_url = "https://example.gov.cn/safety/" + "x" * 100
    assert client.text_length(f"Read {long_url}") == 5 + 23
    assert client.text_length(f"Read {long_url}.") == 5 + 23 + 1  # trailing dot is text
    assert client.text_length("two https://a.example/1 https://b.example/2") == 4 + 23 + 1 + 23
    assert client.text_length("@fan1@mastodon.social hi") == len("@fan1 hi")
    assert client.text_length("mail me@example.org") == len("mail me@example.org")
    assert client.text_length("平安北京 提醒您") == 8
    # 470 characters and a long link fit, by Mastodon's rule
    text = "a" * 470 + " " + "https://example.org/" + "p" * 60
    assert client.text_length(text) == 494 <= client.max_length


def test_text_without_url_needs_no_instance_lookup(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    assert client.text_length("no links here") == 13
    assert api.calls.call_count == 0


def test_instance_limits_are_read_once_and_cached(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    custom = json.loads(json.dumps(INSTANCE_V2))
    custom["configuration"]["statuses"].update(max_characters=1000, characters_reserved_per_url=30)
    route = api.get(f"{API}/api/v2/instance").respond(200, json=custom)
    assert client.max_length == 1000
    assert client.text_length("see https://example.org/a") == 4 + 30
    assert client.url_weight == 30
    assert client.max_length == 1000
    assert route.call_count == 1


def test_account_max_length_overrides_the_instance(
    make_client: Callable[..., MastodonClient], api: respx.MockRouter
) -> None:
    assert make_client(max_length=280).max_length == 280
    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": "oops"}),
        httpx.Response(404, json={"error": "Record not found"}),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json={"configuration": {"statuses": "many"}}),
        httpx.Response(200, json={"configuration": {"statuses": {"max_characters": "lots"}}}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.ConnectError("refused"),
    ],
)
def test_instance_limits_fall_back_to_500_and_23(
    client: MastodonClient, api: respx.MockRouter, answer: Any
) -> None:
    route = api.get(f"{API}/api/v2/instance")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    assert client.max_length == 500
    assert client.url_weight == 23
    assert route.call_count == 1  # the fallback is cached too


def test_no_api_base_is_a_config_error_naming_the_key(
    make_client: Callable[..., MastodonClient], api: respx.MockRouter
) -> None:
    client = make_client(api_base=None)
    assert client.max_length == 500  # length checks still work offline
    with pytest.raises(ConfigError, match=r"accounts\.masto\.api_base"):
        client.verify()


def test_missing_token_is_an_auth_error_with_a_hint(
    make_client: Callable[..., MastodonClient], api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = make_client()
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(AuthError, match=TOKEN_ENV):
        client.fetch_account()
    assert api.calls.call_count == 0


def test_validate_options() -> None:
    assert MastodonClient.validate_options({}) is None
    assert MastodonClient.validate_options({"visibility": "unlisted"}) is None
    problem = MastodonClient.validate_options({"visibility": "friends"})
    assert problem is not None and problem[0] == "visibility" and "public" in problem[1]


# --- reconciliation and deletion --------------------------------------------------------------


def test_find_published_matches_normalised_text_and_stops_at_since(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    page1 = [status_json(str(300 - i), f"tip {i}", created_at=f"2026-11-28T07:{59 - i:02d}:00Z")
             for i in range(40)]
    target = status_json(
        "250", created_at="2026-11-28T07:00:00Z",
        content='<p>Don&#39;t  share codes &amp; PINs <a href="https://x.example/a">'
                '<span class="invisible">https://</span><span class="">x.example/a</span></a></p>',
    )
    page2 = [target] + [status_json(str(249 - i), "old", created_at="2026-11-27T00:00:00Z")
                        for i in range(39)]
    pages = api.get(OWN_STATUSES).mock(side_effect=[
        httpx.Response(200, json=page1), httpx.Response(200, json=page2),
    ])
    found = client.find_published(
        "Don't share codes & PINs https://x.example/other", NOW - timedelta(hours=2)
    )
    assert found is not None and found.remote_id == "250"
    assert pages.call_count == 2
    assert parse_qs(urlsplit(str(pages.calls[1].request.url)).query)["max_id"] == ["261"]


def test_find_published_gives_none_once_past_since(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    older = [status_json(str(100 - i), "other", created_at="2026-11-27T00:00:00Z")
             for i in range(40)]
    pages = api.get(OWN_STATUSES).respond(200, json=older)
    assert client.find_published("Lock your bike", NOW - timedelta(hours=1)) is None
    assert pages.call_count == 1


def test_delete_and_already_deleted(client: MastodonClient, api: respx.MockRouter) -> None:
    route = api.delete(f"{STATUSES}/5").mock(side_effect=[
        httpx.Response(200, json={**status_json("5"), "text": "Lock your bike"}),
        httpx.Response(404, json={"error": "Record not found"}),
    ])
    client.delete("5")
    client.delete("5")
    assert route.call_count == 2


def test_delete_with_a_lost_answer_is_ambiguous(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    api.delete(f"{STATUSES}/5").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousOutcome):
        client.delete("5")


# --- counts ----------------------------------------------------------------------------------


def test_counts_by_paging_own_statuses(client: MastodonClient, api: respx.MockRouter) -> None:
    timeline = Timeline(100)
    pages, lookup, single = timeline.install(api)
    counts = client.fetch_counts(timeline.ids)
    assert counts == timeline.expected(timeline.ids)
    assert timeline.pages == [40, 40, 20]
    assert lookup.call_count == 0 and single.call_count == 0


def test_counts_for_2000_posts_take_at_most_51_list_requests(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    timeline = Timeline(2000)
    pages, lookup, single = timeline.install(api)
    counts = client.fetch_counts(timeline.ids)
    assert len(counts) == 2000
    assert pages.call_count + lookup.call_count <= 2000 // 40 + 1
    assert single.call_count == 0


def test_counts_stop_once_every_wanted_post_was_seen(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    timeline = Timeline(1000)
    timeline.install(api)
    newest = timeline.ids[-60:]
    assert client.fetch_counts(newest) == timeline.expected(newest)
    assert timeline.pages == [40, 40]
    assert timeline.lookups == []


def test_counts_stop_past_the_oldest_wanted_post(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    timeline = Timeline(1000)
    timeline.install(api)
    wanted = timeline.ids[-75:] + ["109348800099999999"]  # newest 75 plus a deleted newer one
    counts = client.fetch_counts(wanted)
    assert counts == timeline.expected(timeline.ids[-75:])
    assert timeline.pages == [40, 40]


def test_few_old_posts_are_looked_up_by_id_in_chunks_of_20(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    timeline = Timeline(1000)
    timeline.install(api)
    wanted = timeline.ids[-30:] + timeline.ids[:25]  # newest 30 and the oldest 25
    counts = client.fetch_counts(wanted)
    assert counts == timeline.expected(wanted)
    assert timeline.pages == [40]
    assert timeline.lookups == [20, 5]


def test_a_handful_of_posts_is_one_lookup(client: MastodonClient, api: respx.MockRouter) -> None:
    timeline = Timeline(1000)
    timeline.install(api)
    wanted = timeline.ids[100:110] + ["109348800000000007"]  # one was deleted
    assert client.fetch_counts(wanted) == timeline.expected(wanted)
    assert timeline.pages == [] and timeline.lookups == [11]


@pytest.mark.parametrize("refusal", [404, 405, 422, 400])
def test_refused_lookup_falls_back_to_paging_and_is_remembered(
    client: MastodonClient, api: respx.MockRouter, refusal: int
) -> None:
    timeline = Timeline(200)
    timeline.refuse_lookup = refusal
    _, lookup, _ = timeline.install(api)
    wanted = timeline.ids[:5]
    assert client.fetch_counts(wanted) == timeline.expected(wanted)
    assert lookup.call_count == 1
    assert timeline.pages == [40] * 5
    timeline.pages.clear()
    assert client.fetch_counts(wanted) == timeline.expected(wanted)
    assert lookup.call_count == 1  # not asked again
    assert timeline.pages == [40] * 5


def test_counts_of_nothing_make_no_request(client: MastodonClient, api: respx.MockRouter) -> None:
    assert client.fetch_counts([]) == {}
    assert api.calls.call_count == 0


def test_counts_arriving_as_strings_or_missing(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    body = status_json("11")
    body.update(reblogs_count="3", replies_count=None)
    del body["favourites_count"]
    api.get(STATUSES).respond(200, json=[body, "junk", {"no": "id"}])
    assert client.fetch_counts(["11"]) == {"11": Counts(reposts=3, comments=None, likes=None)}


# --- account ---------------------------------------------------------------------------------


def test_verify_and_fetch_account(client: MastodonClient, api: respx.MockRouter) -> None:
    assert client.verify() == AccountInfo(remote_id=BOT_ID, handle="outreachbot",
                                          followers_count=569)
    assert client.fetch_account() == AccountCounts(followers=569, following=12, statuses=971)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "The access token is invalid"}, AuthError),
        (403, {"error": "This action is outside the authorized scopes"}, AuthError),
        (422, {"error": "Validation failed: Text is too long (maximum is 500 characters)"},
         ContentRejected),
        (422, {"error": "Validation failed: Text is a duplicate"}, DuplicateContent),
        (422, {"error": "You have already posted this"}, DuplicateContent),
        (404, {"error": "Record not found"}, RemoteError),
        (400, {"error": "Bad request"}, RemoteError),
        (410, "gone", RemoteError),
        (503, {"error": "Service temporarily unavailable"}, AmbiguousOutcome),
        (500, "<html>boom</html>", AmbiguousOutcome),
    ],
)
def test_publish_error_mapping(
    client: MastodonClient, api: respx.MockRouter, status: int, body: Any, expected: type
) -> None:
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    api.post(STATUSES).respond(status, **kwargs)
    with pytest.raises(expected) as info:
        client.publish("Lock your bike", idempotency_key="k")
    if expected is RemoteError:
        assert info.value.code == status  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "expected"), [
    (401, AuthError), (403, AuthError), (404, RemoteError), (500, TransientError),
    (502, TransientError),
])
def test_read_error_mapping(
    client: MastodonClient, api: respx.MockRouter, status: int, expected: type
) -> None:
    api.get(f"{API}/api/v1/accounts/verify_credentials").respond(status, json={"error": "x"})
    with pytest.raises(expected):
        client.fetch_account()


@pytest.mark.parametrize(
    ("headers", "retry_at"),
    [
        ({"X-RateLimit-Reset": "2026-11-28T08:05:00.019685Z", "X-RateLimit-Remaining": "0"},
         datetime(2026, 11, 28, 8, 5, 0, 19685, tzinfo=UTC)),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 300)}, NOW + timedelta(seconds=300)),
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Sat, 28 Nov 2026 08:30:00 GMT"},
         datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
        ({}, NOW + timedelta(minutes=5)),
    ],
)
def test_429_gives_retry_at(
    client: MastodonClient, api: respx.MockRouter, headers: dict[str, str], retry_at: datetime
) -> None:
    route = api.post(STATUSES).respond(429, json={"error": "Too many requests"}, headers=headers)
    with pytest.raises(RateLimited) as info:
        client.publish("Lock your bike", idempotency_key="k")
    assert info.value.retry_at == retry_at
    with pytest.raises(RateLimited):  # remembered: no second request before then
        client.publish("Lock your bike", idempotency_key="k")
    assert route.call_count == 1


def test_exhausted_bucket_refuses_without_a_request_until_reset(
    client: MastodonClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    post = api.post(STATUSES).respond(200, json=status_json("1"), headers=RATE_HEADERS_ISO)
    client.publish("Lock your bike", idempotency_key="a")
    with pytest.raises(RateLimited) as info:
        client.publish("Lock your bike", idempotency_key="b")
    assert info.value.retry_at == datetime(2026, 11, 28, 8, 5, 0, 19685, tzinfo=UTC)
    assert post.call_count == 1
    client.fetch_account()  # reads have their own bucket
    clock.set(datetime(2026, 11, 28, 8, 5, 1, tzinfo=UTC))
    client.publish("Lock your bike", idempotency_key="b")
    assert post.call_count == 2


def test_exhausted_read_bucket_with_epoch_reset(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    reset = str(int(NOW.timestamp()) + 60)
    route = api.get(f"{API}/api/v1/accounts/verify_credentials").respond(
        200, json=account_json(), headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    )
    client.fetch_account()
    with pytest.raises(RateLimited) as info:
        client.fetch_account()
    assert info.value.retry_at == NOW + timedelta(seconds=60)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("error", "on_write", "on_read"),
    [
        (httpx.ConnectError("refused"), TransientError, TransientError),
        (httpx.ConnectTimeout("slow"), TransientError, TransientError),
        (httpx.PoolTimeout("busy"), TransientError, TransientError),
        (httpx.ReadTimeout("slow"), AmbiguousOutcome, TransientError),
        (httpx.WriteTimeout("slow"), AmbiguousOutcome, TransientError),
        (httpx.RemoteProtocolError("Server disconnected"), AmbiguousOutcome, TransientError),
        (httpx.ReadError("reset"), AmbiguousOutcome, TransientError),
    ],
)
def test_transport_errors_on_writes_and_reads(
    client: MastodonClient, api: respx.MockRouter, error: Exception, on_write: type, on_read: type
) -> None:
    api.post(STATUSES).mock(side_effect=error)
    api.get(f"{API}/api/v1/accounts/verify_credentials").mock(side_effect=error)
    with pytest.raises(on_write) as info:
        client.publish("Lock your bike", idempotency_key="k")
    assert info.value.__cause__ is error
    with pytest.raises(on_read):
        client.fetch_account()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200, json={"error": "no id here"}),
        httpx.Response(200, json=[status_json("1")]),
        httpx.Response(200, json={"id": {"nested": True}}),
        httpx.Response(202, text=""),
    ],
)
def test_unusable_2xx_on_publish_is_ambiguous(
    client: MastodonClient, api: respx.MockRouter, answer: httpx.Response
) -> None:
    api.post(STATUSES).mock(return_value=answer)
    with pytest.raises(AmbiguousOutcome):
        client.publish("Lock your bike", idempotency_key="k")


HOSTILE_BODIES = [
    b"",
    b"not json at all",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"id": 1, "account": "x", "content": 5, "created_at": [], "descendants": 7}',
    b'[1, "two", null, {"id": null}, {"id": true, "account": []}]',
    b'{"configuration": null}',
    b'"a string"',
    b"null",
    "{\"error\": \"\u0000\u202e\"}".encode(),
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
@pytest.mark.parametrize("status", [200, 400, 422, 500])
def test_hostile_bodies_raise_only_outreach_errors(
    client: MastodonClient, status: int, body: bytes
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    calls: list[Callable[[], Any]] = [
        lambda: client.verify(),
        lambda: client.fetch_account(),
        lambda: client.publish("hi", idempotency_key="k"),
        lambda: client.reply("1", "hi", idempotency_key="k"),
        lambda: client.delete("1"),
        lambda: client.fetch_counts(["1", "2"]),
        lambda: client.fetch_counts([str(i) for i in range(30)]),
        lambda: client.fetch_comments(["1"], None),
        lambda: client.find_published("hi", NOW - timedelta(days=1)),
        lambda: client.text_length("see https://example.org"),
    ]
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=answer)
        for call in calls:
            try:
                call()
            except OutreachError:
                pass


def test_huge_answer_is_refused(
    client: MastodonClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mastodon_module, "MAX_BODY_BYTES", 1000)
    api.post(STATUSES).respond(200, json=status_json("1", "x" * 5000))
    api.get(OWN_STATUSES).respond(200, json=[status_json("1", "x" * 5000)])
    with pytest.raises(AmbiguousOutcome, match="larger"):
        client.publish("hi", idempotency_key="k")
    with pytest.raises(TransientError, match="larger"):
        client.find_published("hi", NOW)


# --- comments ---------------------------------------------------------------------------------


FAN1 = account_json("2001", "fan1", followers=3, statuses=8)
FAN2 = account_json("2002", "fan2", followers=1, statuses=2)
REMOTE = {**account_json("2003", "visitor", statuses=5), "acct": "visitor@other.example"}


def mention_note(note_id: str, status: dict[str, Any]) -> dict[str, Any]:
    return {"id": note_id, "type": "mention", "created_at": status["created_at"],
            "account": status["account"], "status": status}


def test_fetch_comments_from_mentions_and_context(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    post = "109000000000000100"
    fan_reply = status_json(
        "109000000000000101", account=FAN1, in_reply_to_id=post,
        created_at="2026-11-28T06:00:00Z",
        content='<p><span class="h-card" translate="no"><a href="https://social.example/@outreachbot"'
                ' class="u-url mention">@<span>outreachbot</span></a></span> Thanks! Is 96110'
                ' free?<br />Asking for my mum &amp; dad</p><p>Second &lt;para&gt;</p>',
    )
    our_answer = status_json(
        "109000000000000102", account=account_json(), in_reply_to_id=fan_reply["id"],
        created_at="2026-11-28T06:10:00Z",
        content='<p><span class="h-card"><a href="https://social.example/@fan1" class="u-url'
                ' mention">@<span>fan1</span></a></span> Yes, it is free.</p>',
    )
    nested = status_json(
        "109000000000000103", account=FAN2, in_reply_to_id=our_answer["id"],
        created_at="2026-11-28T06:20:00Z", content="<p>@fan1 @outreachbot good to know</p>",
    )
    remote = status_json(
        "109000000000000104", account=REMOTE, in_reply_to_id=post,
        created_at="2026-11-28T06:30:00Z",
        content="<p>@outreachbot@social.example scam call just now</p>",
    )
    elsewhere = status_json("109000000000000105", account=FAN2,
                            in_reply_to_id="109000000000000001", created_at="2026-11-28T06:40:00Z")
    notes = api.get(f"{API}/api/v1/notifications").respond(200, json=[
        mention_note("77", elsewhere), mention_note("76", remote), mention_note("75", nested),
        mention_note("74", fan_reply),
    ])
    context = api.get(f"{STATUSES}/{post}/context").respond(200, json={
        "ancestors": [], "descendants": [fan_reply, our_answer, nested],
    })
    comments = client.fetch_comments([post], None)
    assert [c.remote_id for c in comments] == [
        "109000000000000101", "109000000000000102", "109000000000000103", "109000000000000104",
    ]
    first, ours, third, fourth = comments
    assert first.post_remote_id == post and first.in_reply_to_remote_id is None
    assert first.text == "Thanks! Is 96110 free?\nAsking for my mum & dad\nSecond <para>"
    assert first.author == "fan1" and not first.is_own
    assert first.url == f"{API}/@fan1/109000000000000101"
    assert first.created_at == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    assert ours.is_own and ours.text == "@fan1 Yes, it is free."
    assert ours.in_reply_to_remote_id == "109000000000000101"
    assert third.text == "@fan1 @outreachbot good to know"
    assert third.in_reply_to_remote_id == "109000000000000102"
    assert fourth.author == "visitor@other.example" and fourth.text == "scam call just now"
    query = parse_qs(urlsplit(str(notes.calls.last.request.url)).query)
    assert query["types[]"] == ["mention"] and query["limit"] == ["40"]
    assert context.call_count == 1


def test_fetch_comments_since_id_and_paging_of_mentions(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    post = "500"
    replies = [status_json(str(1000 + i), f"@outreachbot reply {i}", account=FAN1,
                           in_reply_to_id=post, created_at=f"2026-11-28T06:{i:02d}:00Z")
               for i in range(50)]
    newest_first = [mention_note(str(9000 + i), s) for i, s in enumerate(replies)][::-1]
    notes = api.get(f"{API}/api/v1/notifications").mock(side_effect=[
        httpx.Response(200, json=newest_first[:40]), httpx.Response(200, json=newest_first[40:]),
    ])
    api.get(f"{STATUSES}/{post}/context").respond(200, json={"ancestors": [],
                                                              "descendants": replies})
    comments = client.fetch_comments([post], "1045")
    assert [c.remote_id for c in comments] == ["1046", "1047", "1048", "1049"]
    assert comments[0].text == "reply 46"
    assert notes.call_count == 1  # the first page already reached since_id

    notes.side_effect = [httpx.Response(200, json=newest_first[:40]),
                         httpx.Response(200, json=newest_first[40:])]
    assert len(client.fetch_comments([post], "1005")) == 44
    assert notes.call_count == 3
    assert parse_qs(urlsplit(str(notes.calls.last.request.url)).query)["max_id"] == ["9010"]


def test_fetch_comments_skips_a_deleted_post(client: MastodonClient, api: respx.MockRouter) -> None:
    api.get(f"{API}/api/v1/notifications").respond(200, json=[])
    api.get(f"{STATUSES}/1/context").respond(404, json={"error": "Record not found"})
    api.get(f"{STATUSES}/2/context").respond(200, json={"ancestors": [], "descendants": [
        status_json("3", account=FAN1, in_reply_to_id="2"),
    ]})
    assert [c.remote_id for c in client.fetch_comments(["1", "2"], None)] == ["3"]


def test_fetch_comments_for_no_posts_makes_no_request(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    assert client.fetch_comments([], None) == []
    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Lock your bike</p>", "Lock your bike"),
        ("<p>one<br>two<br/>three</p>", "one\ntwo\nthree"),
        ("<p>para one</p><p>para two</p>", "para one\npara two"),
        ("<p>Tom &amp; Jerry &lt;3 &#39;quoted&#39; &quot;x&quot; &nbsp;</p>",
         "Tom & Jerry <3 'quoted' \"x\""),
        ('<p><a href="https://t.example/tags/safety" class="mention hashtag" rel="tag">'
         "#<span>safety</span></a> tip</p>", "#safety tip"),
        ('<p><a href="https://example.org/a/very/long/path"><span class="invisible">https://'
         '</span><span class="ellipsis">example.org/a/very/</span><span class="invisible">'
         "long/path</span></a></p>", "https://example.org/a/very/long/path"),
        ("<p>平安北京提醒您：<br />谨防电信诈骗</p>", "平安北京提醒您：\n谨防电信诈骗"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
        ("<p>unclosed <b>tag", "unclosed tag"),
        ("<script>alert(1)</script><p>x</p>", "alert(1)x"),
    ],
)
def test_html_to_text(html: Any, text: str) -> None:
    assert html_to_text(html) == text


# --- secrets ----------------------------------------------------------------------------------


def test_token_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
) -> None:
    secret = "SeCrEt-7f3a9c1e-d00d-4bad-b0b0-LEAKCHECK"
    monkeypatch.setenv(TOKEN_ENV, secret)
    caplog.set_level(logging.DEBUG)
    raised: list[BaseException] = []
    echo = {"error": f"Bearer {secret} is not valid for {secret}"}

    def check(client: MastodonClient, call: Callable[[], Any], expected: type) -> None:
        with pytest.raises(expected) as info:
            call()
        raised.append(info.value)

    with httpx.Client(timeout=5) as http, respx.mock(assert_all_called=False) as router:
        client = MastodonClient(make_account(tmp_path), http=http, clock=clock)
        router.get(f"{API}/api/v2/instance").respond(200, json=INSTANCE_V2)
        cases: list[tuple[Any, type]] = [
            (httpx.Response(401, json=echo), AuthError),
            (httpx.Response(403, json=echo), AuthError),
            (httpx.Response(422, json=echo), ContentRejected),
            (httpx.Response(422, json={"error": f"duplicate {secret}"}), DuplicateContent),
            (httpx.Response(400, json=echo), RemoteError),
            (httpx.Response(503, json=echo), AmbiguousOutcome),
            (httpx.Response(200, text=f"not json {secret}"), AmbiguousOutcome),
            (httpx.ConnectError(f"refused {secret}"), TransientError),
            (httpx.ReadTimeout("slow"), AmbiguousOutcome),
            (httpx.Response(429, json=echo, headers={"Retry-After": "1"}), RateLimited),
        ]
        post = router.post(STATUSES)
        for answer, expected in cases:
            if isinstance(answer, Exception):
                post.mock(side_effect=answer)
            else:
                post.mock(return_value=answer)
            check(client, lambda: client.publish("hi", idempotency_key="k"), expected)
        check(client, lambda: client.publish("hi", idempotency_key="k"), RateLimited)  # local
        check(client, lambda: client.publish("", idempotency_key="k"), ContentRejected)
        router.get(f"{API}/api/v1/accounts/verify_credentials").respond(500, json=echo)
        check(client, client.verify, TransientError)
        monkeypatch.delenv(TOKEN_ENV)
        check(client, client.verify, AuthError)
        no_base = MastodonClient(make_account(tmp_path, api_base=None), http=http, clock=clock)
        check(no_base, no_base.verify, ConfigError)
        texts = [repr(client), str(client), repr(no_base)]

    assert {type(e) for e in raised} >= {
        AuthError, ContentRejected, DuplicateContent, RemoteError, AmbiguousOutcome,
        TransientError, RateLimited, ConfigError,
    }
    for exc in raised:
        texts += [str(exc), repr(exc), exc.message if isinstance(exc, OutreachError) else ""]
        if exc.__cause__ is not None and not isinstance(exc.__cause__, httpx.HTTPError):
            texts.append(str(exc.__cause__))
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the client logs what it does"
    for text in texts:
        assert secret not in text


def test_stale_reset_on_429_falls_back_to_retry_after(
    client: MastodonClient, api: respx.MockRouter
) -> None:
    stale = str(int(NOW.timestamp()) - 30)  # our clock is ahead of the server's
    api.post(STATUSES).respond(429, json={"error": "Too many requests"},
                               headers={"X-RateLimit-Reset": stale, "Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        client.publish("Lock your bike", idempotency_key="k")
    assert info.value.retry_at == NOW + timedelta(seconds=30)


def test_unusable_api_base_is_a_config_error(
    make_client: Callable[..., MastodonClient],
) -> None:
    # no respx here: httpx itself refuses these before anything is sent
    for base in ("ftp://social.example", "https://exa\u0000mple"):
        with pytest.raises(ConfigError, match=r"accounts\.masto\.api_base"):
            make_client(api_base=base).fetch_account()


def test_token_with_impossible_characters_is_an_auth_error(
    client: MastodonClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for bad in ("tökén-0123456789", "tok\x7fen-0123456789"):
        monkeypatch.setenv(TOKEN_ENV, bad)
        with pytest.raises(AuthError) as info:
            client.fetch_account()
        assert bad not in str(info.value)
    assert api.calls.call_count == 0


def test_instance_limits_are_asked_again_after_a_passing_failure(
    client: MastodonClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    route = api.get(f"{API}/api/v2/instance").mock(side_effect=[
        httpx.Response(503, json={"error": "Service temporarily unavailable"}),
        httpx.Response(200, json={"configuration": {"statuses": {"max_characters": 5000}}}),
    ])
    assert client.max_length == 500
    assert client.max_length == 500  # not asked again at once
    clock.advance(minutes=11)
    assert client.max_length == 5000
    clock.advance(days=1)
    assert client.max_length == 5000
    assert route.call_count == 2
