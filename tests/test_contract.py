"""One contract, every client: the same expectations against the local platform, the fake
Weibo server process and (in the slow lane) the mastodon-mock peer process."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.clients import CLIENTS, MicroblogClient
from outreach.clients.base import AccountCounts, AccountInfo, Counts, Published, RemoteComment
from outreach.config.settings import AccountSettings
from outreach.errors import ContentRejected
from tests.factories import WEIBO_OPTIONS, FakeClock, account_settings

_texts = itertools.count(1)


def fresh_text(lang: str = "zh") -> str:
    n = next(_texts)
    if lang == "zh":
        return f"【测试】第{n}条：陌生来电要求转账，一律先挂断再核实。{datetime.now(UTC).timestamp():.0f}"
    return f"Test {n}: hang up on callers who ask you to move money. {datetime.now(UTC).timestamp():.0f}"


@dataclass
class Harness:
    """A client plus a way to make its audience act."""

    client: Any
    lang: str
    engage_fn: Any
    cleanup: list[Any] = field(default_factory=list)

    def engage(self, remote_id: str, *, comment: str) -> None:
        self.engage_fn(remote_id, comment)


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[Any]:
    from tests.weibo_server import WeiboServer

    with WeiboServer(token="contract-weibo-token", user_limit=0) as server:
        yield server


def local_harness(tmp_path: Path) -> Harness:
    from outreach.clients.local import LocalClient

    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    account = account_settings(data_dir=tmp_path, name="contract")
    client = LocalClient(account, clock=clock)

    def engage(remote_id: str, comment: str) -> None:
        clock.advance(days=3)  # the simulated public reacts over time

    return Harness(client, "zh", engage, [client.close])


def weibo_harness(tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch) -> Harness:
    from outreach.clients.weibo.client import WeiboClient

    server.reset()
    monkeypatch.setenv("OUTREACH_TEST_WEIBO_TOKEN", server.token)
    client = WeiboClient(server.account(tmp_path))

    def engage(remote_id: str, comment: str) -> None:
        server.engage(remote_id, reposts=3, likes=5,
                      comments=[{"author": "网友甲", "text": comment}])

    return Harness(client, "zh", engage, [client.close])


def mastodon_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    from outreach.clients.mastodon.client import MastodonClient
    from tests.mastodon_peer import Peer, bot_account, peer_url

    peer = Peer(peer_url())
    peer.reset()
    environ: dict[str, str] = {}
    account = bot_account(peer.url, tmp_path, environ=environ)
    for k, v in environ.items():
        monkeypatch.setenv(k, v)
    client = MastodonClient(account)

    def engage(remote_id: str, comment: str) -> None:
        peer.reblog(remote_id, "fan1")
        peer.favourite(remote_id, "fan2")
        peer.reply(remote_id, "fan1", comment)

    return Harness(client, "en", engage, [client.close, peer.close])


PLATFORMS = [
    pytest.param("local", id="local"),
    pytest.param("weibo", id="weibo"),
    pytest.param("mastodon", id="mastodon", marks=pytest.mark.slow),
]


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    if request.param == "local":
        h = local_harness(tmp_path)
    elif request.param == "weibo":
        h = weibo_harness(tmp_path, request.getfixturevalue("weibo_server"), monkeypatch)
    else:
        h = mastodon_harness(tmp_path, monkeypatch)
    yield h
    for close in h.cleanup:
        close()


def test_every_platform_is_registered_and_declares_its_contract():
    assert set(CLIENTS) == {"local", "weibo", "mastodon"}
    for name, cls in CLIENTS.items():
        assert cls.platform == name
        assert isinstance(cls.config_keys, frozenset)
        assert isinstance(cls.needs_token, bool)
        assert cls.counts_batch_size > 0
        assert cls.idempotency_window is None or isinstance(cls.idempotency_window, timedelta)
        for method in ("verify", "publish", "find_published", "delete", "reply", "fetch_counts",
                       "fetch_account", "fetch_comments", "text_length", "text_problems",
                       "reply_target"):
            assert callable(getattr(cls, method)), (name, method)


def test_verify_and_account_counts(harness: Harness):
    info = harness.client.verify()
    assert isinstance(info, AccountInfo) and info.remote_id and info.handle
    counts = harness.client.fetch_account()
    assert isinstance(counts, AccountCounts)
    assert counts.followers is None or counts.followers >= 0


def test_publish_then_find_it(harness: Harness):
    text = fresh_text(harness.lang)
    before = datetime.now(UTC) - timedelta(minutes=1)
    published = harness.client.publish(text, idempotency_key=f"k-{next(_texts)}")
    assert isinstance(published, Published) and published.remote_id
    assert published.created_at.tzinfo is not None
    found = harness.client.find_published(text, before)
    assert found is not None and found.remote_id == published.remote_id
    assert harness.client.find_published(fresh_text(harness.lang), before) is None


def test_same_key_never_posts_twice_where_the_platform_keeps_keys(harness: Harness):
    text = fresh_text(harness.lang)
    a = harness.client.publish(text, idempotency_key="same-key-1")
    if harness.client.idempotency_window is None and harness.client.platform != "local":
        # no keys here: the publisher never resends, it finds the first status instead
        found = harness.client.find_published(text, a.created_at - timedelta(minutes=1))
        assert found is not None and found.remote_id == a.remote_id
        return
    b = harness.client.publish(text, idempotency_key="same-key-1")
    assert a.remote_id == b.remote_id


def test_over_length_and_blank_are_refused_locally(harness: Harness):
    client = harness.client
    too_long = "长" * (client.max_length + 1)
    assert client.text_length(too_long) > client.max_length
    with pytest.raises(ContentRejected):
        client.publish(too_long, idempotency_key="too-long")
    with pytest.raises(ContentRejected):
        client.publish("   ", idempotency_key="blank")
    assert client.text_length("") == 0


def test_counts_comments_and_a_reply(harness: Harness):
    client = harness.client
    published = client.publish(fresh_text(harness.lang), idempotency_key=f"k-{next(_texts)}")
    first = client.fetch_counts([published.remote_id])
    assert set(first) == {published.remote_id}
    harness.engage(published.remote_id, comment="请问这个怎么举报？" if harness.lang == "zh"
                   else "How do I report this?")
    after = client.fetch_counts([published.remote_id, "999999999999"])
    assert set(after) == {published.remote_id}  # unknown ids are left out
    counts = after[published.remote_id]
    assert isinstance(counts, Counts)
    assert counts.reposts and counts.comments  # the audience acted
    assert counts.likes is None or counts.likes > 0
    comments = client.fetch_comments([published.remote_id], None)
    theirs = [c for c in comments if not c.is_own]
    assert theirs and all(isinstance(c, RemoteComment) for c in theirs)
    assert all(c.post_remote_id == published.remote_id for c in theirs)
    assert all(c.created_at.tzinfo is not None and c.text for c in theirs)
    target = client.reply_target(published.remote_id, theirs[0].remote_id)
    reply_text = "感谢关注，可拨打96110咨询。" if harness.lang == "zh" else "Thanks, call 110."
    client.reply(target, reply_text, idempotency_key=f"r-{next(_texts)}")
    again = client.fetch_comments([published.remote_id], None)
    assert any(c.is_own and "96110" in c.text or c.is_own and "110" in c.text for c in again)
    newest = max(int(c.remote_id) for c in comments)
    assert all(int(c.remote_id) > newest for c in client.fetch_comments(
        [published.remote_id], str(newest)))


def test_counts_cover_every_id_asked(harness: Harness):
    client = harness.client
    ids = [client.publish(fresh_text(harness.lang), idempotency_key=f"b-{next(_texts)}").remote_id
           for _ in range(5)]
    counts = client.fetch_counts(ids)
    assert set(counts) == set(ids)


def _http_account(platform: str, tmp_path: Path) -> AccountSettings:
    return account_settings(
        data_dir=tmp_path, name="batched", platform=platform, api_base=BATCH_API,
        token_env="OUTREACH_TEST_BATCH_TOKEN", options=WEIBO_OPTIONS if platform == "weibo" else {})


BATCH_API = "https://batch.example"
BATCH_STATUSES = 250  # the account's statuses, ids 1001..1250; every one is asked for


def _weibo_routes(router: Any) -> Any:
    def count(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        return httpx.Response(200, json=[{"id": int(i), "reposts": 1, "comments": "2",
                                          "attitudes": 3} for i in ids])

    return router.get(f"{BATCH_API}/2/statuses/count.json").mock(side_effect=count)


def _mastodon_routes(router: Any) -> Any:
    me = {"id": "7", "username": "bot", "acct": "bot", "statuses_count": BATCH_STATUSES,
          "followers_count": 1, "following_count": 0}

    def status(i: int) -> dict[str, Any]:
        return {"id": str(i), "created_at": "2027-03-01T00:00:00.000Z", "content": "<p>x</p>",
                "url": f"{BATCH_API}/@bot/{i}", "replies_count": 2, "reblogs_count": 1,
                "favourites_count": 3, "account": me}

    def page(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", 20))
        below = int(request.url.params.get("max_id", 1001 + BATCH_STATUSES))
        ids = [i for i in range(1000 + BATCH_STATUSES, 1000, -1) if i < below][:limit]
        return httpx.Response(200, json=[status(i) for i in ids])

    def lookup(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[status(int(i))
                                         for i in request.url.params.get_list("id[]")])

    router.get(f"{BATCH_API}/api/v1/accounts/verify_credentials").respond(200, json=me)
    router.get(f"{BATCH_API}/api/v2/instance").respond(404, json={"error": "none"})
    pages = router.get(f"{BATCH_API}/api/v1/accounts/7/statuses").mock(side_effect=page)
    ids = router.get(f"{BATCH_API}/api/v1/statuses").mock(side_effect=lookup)
    return pages, ids


@pytest.mark.parametrize("platform", ["weibo", "mastodon"])
def test_counts_are_batched(platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Counting many posts takes a request per batch, never one per post."""
    import math

    import respx

    monkeypatch.setenv("OUTREACH_TEST_BATCH_TOKEN", "batch-token-0123456789")
    cls = CLIENTS[platform]
    wanted = [str(i) for i in range(1001, 1001 + BATCH_STATUSES)]
    with respx.mock(assert_all_called=False) as router, httpx.Client(timeout=5) as http:
        routes = _weibo_routes(router) if platform == "weibo" else _mastodon_routes(router)
        client = cls(_http_account(platform, tmp_path), http=http)
        counts = client.fetch_counts(wanted)
        counted = [c for r in (routes if isinstance(routes, tuple) else (routes,))
                   for c in r.calls]
    assert set(counts) == set(wanted)
    assert all(c.reposts == 1 and c.comments == 2 and c.likes == 3 for c in counts.values())
    batches = math.ceil(len(wanted) / cls.counts_batch_size)
    assert 1 <= len(counted) <= batches + 1, [str(c.request.url) for c in counted]


def test_delete_removes_a_status(harness: Harness):
    client = harness.client
    text = fresh_text(harness.lang)
    before = datetime.now(UTC) - timedelta(minutes=1)
    published = client.publish(text, idempotency_key=f"d-{next(_texts)}")
    client.delete(published.remote_id)
    client.delete(published.remote_id)  # deleting twice is not an error
    assert published.remote_id not in client.fetch_counts([published.remote_id])
    assert client.find_published(text, before) is None


def test_the_registry_fails_loudly():
    from outreach.clients import client_class
    from outreach.errors import ConfigError

    with pytest.raises(ConfigError, match="known: local, mastodon, weibo"):
        client_class("myspace")


def test_every_client_has_the_protocol_s_signatures():
    """Each registered client is an instance of the protocol, and every method takes the
    protocol's parameters by the same names and kinds (callers pass them by keyword)."""
    import inspect

    from outreach.clients.local import LocalClient
    from outreach.clients.mastodon.client import MastodonClient
    from outreach.clients.weibo.client import WeiboClient

    assert set(CLIENTS.values()) == {LocalClient, MastodonClient, WeiboClient}
    methods = [name for name, value in vars(MicroblogClient).items()
               if callable(value) and not name.startswith("_")]
    assert {"verify", "publish", "fetch_counts", "fetch_comments"} <= set(methods)
    for cls in CLIENTS.values():
        for name in methods:
            want = inspect.signature(getattr(MicroblogClient, name))
            have = inspect.signature(getattr(cls, name))
            shape = [(p.name, p.kind) for p in want.parameters.values()]
            assert [(p.name, p.kind) for p in have.parameters.values()][:len(shape)] == shape, (
                cls.__name__, name, str(have), str(want))
            extra = list(have.parameters.values())[len(shape):]
            assert all(p.default is not inspect.Parameter.empty for p in extra), (cls, name)
        assert isinstance(cls.max_length, property), cls


def test_every_client_instance_satisfies_the_protocol(harness: Harness):
    assert isinstance(harness.client, MicroblogClient)
    assert harness.client.max_length > 0


def test_what_callers_read_is_declared_on_the_contract():
    """Health, reports, the publisher and the settings read these without probing: every
    client has them, as the protocol declares them."""
    declared = set(MicroblogClient.__annotations__) | set(vars(MicroblogClient))
    wanted = {"simulated", "needs_token", "counts_fallback", "token_expires_at",
              "idempotency_window", "close", "validate_options", "uploads_media"}
    assert wanted <= declared
    for cls in CLIENTS.values():
        assert isinstance(cls.simulated, bool) and isinstance(cls.needs_token, bool), cls
        assert isinstance(cls.uploads_media, bool), cls
        assert cls.validate_options({}) is None, cls


def test_every_client_instance_has_the_declared_state(harness: Harness):
    client = harness.client
    assert client.counts_fallback is False
    assert client.token_expires_at is None  # nothing learnt before verify()


def test_a_picture_goes_out_with_its_status(harness: Harness):
    """Uploaded first where the platform wants that, else with the status itself."""
    from dataclasses import replace

    from outreach.clients.base import Attachment
    from tests.pictures import picture

    client = harness.client
    limits = client.media_limits()
    assert limits.max_count >= 1 and {"image/jpeg", "image/png"} <= limits.mimes
    attachment = Attachment(picture("teal", fmt="JPEG"), "image/jpeg", "测试图片 / a test picture")
    if client.uploads_media:
        attachment = replace(attachment, remote_id=client.upload_media(
            attachment.data, mime=attachment.mime, alt=attachment.alt))
        assert attachment.remote_id
    else:
        with pytest.raises(ContentRejected):
            client.upload_media(attachment.data, mime=attachment.mime, alt=attachment.alt)
    text = fresh_text(harness.lang)
    since = datetime.now(UTC) - timedelta(minutes=5)
    published = client.publish(text, idempotency_key=f"pic-{next(_texts)}", media=[attachment])
    found = client.find_published(text, since)
    assert found is not None and found.remote_id == published.remote_id
