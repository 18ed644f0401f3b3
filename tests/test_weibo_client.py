"""WeiboClient against recorded Weibo bodies (tests/fixtures/weibo/, see SOURCES.md), with respx."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import stat
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from outreach.clients.base import AccountCounts, Counts, Published, RemoteComment, weibo_length
from outreach.clients.weibo.api import API_BASE
from outreach.clients.weibo.client import WeiboClient
from outreach.clients.weibo.oauth import (
    TokenGrant,
    authorize_url,
    exchange_code,
    parse_code,
    save_token,
    token_info,
)
from outreach.clients.weibo.parse import parse_created_at
from outreach.config.secrets import Secret
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ConfigError,
    ContentRejected,
    DuplicateContent,
    InputError,
    OutreachError,
    RateLimited,
    RemoteError,
    TransientError,
)
from tests.factories import FakeClock, account_settings

FIXTURES = Path(__file__).parent / "fixtures" / "weibo"
TOKEN = "2.00tokPLANTED7e1d9b4c"
TOKEN_ENV = "OUTREACH_TEST_WEIBO_TOKEN"
SHARE_URL = "https://example.gov.cn/safety"
RIP = "203.0.113.7"
UID = "1404376560"
NOW = datetime(2025, 3, 1, 0, 30, tzinfo=UTC)
NEXT_HOUR = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)

SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
COUNT = "/2/statuses/count.json"
SHOW = "/2/statuses/show.json"
TIMELINE = "/2/statuses/user_timeline.json"
COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_CREATE = "/2/comments/create.json"
COMMENTS_REPLY = "/2/comments/reply.json"
USERS_SHOW = "/2/users/show.json"
RATE_LIMIT = "/2/account/rate_limit_status.json"
TOKEN_INFO = "/oauth2/get_token_info"
ACCESS_TOKEN = "/oauth2/access_token"

TIP = "【防诈骗】陌生来电自称公检法要求转账的，一律是诈骗！请拨打96110咨询。"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


def make_account(
    data_dir: Path, *, max_length: int | None = None, **options: Any
) -> AccountSettings:
    opts = {"share_url": SHARE_URL, "rip": RIP, "uid": UID}
    opts.update(options)
    return account_settings(
        data_dir=data_dir, name="pingan", platform="weibo", token_env=TOKEN_ENV,
        max_length=max_length, options={k: v for k, v in opts.items() if v is not None},
    )


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AccountSettings:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return make_account(tmp_path)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API_BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One client for the module: building one loads the CA bundle (~30 ms). respx patches
    # the transport class, so a client made outside a mock is still mocked inside one.
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def make_client(
    account: AccountSettings, http: httpx.Client, clock: FakeClock, api: respx.MockRouter
) -> Callable[..., WeiboClient]:
    def make(account_: AccountSettings | None = None) -> WeiboClient:
        return WeiboClient(account_ or account, http=http, clock=clock)

    return make


@pytest.fixture
def client(make_client: Callable[..., WeiboClient]) -> WeiboClient:
    return make_client()


def comment_item(cid: int, *, status_id: int = 11488058246, user_id: int = 2000000001,
                 text: str = "收到", at: datetime | None = None) -> dict[str, Any]:
    item = copy.deepcopy(fixture("comments_show_ok.json")["comments"][0])
    at = at or datetime(2011, 6, 1, tzinfo=UTC) + timedelta(seconds=cid % 100_000)
    item.update(id=cid, idstr=str(cid), mid=str(cid), text=text,
                created_at=f"{at:%a %b %d %H:%M:%S} +0000 {at.year}")
    item["status"]["id"] = status_id
    item["user"] = dict(item["user"], id=user_id, screen_name=f"网友{user_id}")
    return item


# --- the fixtures themselves ------------------------------------------------------------


def test_every_fixture_body_is_used_by_a_test() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    unused = [p.name for p in FIXTURES.glob("*.json") if p.name not in source]
    assert unused == []


def test_class_declares_what_differs(account: AccountSettings) -> None:
    assert WeiboClient.platform == "weibo"
    assert WeiboClient.config_keys == frozenset({"share_url", "rip", "uid", "app",
                                                "app_calls_per_hour"})
    assert WeiboClient.needs_token is True
    assert WeiboClient.counts_batch_size == 100
    with WeiboClient(account) as client:  # builds, and closes, its own httpx client
        assert client.max_length == 140
        assert client.text_length("平安" + "ab") == weibo_length("平安ab") == 3
    with WeiboClient(make_account(account.data_dir, max_length=2000)) as client:
        assert client.max_length == 2000


def test_weibo_length_counts_every_character_as_unicodedata_does() -> None:
    """The fast path (whole wide blocks by regex) agrees with the rule, char by char."""
    import random
    import unicodedata

    def by_rule(text: str) -> int:
        halves = sum(2 if unicodedata.east_asian_width(ch) in ("F", "W") else 1 for ch in text)
        return -(-halves // 2)

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(chars), 997):  # every code point, in odd-sized runs
        run = "".join(chars[i:i + 997])
        assert weibo_length(run) == by_rule(run), hex(i)
    rng = random.Random(7)
    pool = "平安北京，。！？「」ａｂ１２ab 12#@😀🚓한글かなカナ\u3000\u303f\u10ff\u1100é"
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        assert weibo_length(text) == by_rule(text), text
    assert weibo_length("") == 0
    assert weibo_length("a") == 1
    assert weibo_length("反诈a") == 3


@pytest.mark.parametrize(("options", "problem"), [
    ({"share_url": SHARE_URL, "rip": RIP, "uid": UID}, None),
    ({"rip": "2001:db8::7", "uid": 1404376560}, None),
    ({}, None),
    ({"share_url": "ftp://example.gov.cn/x"}, "share_url"),
    ({"share_url": "example.gov.cn/safety"}, "share_url"),
    ({"share_url": 7}, "share_url"),
    ({"rip": "300.1.2.3"}, "rip"),
    ({"rip": "localhost"}, "rip"),
    ({"uid": "zaku"}, "uid"),
])
def test_validate_options(options: dict[str, Any], problem: str | None) -> None:
    found = WeiboClient.validate_options(options)
    assert (found[0] if found else None) == problem


# --- publishing -------------------------------------------------------------------------


def test_publish_sends_status_and_rip_with_the_token_only_in_the_header(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    published = client.publish(TIP, idempotency_key="post-1")
    assert published == Published(
        remote_id="3504803600502730",  # idstr, not the rounded int id of the doc example
        url="https://weibo.com/1902538057/3504803600502730",
        created_at=datetime(2012, 10, 24, 15, 49, 17, tzinfo=UTC),
    )
    request = route.calls.last.request
    assert form(request) == {"status": f"{TIP} {SHARE_URL}", "rip": RIP}
    assert request.headers["Authorization"] == f"OAuth2 {TOKEN}"
    assert TOKEN not in str(request.url)
    assert TOKEN.encode() not in request.content
    assert "access_token" not in request.content.decode() + str(request.url)


def test_publish_parses_the_older_update_body_too(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(SHARE).respond(200, json=fixture("statuses_update_ok_doc.json"))
    published = client.publish(TIP, idempotency_key="k")
    assert published.remote_id == "3504801050130827"
    assert published.created_at == datetime(2012, 10, 24, 15, 39, 10, tzinfo=UTC)


def test_publish_falls_back_to_the_numeric_id(client: WeiboClient, api: respx.MockRouter) -> None:
    body = fixture("statuses_share_ok.json")
    del body["idstr"], body["mid"]
    body["user"] = {"id": 1902538057}
    api.post(SHARE).respond(200, json=body)
    published = client.publish(TIP, idempotency_key="k")
    assert published.remote_id == "3504803600500000"
    assert published.url == "https://weibo.com/1902538057/3504803600500000"


@pytest.mark.parametrize(("text", "sent"), [
    (TIP, f"{TIP} {SHARE_URL}"),
    (f"{TIP}\n", f"{TIP} {SHARE_URL}"),
    (f"{TIP} https://example.gov.cn/safety/fraud", f"{TIP} https://example.gov.cn/safety/fraud"),
    (f"详情 http://EXAMPLE.gov.cn/x {TIP}", f"详情 http://EXAMPLE.gov.cn/x {TIP}"),
    (f"{TIP} https://other.example.com/x", f"{TIP} https://other.example.com/x {SHARE_URL}"),
])
def test_share_url_is_appended_only_when_missing(
    client: WeiboClient, api: respx.MockRouter, text: str, sent: str
) -> None:
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(text, idempotency_key="k")
    assert form(route.calls.last.request)["status"] == sent


@pytest.mark.parametrize("text", ["", "   ", "\n\t　"])
def test_blank_text_is_refused_without_a_call(
    client: WeiboClient, api: respx.MockRouter, text: str
) -> None:
    with pytest.raises(ContentRejected, match="blank"):
        client.publish(text, idempotency_key="k")
    assert api.calls.call_count == 0


def test_over_length_is_refused_without_a_call(client: WeiboClient, api: respx.MockRouter) -> None:
    with pytest.raises(ContentRejected, match="141 characters by"):
        client.publish("字" * 126 + f" {SHARE_URL}", idempotency_key="k")  # 126 + ½·30
    with pytest.raises(ContentRejected, match="with the share link"):
        client.publish("字" * 130, idempotency_key="k")  # 130 + ½·30 for " https://…"
    assert api.calls.call_count == 0


def test_text_of_exactly_the_limit_goes_out(client: WeiboClient, api: respx.MockRouter) -> None:
    link = f" {SHARE_URL}"
    text = "字" * (140 - weibo_length(link)) + link
    assert weibo_length(text) == 140
    api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(text, idempotency_key="k")
    assert api.calls.call_count == 1


def test_account_max_length_overrides_140(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path
) -> None:
    api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    make_client(make_account(tmp_path, max_length=2000)).publish("字" * 500, idempotency_key="k")
    assert api.calls.call_count == 1
    with pytest.raises(ContentRejected):
        make_client(make_account(tmp_path, max_length=10)).publish("字" * 11, idempotency_key="k")
    assert api.calls.call_count == 1


def test_missing_rip_is_a_config_error_naming_the_key(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"accounts\.pingan\.rip"):
        make_client(make_account(tmp_path, rip=None)).publish(TIP, idempotency_key="k")
    assert api.calls.call_count == 0


def test_missing_share_url_needs_a_link_in_the_text(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path
) -> None:
    client = make_client(make_account(tmp_path, share_url=None))
    with pytest.raises(ConfigError, match=r"accounts\.pingan\.share_url"):
        client.publish(TIP, idempotency_key="k")
    assert api.calls.call_count == 0
    route = api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(f"{TIP} https://example.gov.cn/a", idempotency_key="k")
    assert form(route.calls.last.request)["status"] == f"{TIP} https://example.gov.cn/a"


def test_missing_token_is_an_auth_error_without_a_call(
    client: WeiboClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(AuthError, match=f"\\${TOKEN_ENV}.*outreach auth weibo --account pingan"):
        client.fetch_account()
    assert api.calls.call_count == 0


# --- error translation ------------------------------------------------------------------

ERROR_TABLE = [
    (10022, 403, RateLimited), (10023, 403, RateLimited), (10024, 403, RateLimited),
    (20016, 400, RateLimited),
    (20017, 400, DuplicateContent), (20019, 400, DuplicateContent),
    (20111, 400, DuplicateContent),
    (20012, 400, ContentRejected), (20013, 400, ContentRejected), (20008, 400, ContentRejected),
    (10017, 400, ContentRejected), (20018, 400, ContentRejected), (20020, 400, ContentRejected),
    (20021, 400, ContentRejected),
    (21301, 401, AuthError), (21314, 400, AuthError), (21315, 400, AuthError),
    (21316, 400, AuthError), (21317, 400, AuthError), (21319, 400, AuthError),
    (21327, 400, AuthError), (21332, 403, AuthError), (10006, 400, AuthError),
    (21331, 400, TransientError),
    (20502, 400, RemoteError), (10014, 403, RemoteError), (20003, 400, RemoteError),
]


@pytest.mark.parametrize("as_string", [False, True], ids=["int", "str"])
@pytest.mark.parametrize(("code", "status", "expected"), ERROR_TABLE)
def test_error_codes_translate(
    client: WeiboClient, api: respx.MockRouter, code: int, status: int,
    expected: type[Exception], as_string: bool,
) -> None:
    api.post(SHARE).respond(status, json={
        "error": f"weibo says {code}!", "error_code": str(code) if as_string else code,
        "request": SHARE,
    })
    with pytest.raises(expected) as info:
        client.publish(TIP, idempotency_key="k")
    exc = info.value
    for other in (RateLimited, DuplicateContent, ContentRejected, AuthError, TransientError,
                  AmbiguousOutcome, RemoteError):
        if other is not expected:
            assert not isinstance(exc, other), other
    if expected is RateLimited:
        assert isinstance(exc, RateLimited) and exc.retry_at == NEXT_HOUR
    if expected is RemoteError:
        assert isinstance(exc, RemoteError) and exc.code == code
    if expected is ContentRejected:
        assert f"weibo says {code}!" in str(exc)
    if code == 10006:
        assert "expired" in str(exc)
    assert TOKEN not in str(exc)


@pytest.mark.parametrize(("name", "status", "expected"), [
    ("error_10006_doc_format.json", 400, AuthError),
    ("error_10023_rate.json", 403, RateLimited),
    ("error_20019_repeat.json", 400, DuplicateContent),
    ("error_20502_doc_format.json", 400, RemoteError),
    ("error_21327_expired.json", 400, AuthError),
    ("error_10017_no_domain.json", 400, ContentRejected),
    ("error_10014_permission_reconstructed.json", 403, RemoteError),
    ("error_20101_missing_reconstructed.json", 400, RemoteError),
])
def test_recorded_error_bodies(
    client: WeiboClient, api: respx.MockRouter, name: str, status: int, expected: type[Exception]
) -> None:
    api.post(SHARE).respond(status, json=fixture(name))
    with pytest.raises(expected) as info:
        client.publish(TIP, idempotency_key="k")
    assert fixture(name)["error"] in str(info.value)


def test_a_definitive_code_wins_on_a_read_too(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(USERS_SHOW).respond(400, json=fixture("error_21327_expired.json"))
    with pytest.raises(AuthError):
        client.fetch_account()


TRANSPORT_ERRORS = [
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ReadTimeout,
    httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError,
]
NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

WRITES: dict[str, tuple[str, Callable[[WeiboClient], Any]]] = {
    "publish": (SHARE, lambda c: c.publish(TIP, idempotency_key="k")),
    "delete": (DESTROY, lambda c: c.delete("3504803600502730")),
    "comment": (COMMENTS_CREATE, lambda c: c.reply("11488058246", "谢谢", idempotency_key="k")),
    "reply": (COMMENTS_REPLY, lambda c: c.reply("11488058246:12438492184", "谢谢",
                                                idempotency_key="k")),
}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("error", TRANSPORT_ERRORS, ids=lambda e: e.__name__)
def test_transport_errors_on_writes(
    client: WeiboClient, api: respx.MockRouter, write: str, error: type[Exception]
) -> None:
    path, call = WRITES[write]
    api.post(path).mock(side_effect=error)
    expected = TransientError if issubclass(error, NEVER_LEFT) else AmbiguousOutcome
    with pytest.raises(expected) as info:
        call(client)
    assert isinstance(info.value.__cause__, error)


@pytest.mark.parametrize("error", TRANSPORT_ERRORS, ids=lambda e: e.__name__)
def test_transport_errors_on_reads_are_transient(
    client: WeiboClient, api: respx.MockRouter, error: type[Exception]
) -> None:
    api.get(COUNT).mock(side_effect=error)
    api.get(TIMELINE).mock(side_effect=error)
    with pytest.raises(TransientError) as info:
        client.fetch_counts(["1"])
    assert isinstance(info.value.__cause__, error)
    with pytest.raises(TransientError):
        client.find_published(TIP, NOW)


@pytest.mark.parametrize("base", ["ftp://api.weibo.example", "https://exa\u0000mple"])
@pytest.mark.parametrize("write", [False, True])
def test_unusable_api_base_is_a_config_error(
    account: AccountSettings, http: httpx.Client, clock: FakeClock, base: str, write: bool
) -> None:
    # no respx here: httpx itself refuses these before anything is sent. The user must fix
    # the address; retrying (a transient error) could never help.
    client = WeiboClient(dataclasses.replace(account, api_base=base), http=http, clock=clock)
    with pytest.raises(ConfigError, match=r"accounts\.pingan\.api_base: not a usable URL"):
        if write:
            client.publish(TIP, idempotency_key="k")
        else:
            client.fetch_account()


@pytest.mark.parametrize(("status", "content"), [
    (200, b"<html>upstream</html>"),
    (200, b'{"created_at": "Wed Oct 24 23:49:17 +0800 2012", "id": 35'),
    (200, b""),
    (200, b"{}"),
    (200, b"[]"),
    (200, b"null"),
    (200, json.dumps(fixture("statuses_count_ok.json")).encode()),  # a body from elsewhere
    (500, b"<html>500</html>"),
    (502, b""),
    (503, b'{"error": "busy", "error_code": 10001}'),
])
def test_unreadable_answers_to_a_publish_are_ambiguous(
    client: WeiboClient, api: respx.MockRouter, status: int, content: bytes
) -> None:
    api.post(SHARE).respond(status, content=content)
    with pytest.raises(AmbiguousOutcome, match="reconcile"):
        client.publish(TIP, idempotency_key="k")


@pytest.mark.parametrize(("status", "content"), [
    (200, b"<html>upstream</html>"), (500, b"<html>500</html>"), (502, b""),
])
def test_unreadable_answers_to_a_read_are_transient(
    client: WeiboClient, api: respx.MockRouter, status: int, content: bytes
) -> None:
    api.get(USERS_SHOW).respond(status, content=content)
    with pytest.raises(TransientError):
        client.fetch_account()


def test_non_json_error_body_is_a_remote_error_with_the_status(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(USERS_SHOW).respond(400, content=b"<html>Bad Request</html>")
    with pytest.raises(RemoteError, match="HTTP 400") as info:
        client.fetch_account()
    assert info.value.code == 400


@pytest.mark.parametrize(("status", "expected"), [(401, AuthError), (429, RateLimited)])
def test_bare_http_statuses(
    client: WeiboClient, api: respx.MockRouter, status: int, expected: type[Exception]
) -> None:
    api.get(USERS_SHOW).respond(status, content=b"")
    with pytest.raises(expected):
        client.fetch_account()


def test_a_body_of_the_wrong_shape_is_a_remote_error(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(USERS_SHOW).respond(200, json=fixture("users_counts_ok.json"))  # a list
    with pytest.raises(RemoteError, match="unexpected answer"):
        client.fetch_account()


HOSTILE_BODIES: list[bytes] = [
    b"", b"null", b"[]", b"{}", b'"text"', b"1e999", b"-0", b"[" * 50_000, b"{" * 50_000,
    b"\xff\xfe\x00", b'{"error_code": {"x": 1}}', b'{"error_code": "abc", "error": ["x"]}',
    b'{"error": null}', b'{"error_code": 1e400}', b'{"statuses": "x", "comments": {"a": 1}}',
    json.dumps([1, "a", None, {"id": "x"}, {"id": 1.5, "comments": "3"},
                {"id": "1", "comments": "²", "reposts": "9" * 5000},
                {"idstr": "7", "reposts": {"n": 1}, "attitudes": [], "user": "me"}]).encode(),
    json.dumps({"comments": [None, 3, {"id": "12", "user": 5, "text": {"a": 1},
                                       "created_at": 12, "reply_comment": "x"}],
                "statuses": [{"text": 5}, {"text": TIP, "created_at": "Feb 30", "id": "1"}],
                "uid": {"x": 1}, "idstr": "<script>", "id": True,
                "source": "<a href=\"x\"><script>alert(1)</script></a>"}).encode(),
    json.dumps({"uid": "1", "expire_in": "9" * 40, "create_at": -1e300,
                "followers_count": "1" * 4400, "screen_name": "\x00" * 10}).encode(),
    b"9" * 5000,
]
def fetch_counts_fallback(c: WeiboClient) -> dict[str, Counts]:
    c.counts_fallback = True  # statuses/count was refused before: one statuses/show a post
    return c.fetch_counts(["1"])


OPERATIONS: dict[str, Callable[[WeiboClient], Any]] = {
    "publish": lambda c: c.publish(TIP, idempotency_key="k"),
    "find_published": lambda c: c.find_published(TIP, NOW - timedelta(days=1)),
    "delete": lambda c: c.delete("1"),
    "reply": lambda c: c.reply("1:2", "好", idempotency_key="k"),
    "fetch_counts": lambda c: c.fetch_counts(["1", "2"]),
    "fetch_counts_fallback": fetch_counts_fallback,
    "fetch_account": lambda c: c.fetch_account(),
    "verify": lambda c: c.verify(),
    "fetch_comments": lambda c: c.fetch_comments(["1"], "5"),
    "refresh_budget": lambda c: c.refresh_budget(),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_hostile_bodies_raise_only_outreach_errors(
    operation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http: httpx.Client
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    for uid in (UID, None):
        account = make_account(tmp_path, uid=uid)
        for status in (200, 400, 403, 500):
            for body in HOSTILE_BODIES:
                with respx.mock(base_url=API_BASE, assert_all_called=False) as router:
                    router.route().respond(status, content=body)
                    client = WeiboClient(account, http=http, clock=FakeClock(NOW))
                    try:
                        OPERATIONS[operation](client)
                    except OutreachError:
                        pass
                    except Exception as exc:  # noqa: BLE001 - the point of the test
                        pytest.fail(f"{operation} {status} {body[:60]!r}: {exc!r}")


def test_an_oversized_body_is_not_read_whole(client: WeiboClient, api: respx.MockRouter) -> None:
    api.post(SHARE).respond(200, content=b'{"idstr": "1", "pad": "' + b"x" * (9 << 20) + b'"}')
    with pytest.raises(AmbiguousOutcome):
        client.publish(TIP, idempotency_key="k")


# --- the token never shows --------------------------------------------------------------


def test_the_token_never_leaks(
    account: AccountSettings, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"bad token {TOKEN}"
    scenarios: list[tuple[str, str, Any, Callable[[WeiboClient], Any],
                          type[Exception] | None]] = [
        ("POST", SHARE, {"status_code": 400, "json": {"error": echo, "error_code": 21327}},
         WRITES["publish"][1], AuthError),
        ("GET", USERS_SHOW, {"status_code": 403, "json": {"error": echo, "error_code": "10023"}},
         OPERATIONS["fetch_account"], RateLimited),
        ("POST", SHARE, {"status_code": 400, "json": {"error": echo, "error_code": 20019}},
         WRITES["publish"][1], DuplicateContent),
        ("POST", SHARE, {"status_code": 400, "json": {"error": echo * 30, "error_code": 20012}},
         WRITES["publish"][1], ContentRejected),
        ("GET", COUNT, httpx.ConnectError, OPERATIONS["fetch_counts"], TransientError),
        ("POST", SHARE, httpx.ReadTimeout, WRITES["publish"][1], AmbiguousOutcome),
        ("POST", SHARE, {"status_code": 500, "json": {"error": echo, "error_code": 1}},
         WRITES["publish"][1], AmbiguousOutcome),
        ("GET", USERS_SHOW, {"status_code": 400, "json": {"error": echo, "error_code": echo}},
         OPERATIONS["fetch_account"], RemoteError),
        ("GET", USERS_SHOW, {"status_code": 400, "content": echo.encode()},
         OPERATIONS["fetch_account"], RemoteError),
        ("POST", TOKEN_INFO, {"status_code": 400, "json": {"error": echo, "error_code": 21332}},
         OPERATIONS["verify"], AuthError),
        ("POST", DESTROY, {"status_code": 200, "json": fixture("statuses_share_ok.json")},
         WRITES["delete"][1], None),
    ]
    seen: list[str] = []
    for method, path, answer, call, expected in scenarios:
        with respx.mock(base_url=API_BASE) as router:
            route = router.request(method, path)
            if isinstance(answer, dict):
                route.respond(**answer)
            else:
                route.mock(side_effect=answer)
            client = WeiboClient(account, http=http, clock=FakeClock(NOW))
            seen.append(repr(client))
            if expected is None:
                call(client)
                continue
            with pytest.raises(expected) as info:
                call(client)
            exc = info.value
            seen += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            for request, _ in router.calls:
                assert TOKEN not in str(request.url)
                if request.url.path == TOKEN_INFO:  # OAuth2 endpoints: a form field as well
                    assert parse_qs(request.content.decode()) == {"access_token": [TOKEN]}
                else:
                    assert TOKEN.encode() not in request.content
                assert request.headers["Authorization"] == f"OAuth2 {TOKEN}"
    leaks = [text for text in [*seen, caplog.text] if TOKEN in text]
    assert leaks == []


# --- reconciliation ---------------------------------------------------------------------


def test_find_published_matches_a_link_weibo_rewrote_to_tcn(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    route = api.get(TIMELINE).respond(200, json=fixture("statuses_user_timeline_tcn_derived.json"))
    since = datetime(2025, 3, 1, 0, 0, 30, tzinfo=UTC)  # the status says 08:00:05 +0800
    found = client.find_published(f"{TIP} {SHARE_URL}", since)
    assert found == Published(
        remote_id="5140000000000002",
        url="https://weibo.com/1404376560/5140000000000002",
        created_at=datetime(2025, 3, 1, 0, 0, 5, tzinfo=UTC),
    )
    params = route.calls.last.request.url.params
    assert (params["count"], params["trim_user"]) == ("100", "1")
    assert client.find_published(TIP, since) == found  # without the link, too


def test_find_published_honours_since(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(TIMELINE).respond(200, json=fixture("statuses_user_timeline_tcn_derived.json"))
    # 1 minute of slack for clock skew; beyond it the status is older than the attempt
    assert client.find_published(TIP, datetime(2025, 3, 1, 0, 1, 6, tzinfo=UTC)) is None
    assert client.find_published(TIP, datetime(2025, 3, 1, 0, 1, 5, tzinfo=UTC)) is not None
    # both copies are after an old `since`: the first one is what an attempt produced
    found = client.find_published(TIP, datetime(2025, 2, 28, tzinfo=UTC))
    assert found is not None and found.remote_id == "5140000000000001"


def test_find_published_needs_the_same_text(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(TIMELINE).respond(200, json=fixture("statuses_user_timeline_tcn_derived.json"))
    assert client.find_published(TIP + "！", datetime(2025, 2, 1, tzinfo=UTC)) is None
    assert client.find_published(SHARE_URL, datetime(2025, 2, 1, tzinfo=UTC)) is None


def test_find_published_on_the_documented_timeline(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(TIMELINE).respond(200, json=fixture("statuses_user_timeline_ok.json"))
    found = client.find_published("求关注。", datetime(2011, 5, 31, 9, 46, tzinfo=UTC))
    assert found == Published("11488058246", "https://weibo.com/1404376560/5612814510546515491",
                              datetime(2011, 5, 31, 9, 46, 55, tzinfo=UTC))


@pytest.mark.parametrize(("value", "expected"), [
    ("Wed Oct 24 23:49:17 +0800 2012", datetime(2012, 10, 24, 15, 49, 17, tzinfo=UTC)),
    ("Tue May 31 17:46:55 +0800 2011", datetime(2011, 5, 31, 9, 46, 55, tzinfo=UTC)),
    ("Mon Jan 01 07:30:00 +0800 2024", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
    ("Fri Aug 28 00:00:00 -0530 2009", datetime(2009, 8, 28, 5, 30, tzinfo=UTC)),
    ("sat mar 01 08:00:05 +0800 2025", datetime(2025, 3, 1, 0, 0, 5, tzinfo=UTC)),
    ("Wed Feb 30 00:00:00 +0800 2012", None),
    ("Wed Foo 24 23:49:17 +0800 2012", None),
    ("Wed Oct 24 23:49:17 +9900 2012", None),
    ("2012-10-24T23:49:17+08:00", None),
    ("", None), (None, None), (1351093757, None), ("x" * 1000, None),
])
def test_created_at_parsing(value: Any, expected: datetime | None) -> None:
    parsed = parse_created_at(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


# --- delete and reply -------------------------------------------------------------------


def test_delete(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.post(DESTROY).respond(200, json=fixture("statuses_share_ok.json"))
    client.delete("3504803600502730")  # no exception: deleted
    assert form(route.calls.last.request) == {"id": "3504803600502730"}


def test_deleting_a_missing_status_is_not_an_error(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(DESTROY).respond(400, json=fixture("error_20101_missing_reconstructed.json"))
    client.delete("3504803600502730")


def test_delete_passes_other_errors_on(client: WeiboClient, api: respx.MockRouter) -> None:
    api.post(DESTROY).respond(400, json=fixture("error_21327_expired.json"))
    with pytest.raises(AuthError):
        client.delete("3504803600502730")


def test_reply_to_a_comment(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.post(COMMENTS_REPLY).respond(200, json=fixture("comments_create_ok_derived.json"))
    published = client.reply("11488058246:12438492201", "请拨打96110。", idempotency_key="r1")
    assert form(route.calls.last.request) == {
        "id": "11488058246", "cid": "12438492201", "comment": "请拨打96110。", "rip": RIP,
    }
    assert published == Published(
        remote_id="12438492300", url="https://weibo.com/1404376560/11488058246",
        created_at=datetime(2011, 6, 1, 3, 0, tzinfo=UTC),
    )


def test_reply_to_a_status_creates_a_comment(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.post(COMMENTS_CREATE).respond(200, json=fixture("comments_create_ok_derived.json"))
    published = client.reply("11488058246", "谢谢关注！", idempotency_key="r1")
    assert form(route.calls.last.request) == {"id": "11488058246", "comment": "谢谢关注！",
                                              "rip": RIP}
    assert published.remote_id == "12438492300"


@pytest.mark.parametrize("target", ["", "abc", "1:", ":2", "1:2:3", "1:x", "1 2", "-1"])
def test_reply_refuses_malformed_targets_without_a_call(
    client: WeiboClient, api: respx.MockRouter, target: str
) -> None:
    with pytest.raises(InputError):
        client.reply(target, "好", idempotency_key="k")
    with pytest.raises(InputError):
        client.delete(target)
    assert api.calls.call_count == 0


def test_reply_text_is_checked_without_a_call(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path
) -> None:
    client = make_client(make_account(tmp_path, max_length=2000))
    with pytest.raises(ContentRejected):
        client.reply("1", " ", idempotency_key="k")
    with pytest.raises(ContentRejected, match="the limit is 140"):
        client.reply("1:2", "字" * 141, idempotency_key="k")  # comments stay at 140
    assert api.calls.call_count == 0


def test_a_reply_answer_without_an_id_is_ambiguous(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(COMMENTS_CREATE).respond(200, json={"text": "ok"})
    with pytest.raises(AmbiguousOutcome):
        client.reply("1", "好", idempotency_key="k")


# --- counts -----------------------------------------------------------------------------


def test_counts_as_documented_strings_without_attitudes(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    route = api.get(COUNT).respond(200, json=fixture("statuses_count_ok.json"))
    assert client.fetch_counts(["32817222"]) == {
        "32817222": Counts(reposts=38, comments=16, likes=None),
    }
    assert route.calls.last.request.url.params["ids"] == "32817222"


def test_counts_as_integers_with_attitudes(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(COUNT).respond(200, json=fixture("statuses_count_int_attitudes.json"))
    assert client.fetch_counts(["3504803600502730", "3504801050130827"]) == {
        "3504803600502730": Counts(reposts=38, comments=16, likes=7),
        "3504801050130827": Counts(reposts=2, comments=0, likes=0),
    }


def test_missing_attitudes_are_none_never_zero(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(COUNT).respond(200, json=fixture("statuses_count_int_no_attitudes.json"))
    assert client.fetch_counts(["32817222"])["32817222"].likes is None


def test_counts_leave_out_deleted_and_unasked_ids(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(COUNT).respond(200, json=fixture("statuses_count_int_attitudes.json"))
    assert list(client.fetch_counts(["3504803600502730", "999"])) == ["3504803600502730"]


def counts_for(request: httpx.Request) -> httpx.Response:
    ids = request.url.params["ids"].split(",")
    return httpx.Response(200, json=[{"id": i, "comments": "1", "reposts": 2} for i in ids])


def test_250_ids_take_exactly_three_calls(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.get(COUNT).mock(side_effect=counts_for)
    ids = [str(4_000_000_000 + i) for i in range(250)]
    counts = client.fetch_counts(ids + ids[:10] + ["not-an-id"])  # repeats and junk are dropped
    assert sorted(counts) == sorted(ids)
    batches = [call.request.url.params["ids"].split(",") for call in route.calls]
    assert [len(b) for b in batches] == [100, 100, 50]
    assert sum(batches, []) == ids


def test_no_ids_no_calls(client: WeiboClient, api: respx.MockRouter) -> None:
    assert client.fetch_counts([]) == {}
    assert client.fetch_comments([], None) == []
    assert api.calls.call_count == 0


def show_for(request: httpx.Request) -> httpx.Response:
    status_id = request.url.params["id"]
    if status_id == "404":
        return httpx.Response(400, json=fixture("error_20101_missing_reconstructed.json"))
    body = fixture("statuses_show_ok.json")
    body.update(id=int(status_id), idstr=status_id)
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(("status", "answer"), [
    (403, {"json": fixture("error_10014_permission_reconstructed.json")}),
    (400, {"json": fixture("error_10014_permission_reconstructed.json")}),
    (403, {"content": b"<html>Forbidden</html>"}),
])
def test_counts_fall_back_to_statuses_show(
    client: WeiboClient, api: respx.MockRouter, status: int, answer: dict[str, Any]
) -> None:
    count = api.get(COUNT).respond(status, **answer)
    show = api.get(SHOW).mock(side_effect=show_for)
    assert client.fetch_counts(["11488058246", "404", "7"]) == {
        "11488058246": Counts(reposts=8, comments=9, likes=None),  # no attitudes_count there
        "7": Counts(reposts=8, comments=9, likes=None),
    }
    assert client.counts_fallback is True
    assert [c.request.url.params["id"] for c in show.calls] == ["11488058246", "404", "7"]
    client.fetch_counts(["8"])  # remembered: straight to statuses/show
    assert count.call_count == 1 and show.call_count == 4


def test_fallback_stops_before_the_publishing_reserve(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(COUNT).respond(403, json=fixture("error_10014_permission_reconstructed.json"))
    show = api.get(SHOW).mock(side_effect=show_for)
    counts = client.fetch_counts([str(10_000 + i) for i in range(200)])
    assert len(counts) == show.call_count == 134  # 1 count call + 134 shows = 135 of 150
    assert client.budget_remaining() == 15
    api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(TIP, idempotency_key="k")  # publishing still has its share
    assert client.budget_remaining() == 14


def test_fallback_with_nothing_counted_says_rate_limited(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    client.counts_fallback = True
    api.get(SHOW).respond(403, json=fixture("error_10023_rate.json"))
    with pytest.raises(RateLimited):
        client.fetch_counts(["1", "2"])


# --- the hourly budget ------------------------------------------------------------------


def test_reads_stop_near_the_limit_while_publishing_goes_on(
    client: WeiboClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    users = api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    assert client.budget_remaining() == 150
    for _ in range(135):
        client.fetch_account()
    assert client.budget_remaining() == 15
    with pytest.raises(RateLimited, match="kept for publishing") as info:
        client.fetch_account()
    assert info.value.retry_at == NEXT_HOUR
    for read in (lambda: client.fetch_counts(["1"]), lambda: client.fetch_comments(["1"], None),
                 client.verify):
        with pytest.raises(RateLimited):
            read()
    assert api.calls.call_count == 135
    api.post(SHARE).respond(200, json=fixture("statuses_share_ok.json"))
    client.publish(TIP, idempotency_key="k")
    api.get(TIMELINE).respond(200, json=fixture("statuses_user_timeline_ok.json"))
    assert client.find_published(TIP, NOW) is None  # reconciling is part of publishing
    assert client.budget_remaining() == 13
    clock.advance(minutes=30)  # a new hour
    client.fetch_account()
    assert client.budget_remaining() == 149
    assert users.call_count == 136


def test_budget_learnt_from_rate_limit_status(
    client: WeiboClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    body = fixture("account_rate_limit_status_reconstructed.json")
    route = api.get(RATE_LIMIT).respond(200, json=body)
    assert client.refresh_budget() == 150
    route.respond(200, json=dict(body, user_limit="1000", remaining_user_hits="500"))
    assert client.refresh_budget() == 500
    api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    client.fetch_account()
    assert client.budget_remaining() == 499
    route.respond(200, json=dict(body, user_limit=1000, remaining_user_hits=100))
    assert client.refresh_budget() == 100
    with pytest.raises(RateLimited):  # 10 % of 1000 is kept for publishing
        client.fetch_account()
    assert api.calls.call_count == 4


def test_budget_learnt_from_rate_limit_status_refuses_reads(
    client: WeiboClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    body = dict(fixture("account_rate_limit_status_reconstructed.json"),
                remaining_user_hits=10, reset_time_in_seconds=600)
    api.get(RATE_LIMIT).respond(200, json=body)
    assert client.refresh_budget() == 10
    with pytest.raises(RateLimited) as info:
        client.fetch_account()
    assert info.value.retry_at == NOW + timedelta(seconds=600)
    clock.advance(seconds=600)
    assert client.budget_remaining() == 150


def test_an_hourly_limit_answer_spends_the_budget(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.get(USERS_SHOW).respond(403, json=fixture("error_10023_rate.json"))
    with pytest.raises(RateLimited):
        client.fetch_account()
    assert client.budget_remaining() == 0
    with pytest.raises(RateLimited, match="kept for publishing"):
        client.fetch_account()
    assert api.calls.call_count == 1


def test_a_posting_limit_answer_leaves_reads_alone(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(SHARE).respond(400, json={"error": "update weibo too fast!", "error_code": 20016,
                                       "request": SHARE})
    with pytest.raises(RateLimited):
        client.publish(TIP, idempotency_key="k")
    assert client.budget_remaining() == 149


# --- account, verify, token info --------------------------------------------------------


def test_fetch_account(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    assert client.fetch_account() == AccountCounts(followers=1204, following=447, statuses=2908)
    assert route.calls.last.request.url.params["uid"] == UID


def test_the_uid_is_learnt_once_from_token_info(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path
) -> None:
    info = api.post(TOKEN_INFO).respond(200, json=fixture("oauth2_get_token_info_ok.json"))
    users = api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    client = make_client(make_account(tmp_path, uid=None))
    client.fetch_account()
    client.fetch_account()
    assert info.call_count == 1
    assert users.calls.last.request.url.params["uid"] == "1073880650"
    assert info.calls.last.request.content == f"access_token={TOKEN}".encode()  # not the URL


@pytest.mark.parametrize(("name", "expires_at"), [
    ("oauth2_get_token_info_ok.json", NOW + timedelta(seconds=157679471)),
    ("oauth2_get_token_info_expires_in.json", NOW + timedelta(days=1)),
])
def test_verify(
    make_client: Callable[..., WeiboClient], api: respx.MockRouter, tmp_path: Path,
    name: str, expires_at: datetime,
) -> None:
    api.post(TOKEN_INFO).respond(200, json=fixture(name))
    api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    api.get(RATE_LIMIT).respond(200, json=dict(
        fixture("account_rate_limit_status_reconstructed.json"), remaining_user_hits=100))
    client = make_client(make_account(tmp_path, uid=None))
    info = client.verify()
    assert (info.remote_id, info.handle, info.followers_count) == ("1073880650", "zaku", 1204)
    assert client.token_expires_at == expires_at
    assert client.budget_remaining() == 100


def test_verify_survives_a_missing_rate_limit_status(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(TOKEN_INFO).respond(200, json=dict(fixture("oauth2_get_token_info_ok.json"),
                                                uid=int(UID)))
    api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    api.get(RATE_LIMIT).respond(403, json=fixture("error_10014_permission_reconstructed.json"))
    assert client.verify().remote_id == UID


def test_verify_catches_a_uid_that_is_not_the_tokens(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    api.post(TOKEN_INFO).respond(200, json=fixture("oauth2_get_token_info_ok.json"))
    with pytest.raises(ConfigError, match=r"accounts\.pingan\.uid.*1073880650"):
        client.verify()


def test_verify_reports_an_expired_token(client: WeiboClient, api: respx.MockRouter) -> None:
    api.post(TOKEN_INFO).respond(200, json={"uid": UID, "appkey": "1", "expire_in": 0})
    with pytest.raises(AuthError, match="expired"):
        client.verify()


# --- comments ---------------------------------------------------------------------------


def test_comments_from_the_documented_body(client: WeiboClient, api: respx.MockRouter) -> None:
    route = api.get(COMMENTS_SHOW).respond(200, json=fixture("comments_show_ok.json"))
    assert client.fetch_comments(["11488058246"], None) == [RemoteComment(
        remote_id="12438492184", post_remote_id="11488058246", author="zaku",
        text="love your work.......", url="https://weibo.com/1404376560/11488058246",
        created_at=datetime(2011, 5, 31, 16, 50, 25, tzinfo=UTC),
        in_reply_to_remote_id=None, is_own=True,  # zaku is the account itself there
    )]
    params = route.calls.last.request.url.params
    assert (params["id"], params["count"], "since_id" in params) == ("11488058246", "50", False)


def test_comments_html_replies_and_own(client: WeiboClient, api: respx.MockRouter) -> None:
    api.get(COMMENTS_SHOW).respond(200, json=fixture("comments_show_reply_derived.json"))
    first, own = client.fetch_comments(["11488058246"], None)  # oldest first
    assert (first.remote_id, first.author, first.is_own) == ("12438492201", "热心市民", False)
    assert first.text == '能讲讲 @小王 遇到的"刷单"骗局吗 & 怎么报警？'
    assert (own.remote_id, own.in_reply_to_remote_id, own.is_own) == (
        "12438492210", "12438492201", True)
    assert own.text == "回复@热心市民:请拨打96110。"
    assert first.created_at < own.created_at


def test_comments_page_with_max_id(client: WeiboClient, api: respx.MockRouter) -> None:
    newest_first = [comment_item(1000 - i) for i in range(60)]

    def page(request: httpx.Request) -> httpx.Response:
        max_id = int(request.url.params.get("max_id", 10**9))
        since = int(request.url.params.get("since_id", 0))
        rows = [c for c in newest_first if since < c["id"] <= max_id][:50]
        return httpx.Response(200, json={"comments": rows, "total_number": 60})

    route = api.get(COMMENTS_SHOW).mock(side_effect=page)
    comments = client.fetch_comments(["11488058246"], "900")
    assert [c.remote_id for c in comments] == [str(i) for i in range(941, 1001)]
    assert len(route.calls) == 2
    second = route.calls[1].request.url.params
    assert (second["max_id"], second["since_id"]) == ("950", "900")


def test_comments_newer_than_since_only_and_per_post(
    client: WeiboClient, api: respx.MockRouter
) -> None:
    def page(request: httpx.Request) -> httpx.Response:  # a server ignoring since_id
        status_id = int(request.url.params["id"])
        rows = [comment_item(status_id * 10 + i, status_id=status_id) for i in (3, 2, 1)]
        return httpx.Response(200, json={"comments": rows})

    route = api.get(COMMENTS_SHOW).mock(side_effect=page)
    comments = client.fetch_comments(["5", "6", "5"], "52")
    assert [(c.remote_id, c.post_remote_id) for c in comments] == [
        ("53", "5"), ("61", "6"), ("62", "6"), ("63", "6")]
    assert len(route.calls) == 2


def test_comments_with_odd_entries(
    client: WeiboClient, api: respx.MockRouter, clock: FakeClock
) -> None:
    good = comment_item(12)
    api.get(COMMENTS_SHOW).respond(200, json={"comments": [
        None, "x", {"text": "no id"}, {"id": 11, "user": 3, "text": ["x"], "created_at": "?"},
        good,
    ]})
    fine, odd = client.fetch_comments(["1"], None)  # the odd one dates from "now"
    assert (odd.remote_id, odd.author, odd.text, odd.created_at) == ("11", "?", "", clock())
    assert fine.remote_id == "12"


# --- OAuth helpers ----------------------------------------------------------------------


def test_authorize_url() -> None:
    url = authorize_url("1352222456", "https://example.gov.cn/cb", state="s1")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "api.weibo.com")
    assert parts.path == "/oauth2/authorize"
    assert parse_qs(parts.query) == {"client_id": ["1352222456"],
                                     "redirect_uri": ["https://example.gov.cn/cb"],
                                     "response_type": ["code"], "state": ["s1"]}
    assert authorize_url("k", "r", api_base="http://127.0.0.1:9/").startswith(
        "http://127.0.0.1:9/oauth2/authorize?")


@pytest.mark.parametrize(("value", "code"), [
    ("9f3c2a7be1", "9f3c2a7be1"),
    ("  9f3c2a7be1\n", "9f3c2a7be1"),
    ("https://example.gov.cn/cb?code=9f3c2a7be1&state=s1", "9f3c2a7be1"),
    ("http://127.0.0.1:8080/?state=x&code=abc", "abc"),
    ("?code=abc", "abc"),
    ("code=abc&state=x", "abc"),
])
def test_parse_code(value: str, code: str) -> None:
    assert parse_code(value) == code


@pytest.mark.parametrize("value", [
    "", "https://example.gov.cn/cb?state=s1",
    "https://example.gov.cn/cb?error=access_denied&error_description=user%20denied",
    "abc 123", "code=",
])
def test_parse_code_refuses(value: str) -> None:
    with pytest.raises(InputError):
        parse_code(value)


@pytest.mark.parametrize(("name", "lifetime"), [
    ("oauth2_access_token_ok.json", 7200), ("oauth2_access_token_2013_doc.json", 1234),
])
def test_exchange_code(
    api: respx.MockRouter, http: httpx.Client, name: str, lifetime: int
) -> None:
    route = api.post(ACCESS_TOKEN).respond(200, json=fixture(name))
    grant = exchange_code(http, API_BASE, "1352222456", Secret("app-SECRET-1"), "code1",
                          "https://example.gov.cn/cb", clock=FakeClock(NOW))
    assert grant == TokenGrant(token=Secret("ACCESS_TOKEN"),
                               expires_at=NOW + timedelta(seconds=lifetime),
                               uid=fixture(name)["uid"])
    assert "ACCESS_TOKEN" not in repr(grant)
    request = route.calls.last.request
    assert form(request) == {"client_id": "1352222456", "client_secret": "app-SECRET-1",
                             "grant_type": "authorization_code", "code": "code1",
                             "redirect_uri": "https://example.gov.cn/cb"}
    assert "app-SECRET-1" not in str(request.url)
    assert "Authorization" not in request.headers


def test_exchange_code_failure_hides_the_secret(api: respx.MockRouter, http: httpx.Client) -> None:
    api.post(ACCESS_TOKEN).respond(400, json={
        "error": "invalid_grant", "error_code": 21325,
        "error_description": "code app-SECRET-1 used", "request": ACCESS_TOKEN,
    })
    with pytest.raises(RemoteError, match="invalid_grant") as info:
        exchange_code(http, API_BASE, "k", Secret("app-SECRET-1"), "c", "r")
    assert "app-SECRET-1" not in str(info.value)


def test_exchange_code_without_a_token_in_the_answer(
    api: respx.MockRouter, http: httpx.Client
) -> None:
    api.post(ACCESS_TOKEN).respond(200, json={"uid": "1"})
    with pytest.raises(RemoteError, match="access_token"):
        exchange_code(http, API_BASE, "k", Secret("s"), "c", "r")


def test_token_info_function(api: respx.MockRouter, http: httpx.Client) -> None:
    route = api.post(TOKEN_INFO).respond(200, json=fixture("oauth2_get_token_info_ok.json"))
    info = token_info(http, API_BASE, Secret(TOKEN), clock=FakeClock(NOW))
    assert (info.uid, info.appkey) == ("1073880650", "1352222456")
    assert info.expires_at == NOW + timedelta(seconds=157679471)
    assert info.created_at == datetime.fromtimestamp(1352267591, UTC)
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"OAuth2 {TOKEN}"
    # the OAuth2 endpoints document the token as a form field: sent in the body, never the URL
    assert parse_qs(request.content.decode()) == {"access_token": [TOKEN]}
    assert TOKEN not in str(request.url)


def test_save_token_is_private_and_atomic(
    account: AccountSettings, monkeypatch: pytest.MonkeyPatch, api: respx.MockRouter,
    http: httpx.Client,
) -> None:
    path = account.token_file
    path.parent.mkdir(parents=True, mode=0o755)
    path.write_text("old-token\n")
    os.chmod(path, 0o644)
    assert save_token(account, Secret("new-token-from-file")) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == "new-token-from-file\n"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left
    monkeypatch.delenv(TOKEN_ENV)
    assert account.token() == Secret("new-token-from-file")
    route = api.get(USERS_SHOW).respond(200, json=fixture("users_show_ok.json"))
    WeiboClient(account, http=http).fetch_account()
    assert route.calls.last.request.headers["Authorization"] == "OAuth2 new-token-from-file"


def test_save_token_creates_the_folder(tmp_path: Path) -> None:
    account = make_account(tmp_path / "data")
    path = save_token(account, Secret("t"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("token", ["", "  ", "a\nb"])
def test_save_token_refuses_odd_tokens(tmp_path: Path, token: str) -> None:
    with pytest.raises(InputError):
        save_token(make_account(tmp_path), Secret(token))
