"""`outreach demo` shows posts with pictures: a starter poster goes out on the first
morning (and slot posts of tips with posters carry them), stored with the status on the
local platform and counted in the summary."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result


def test_the_demo_publishes_posts_with_pictures(cli: Callable[..., Result],
                                                tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    r = cli("demo", "--dir", str(demo), "--days", "2", "--json")
    assert r.code == 0, r.err
    summary = r.json
    assert summary["failed"] == 0
    assert 1 <= summary["with_pictures"] <= summary["published"]
    with sqlite3.connect(demo / "data" / "local-platform.db") as platform:
        (statuses, alts), = platform.execute(
            "SELECT COUNT(DISTINCT status_id), COUNT(alt) FROM media").fetchall()
    assert statuses == summary["with_pictures"] and alts >= statuses
