"""Tokens never leak: not in logs (at any level), exception messages, --json, reports or the
database. Token files are private: written 0600, and a token file that others may read stops
the daemon with a message that says which file and what to run.

The leak test plants unique tokens (``tok-LEAK-<uuid>``) for a Weibo account on the fake
server (stored in its token file), a second Weibo account whose token the server refuses, and
a Mastodon account on a mocked instance that echoes the token back in every error. It runs a
broad set of commands at DEBUG (``outreach -v …`` plus caplog at DEBUG, and once as a real
process), including failures — a refused token, a rate limit, an expired token, an ambiguous
publish, error bodies that quote the token — and then searches everything the run produced.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from outreach.clients.weibo.client import WeiboClient
from outreach.clients.weibo.oauth import save_token
from outreach.config.load import load_settings
from outreach.config.secrets import Secret
from outreach.errors import OutreachError
from tests.conftest import DATABASE_URL, Result, logical_dump
from tests.weibo_server import WeiboServer

Cli = Callable[..., Result]

RUN = uuid.uuid4().hex
TOKEN = f"tok-LEAK-{RUN}"  # the good Weibo token: lives only in data/tokens/wb.token
BAD_TOKEN = f"tok-LEAK-bad-{RUN}"  # a Weibo token the server refuses
MASTODON_TOKEN = f"tok-LEAK-masto-{RUN}"
SECRETS = (TOKEN, BAD_TOKEN, MASTODON_TOKEN)
MASTODON_API = "https://masto.example"
SHARE = "/2/statuses/share.json"

CONFIG = """\
[outreach]
database = "{database}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "{weibo}"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
vars = {{ city = "北京", hotline = {{ police = "110", fraud = "96110", fire = "119", \
traffic = "122", medical = "120" }} }}

[accounts.wb-bad]
platform = "weibo"
api_base = "{weibo}"
token_env = "OUTREACH_SECRETS_BAD_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"

[accounts.md]
platform = "mastodon"
api_base = "{mastodon}"
token_env = "OUTREACH_SECRETS_MASTODON_TOKEN"
lang = "en"

[accounts.md-down]
platform = "mastodon"
api_base = "http://127.0.0.1:{closed}"
token_env = "OUTREACH_SECRETS_MASTODON_TOKEN"
lang = "en"

[policy]
require_approval = false
max_attempts = 3
min_gap_minutes = 0
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0) as weibo:
        yield weibo


@pytest.fixture
def weibo(server: WeiboServer) -> WeiboServer:
    server.reset()
    server.set_user_limit(0)
    return server


@pytest.fixture
def ws(workspace: Path, weibo: WeiboServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace: wb's token in its 0600 file, the others' in the environment."""
    (workspace / "config.toml").write_text(CONFIG.format(
        database=DATABASE_URL, weibo=weibo.url, mastodon=MASTODON_API, closed=closed_port()),
        encoding="utf-8")
    settings = load_settings(workspace / "config.toml")
    save_token(settings.account("wb"), Secret(TOKEN))
    monkeypatch.setenv("OUTREACH_SECRETS_BAD_TOKEN", BAD_TOKEN)
    monkeypatch.setenv("OUTREACH_SECRETS_MASTODON_TOKEN", MASTODON_TOKEN)
    return workspace


def echo(request: httpx.Request) -> httpx.Response:
    """A Mastodon instance that quotes the caller's token back in every error."""
    token = request.headers.get("Authorization", "")
    path = request.url.path
    if path == "/api/v1/statuses" and request.method == "POST":
        return httpx.Response(401, json={"error": f"The access token {token} is invalid"})
    if path.endswith("verify_credentials"):
        return httpx.Response(500, text=f"<html>upstream rejected {token}</html>")
    return httpx.Response(429, json={"error": f"slow down, {token}"},
                          headers={"X-RateLimit-Reset": token, "Retry-After": token})


@pytest.fixture
def mastodon(ws: Path) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # the fake Weibo server, the closed port
        router.route(host="masto.example").mock(side_effect=echo)
        yield router


class Transcript:
    """Everything the commands printed, to be searched at the end."""

    def __init__(self, cli: Cli) -> None:
        self._cli = cli
        self.texts: list[str] = []

    def __call__(self, *args: str, code: int | None = 0) -> Result:
        r = self._cli("-v", *args)
        self.texts += [r.out, r.err]
        if code is not None:
            assert r.code == code, (args, r.out, r.err)
        assert "Traceback" not in r.out + r.err
        return r

    def add(self, post: str) -> int:
        account, _, text = post.partition(":")
        r = self("queue", "add", "--account", account, "--text", text, "--json")
        post_id: int = r.json["id"]
        return post_id


def leaks(haystack: str | bytes) -> list[str]:
    data = haystack.encode("utf-8", "replace") if isinstance(haystack, str) else haystack
    return [s for s in SECRETS if s.encode() in data]


def test_no_command_ever_shows_a_token(ws: Path, weibo: WeiboServer, mastodon: respx.MockRouter,
                                       cli: Cli, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run = Transcript(cli)
    run("accounts", "list", "--json")
    checked = run("accounts", "check", "--json", code=1).json
    assert {c["name"]: c["ok"] for c in checked} == {"wb": True, "wb-bad": False, "md": False,
                                                     "md-down": False}

    # a remote error that quotes the token, then a plain publish
    weibo.fault(SHARE, "error_code", code=10001, status=400, message=f"bad call by {TOKEN}")
    first = run.add("wb:夜间出行请结伴而行，遇到危险请拨打110。")
    second = run.add("wb:电动车进楼入户充电危险，请到集中充电点充电。")
    refused = run.add("wb-bad:陌生来电要求转账，一律先挂断再核实。")
    on_mastodon = run.add("md:Lock your bike, every time.")
    down = run.add("md-down:Lock your bike, every time.")
    run("run", "--once")
    assert run("queue", "show", str(first), "--json").json["status"] == "queued"
    assert run("queue", "show", str(second), "--json").json["status"] == "published"
    assert run("queue", "show", str(on_mastodon), "--json").json["last_error"].startswith("auth:")
    assert run("queue", "show", str(down), "--json").json["last_error"].startswith("retrying:")
    assert run("queue", "show", str(refused), "--json").json["status"] == "queued"
    states = {a["name"]: a["state"] for a in run("accounts", "list", "--json").json}
    assert states["wb-bad"] == states["md"] == "needs_reauth"

    # a rate limit, an expired token and an ambiguous publish, each quoting the token
    weibo.fault(SHARE, "rate", message=f"too many calls for {TOKEN}")
    limited = run.add("wb:高空抛物害人害己，请勿从楼上扔东西。")
    run("run", "--once")
    assert run("queue", "show", str(limited), "--json").json["status"] == "queued"
    weibo.fault(SHARE, "expired", message=f"expired_token {TOKEN}")
    expired = run.add("wb:冬季取暖注意通风，谨防一氧化碳中毒。")
    run("run", "--once")
    assert run("queue", "show", str(expired), "--json").json["last_error"].startswith("auth:")
    run("accounts", "check", "--account", "wb", "--json")  # works again: active
    weibo.fault(SHARE, "drop_after_apply")
    ambiguous = run.add("wb:网上刷单就是诈骗，切勿轻信。")
    run("run", "--once")
    run("run", "--once")  # reconciles from the timeline
    assert run("queue", "show", str(ambiguous), "--json").json["status"] == "published"

    # everything that reads or reports
    args: tuple[str, ...]
    for args in (("queue", "list", "--json"), ("queue", "list"), ("status", "--json"),
                 ("accounts", "list", "--json"), ("accounts", "list"), ("plan", "--json"),
                 ("metrics", "collect", "--json"), ("queue", "show", str(second)),
                 ("content", "show", "fraud-four-rules-zh", "--account", "wb", "--json"),
                 ("db", "backup", str(ws / "backup.db"))):
        run(*args, code=None)
    run("queue", "retract", str(second), "--reason", "撤回：信息有误", code=None)
    for args in (("report", "--format", "json"), ("report", "--format", "md"),
                 ("report", "--format", "html", "-o", str(ws / "report.html")),
                 ("report", "--format", "csv", "-o", str(ws / "report-csv")),
                 ("opinions", "--json"), ("opinions",)):
        run(*args, code=None)  # whatever they say, it is searched below
    for post_id in (first, refused, on_mastodon, expired):
        run("queue", "show", str(post_id), "--json")

    # the same at DEBUG in a real process, where -v sets up logging itself
    proc = subprocess.run([sys.executable, "-m", "outreach", "-v", "run", "--once"], cwd=ws,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG" in proc.stderr  # the search below covers debug lines

    # exceptions raised by the client itself, with their tracebacks
    exceptions: list[str] = []
    settings = load_settings(ws / "config.toml")
    weibo.fault(SHARE, "error_code", code=21332, message=f"invalid_access_token {TOKEN}")
    with httpx.Client(timeout=5) as http:
        client = WeiboClient(settings.account("wb"), http=http)
        try:
            client.publish("注意安全", idempotency_key="k")
        except OutreachError as exc:
            exceptions += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        exceptions.append(repr(client))
    assert len(exceptions) == 4

    haystack = {
        "commands": "\n".join(run.texts),
        "subprocess": proc.stdout + proc.stderr,
        "logs": caplog.text,
        "exceptions": "\n".join(exceptions),
        "database": "\n".join(logical_dump(ws / "outreach.db")),
        "weibo saw (urls)": repr(weibo.requests()),
    }
    assert caplog.text.count("DEBUG") > 10  # logging really ran at DEBUG
    found = {where: leaks(text) for where, text in haystack.items() if leaks(text)}
    token_file = ws / "data" / "tokens" / "wb.token"
    files = 0
    for path in sorted(ws.rglob("*")):
        if path.is_file() and path != token_file:
            files += 1
            if leaks(path.read_bytes()):
                found[str(path.relative_to(ws))] = leaks(path.read_bytes())
    assert found == {}
    assert files > 20 and (ws / "backup.db").exists()
    assert leaks(token_file.read_bytes()) == [TOKEN]  # the search does find a planted token


# --- token files ----------------------------------------------------------------------------


def test_save_token_writes_0600_whatever_the_umask(ws: Path) -> None:
    settings = load_settings(ws / "config.toml")
    account = settings.account("wb")
    old = os.umask(0)
    try:
        path = save_token(account, Secret(TOKEN + "-2"))
        path = save_token(account, Secret(TOKEN))  # replacing keeps it private
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text("utf-8") == TOKEN + "\n"
    assert [p.name for p in path.parent.iterdir()] == ["wb.token"]


def only_wb(ws: Path) -> Path:
    """Just the Weibo account with the token file (the others would fail for other reasons)."""
    text = (ws / "config.toml").read_text("utf-8")
    (ws / "config.toml").write_text(text[:text.index("[accounts.wb-bad]")]
                                    + text[text.index("[policy]"):], encoding="utf-8")
    return ws / "data" / "tokens" / "wb.token"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_token_file_others_can_read_is_refused(ws: Path, cli: Cli, mode: int) -> None:
    token_file = only_wb(ws)
    assert cli("accounts", "list").code == 0  # the database and the account rows exist
    os.chmod(token_file, mode)
    r = cli("run", "--once")  # the account is skipped (others would run), saying why
    assert r.code == 0, r.out + r.err
    warning = [line for line in r.err.splitlines() if "account wb" in line]
    assert len(warning) == 1 and "unconfigured" in warning[0], r.err
    assert "token file is readable by others" in warning[0]
    assert f"run: chmod 600 {token_file}" in warning[0] and "Traceback" not in r.err
    assert not leaks(r.out + r.err)
    r = cli("accounts", "check")  # records the failure on the account, as it should
    assert r.code == 1 and f"chmod 600 {token_file}" in " ".join(r.out.split()), r.out
    assert "Traceback" not in r.out + r.err and not leaks(r.out + r.err)
    os.chmod(token_file, 0o600)
    r = cli("accounts", "check", "--json")
    assert r.code == 0 and r.json[0]["ok"], r.out + r.err


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_token_file_is_used(ws: Path, cli: Cli, mode: int) -> None:
    token_file = only_wb(ws)
    os.chmod(token_file, mode)
    r = cli("accounts", "check", "--json")
    assert r.code == 0 and r.json[0]["ok"], r.out + r.err


def test_the_daemon_skips_an_account_whose_token_file_others_can_read(ws: Path, cli: Cli) -> None:
    """The token is never used; the daemon says why and keeps running for everyone else."""
    from tests.daemon_process import wait_for

    token_file = only_wb(ws)
    os.chmod(token_file, 0o644)
    proc = subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=ws,
                            env=dict(os.environ), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: proc.poll() is not None
                 or (cli("status", "--json").json.get("daemon") or {}).get("running", False),
                 60, "the daemon's heartbeat")
        assert proc.poll() is None, "the daemon stopped for one account's token file"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert "account wb is unconfigured" in err and f"chmod 600 {token_file}" in err
    assert "Traceback" not in out + err and not leaks(out + err)


def test_secret_hides_itself() -> None:
    secret = Secret(TOKEN)
    shown: list[Any] = [str(secret), repr(secret), f"{secret}", f"{secret!r}", repr([secret])]
    assert not leaks("\n".join(shown))
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)
