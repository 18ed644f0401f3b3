"""The whole pipeline through the CLI against a running mastodon-mock peer (the slow lane).

Each test writes a config with one Mastodon account pointed at the peer (or at a
``DroppingProxy`` in front of it, which also records every request it forwards)
and drives ``outreach`` as an officer would: ``queue add``, ``run --once``,
``metrics collect``, ``queue show``, ``accounts list|check``, ``queue retract``.
What the bot stores is compared with what the server holds (``Peer``) and, in one
test, with what Mastodon.py reads. Without ``OUTREACH_MASTODON_TEST_URL`` (set by
``.ci/mastodon-peer.sh start``) every test is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outreach.clients.base import normalise_text
from outreach.clients.mastodon.parse import html_to_text
from tests.conftest import Result, logical_dump
from tests.dropping_proxy import DroppingProxy
from tests.mastodon_peer import BOT_TOKEN, PEER_PYTHON_ENV, TOKEN_ENV, Peer

pytestmark = pytest.mark.slow

Cli = Callable[..., Result]

CONFIG = """\
[outreach]
database = "sqlite:///outreach.db"
timezone = "UTC"
content_dir = "content"
data_dir = "data"

[accounts.masto]
platform = "mastodon"
api_base = "{api_base}"
token_env = "{token_env}"
lang = "en"
vars = {{ city = "Beijing", hashtag = "SafeBeijing", hotline = {{ police = "110", fraud = "96110", \
fire = "119", traffic = "122", medical = "120" }} }}

[policy]
require_approval = false
min_gap_minutes = 0
max_attempts = 3
"""


@pytest.fixture
def proxy(fresh: Peer) -> Iterator[DroppingProxy]:
    """A proxy in front of the peer: it records every request and can lose an answer."""
    with DroppingProxy(fresh.url) as p:
        yield p


@pytest.fixture
def setup(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """Point the workspace's config at ``api_base``, with the bot's token in the environment."""

    def write(api_base: str) -> Path:
        (workspace / "config.toml").write_text(
            CONFIG.format(api_base=api_base, token_env=TOKEN_ENV), encoding="utf-8")
        monkeypatch.setenv(TOKEN_ENV, BOT_TOKEN)
        return workspace

    return write


# --- helpers ----------------------------------------------------------------------------


def ok(result: Result) -> Result:
    assert result.code == 0, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    return result


def add(cli: Cli, text: str) -> dict[str, Any]:
    post: dict[str, Any] = ok(cli("queue", "add", "--account", "masto", "--text", text,
                                  "--json")).json
    assert post["status"] == "queued"
    return post


def show(cli: Cli, post_id: int) -> dict[str, Any]:
    data: dict[str, Any] = ok(cli("queue", "show", str(post_id), "--json")).json
    return data


def account_row(cli: Cli) -> dict[str, Any]:
    rows = ok(cli("accounts", "list", "--json")).json
    [row] = [r for r in rows if r["name"] == "masto"]
    return dict(row)


def plain(status: dict[str, Any]) -> str:
    return normalise_text(html_to_text(status["content"]))


def with_text(peer: Peer, text: str) -> list[dict[str, Any]]:
    """The bot's statuses on the server whose text is ``text`` (as the bot stored it)."""
    want = normalise_text(text)
    return [s for s in peer.own_statuses() if plain(s) == want]


def requests(proxy: DroppingProxy, method: str, path: str | None = None) -> list[str]:
    return [p.split("?", 1)[0] for m, p, _ in [*proxy.forwarded, *proxy.dropped]
            if m == method and (path is None or p.split("?", 1)[0] == path)]


def mastodon_py_view(url: str, ids: list[str]) -> dict[str, Any]:
    """Counts and followers as Mastodon.py (in the peer's venv) reads them."""
    python = os.environ.get(PEER_PYTHON_ENV)
    if not python:
        pytest.skip(f"{PEER_PYTHON_ENV} is not set; .ci/mastodon-peer.sh start sets it")
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
        [python, "-c", script], input=json.dumps({"url": url, "token": BOT_TOKEN, "ids": ids}),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    view: dict[str, Any] = json.loads(done.stdout)
    return view


def engage(peer: Peer, ids: list[str]) -> None:
    """Some reblogs, favourites, replies and follows, spread unevenly over the posts."""
    peer.reblog(ids[0], "fan1")
    peer.reblog(ids[0], "fan2")
    peer.favourite(ids[0], "fan1")
    peer.favourite(ids[1], "fan2")
    peer.reply(ids[1], "fan1", "Where do I report a scam call?")
    peer.reply(ids[1], "fan2", "Thanks, shared with my parents")
    peer.reply(ids[2], "fan2", "Good to know")
    peer.favourite(ids[2], "fan1")
    peer.follow("fan1")
    peer.follow("fan2")


# --- tests ------------------------------------------------------------------------------


def test_three_posts_publish_once_and_counts_match_the_server(
    fresh: Peer, setup: Callable[[str], Path], cli: Cli
) -> None:
    setup(fresh.url)
    texts = ["Never share SMS codes with callers", "Lock your bike & note its frame number",
             "Fraud hotline: 96110 <free>"]
    posts = [add(cli, t) for t in texts]
    ok(cli("run", "--once"))

    on_server = fresh.own_statuses()
    assert len(on_server) == 3
    by_id = {s["id"]: s for s in on_server}
    ids = []
    for post in posts:
        stored = show(cli, post["id"])
        assert stored["status"] == "published" and stored["attempts"] == 1
        assert stored["remote_id"] in by_id
        assert plain(by_id[stored["remote_id"]]) == normalise_text(stored["text"])
        ids.append(stored["remote_id"])
    assert len(set(ids)) == 3

    engage(fresh, ids)
    ok(cli("metrics", "collect"))
    for post, remote_id in zip(posts, ids, strict=True):
        stored = show(cli, post["id"])
        server = fresh.status(remote_id)
        assert (stored["reposts"], stored["comments"], stored["likes"]) == (
            server["reblogs_count"], server["replies_count"], server["favourites_count"])
    assert [show(cli, p["id"])["reposts"] for p in posts] == [2, 0, 0]  # the fans did act
    account = fresh.account()
    assert account_row(cli)["followers"] == account["followers_count"] == 2

    ok(cli("run", "--once"))  # nothing more goes out
    assert len(fresh.own_statuses()) == 3

    # the report over today equals the engagement the fans created, and the replies are
    # stored, classified comments
    report = ok(cli("report", "--since", "today", "--until", "today", "--json")).json
    totals = report["totals"]
    servers = [fresh.status(i) for i in ids]
    assert totals["posts"] == 3
    assert totals["reposts"] == sum(s["reblogs_count"] for s in servers)
    assert totals["comments"] == sum(s["replies_count"] for s in servers)
    assert totals["likes"] == sum(s["favourites_count"] for s in servers)
    assert report["simulated"] is False
    opinions = ok(cli("opinions", "--json")).json
    assert len(opinions) == sum(s["replies_count"] for s in servers)
    assert all(o["class"] for o in opinions)


def test_ambiguous_publish_is_reconciled_to_one_status(
    fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli
) -> None:
    setup(proxy.url)
    post = add(cli, "Exactly once: hang up on anyone asking for your bank PIN")
    proxy.drop_next(1, "POST", "/api/v1/statuses")

    ok(cli("run", "--once"))
    assert [(m, p, code) for m, p, code in proxy.dropped] == [("POST", "/api/v1/statuses", 200)]
    first = show(cli, post["id"])
    assert first["status"] in ("unconfirmed", "published")
    assert len(with_text(fresh, first["text"])) == 1  # the peer applied the lost request

    ok(cli("run", "--once"))
    landed = with_text(fresh, first["text"])
    assert len(landed) == 1
    assert len(fresh.own_statuses()) == 1
    done = show(cli, post["id"])
    assert done["status"] == "published"
    assert done["remote_id"] == landed[0]["id"]
    assert done["attempts"] <= 2

    ok(cli("run", "--once"))  # and it stays that way
    assert len(fresh.own_statuses()) == 1


def test_rate_limit_holds_the_post_until_the_reset(
    fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli
) -> None:
    setup(proxy.url)
    post = add(cli, "Rate-limited tip: check your smoke alarm")
    reset = int(time.time()) + 600
    fresh.fault("ratelimit", path="/api/v1/statuses", methods=["POST"],
                headers={"X-RateLimit-Reset": str(reset)})

    ok(cli("run", "--once"))
    assert len(requests(proxy, "POST", "/api/v1/statuses")) == 1
    held = show(cli, post["id"])
    assert held["status"] == "queued"
    assert held["attempts"] == 0
    assert held["not_before"] == datetime.fromtimestamp(reset, UTC).isoformat()
    assert datetime.fromisoformat(held["not_before"]) == datetime.fromtimestamp(reset, UTC)
    assert "rate limited" in (held["last_error"] or "")
    before = ok(cli("queue", "list", "--json")).json

    ok(cli("run", "--once"))
    assert len(requests(proxy, "POST", "/api/v1/statuses")) == 1  # no second POST
    assert fresh.own_statuses() == []
    assert ok(cli("queue", "list", "--json")).json == before


def test_bad_token_holds_the_post_and_needs_reauth_until_fixed(
    fresh: Peer, setup: Callable[[str], Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(fresh.url)
    monkeypatch.setenv(TOKEN_ENV, "wrong_token")
    post = add(cli, "Auth tip: report lost ID cards at once")

    ok(cli("run", "--once"))
    held = show(cli, post["id"])
    assert held["status"] == "queued" and held["attempts"] == 0
    assert held["remote_id"] is None
    row = account_row(cli)
    assert row["state"] == "needs_reauth"
    assert "wrong_token" not in json.dumps(row)
    assert fresh.own_statuses() == []
    assert cli("accounts", "check").code == 1  # still the wrong token

    monkeypatch.setenv(TOKEN_ENV, BOT_TOKEN)
    ok(cli("accounts", "check"))
    assert account_row(cli)["state"] == "active"
    ok(cli("run", "--once"))
    done = show(cli, post["id"])
    assert done["status"] == "published"
    landed = with_text(fresh, done["text"])
    assert [s["id"] for s in landed] == [done["remote_id"]]
    ok(cli("run", "--once"))
    assert len(fresh.own_statuses()) == 1


def test_over_length_text_is_refused_at_queue_add(
    fresh: Peer, proxy: DroppingProxy, setup: Callable[[str], Path], cli: Cli
) -> None:
    ws = setup(proxy.url)
    ok(cli("queue", "list", "--json"))  # the database exists before the refused command
    before = logical_dump(ws / "outreach.db")
    statuses_before = fresh.account()["statuses_count"]

    result = cli("queue", "add", "--account", "masto", "--text", "a" * 501)
    assert result.code == 1
    assert "limit is 500" in result.err and "Traceback" not in result.err
    assert logical_dump(ws / "outreach.db") == before
    assert ok(cli("queue", "list", "--json")).json == []
    # only the instance's length rule was read; nothing was sent to be posted
    assert {p for m, p, _ in proxy.forwarded} <= {"/api/v2/instance"}
    assert requests(proxy, "POST") == [] and requests(proxy, "DELETE") == []
    assert fresh.account()["statuses_count"] == statuses_before == 0

    # the boundary: a text that goes out as exactly 500 characters (with the hashtag line)
    fits = add(cli, "b" * (500 - len("\n\n#SafeBeijing")))
    assert len(fits["text"]) == 500
    ok(cli("run", "--once"))
    assert show(cli, fits["id"])["status"] == "published"
    assert len(with_text(fresh, fits["text"])) == 1


def test_retract_deletes_the_status_on_the_server(
    fresh: Peer, setup: Callable[[str], Path], cli: Cli
) -> None:
    setup(fresh.url)
    keep = add(cli, "Keep: lock your door")
    gone = add(cli, "Retract: this hotline number was wrong")
    ok(cli("run", "--once"))
    keep_id = show(cli, keep["id"])["remote_id"]
    gone_id = show(cli, gone["id"])["remote_id"]
    assert {s["id"] for s in fresh.own_statuses()} == {keep_id, gone_id}

    ok(cli("queue", "retract", str(gone["id"]), "--reason", "wrong number"))
    assert [s["id"] for s in fresh.own_statuses()] == [keep_id]
    retracted = show(cli, gone["id"])
    assert retracted["status"] == "retracted"
    audit = [a for a in retracted["audit"] if a["action"] == "queue_retract"]
    assert len(audit) == 1 and audit[0]["reason"] == "wrong number"
    assert show(cli, keep["id"])["status"] == "published"
    assert cli("queue", "retract", str(gone["id"]), "--reason", "again").code == 1


def test_stored_counts_agree_with_mastodon_py(
    fresh: Peer, setup: Callable[[str], Path], cli: Cli
) -> None:
    if not os.environ.get(PEER_PYTHON_ENV):
        pytest.skip(f"{PEER_PYTHON_ENV} is not set; .ci/mastodon-peer.sh start sets it")
    setup(fresh.url)
    posts = [add(cli, f"Cross-check tip {i}: keep emergency numbers by the phone")
             for i in range(4)]
    ok(cli("run", "--once"))
    ids = [show(cli, p["id"])["remote_id"] for p in posts]
    engage(fresh, ids)
    ok(cli("metrics", "collect"))

    theirs = mastodon_py_view(fresh.url, ids)
    ours = {}
    for post, remote_id in zip(posts, ids, strict=True):
        stored = show(cli, post["id"])
        ours[remote_id] = [stored["reposts"], stored["comments"], stored["likes"]]
    assert ours == theirs["counts"]
    assert account_row(cli)["followers"] == theirs["followers"] == 2


def test_an_emergency_reply_alerts_and_an_officer_answers_once(
    fresh: Peer, setup: Callable[[str], Path], cli: Cli
) -> None:
    import sys

    ws = setup(fresh.url)
    hook = ws / "alert.py"
    alerts = ws / "alerts.jsonl"
    hook.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n")
    with (ws / "config.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[opinions]\nalert_command = "{sys.executable} {hook} {alerts}"\n')
    post = add(cli, "If you see a fire, call the fire service first")
    ok(cli("run", "--once"))
    remote = show(cli, post["id"])["remote_id"]
    fresh.reply(remote, "fan1", "Help! my neighbour's flat is on fire right now, call me on "
                                "13800138000")
    fresh.reply(remote, "fan2", "Thanks for the reminder")
    ok(cli("metrics", "collect"))

    inbox = ok(cli("opinions", "--json")).json
    assert len(inbox) == 2
    emergency = inbox[0]
    assert emergency["class"] == "emergency" and emergency["needs_reply"]
    assert "13800138000" not in json.dumps(inbox)  # redacted in the database and output
    [alert] = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert alert["id"] == emergency["id"] and "13800138000" in alert["text"]  # hook only
    assert ok(cli("accounts", "list", "--json")).json[0]["open_emergencies"] == 1

    r = ok(cli("opinions", "reply", str(emergency["id"]), "--text",
               "We have alerted the fire service. Please get out and call 119.", "--json"))
    assert r.json["status"] == "published"
    replies = [s for s in fresh.own_statuses() if s.get("in_reply_to_id")]
    assert len(replies) == 1 and replies[0]["in_reply_to_id"] == emergency["remote_id"]
    after = ok(cli("opinions", "--json")).json
    assert next(o for o in after if o["id"] == emergency["id"])["replied_at"] is not None
    ok(cli("run", "--once"))  # nothing is answered twice
    assert len([s for s in fresh.own_statuses() if s.get("in_reply_to_id")]) == 1
    assert ok(cli("accounts", "list", "--json")).json[0]["open_emergencies"] == 0
