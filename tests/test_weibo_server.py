"""The fake Weibo server (tests/weibo_server.py) and WeiboClient working together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypedDict, Unpack

import httpx
import pytest

from outreach.clients.base import AccountCounts, Counts
from outreach.clients.weibo.client import WeiboClient
from outreach.clients.weibo.oauth import exchange_code, token_info
from outreach.config.secrets import Secret
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ContentRejected,
    DuplicateContent,
    RateLimited,
    RemoteError,
    TransientError,
)
from outreach.times import utcnow
from tests.weibo_server import WeiboServer


class AccountOptions(TypedDict, total=False):
    """What a test may set on the account ``WeiboServer.account`` builds."""

    name: str
    token_env: str
    share_url: str
    rip: str
    uid: str | None
    max_length: int | None


TOKEN = "fake-weibo-token-5d1e"
TOKEN_ENV = "OUTREACH_TEST_WEIBO_TOKEN"
SHARE = "/2/statuses/share.json"
TIP = "【防诈骗】网上刷单就是诈骗，切勿轻信。"


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN) as weibo:
        yield weibo


@pytest.fixture
def weibo(server: WeiboServer) -> WeiboServer:
    server.reset()
    server.set_user_limit(150)
    return server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, trust_env=False) as client:
        yield client


@pytest.fixture
def make_client(
    weibo: WeiboServer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., WeiboClient]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    def make(*, http_: httpx.Client | None = None,
             **account: Unpack[AccountOptions]) -> WeiboClient:
        return WeiboClient(weibo.account(tmp_path, **account), http=http_ or http)

    return make


@pytest.fixture
def client(make_client: Callable[..., WeiboClient]) -> WeiboClient:
    return make_client()


def test_a_post_from_publish_to_retraction(weibo: WeiboServer, client: WeiboClient) -> None:
    since = utcnow()
    post = client.publish(TIP, idempotency_key="p1")
    assert post.url == f"https://weibo.com/{weibo.uid}/{post.remote_id}"
    assert weibo.statuses()[0]["text"] == f"{TIP} https://example.gov.cn/safety"
    assert client.find_published(TIP, since) == post  # the link came back as t.cn

    weibo.engage(post.remote_id, reposts=19, likes=5, comments=[
        {"author": "热心市民", "text": "<b>收到</b>，已转给家人 &amp; 朋友"},
        {"author": "网友乙", "text": "怎么举报？"},
    ])
    assert client.fetch_counts([post.remote_id]) == {
        post.remote_id: Counts(reposts=19, comments=2, likes=5)}

    first, second = client.fetch_comments([post.remote_id], None)
    assert (first.author, first.is_own) == ("热心市民", False)
    assert first.text == "收到，已转给家人 & 朋友"
    answer = client.reply(f"{post.remote_id}:{second.remote_id}", "请拨打110。",
                          idempotency_key="r1")
    (own,) = client.fetch_comments([post.remote_id], second.remote_id)
    assert (own.remote_id, own.in_reply_to_remote_id, own.is_own) == (
        answer.remote_id, second.remote_id, True)
    assert own.text == "回复@网友乙:请拨打110。"

    client.delete(post.remote_id)
    client.delete(post.remote_id)  # gone already: not an error
    assert weibo.statuses() == []
    assert client.fetch_counts([post.remote_id]) == {}
    for request in weibo.requests():
        assert TOKEN not in request["query"]
        assert "access_token" not in request["query"]


def test_verify_and_followers(weibo: WeiboServer, make_client: Callable[..., WeiboClient]) -> None:
    client = make_client(uid=None)
    weibo.set_followers(569_000)
    info = client.verify()
    assert (info.remote_id, info.followers_count) == (weibo.uid, 569_000)
    assert client.token_expires_at is not None
    assert client.token_expires_at - utcnow() > timedelta(days=6)
    assert client.budget_remaining() == 148  # learnt from rate_limit_status after 2 calls
    client.publish(TIP, idempotency_key="p")
    assert client.fetch_account() == AccountCounts(followers=569_000, following=50, statuses=1)
    assert len(weibo.requests("/oauth2/get_token_info")) == 1


def test_a_lost_answer_is_ambiguous_then_reconciled(
    weibo: WeiboServer, client: WeiboClient
) -> None:
    since = utcnow()
    weibo.fault(SHARE, "drop_after_apply")
    with pytest.raises(AmbiguousOutcome):
        client.publish(TIP, idempotency_key="p1")
    (status,) = weibo.statuses()
    found = client.find_published(TIP, since)
    assert found is not None and found.remote_id == status["idstr"]
    with pytest.raises(DuplicateContent):  # a blind retry would be refused as a repeat
        client.publish(TIP, idempotency_key="p1")


def test_a_slow_answer_is_ambiguous(
    weibo: WeiboServer, make_client: Callable[..., WeiboClient]
) -> None:
    weibo.fault(SHARE, "delay", delay_ms=600)
    with httpx.Client(timeout=httpx.Timeout(0.2), trust_env=False) as impatient:
        with pytest.raises(AmbiguousOutcome):
            make_client(http_=impatient).publish(TIP, idempotency_key="p1")


@pytest.mark.parametrize(("kind", "code", "expected", "applied"), [
    ("rate", None, RateLimited, False),
    ("expired", None, AuthError, False),
    ("error_code", 20021, ContentRejected, False),
    ("error_code", 20502, RemoteError, False),
    ("http500", None, AmbiguousOutcome, False),
    ("malformed", None, AmbiguousOutcome, True),
])
def test_faults_on_publish(
    weibo: WeiboServer, client: WeiboClient, kind: str, code: int | None,
    expected: type[Exception], applied: bool,
) -> None:
    weibo.fault(SHARE, kind, code=code)
    with pytest.raises(expected):
        client.publish(TIP, idempotency_key="p1")
    assert len(weibo.statuses()) == int(applied)


def test_faults_on_reads_are_transient(weibo: WeiboServer, client: WeiboClient) -> None:
    weibo.fault("/2/users/show.json", "http500", count=2)
    with pytest.raises(TransientError):
        client.fetch_account()
    weibo.fault("/2/users/show.json", "malformed")
    with pytest.raises(TransientError):
        client.fetch_account()
    with pytest.raises(TransientError):
        client.fetch_account()
    assert client.fetch_account().followers == 1000


def test_the_server_keeps_weibos_rules(
    weibo: WeiboServer, make_client: Callable[..., WeiboClient], http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ContentRejected, match="20012"):  # the client thinks 2000 is fine
        make_client(max_length=2000).publish("字" * 200, idempotency_key="p")
    monkeypatch.setenv("OUTREACH_TEST_WRONG_TOKEN", "wrong")
    with pytest.raises(AuthError, match="21332"):
        make_client(token_env="OUTREACH_TEST_WRONG_TOKEN").publish(TIP, idempotency_key="p")
    bad = {"Authorization": "Bearer " + TOKEN}  # only the OAuth2 scheme is accepted
    answer = http.get(f"{weibo.url}/2/users/show.json", params={"uid": weibo.uid}, headers=bad)
    assert (answer.status_code, answer.json()["error_code"]) == (400, 21332)
    auth = {"Authorization": f"OAuth2 {TOKEN}"}
    for data, code in [({"status": TIP}, 10016), ({"status": TIP, "rip": "1.2.3.4"}, 10017)]:
        answer = http.post(f"{weibo.url}{SHARE}", data=data, headers=auth)
        assert answer.json()["error_code"] == code
    assert weibo.statuses() == []


def test_counts_in_batches_and_the_show_fallback(weibo: WeiboServer, client: WeiboClient) -> None:
    ids = [client.publish(f"{TIP}（{i}）", idempotency_key=str(i)).remote_id for i in range(3)]
    asked = ids + [str(9_000_000 + i) for i in range(247)]
    assert set(client.fetch_counts(asked)) == set(ids)
    assert len(weibo.requests("/2/statuses/count.json")) == 3

    weibo.fault("/2/statuses/count.json", "error_code", code=10014, count=-1)
    assert client.fetch_counts(ids) == {i: Counts(0, 0, 0) for i in ids}
    assert client.counts_fallback
    assert len(weibo.requests("/2/statuses/show.json")) == 3


def test_the_timeline_shows_only_the_newest_five(weibo: WeiboServer, client: WeiboClient) -> None:
    since = utcnow()
    texts = [f"{TIP}（{i}）" for i in range(6)]
    for text in texts:
        client.publish(text, idempotency_key=text)
    assert client.find_published(texts[0], since) is None
    assert client.find_published(texts[5], since) is not None


def test_the_hourly_limit(weibo: WeiboServer, make_client: Callable[..., WeiboClient]) -> None:
    client = make_client(uid=weibo.uid)
    weibo.set_user_limit(5)
    for _ in range(5):
        client.fetch_account()
    with pytest.raises(RateLimited):
        client.fetch_account()
    assert client.budget_remaining() == 0
    weibo.reset()
    weibo.set_user_limit(100)
    assert client.refresh_budget() == 100


def test_oauth_against_the_server(weibo: WeiboServer, http: httpx.Client) -> None:
    secret = Secret(weibo.app_secret)
    grant = exchange_code(http, weibo.url, weibo.app_key, secret, "code-1", "https://cb")
    assert grant.token == Secret(TOKEN) and grant.uid == weibo.uid
    with pytest.raises(RemoteError, match="invalid_grant"):  # a code works once
        exchange_code(http, weibo.url, weibo.app_key, secret, "code-1", "https://cb")
    info = token_info(http, weibo.url, grant.token)
    assert info.uid == weibo.uid and info.expires_at is not None
