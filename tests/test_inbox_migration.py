"""Revision 0005 on a database written by revision 0004's code: labels decoded once, answered
comments required a reply, old emergencies not alerted again, lost comments owed."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from outreach.collect.alerts import deliver_alerts
from outreach.runtime import Runtime
from outreach.store.db import Database
from outreach.store.models import Post
from tests.conftest import Result

T = "2027-03-10 02:00:00.000000"


def old_database(path: Path) -> None:
    """The rows as 0004's collector and publisher wrote them: labels JSON-encoded twice,
    needs_reply cleared on the answered comment, an emergency already alerted inline, and a
    post whose comments were lost (latest count 3, one stored)."""
    db = Database(f"sqlite:///{path}")
    db.upgrade("0004")
    db.dispose()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO accounts (name, platform, state, comments_since_id) VALUES "
                     "('pingan-local', 'local', 'active', '900')")
        for post_id in (1, 2):
            conn.execute(
                "INSERT INTO posts (id, account, kind, status, scheduled_at, not_before, text,"
                " idempotency_key, remote_id, published_at) VALUES (?, 'pingan-local', 'adhoc',"
                " 'published', ?, ?, ?, ?, ?, ?)",
                (post_id, T, T, f"post {post_id}", f"key-{post_id}", str(post_id), T))
        conn.execute("INSERT INTO post_metrics (post_id, observed_at, reposts, comments, likes)"
                     " VALUES (1, ?, 0, 2, 0), (2, ?, 0, 3, 0)", (T, T))
        rows: list[tuple[Any, ...]] = [
            ("800", 1, "请问在哪里下载？", "inquiry", json.dumps(json.dumps(["question"])), 0,
             "2027-03-10 03:00:00.000000"),
            ("801", 1, "快来人", "emergency", json.dumps(json.dumps([])), 1, None),
            ("900", 2, "路过", "chatter", json.dumps(json.dumps([])), 0, None),
        ]
        conn.executemany(
            "INSERT INTO comments (account, remote_id, post_id, author, text, created_at,"
            " fetched_at, class, labels, is_own, needs_reply, replied_at, redacted) VALUES"
            " ('pingan-local', ?, ?, '网友', ?, ?, ?, ?, ?, 0, ?, ?, 0)",
            [(rid, pid, text, T, T, klass, labels, needs, replied)
             for rid, pid, text, klass, labels, needs, replied in rows])
    conn.close()


@pytest.mark.sqlite_only
def test_upgrading_fixes_labels_replies_alerts_and_owed_comments(
        workspace: Path, cli: Callable[..., Result], runtime_factory: Callable[..., Runtime]) -> None:
    old_database(workspace / "outreach.db")
    with (workspace / "config.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[opinions]\nalert_command = "{sys.executable} -c \'open(\\"alerted\\", \\"a\\")\'"\n')
    listed = cli("opinions", "--json")  # the command upgrades the schema first
    assert listed.code == 0, listed.err
    by_id = {o["remote_id"]: o for o in listed.json}
    assert by_id["800"]["labels"] == ["question"] and by_id["801"]["labels"] == []
    assert by_id["800"]["reply_required"] and by_id["800"]["replied_at"] is not None
    assert by_id["800"]["state"] == "replied" and not by_id["800"]["needs_reply"]
    assert by_id["801"]["reply_required"] and by_id["801"]["state"] == "new"
    assert not by_id["900"]["reply_required"]

    rt = runtime_factory()
    assert deliver_alerts(rt).sent == []  # alerted when it was stored, by the old code
    assert not (workspace / "alerted").exists()
    with rt.db.reader() as s:
        owed = {p.id: (p.comments_due, p.comments_cursor)
                for p in s.execute(select(Post)).scalars()}
    assert owed == {1: (None, "900"), 2: (3, None)}  # post 2 lost two comments: owed, from the start
