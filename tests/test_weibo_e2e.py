"""End to end: the CLI (and `outreach.actions.auth`) against the fake Weibo server process.

One server subprocess serves the module (tests/weibo_server.py; reset between tests).
Each test writes a config.toml with one Weibo account pointing at it and checks two
sides: the database as the CLI reports it (`queue show/list`, `accounts list`) and
what Weibo saw (`.requests()`, `.statuses()`).
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from outreach.actions.auth import complete_weibo_auth, weibo_authorize_url
from outreach.clients.weibo.oauth import DEFAULT_REDIRECT_URI
from outreach.config.load import load_settings
from outreach.config.secrets import Secret
from outreach.errors import AuthError, ConfigError, InputError
from outreach.runtime import Runtime
from tests.conftest import Result, logical_dump
from tests.weibo_server import WeiboServer

TOKEN = "e2e-weibo-token-7c3a91f0"
TOKEN_ENV = "OUTREACH_TEST_WEIBO_TOKEN"
SAFE_DOMAIN = "example.gov.cn"
SHARE = "/2/statuses/share.json"
COUNT = "/2/statuses/count.json"
TIMELINE = "/2/statuses/user_timeline.json"
TOKEN_INFO = "/oauth2/get_token_info"
ACCESS_TOKEN = "/oauth2/access_token"
TIP = "夜间出行请结伴而行，遇到危险请拨打110。"

CONFIG = """\
[outreach]
database = "sqlite:///outreach.db"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "@API_BASE@"
token_env = "OUTREACH_TEST_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
vars = { city = "北京", hashtag = "平安北京", hotline = { police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" } }
@EXTRA_ACCOUNT@
[policy]
require_approval = false
max_attempts = 3
min_gap_minutes = 0
"""


def write_config(workspace: Path, api_base: str, *, uid: str | None = None,
                 extra: str = "") -> None:
    text = CONFIG.replace("@API_BASE@", api_base).replace("@EXTRA_ACCOUNT@", extra)
    if uid is not None:
        text = text.replace('lang = "zh"\nvars', f'lang = "zh"\nuid = "{uid}"\nvars', 1)
    (workspace / "config.toml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0, safe_domain=SAFE_DOMAIN) as weibo:
        yield weibo


@pytest.fixture
def weibo(server: WeiboServer) -> WeiboServer:
    server.reset()
    server.set_user_limit(0)
    return server


@pytest.fixture
def wb(workspace: Path, weibo: WeiboServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace with one Weibo account on the fake server and its token in the env."""
    write_config(workspace, weibo.url)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return workspace


Cli = Callable[..., Result]


def ok(result: Result) -> Result:
    assert result.code == 0, result.out + result.err
    return result


def add(cli: Cli, text: str = TIP) -> int:
    post_id: int = ok(cli("queue", "add", "--account", "wb", "--text", text, "--json")).json["id"]
    return post_id


def show(cli: Cli, post_id: int) -> dict[str, Any]:
    data: dict[str, Any] = ok(cli("queue", "show", str(post_id), "--json")).json
    return data


def run_once(cli: Cli) -> Result:
    return ok(cli("run", "--once"))


def account_row(cli: Cli, name: str = "wb") -> dict[str, Any]:
    rows = ok(cli("accounts", "list", "--json")).json
    return next(r for r in rows if r["name"] == name)


def next_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def when(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


# --- publishing and metrics ---------------------------------------------------------------


def test_publish_engage_and_collect(wb: Path, weibo: WeiboServer, cli: Cli) -> None:
    post_id = add(cli)
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "published" and post["attempts"] == 1
    [status] = weibo.statuses()
    assert post["remote_id"] == status["idstr"]
    assert status["text"] == post["text"] == f"{TIP} https://example.gov.cn/safety"
    assert post["remote_url"] == f"https://weibo.com/{weibo.uid}/{status['idstr']}"
    assert [a["action"] for a in post["audit"]] == ["queue_add", "published"]

    weibo.engage(status["idstr"], reposts=19, likes=7, comments=[
        {"author": "热心市民", "text": "收到，已转给家人"},
        {"author": "网友乙", "text": "怎么举报？"},
    ])
    weibo.set_followers(569_000)
    collected = ok(cli("metrics", "collect", "--json")).json
    assert collected["accounts"] == ["wb"] and collected["posts_checked"] == 1
    post = show(cli, post_id)
    assert (post["reposts"], post["comments"], post["likes"]) == (19, 2, 7)
    account = account_row(cli)
    assert account["state"] == "active" and account["followers"] == 569_000
    assert account["last_success_at"] is not None

    # the token travels in the Authorization header only, never in a URL
    assert all(TOKEN not in r["query"] for r in weibo.requests())


def test_likes_are_unknown_when_weibo_omits_attitudes(wb: Path, weibo: WeiboServer,
                                                      cli: Cli) -> None:
    weibo.configure(count_style="doc")  # the documented sample: no "attitudes"
    post_id = add(cli)
    run_once(cli)
    remote_id = show(cli, post_id)["remote_id"]
    weibo.engage(remote_id, reposts=3, likes=5, comments=[{"author": "市民", "text": "好"}])
    ok(cli("metrics", "collect"))
    post = show(cli, post_id)
    assert (post["reposts"], post["comments"], post["likes"]) == (3, 1, None)


def test_a_sweep_over_250_posts_takes_three_count_calls(wb: Path, weibo: WeiboServer,
                                                        cli: Cli) -> None:
    rows = [{"account": "wb", "text": f"第{i}条提示：{TIP}"} for i in range(250)]
    path = wb / "posts.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    ok(cli("queue", "import", str(path)))
    run_once(cli)
    published = ok(cli("queue", "list", "--status", "published", "--limit", "0", "--json")).json
    assert len(published) == 250
    assert len(weibo.statuses()) == 250
    assert len(weibo.requests(SHARE)) == 250

    before = len(weibo.requests(COUNT))
    collected = ok(cli("metrics", "collect", "--json")).json
    assert collected["posts_checked"] == 250
    calls = weibo.requests(COUNT)[before:]
    assert len(calls) == 3
    ids = [i for call in calls for i in parse_qs(call["query"])["ids"][0].split(",")]
    assert sorted(ids) == sorted(p["remote_id"] for p in published)
    assert max(len(parse_qs(c["query"])["ids"][0].split(",")) for c in calls) == 100


# --- each error class ends in the state the scheduler defines, with no immediate retry ----


def test_rate_limit_holds_the_post_until_the_hour_resets(wb: Path, weibo: WeiboServer,
                                                         cli: Cli) -> None:
    weibo.fault(SHARE, "rate")  # 10023
    post_id = add(cli)
    before = datetime.now(UTC)
    run_once(cli)
    after = datetime.now(UTC)
    post = show(cli, post_id)
    assert post["status"] == "queued" and post["attempts"] == 0
    assert "rate limited" in post["last_error"]
    # the next hour boundary (Weibo's budget is per clock hour)
    assert when(post["not_before"]) in {next_hour(before), next_hour(after)}

    run_once(cli)
    assert len(weibo.requests(SHARE)) == 1
    again = show(cli, post_id)
    assert (again["status"], again["attempts"], again["not_before"]) == (
        "queued", 0, post["not_before"])


def test_an_expired_token_stops_the_account_until_it_works_again(
    wb: Path, weibo: WeiboServer, cli: Cli
) -> None:
    post_id = add(cli)
    weibo.configure(token_lifetime=0)  # every call now answers 21327 expired_token
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "queued" and post["attempts"] == 0
    assert post["last_error"].startswith("auth:") and "21327" in post["last_error"]
    account = account_row(cli)
    assert account["state"] == "needs_reauth" and "21327" in account["last_error"]

    run_once(cli)  # the account is checked (get_token_info), nothing is sent
    assert len(weibo.requests(SHARE)) == 1
    assert len(weibo.requests(TOKEN_INFO)) >= 1
    assert show(cli, post_id)["status"] == "queued"
    assert account_row(cli)["state"] == "needs_reauth"

    weibo.configure(token_lifetime=7 * 86400)  # e.g. re-authorised: the token works again
    run_once(cli)
    assert show(cli, post_id)["status"] == "published"
    assert account_row(cli)["state"] == "active"
    assert len(weibo.statuses()) == 1


def test_repeated_content_on_a_fresh_post_fails(wb: Path, weibo: WeiboServer, cli: Cli) -> None:
    first = add(cli)
    run_once(cli)
    assert show(cli, first)["status"] == "published"
    second = add(cli)  # the same text again: Weibo answers 20019
    run_once(cli)
    post = show(cli, second)
    assert post["status"] == "failed"
    assert post["last_error"].startswith("duplicate:") and "20019" in post["last_error"]
    run_once(cli)
    assert len(weibo.requests(SHARE)) == 2
    assert len(weibo.statuses()) == 1
    assert show(cli, second)["status"] == "failed"


@pytest.mark.parametrize("code", [20012, 20021])  # text too long; illegal (sensitive) content
def test_text_weibo_rejects_fails(wb: Path, weibo: WeiboServer, cli: Cli, code: int) -> None:
    weibo.fault(SHARE, "error_code", code=code)
    post_id = add(cli)
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "failed" and post["attempts"] == 1
    assert post["last_error"].startswith("rejected:") and str(code) in post["last_error"]
    run_once(cli)
    assert len(weibo.requests(SHARE)) == 1
    assert weibo.statuses() == []
    assert account_row(cli)["last_error"].startswith(f"post {post_id}:")


@pytest.mark.parametrize(("kind", "applied"), [
    ("http500", False), ("malformed", True), ("drop_after_apply", True),
])
def test_an_ambiguous_share_is_reconciled_from_the_timeline(
    wb: Path, weibo: WeiboServer, cli: Cli, kind: str, applied: bool
) -> None:
    weibo.fault(SHARE, kind)
    post_id = add(cli)
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "unconfirmed" and post["last_error"].startswith("ambiguous:")
    assert len(weibo.statuses()) == (1 if applied else 0)

    run_once(cli)  # reconciles: reads the timeline, sends nothing
    assert len(weibo.requests(SHARE)) == 1
    assert len(weibo.requests(TIMELINE)) == 1
    post = show(cli, post_id)
    if applied:
        [status] = weibo.statuses()
        assert post["status"] == "published" and post["remote_id"] == status["idstr"]
        assert post["attempts"] == 1
    else:
        # not on the timeline yet, but an attempt may land for a while after it left
        assert post["status"] == "unconfirmed" and "may still be landing" in post["last_error"]
        # let the in-flight grace pass (the request deadline, 60 s, and 30 s more)
        conn = sqlite3.connect(wb / "outreach.db")
        with conn:
            conn.execute("UPDATE posts SET last_attempt_at = ?, lease_until = NULL WHERE id = ?",
                         ((datetime.now(UTC) - timedelta(seconds=91)).strftime(
                             "%Y-%m-%d %H:%M:%S.%f"), post_id))
        conn.close()
        run_once(cli)  # looks again: not there, so it is queued for a retry
        assert len(weibo.requests(TIMELINE)) == 2
        post = show(cli, post_id)
        assert post["status"] == "queued" and post["attempts"] == 1
        assert "not found" in post["last_error"]
        run_once(cli)  # only now is it sent again
        assert len(weibo.requests(SHARE)) == 2
        [status] = weibo.statuses()
        post = show(cli, post_id)
        assert post["status"] == "published" and post["remote_id"] == status["idstr"]
        assert post["attempts"] == 2
    run_once(cli)
    assert len(weibo.statuses()) == 1
    assert len(weibo.requests(SHARE)) == (1 if applied else 2)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_connect_failure_backs_off(workspace: Path, weibo: WeiboServer, cli: Cli,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(workspace, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    post_id = add(cli)
    before = datetime.now(UTC)
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "queued" and post["attempts"] == 1
    assert post["last_error"].startswith("retrying:") and "never reached" in post["last_error"]
    not_before = when(post["not_before"])
    assert before + timedelta(seconds=20) < not_before < before + timedelta(minutes=2)
    run_once(cli)
    again = show(cli, post_id)
    assert (again["status"], again["attempts"], again["not_before"]) == (
        "queued", 1, post["not_before"])
    assert weibo.requests() == []


# --- the library's Weibo rule ----------------------------------------------------------------


TOPIC_TIP = """\
[[tip]]
id = "fraud-topic-zh"
category = "fraud"
lang = "zh"
title = "刷单就是诈骗"
text = "#{{ hashtag }}# 网上刷单就是诈骗，切勿轻信，被骗请拨打{{ hotline.fraud }}。"
source = "公安部刑事侦查局"
"""


def test_content_check_reports_a_weibo_topic(wb: Path, cli: Cli) -> None:
    (wb / "content" / "tips" / "topic_zh.toml").write_text(TOPIC_TIP, encoding="utf-8")
    r = cli("content", "check", "--json")
    assert r.code == 1, r.out + r.err
    errors = [p for p in r.json if p["severity"] == "error"]
    assert len(errors) == 1
    [problem] = errors
    assert problem["id"] == "fraud-topic-zh" and problem["file"].endswith("topic_zh.toml")
    assert "on wb (weibo)" in problem["problem"] and "#平安北京#" in problem["problem"]

    r = cli("content", "check")
    assert r.code == 1 and "#平安北京#" in r.out and "1 error(s)" in r.err
    r = cli("queue", "add", "--account", "wb", "--tip", "fraud-topic-zh")
    assert r.code == 1 and "#topics#" in r.err
    assert ok(cli("queue", "list", "--json")).json == []


# --- `outreach auth weibo`: outreach.actions.auth against /oauth2/* ----------------------------------


@pytest.fixture
def make_runtime(wb: Path) -> Iterator[Callable[[], Runtime]]:
    made: list[Runtime] = []

    def make() -> Runtime:
        rt = Runtime(load_settings(wb / "config.toml"))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


def authorise(rt: Runtime, weibo: WeiboServer, code_or_url: str = "code-e2e-1", *,
              app_secret: str | None = None, account: str = "wb") -> Any:
    return complete_weibo_auth(
        rt, account, app_key=weibo.app_key,
        app_secret=Secret(app_secret if app_secret is not None else weibo.app_secret),
        redirect_uri=DEFAULT_REDIRECT_URI, code_or_url=code_or_url, by="officer-a",
    )


def audit_rows(db: Path, action: str) -> list[tuple[str, str | None, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT actor, account, detail FROM audit_log WHERE action = ?",
                            (action,)).fetchall()
    finally:
        conn.close()


def test_auth_stores_the_token_privately_and_records_the_account(
    wb: Path, weibo: WeiboServer, cli: Cli, make_runtime: Callable[[], Runtime],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    caplog.set_level(logging.DEBUG)
    assert account_row(cli)["state"] == "unconfigured"
    rt = make_runtime()
    url = weibo_authorize_url(rt, "wb", app_key=weibo.app_key, redirect_uri=DEFAULT_REDIRECT_URI,
                              state="s1")
    assert url.startswith(f"{weibo.url}/oauth2/authorize?")
    query = parse_qs(url.split("?", 1)[1])
    assert query["client_id"] == [weibo.app_key] and query["state"] == ["s1"]
    assert query["redirect_uri"] == [DEFAULT_REDIRECT_URI] and query["response_type"] == ["code"]

    started = datetime.now(UTC)
    result = authorise(rt, weibo)
    assert (result.account, result.uid, result.env_overrides) == ("wb", weibo.uid, False)
    assert result.token_file == wb / "data" / "tokens" / "wb.token"
    assert stat.S_IMODE(result.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.token_file.parent.stat().st_mode) == 0o700
    assert result.token_file.read_text("utf-8") == TOKEN + "\n"
    assert result.expires_at is not None
    assert abs(result.expires_at - (started + timedelta(days=7))) < timedelta(minutes=1)
    assert len(weibo.requests(ACCESS_TOKEN)) == 1 and len(weibo.requests(TOKEN_INFO)) == 1

    account = account_row(cli)
    assert account["state"] == "active" and not account["token_expiring"]
    assert when(account["token_expires_at"]) == result.expires_at
    [(actor, name, detail)] = audit_rows(wb / "outreach.db", "auth")
    assert (actor, name) == ("officer-a", "wb") and weibo.uid in (detail or "")

    # the stored token is what the account now posts with
    post_id = add(cli)
    run_once(cli)
    assert show(cli, post_id)["status"] == "published"

    secrets = (TOKEN, weibo.app_secret)
    dump = "\n".join(logical_dump(wb / "outreach.db"))
    captured = capsys.readouterr()
    for secret in secrets:
        assert secret not in dump
        assert secret not in caplog.text
        assert secret not in captured.out + captured.err
        assert secret not in repr(result)


def test_auth_takes_the_whole_redirected_address(
    wb: Path, weibo: WeiboServer, cli: Cli, make_runtime: Callable[[], Runtime]
) -> None:
    redirected = f"{DEFAULT_REDIRECT_URI}?state=s1&code=9f8e7d6c5b4a"
    result = authorise(make_runtime(), weibo, redirected)
    assert result.uid == weibo.uid
    assert result.env_overrides  # $OUTREACH_TEST_WEIBO_TOKEN is set: it wins over the file
    assert result.token_file.exists()
    access = weibo.requests(ACCESS_TOKEN)
    assert len(access) == 1 and access[0]["query"] == ""  # the code went in the form body


def test_a_short_lived_token_shows_as_expiring(
    wb: Path, weibo: WeiboServer, cli: Cli, make_runtime: Callable[[], Runtime]
) -> None:
    weibo.configure(token_lifetime=2 * 86400)
    result = authorise(make_runtime(), weibo)
    assert result.expires_at is not None
    assert result.expires_at - datetime.now(UTC) <= timedelta(days=2)
    account = account_row(cli)
    assert account["token_expiring"] is True
    assert when(account["token_expires_at"]) == result.expires_at
    health = cli("status", "--json")
    assert health.code == 1 and any("token expires" in p for p in health.json["problems"])


def test_a_token_for_another_app_is_refused_and_nothing_is_stored(
    wb: Path, weibo: WeiboServer, cli: Cli, make_runtime: Callable[[], Runtime]
) -> None:
    account_row(cli)  # the database and the account's row exist
    before = logical_dump(wb / "outreach.db")
    weibo.configure(token_appkey="2000000001")
    with pytest.raises(AuthError, match="issued to app key 2000000001, not to") as caught:
        authorise(make_runtime(), weibo)
    assert TOKEN not in str(caught.value)
    assert not (wb / "data" / "tokens" / "wb.token").exists()
    assert logical_dump(wb / "outreach.db") == before


@pytest.mark.parametrize(("secret", "code", "message"), [
    ("wrong-app-secret-3141", "code-1", "does not accept this app key and app secret"),
    (None, "bad", "invalid, expired or already used"),
])
def test_weibo_refusing_the_code_is_an_auth_error_without_secrets(
    wb: Path, weibo: WeiboServer, make_runtime: Callable[[], Runtime], secret: str | None,
    code: str, message: str,
) -> None:
    with pytest.raises(AuthError, match=message) as caught:
        authorise(make_runtime(), weibo, code, app_secret=secret)
    text = str(caught.value)
    assert weibo.app_secret not in text and "wrong-app-secret-3141" not in text
    assert not (wb / "data" / "tokens" / "wb.token").exists()


def test_a_used_code_is_refused(wb: Path, weibo: WeiboServer,
                                make_runtime: Callable[[], Runtime]) -> None:
    authorise(make_runtime(), weibo, "code-once")
    with pytest.raises(AuthError, match="already used"):
        authorise(make_runtime(), weibo, "code-once")


def test_auth_refuses_a_token_of_another_weibo_user(
    wb: Path, weibo: WeiboServer, cli: Cli, make_runtime: Callable[[], Runtime]
) -> None:
    account_row(cli)
    conn = sqlite3.connect(wb / "outreach.db")
    with conn:
        conn.execute("UPDATE accounts SET remote_id = '1111111111' WHERE name = 'wb'")
    conn.close()
    with pytest.raises(AuthError, match="posted as Weibo user 1111111111"):
        authorise(make_runtime(), weibo)
    assert not (wb / "data" / "tokens" / "wb.token").exists()

    write_config(wb, weibo.url, uid=weibo.uid)  # switching users on purpose
    assert authorise(make_runtime(), weibo, "code-2").uid == weibo.uid
    assert account_row(cli)["state"] == "active"


def test_auth_is_for_weibo_accounts_only(wb: Path, weibo: WeiboServer,
                                         make_runtime: Callable[[], Runtime]) -> None:
    write_config(wb, weibo.url, extra='[accounts.pingan-local]\nplatform = "local"\nlang = "zh"\n')
    with pytest.raises(InputError, match="'pingan-local' is on local, not weibo"):
        authorise(make_runtime(), weibo, account="pingan-local")
    with pytest.raises(InputError, match="redirect URI"):
        weibo_authorize_url(make_runtime(), "wb", app_key=weibo.app_key, redirect_uri="oob")
    with pytest.raises(InputError, match="no app key"):
        weibo_authorize_url(make_runtime(), "wb", app_key=" ", redirect_uri=DEFAULT_REDIRECT_URI)
    with pytest.raises(ConfigError, match="uid: set to 1111111111"):
        write_config(wb, weibo.url, uid="1111111111")
        authorise(make_runtime(), weibo)
    assert weibo.requests(SHARE) == []
