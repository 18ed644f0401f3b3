"""The console in a real browser: Playwright drives Debian's Chromium against `outreach web`
started as a process on a real SQLite file, with the daemon running beside it, and a Weibo
account on the fake Weibo server for the public's comments."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Result
from tests.daemon_process import query, start_daemon, stop_daemon, wait_for
from tests.pictures import picture
from tests.weibo_server import WeiboServer

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "browser-weibo-token-5d1e"
TOKEN_ENV = "OUTREACH_BROWSER_WEIBO_TOKEN"
PASSWORDS = {"alice": "alice password 1", "bob": "bob password 22"}
POST_TEXT = "雨天路滑，驾车请减速慢行，保持安全车距。"
POSTER_ALT = "红色海报：雨天减速慢行"
NASTY = "<script>alert(1)</script> 我被骗了，快联系我 13812345678"
# Weibo sends a comment's text as HTML: what the person typed arrives entity-escaped
NASTY_AS_SENT = NASTY.replace("<", "&lt;").replace(">", "&gt;")

CONFIG = """\
[outreach]
database = "sqlite:///outreach.db"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.pingan-local]
platform = "local"
display_name = "平安北京（演示）"
lang = "zh"
vars = {{ city = "北京", hashtag = "平安北京", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}
slots = [{{ cron = "0 8 * * *" }}, {{ cron = "30 20 * * *" }}]

[accounts.wb]
platform = "weibo"
api_base = "{api}"
token_env = "{token_env}"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
vars = {{ city = "北京", hashtag = "平安北京", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}

[policy]
require_approval = true
allow_self_approval = false
min_gap_minutes = 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def outreach(ws: Path, *args: str, stdin: str | None = None) -> Result:
    """The CLI as a separate process, as an officer at a terminal would run it."""
    env = dict(os.environ, OUTREACH_CONFIG=str(ws / "config.toml"))
    done = subprocess.run([sys.executable, "-m", "outreach", *args], cwd=ws, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def ok(result: Result) -> Result:
    assert result.code == 0, result.out + result.err
    return result


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0, safe_domain="example.gov.cn") as server:
        yield server


class Site:
    """The workspace with the daemon and the console running."""

    def __init__(self, ws: Path, url: str, weibo: WeiboServer) -> None:
        self.ws, self.url, self.weibo = ws, url, weibo

    def cli(self, *args: str, stdin: str | None = None) -> Result:
        return outreach(self.ws, *args, stdin=stdin)

    def posts(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = ok(self.cli("queue", "list", "--json")).json
        return rows

    def post(self, post_id: int) -> dict[str, Any]:
        data: dict[str, Any] = ok(self.cli("queue", "show", str(post_id), "--json")).json
        return data


@pytest.fixture
def site(workspace: Path, weibo_server: WeiboServer, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Site]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    pytest.importorskip("playwright.sync_api")
    weibo_server.reset()
    weibo_server.set_user_limit(0)
    (workspace / "config.toml").write_text(
        CONFIG.format(api=weibo_server.url, token_env=TOKEN_ENV), encoding="utf-8")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    ok(outreach(workspace, "users", "add", "alice", "--role", "officer", "--display-name",
                "王警官", "--password-stdin", stdin=PASSWORDS["alice"] + "\n"))
    ok(outreach(workspace, "users", "add", "bob", "--role", "approver", "--password-stdin",
                stdin=PASSWORDS["bob"] + "\n"))
    ok(outreach(workspace, "content", "approve", "--all", "--yes", "--by", "bob"))
    daemon = start_daemon(workspace)
    port = free_port()
    env = dict(os.environ, OUTREACH_CONFIG=str(workspace / "config.toml"), PYTHONUNBUFFERED="1")
    web = subprocess.Popen([sys.executable, "-m", "outreach", "web", "--port", str(port)],
                           cwd=workspace, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            assert web.poll() is None, web.stdout.read() if web.stdout else ""
            return False

    try:
        wait_for(up, 60, "the console to answer")
        yield Site(workspace, url, weibo_server)
    finally:
        web.terminate()
        try:
            web.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.communicate()
        code, out = stop_daemon(daemon)
        assert code == 0, out


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def log_in(browser: Any, site: Site, name: str, lang: str = "en") -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.dialogs = dialogs
    page.goto(f"{site.url}/login?lang={lang}")
    page.get_by_label("Username" if lang == "en" else "用户名").fill(name)
    page.get_by_label("Password" if lang == "en" else "密码").fill(PASSWORDS[name])
    page.get_by_role("button", name="Log in" if lang == "en" else "登录").click()
    page.wait_for_url(f"{site.url}/")
    return page


def test_no_session_redirects_and_five_wrong_passwords_throttle(site: Site, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{site.url}/queue?lang=en")
    assert page.url.startswith(f"{site.url}/login")
    for _ in range(5):
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("not her password")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORDS["alice"])  # right, but too late
    page.get_by_role("button", name="Log in").click()
    assert "Too many failed sign-ins" in page.get_by_role("alert").inner_text()
    assert page.url.startswith(f"{site.url}/login")
    actions = [a for (a,) in query(site.ws, "SELECT action FROM audit_log WHERE actor = 'alice'")]
    assert actions.count("login_failed") == 5 and "login_throttled" in actions
    assert "login" not in actions


def test_compose_approve_publish_reply_pause_csrf_and_screenshots(
        site: Site, browser: Any, tmp_path: Path) -> None:
    # 2. officer alice composes a Chinese post for the local account: a draft by alice
    alice = log_in(browser, site, "alice")
    alice.goto(f"{site.url}/compose")
    alice.get_by_label("Account").select_option("pingan-local")
    alice.get_by_label("Text", exact=True).fill(POST_TEXT)  # not "Alt text"
    alice.get_by_label("When").fill("now")
    poster = tmp_path / "poster.png"
    poster.write_bytes(picture("red", (400, 300)))
    alice.get_by_label("Image", exact=True).first.set_input_files(str(poster))
    alice.get_by_label("Alt text", exact=True).first.fill(POSTER_ALT)
    preview = alice.locator("#preview")
    preview.filter(has_text=POST_TEXT).wait_for()
    alice.get_by_role("button", name="Submit").click()
    alice.get_by_role("img", name=POSTER_ALT).wait_for()  # the post's page shows it
    [draft] = [p for p in site.posts() if POST_TEXT in p["text"]]
    assert draft["status"] == "draft" and draft["created_by"] == "alice"
    assert draft["images"] == 1
    alice.goto(f"{site.url}/approvals")
    row = alice.locator("article", has_text=POST_TEXT)
    assert row.count() == 1
    assert row.get_by_role("button", name="Approve").count() == 0  # alice is an officer

    # 3. approver bob approves it: queued, approved by bob in the audit; the daemon publishes
    bob = log_in(browser, site, "bob")
    bob.goto(f"{site.url}/approvals")
    mine = bob.locator("article", has_text=POST_TEXT)
    shown_picture = mine.get_by_role("img", name=POSTER_ALT)  # bob sees what he approves
    shown_picture.scroll_into_view_if_needed()
    wait_for(lambda: shown_picture.evaluate("img => img.complete && img.naturalWidth") == 400,
             10, "the picture to load through the console")
    mine.get_by_role("button", name="Approve").click()
    bob.get_by_role("status").filter(has_text="approved").wait_for()
    shown = site.post(draft["id"])
    assert shown["approved_by"] == "bob"
    assert any(a["action"] == "queue_approve" and a["actor"] == "bob" for a in shown["audit"])
    wait_for(lambda: site.post(draft["id"])["status"] == "published", 60,
             "the daemon to publish the approved post")

    # 4. the public's comment with a script and a phone number: text, redacted; one reply
    wb_post = ok(site.cli("queue", "add", "--account", "wb", "--text", "夜间出行请结伴而行。",
                          "--by", "alice", "--json")).json["id"]
    ok(site.cli("queue", "approve", str(wb_post), "--by", "bob"))
    wait_for(lambda: site.post(wb_post)["status"] == "published", 60, "the Weibo post")
    site.weibo.engage(site.post(wb_post)["remote_id"],
                      comments=[{"author": "<b>网友</b>", "text": NASTY_AS_SENT}])
    ok(site.cli("metrics", "collect", "--account", "wb"))
    bob.goto(f"{site.url}/inbox")
    comment = bob.locator("article", has_text="<script>alert(1)</script>")
    assert comment.count() == 1
    text = comment.inner_text()
    assert "13812345678" not in text and "<b>网友</b>" in text
    assert bob.dialogs == []
    assert "13812345678" not in bob.content()
    comment.get_by_label("Reply").fill("您好，已收到，请拨打96110咨询。")
    comment.get_by_role("button", name="Send reply").click()
    bob.get_by_role("status").filter(has_text="Reply sent").wait_for()
    comment = bob.locator("article", has_text="<script>alert(1)</script>")
    comment.get_by_label("Reply").fill("您好，再回复一次。")
    comment.get_by_role("button", name="Send reply").click()
    assert "already has a reply" in bob.get_by_role("alert").inner_text()
    replies = [p for p in site.posts() if p["kind"] == "reply"]
    assert len(replies) == 1

    # 5. bob pauses all with a reason; status shows it; resume
    bob.goto(f"{site.url}/")
    incident = bob.locator("#pause-all")
    incident.get_by_label("Reason").fill("突发事件，暂停发布")
    incident.get_by_role("button", name="Pause").click()
    bob.get_by_role("status").filter(has_text="Paused").wait_for()
    status = json.loads(site.cli("status", "--json").out)
    local = next(a for a in status["accounts"] if a["name"] == "pingan-local")
    assert local["state"] == "paused" and local["paused_by"] == "bob"
    assert local["paused_reason"] == "突发事件，暂停发布"
    bob.locator("#pause-all").get_by_role("button", name="Resume").click()
    bob.get_by_role("status").filter(has_text="Resumed").wait_for()
    status = json.loads(site.cli("status", "--json").out)
    assert all(a["state"] != "paused" for a in status["accounts"])

    # 6. the approve action with bob's cookie but no CSRF token: 403, nothing changes
    again = ok(site.cli("queue", "add", "--account", "pingan-local", "--text", "第二条草稿。",
                        "--at", "+3h", "--by", "alice", "--json")).json["id"]
    before = site.post(again)
    answer = bob.request.post(f"{site.url}/posts/{again}/approve", form={"next": "/"},
                              max_redirects=0)
    assert answer.status == 403
    after = site.post(again)
    assert after["status"] == "draft" and after["audit"] == before["audit"]

    # 8. screenshots of dashboard, compose, calendar and inbox in zh and en
    shots = Path(os.environ.get("OUTREACH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for lang in ("zh", "en"):
        for name, path in (("dashboard", "/"), ("compose", "/compose"),
                           ("calendar", "/calendar"), ("inbox", "/inbox")):
            bob.goto(f"{site.url}{path}?lang={lang}")
            if name == "compose":
                bob.locator("#text").fill(POST_TEXT)
                bob.locator("#preview").filter(has_text=POST_TEXT).wait_for()
            target = shots / f"{name}-{lang}.png"
            bob.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 10_000
    assert bob.dialogs == []


def test_the_calendar_shows_the_weeks_slots_from_plan(site: Site, browser: Any) -> None:
    page = log_in(browser, site, "alice")
    plan = ok(site.cli("plan", "--days", "8", "--account", "pingan-local", "--json")).json
    first = datetime.fromisoformat(plan[0]["scheduled_at"]) if plan else None
    page.goto(f"{site.url}/calendar?account=pingan-local&view=week")
    cells = page.locator("#calendar td")
    days = {cells.nth(i).locator("strong").inner_text() for i in range(cells.count())}
    assert len(days) == 7
    zone = ZoneInfo("Asia/Shanghai")
    planned = {datetime.fromisoformat(r["scheduled_at"]) for r in plan
               if datetime.fromisoformat(r["scheduled_at"]).astimezone(zone).date().isoformat()
               in days}
    items = page.locator("#calendar .item")
    shown = [datetime.fromisoformat(items.nth(i).get_attribute("data-at") or "")
             for i in range(items.count())]
    assert len(planned) >= 12  # two slots a day
    # from the plan's first row on, the calendar shows exactly the plan's rows (before it:
    # what already went out today)
    assert sorted(t for t in shown if first is not None and t >= first) == sorted(planned)


