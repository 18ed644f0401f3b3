"""The console in the fast lane (Starlette's test client on a real SQLite file): every
route's permission by role, sign-in, the session cookie, CSRF, escaping."""

from __future__ import annotations

import pytest

from outreach.actions.posts import add_post
from tests.conftest import logical_dump
from tests.web_helpers import PASSWORDS, add_users, client, log_in, token

# Every route, and the least role that may use it (None: no session needed). A route
# missing here fails test_every_route_is_in_the_matrix.
MATRIX: dict[tuple[str, str], str | None] = {
    ("GET", "/login"): None, ("POST", "/login"): None, ("POST", "/logout"): None,
    ("GET", "/"): "officer", ("POST", "/pause"): "approver", ("POST", "/resume"): "approver",
    ("GET", "/compose"): "officer", ("POST", "/compose"): "officer",
    ("GET", "/compose/preview"): "officer",
    ("GET", "/approvals"): "officer", ("POST", "/posts/{post_id:int}/approve"): "approver",
    ("POST", "/posts/{post_id:int}/reject"): "approver",
    ("POST", "/batches/{batch_id:int}/approve"): "approver",
    ("GET", "/queue"): "officer", ("GET", "/posts/{post_id:int}"): "officer",
    ("POST", "/posts/{post_id:int}/edit"): "officer",
    ("POST", "/posts/{post_id:int}/reschedule"): "officer",
    ("POST", "/posts/{post_id:int}/cancel"): "officer",
    ("POST", "/posts/{post_id:int}/retract"): "approver",
    ("GET", "/posts/{post_id:int}/pictures/{position:int}"): "officer",
    ("GET", "/inbox"): "officer", ("POST", "/comments/{comment_id:int}/reply"): "officer",
    ("POST", "/comments/{comment_id:int}/mark-replied"): "officer",
    ("GET", "/calendar"): "officer", ("GET", "/library"): "officer",
    ("POST", "/tips/approve"): "approver",
    ("GET", "/reports"): "officer", ("GET", "/reports/view"): "officer",
    ("GET", "/reports/download/{fmt}"): "officer",
    ("GET", "/audit"): "officer",
    ("POST", "/settings/lang"): "officer",
    ("GET", "/users"): "admin", ("POST", "/users"): "admin", ("POST", "/users/disable"): "admin",
}
RANK = {"officer": 1, "approver": 2, "admin": 3}
# a form that would do something wherever it is allowed
FORM = {"reason": "drill", "text": "请注意防范诈骗。", "at": "+1h", "account": "pingan-local",
        "tip": "", "name": "eve", "role": "admin", "password": "a long enough password"}
EXAMPLE = {"{post_id:int}": "1", "{position:int}": "0", "{comment_id:int}": "1", "{fmt}": "csv",
           "{batch_id:int}": "1"}


def concrete(path: str) -> str:
    for key, value in EXAMPLE.items():
        path = path.replace(key, value)
    return path


@pytest.fixture
def rt(runtime_factory):
    rt = runtime_factory()
    add_users(rt)
    return rt


def test_every_route_is_in_the_matrix():
    from outreach.web.routes import PAGES

    assert {(p.method, p.path) for p in PAGES} == set(MATRIX)


def test_without_a_session_every_page_but_login_redirects_to_login(rt):
    c = client(rt)
    for (method, path), role in MATRIX.items():
        if role is None:
            continue
        if method == "GET":
            r = c.get(concrete(path))
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login"), path
        else:
            r = c.post(concrete(path), data={"csrf": token(c)})
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


@pytest.mark.parametrize("name", ["alice", "bob", "root"])
def test_each_role_reaches_exactly_its_routes(rt, name, workspace):
    role = {"alice": "officer", "bob": "approver", "root": "admin"}[name]
    c = client(rt)
    csrf = log_in(c, name)
    for (method, path), needed in MATRIX.items():
        if needed is None or path == "/logout":
            continue
        url = concrete(path)
        before = logical_dump(workspace / "outreach.db") if method == "POST" else None
        r = c.get(url) if method == "GET" else c.post(url, data={"csrf": csrf, **FORM})
        if RANK[role] >= RANK[needed]:
            assert r.status_code != 403, (name, method, path)
        else:
            assert r.status_code == 403, (name, method, path, r.status_code)
            if method == "POST":  # refused before anything is written
                assert logical_dump(workspace / "outreach.db") == before, (name, path)


def test_sign_in_sets_a_safe_cookie_and_a_bad_password_says_nothing_more(rt):
    c = client(rt)
    r = c.post("/login", data={"username": "alice", "password": "wrong password",
                               "csrf": token(c)})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    r = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"],
                               "csrf": token(c)})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert PASSWORDS["alice"] not in r.headers["set-cookie"]
    page = c.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_over_https_the_cookie_is_secure(rt):
    c = client(rt)
    c.base_url = "https://testserver"
    r = c.get("https://testserver/login")
    assert "secure" in r.headers["set-cookie"].lower()


def test_login_without_the_form_token_is_refused(rt):
    c = client(rt)
    r = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
    assert r.status_code == 403


def test_a_post_without_csrf_changes_nothing(rt, workspace):
    c = client(rt)
    log_in(c, "bob")
    before = logical_dump(workspace / "outreach.db")
    r = c.post("/pause", data={"reason": "drill"})
    assert r.status_code == 403
    r = c.post("/pause", data={"reason": "drill", "csrf": "forged"})
    assert r.status_code == 403
    assert logical_dump(workspace / "outreach.db") == before


def test_an_idle_session_ends(rt, clock):
    c = client(rt, idle_minutes=30)
    log_in(c, "alice")
    clock.advance(minutes=29)
    assert c.get("/").status_code == 200
    clock.advance(minutes=29)
    assert c.get("/").status_code == 200  # each request keeps it alive
    clock.advance(minutes=31)
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_disabled_user_is_signed_out_at_once(rt):
    from outreach.actions.users import disable_user

    c = client(rt)
    log_in(c, "alice")
    disable_user(rt, "alice", by="root")
    assert c.get("/").status_code == 303


def test_four_eyes_in_the_console(rt):
    post = add_post(rt, "pingan-local", tip=None, text="防范电信诈骗，请勿轻信陌生来电。", at="+2h",
                    by="bob")
    c = client(rt)
    csrf = log_in(c, "bob")
    page = c.get("/approvals")
    assert "防范电信诈骗" in page.text and "批准</button>" not in page.text
    r = c.post(f"/posts/{post.id}/approve", data={"csrf": csrf, "next": "/approvals"})
    assert r.status_code == 303
    assert "须由其他民警批准" in c.get("/approvals").text  # the action's refusal, in zh
    assert "批准</button>" not in c.get(f"/posts/{post.id}").text
    c2 = client(rt)
    csrf2 = log_in(c2, "root")
    assert "批准</button>" in c2.get("/approvals").text
    c2.post(f"/posts/{post.id}/approve", data={"csrf": csrf2})
    assert "queued" in c2.get(f"/posts/{post.id}?lang=en").text


def test_the_preview_gives_text_as_json_and_the_page_never_executes_it(rt):
    c = client(rt)
    log_in(c, "alice")
    r = c.get("/compose/preview", params={"account": "pingan-local",
                                          "text": "<script>alert(1)</script>"})
    assert r.status_code == 200 and "<script>alert(1)</script>" in r.json()["text"]
    page = c.get("/inbox")
    assert "<script>alert" not in page.text


def test_the_language_is_the_users_setting(rt):
    c = client(rt)
    csrf = log_in(c, "alice")
    assert "退出登录" in c.get("/").text
    r = c.post("/settings/lang", data={"csrf": csrf, "lang": "en", "next": "/queue"})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    other = client(rt)  # another browser: the setting is the user's
    log_in(other, "alice")
    assert "Log out" in other.get("/").text
    bad = c.post("/settings/lang", data={"csrf": csrf, "lang": "fr"})
    assert bad.status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_no_redirect_off_the_site(rt, target):
    c = client(rt)
    r = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"],
                               "csrf": token(c), "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_english_by_query_and_remembered(rt):
    c = client(rt)
    log_in(c, "alice")
    assert "Log out" in c.get("/?lang=en").text
    assert "Log out" in c.get("/queue").text
    assert "退出登录" in c.get("/queue?lang=zh").text




def test_every_page_renders_with_data_in_both_languages(rt):
    post = add_post(rt, "pingan-local", tip=None, text="夜间出行请结伴而行。", at="+1h", by="alice")
    c = client(rt)
    log_in(c, "root")
    for lang in ("zh", "en"):
        for path in ("/", "/compose", "/approvals", "/queue", f"/posts/{post.id}", "/inbox",
                     "/calendar", "/calendar?view=month", "/library", "/reports", "/audit",
                     "/users", "/reports/view"):
            r = c.get(path, params={"lang": lang})
            assert r.status_code == 200, (path, r.text[:300])
    assert "夜间出行请结伴而行" in c.get("/queue").text
    assert "queue_add" in c.get("/audit?actor=alice").text
    for fmt, kind in (("csv", "text/csv"), ("json", "application/json"),
                      ("xlsx", "spreadsheetml")):
        r = c.get(f"/reports/download/{fmt}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "attachment" in r.headers["content-disposition"]
    bad = c.get("/reports/view", params={"since": "yesterday-ish"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_a_form_error_names_the_problem_and_stores_nothing(rt, workspace):
    c = client(rt)
    csrf = log_in(c, "alice")
    before = logical_dump(workspace / "outreach.db")
    r = c.post("/compose", data={"csrf": csrf, "account": "pingan-local", "text": "x" * 6000,
                                 "at": "now", "next": "/compose"})
    assert r.status_code == 303
    assert "正文超过 5000 个字符" in c.get("/compose").text  # the action's words, in zh
    after = [line for line in logical_dump(workspace / "outreach.db") if "login" not in line]
    assert after == [line for line in before if "login" not in line]
