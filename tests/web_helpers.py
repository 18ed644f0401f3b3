"""The console in-process for the fast lane: Starlette's test client on a workspace's
runtime, with users of each role."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from outreach.actions.users import add_user
from outreach.runtime import Runtime
from outreach.web.app import create_app

PASSWORDS = {"alice": "alice password 1", "bob": "bob password 22", "root": "root password 333"}
ROLES = {"alice": "officer", "bob": "approver", "root": "admin"}
SECRET = "a test secret that is long enough to sign cookies"
TOKEN_RE = re.compile(r'name="csrf" value="([^"]+)"')


def add_users(rt: Runtime) -> None:
    for name, role in ROLES.items():
        add_user(rt, name, role=role, password=PASSWORDS[name], by="setup",
                 display_name=None)


def client(rt: Runtime, **kwargs: object) -> TestClient:
    return TestClient(create_app(rt, SECRET, **kwargs), follow_redirects=False)  # type: ignore[arg-type]


def token(c: TestClient, path: str = "/login") -> str:
    page = c.get(path)
    found = TOKEN_RE.search(page.text)
    assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:200]}"
    return found.group(1)


def log_in(c: TestClient, name: str, password: str | None = None) -> str:
    """Sign in; returns the session's CSRF token."""
    r = c.post("/login", data={"username": name, "password": password or PASSWORDS[name],
                               "csrf": token(c)})
    assert r.status_code == 303, r.text[:300]
    return token(c, "/")
