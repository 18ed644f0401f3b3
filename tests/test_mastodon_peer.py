"""MastodonClient end to end against a running mastodon-mock peer (the slow lane).

Start the peer with ``.ci/mastodon-peer.sh start`` (it prints the variables to
export); without ``OUTREACH_MASTODON_TEST_URL`` every test here is skipped.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.clients.base import AccountCounts, Counts, default_http_client
from outreach.clients.mastodon.client import MastodonClient
from outreach.errors import AmbiguousOutcome, AuthError, ContentRejected, RateLimited
from tests.dropping_proxy import DroppingProxy
from tests.mastodon_peer import (
    BOT_TOKEN,
    PEER_PYTHON_ENV,
    TOKEN_ENV,
    Peer,
    bot_account,
    peer_url,
)

pytestmark = pytest.mark.slow


class Counted:
    """A MastodonClient with its own httpx client that records every request it sends."""

    def __init__(self, client: MastodonClient, http: httpx.Client, log: list[tuple[str, str]]):
        self.client, self.http, self.requests = client, http, log

    def paths(self, method: str = "GET") -> list[str]:
        return [p for m, p in self.requests if m == method]


@pytest.fixture
def make_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Counted]]:
    opened: list[httpx.Client] = []

    def make(url: str | None = None, *, token: str = BOT_TOKEN, **changes: Any) -> Counted:
        monkeypatch.setenv(TOKEN_ENV, token)
        account = bot_account(url or peer_url(), tmp_path, token=token, **changes)
        log: list[tuple[str, str]] = []
        http = default_http_client(timeout_connect=5, timeout_read=30)
        http.event_hooks["request"] = [lambda r: log.append((r.method, r.url.path))]
        opened.append(http)
        return Counted(MastodonClient(account, http=http), http, log)

    yield make
    for http in opened:
        http.close()


def test_publish_three_posts(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    bot = make_client().client
    texts = [f"Tip {i}: lock your bike & note its frame number <{i}>" for i in range(3)]
    published = [bot.publish(t, idempotency_key=f"post-{i}") for i, t in enumerate(texts)]
    on_server = fresh.own_statuses()
    assert sorted(s["id"] for s in on_server) == sorted(p.remote_id for p in published)
    by_id = {s["id"]: s for s in on_server}
    for p in published:
        st = by_id[p.remote_id]
        assert p.url == st["url"]
        assert p.created_at.tzinfo is not None
        assert abs(p.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert st["language"] == "en" and st["visibility"] == "public"
    assert bot.find_published(texts[1], datetime.now(UTC) - timedelta(minutes=5)) == published[1]
    assert bot.find_published("never posted", datetime.now(UTC) - timedelta(minutes=5)) is None


def test_counts_and_followers_equal_the_servers_view(
    fresh: Peer, make_client: Callable[..., Counted]
) -> None:
    bot = make_client().client
    ids = [bot.publish(f"Counts tip {i}", idempotency_key=f"c{i}").remote_id for i in range(3)]
    fresh.reblog(ids[0], "fan1")
    fresh.reblog(ids[0], "fan2")
    fresh.favourite(ids[0], "fan1")
    fresh.favourite(ids[1], "fan2")
    fresh.reply(ids[1], "fan1", "Where do I register my bike?")
    fresh.reply(ids[1], "fan2", "Thanks")
    fresh.follow("fan1")
    fresh.follow("fan2")

    counts = bot.fetch_counts(ids)
    assert counts == {i: fresh.counts(i) for i in ids}
    assert counts[ids[0]] == Counts(reposts=2, comments=0, likes=1)
    assert counts[ids[1]] == Counts(reposts=0, comments=2, likes=1)
    assert counts[ids[2]] == Counts(reposts=0, comments=0, likes=0)
    account = fresh.account()
    assert bot.fetch_account() == AccountCounts(
        followers=account["followers_count"], following=account["following_count"],
        statuses=account["statuses_count"],
    )
    assert bot.fetch_account().followers == 2
    info = bot.verify()
    assert (info.remote_id, info.handle, info.followers_count) == (fresh.bot_id, "outreachbot", 2)


def test_fetch_comments_gives_plain_text_replies(
    fresh: Peer, make_client: Callable[..., Counted]
) -> None:
    bot = make_client().client
    post = bot.publish("Scam calls: hang up and dial 96110", idempotency_key="p").remote_id
    other = bot.publish("Another tip", idempotency_key="q").remote_id
    question = fresh.reply(post, "fan1", "Is 96110 free? Tom & Jerry <3\nsecond line")
    answer = bot.reply(question, "@fan1 Yes, it is free.", idempotency_key="r").remote_id
    follow_up = fresh.reply(answer, "fan2", "good to know", mention="fan1")
    fresh.reply(other, "fan2", "not asked about")

    comments = bot.fetch_comments([post], None)
    assert [c.remote_id for c in comments] == [question, answer, follow_up]
    first, ours, third = comments
    assert first.text == "Is 96110 free? Tom & Jerry <3\nsecond line"
    assert (first.author, first.post_remote_id, first.is_own) == ("fan1", post, False)
    assert first.in_reply_to_remote_id is None
    assert first.url and first.url.endswith(question)
    assert ours.is_own and ours.text == "@fan1 Yes, it is free."
    assert ours.in_reply_to_remote_id == question
    assert (third.author, third.text, third.in_reply_to_remote_id) == (
        "fan2", "@fan1 good to know", answer)
    assert [c.remote_id for c in bot.fetch_comments([post], question)] == [answer, follow_up]


def test_dropped_answer_is_ambiguous_and_the_same_key_posts_once(
    fresh: Peer, make_client: Callable[..., Counted]
) -> None:
    with DroppingProxy(fresh.url) as proxy:
        bot = make_client(proxy.url).client
        proxy.drop_next(1, "POST", "/api/v1/statuses")
        text = "Exactly once: never share SMS codes"
        with pytest.raises(AmbiguousOutcome):
            bot.publish(text, idempotency_key="post-7")
        assert [(m, p) for m, p, _ in proxy.dropped] == [("POST", "/api/v1/statuses")]
        assert proxy.dropped[0][2] == 200  # the peer applied it
        on_server = fresh.own_statuses()
        assert len(on_server) == 1
        again = bot.publish(text, idempotency_key="post-7")
        assert again.remote_id == on_server[0]["id"]
        assert len(fresh.own_statuses()) == 1
        found = bot.find_published(text, datetime.now(UTC) - timedelta(minutes=5))
        assert found is not None and found.remote_id == again.remote_id


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 503}, {"kind": "malformed"}, {"kind": "status", "status": 502},
])
def test_lost_or_garbled_answers_are_ambiguous(
    fresh: Peer, make_client: Callable[..., Counted], fault: dict[str, Any]
) -> None:
    bot = make_client().client
    options = dict(fault)
    fresh.fault(options.pop("kind"), path="/api/v1/statuses", methods=["POST"], **options)
    with pytest.raises(AmbiguousOutcome):
        bot.publish("Ambiguous tip", idempotency_key="amb-1")
    published = bot.publish("Ambiguous tip", idempotency_key="amb-1")
    assert [s["id"] for s in fresh.own_statuses()] == [published.remote_id]


def test_rate_limit_fault_gives_retry_at_the_reset(
    fresh: Peer, make_client: Callable[..., Counted]
) -> None:
    counted = make_client()
    bot = counted.client
    reset = int(time.time()) + 120
    fresh.fault("ratelimit", path="/api/v1/statuses", methods=["POST"],
                headers={"X-RateLimit-Reset": str(reset)})
    with pytest.raises(RateLimited) as info:
        bot.publish("Rate-limited tip", idempotency_key="rl-1")
    assert info.value.retry_at == datetime.fromtimestamp(reset, UTC)
    sent = len(counted.requests)
    with pytest.raises(RateLimited):  # the bucket is remembered: no request goes out
        bot.publish("Rate-limited tip", idempotency_key="rl-1")
    assert len(counted.requests) == sent
    assert bot.fetch_account().statuses == 0  # reads have their own bucket

    iso = make_client().client
    fresh.fault("ratelimit", path="/api/v1/accounts/verify_credentials",
                headers={"X-RateLimit-Reset": "2030-01-01T00:00:00.019685Z"})
    with pytest.raises(RateLimited) as info:
        iso.fetch_account()
    assert info.value.retry_at == datetime(2030, 1, 1, 0, 0, 0, 19685, tzinfo=UTC)


def test_peer_rate_limit_headers_are_read(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    counted = make_client()
    counted.client.fetch_account()
    bucket = counted.client._api.buckets["default"]  # what the peer's headers told us
    assert bucket.remaining is not None and bucket.remaining > 0
    assert bucket.reset is not None and bucket.reset > datetime.now(UTC) - timedelta(seconds=5)


def test_bad_token_is_an_auth_error(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    bot = make_client(token="not-a-real-token").client
    with pytest.raises(AuthError):
        bot.verify()
    with pytest.raises(AuthError):
        bot.publish("Should not post", idempotency_key="bad")
    assert fresh.own_statuses() == []


def test_over_length_never_reaches_the_peer(
    fresh: Peer, make_client: Callable[..., Counted]
) -> None:
    counted = make_client()
    with pytest.raises(ContentRejected):
        counted.client.publish("a" * 501, idempotency_key="long")
    assert counted.paths("POST") == []
    assert counted.client.max_length == 500 and counted.client.url_weight == 23


def test_delete(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    bot = make_client().client
    keep = bot.publish("Keep me", idempotency_key="k").remote_id
    gone = bot.publish("Retract me", idempotency_key="g").remote_id
    bot.delete(gone)
    assert [s["id"] for s in fresh.own_statuses()] == [keep]
    bot.delete(gone)  # already gone: fine
    assert bot.fetch_counts([keep, gone]) == {keep: Counts(0, 0, 0)}


def test_reply_appears_under_the_post(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    bot = make_client().client
    post = bot.publish("Ask us anything about fraud", idempotency_key="a").remote_id
    question = fresh.reply(post, "fan1", "What is 96110?")
    answer = bot.reply(question, "@fan1 The anti-fraud hotline.", idempotency_key="ans")
    again = bot.reply(question, "@fan1 The anti-fraud hotline.", idempotency_key="ans")
    assert again.remote_id == answer.remote_id
    assert fresh.status(answer.remote_id)["in_reply_to_id"] == question
    assert fresh.counts(question).comments == 1
    context = fresh.call("GET", f"/api/v1/statuses/{post}/context").json()
    assert [s["id"] for s in context["descendants"]] == [question, answer.remote_id]


def test_counts_sweep_of_2000_posts(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    n = 2000
    t0 = time.perf_counter()
    ids = fresh.post_many(n)
    posting = time.perf_counter() - t0
    for i in range(0, n, 97):  # some engagement spread over the whole timeline
        fresh.favourite(ids[i], "fan1")
        if i % 2:
            fresh.reblog(ids[i], "fan2")
    server = {s["id"]: Counts(s["reblogs_count"], s["replies_count"], s["favourites_count"])
              for s in fresh.own_statuses()}

    counted = make_client()
    t0 = time.perf_counter()
    counts = counted.client.fetch_counts(ids)
    sweep = time.perf_counter() - t0
    lists = [p for p in counted.paths() if p.endswith("/statuses")]
    assert counts == server
    assert len(lists) <= math.ceil(n / 40) + 1
    assert not [p for p in counted.paths() if p.startswith("/api/v1/statuses/")]

    counted.requests.clear()
    sparse = ids[:30] + ids[-10:]  # 30 of the oldest and the newest 10
    t1 = time.perf_counter()
    assert counted.client.fetch_counts(sparse) == {i: server[i] for i in sparse}
    sparse_time = time.perf_counter() - t1
    sparse_requests = len(counted.requests)
    assert sparse_requests <= 3
    print(f"\n[mastodon peer] posted {n} in {posting:.1f}s; counts sweep: {len(lists)} list "
          f"requests ({len(counted.requests)} total after), {sweep:.2f}s; sparse 40 ids: "
          f"{sparse_requests} requests, {sparse_time:.2f}s")


def test_counts_agree_with_mastodon_py(fresh: Peer, make_client: Callable[..., Counted]) -> None:
    python = os.environ.get(PEER_PYTHON_ENV)
    if not python:
        pytest.skip(f"{PEER_PYTHON_ENV} is not set; .ci/mastodon-peer.sh start sets it")
    bot = make_client().client
    ids = [bot.publish(f"Cross-check tip {i}", idempotency_key=f"x{i}").remote_id
           for i in range(5)]
    fresh.reblog(ids[0], "fan1")
    fresh.favourite(ids[0], "fan2")
    fresh.favourite(ids[3], "fan1")
    fresh.reply(ids[3], "fan2", "noted")
    fresh.follow("fan1")
    script = (
        "import json, sys\n"
        "from mastodon import Mastodon\n"
        "args = json.load(sys.stdin)\n"
        "m = Mastodon(api_base_url=args['url'], access_token=args['token'],"
        " version_check_mode='none')\n"
        "out = {str(s['id']): [s['reblogs_count'], s['replies_count'], s['favourites_count']]"
        " for s in (m.status(i) for i in args['ids'])}\n"
        "me = m.account_verify_credentials()\n"
        "print(json.dumps({'counts': out, 'followers': me['followers_count']}))\n"
    )
    done = subprocess.run(
        [python, "-c", script], input=json.dumps({"url": fresh.url, "token": BOT_TOKEN,
                                                  "ids": ids}),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout)
    ours = bot.fetch_counts(ids)
    assert {i: [c.reposts, c.comments, c.likes] for i, c in ours.items()} == theirs["counts"]
    assert bot.fetch_account().followers == theirs["followers"] == 1
