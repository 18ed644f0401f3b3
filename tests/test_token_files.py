"""A broken token file is one account's problem: that account is unconfigured with the
reason (one line naming the file and the fix), and every other account keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import local_config

MASTODON = """
[accounts.masto]
platform = "mastodon"
api_base = "http://127.0.0.1:9"
lang = "en"
slots = []
"""


def two_accounts(ws: Path) -> Path:
    """The local account plus a Mastodon account whose token lives in its token file."""
    text = local_config(slots="", require_approval=False)
    policy = text.index("[policy]")
    (ws / "config.toml").write_text(text[:policy] + MASTODON + "\n" + text[policy:], "utf-8")
    tokens = ws / "data" / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    tokens.chmod(0o700)
    return tokens / "masto.token"


def invalid_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe-not-a-token\n")
    path.chmod(0o600)


def a_directory(path: Path) -> None:
    path.mkdir(mode=0o755)  # as `mkdir` leaves it: the mode must not be what is reported


BROKEN = [pytest.param(invalid_utf8, "not UTF-8 text", id="invalid-utf8"),
          pytest.param(a_directory, "is a directory", id="directory")]


@pytest.mark.parametrize("breaks, says", BROKEN)
def test_run_once_publishes_the_other_accounts_when_one_token_file_is_broken(
        workspace, cli, breaks, says):
    path = two_accounts(workspace)
    breaks(path)
    post = cli("queue", "add", "--account", "pingan-local", "--text", "夜间出行注意安全。",
               "--json").json["id"]
    r = cli("run", "--once")
    assert r.code == 0, r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert "account masto is unconfigured" in r.err
    assert says in r.err and str(path) in r.err
    assert cli("queue", "show", str(post), "--json").json["status"] == "published"


@pytest.mark.parametrize("breaks, says", BROKEN)
def test_accounts_list_and_check_name_the_file_and_the_fix(workspace, cli, breaks, says):
    path = two_accounts(workspace)
    breaks(path)
    rows = {a["name"]: a for a in cli("accounts", "list", "--json").json}
    assert rows["masto"]["state"] == "unconfigured"
    reason = rows["masto"]["state_reason"]
    assert says in reason and str(path) in reason and "outreach auth" in reason
    assert "readable by others" not in reason
    assert rows["pingan-local"]["state"] == "active"
    r = cli("accounts", "check")
    assert r.code == 1
    assert "internal error" not in r.err and "Traceback" not in r.err
    out = r.out + r.err
    assert says in out and str(path) in out
    assert "readable by others" not in out


def test_a_token_file_readable_by_others_still_says_chmod(workspace, cli):
    path = two_accounts(workspace)
    path.write_text("tok\n")
    path.chmod(0o644)
    rows = {a["name"]: a for a in cli("accounts", "list", "--json").json}
    assert rows["masto"]["state"] == "unconfigured"
    assert f"chmod 600 {path}" in rows["masto"]["state_reason"]
