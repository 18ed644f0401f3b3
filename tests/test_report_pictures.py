"""Reports on posts with pictures, through the CLI on the local platform: top posts carry a
thumbnail in HTML (a small JPEG made from the stored picture, embedded, so the file stays
self-contained), and the category table splits posts with and without pictures
(engagement per post for each) in JSON, Markdown, CSV and HTML."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from PIL import Image

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.collect.counts import collect
from outreach.config.load import load_settings
from outreach.media.store import MediaStore
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from tests.conftest import ROOT, Result, local_config
from tests.factories import FakeClock
from tests.pictures import attach, picture

START = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)
SPAN = ("--since", "2027-03-01", "--until", "2027-03-31")
ALT = "反诈海报：“四个一律”"
Cli = Callable[..., Result]


@pytest.fixture
def published(runtime_factory: Callable[..., Runtime], clock: FakeClock) -> dict[int, bool]:
    """Six posts, every other one with pictures (a big photo first), published and counted
    a week later; post id -> whether it has pictures."""
    clock.set(START)
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0))
    sync_accounts(rt)
    pictured: dict[int, bool] = {}
    for n in range(6):
        post = add_post(rt, "pingan-local", tip=None, text=f"第{n}条：注意防范电信诈骗。",
                        at=None, by="officer-a")
        assert post.id is not None
        if n % 2:
            attach(rt, post.id, [(picture("navy", (1600, 1200), "JPEG"), ALT),
                                 (picture("gold"), "第二张图")])
        pictured[post.id] = bool(n % 2)
        Publisher(rt).run_due()
        clock.advance(minutes=5)
    clock.advance(days=7)
    collect(rt, force=True)
    return pictured


def report(cli: Cli, fmt: str, *args: str) -> str:
    r = cli("report", *SPAN, "--format", fmt, *args)
    assert r.code == 0, r.err
    return r.out


def test_the_json_splits_categories_and_counts_pictures(published: dict[int, bool],
                                                        cli: Cli) -> None:
    data = json.loads(report(cli, "json"))
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    top = {p["id"]: p for p in data["top_posts"]}
    assert set(top) == set(published)
    for post_id, has in published.items():
        assert top[post_id]["pictures"] == (2 if has else 0)
        assert top[post_id]["picture_alt"] == (ALT if has else None)
        assert "thumbnail" not in top[post_id]  # HTML only, never in the JSON
    [category] = data["categories"]

    def per_post(has: bool) -> float:
        chosen = [p for p in data["top_posts"] if published[p["id"]] == has]
        return round(sum(p["engagement"] for p in chosen) / len(chosen), 2)

    assert category["posts"] == 6 and category["posts_with_pictures"] == 3
    assert category["per_post_with_pictures"] == per_post(True)
    assert category["per_post_without_pictures"] == per_post(False)
    # the simulated audience engages more with pictures (PICTURE_BOOST)
    assert category["per_post_with_pictures"] > category["per_post_without_pictures"]


def test_html_top_posts_show_an_embedded_thumbnail(published: dict[int, bool],
                                                   cli: Cli) -> None:
    html = report(cli, "html")
    images = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"',
                        html)
    assert len(images) == 3
    for encoded, alt in images:
        assert alt == ALT
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) == 160
            assert thumb.size == (160, 120)  # the 1600×1200 photo, its shape kept
        assert len(encoded) < 12_000  # small: the report stays light
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "带图篇均互动" in html and "无图篇均互动" in html


def test_markdown_and_csv_show_the_split(published: dict[int, bool], cli: Cli,
                                        workspace: Any) -> None:
    md = report(cli, "md")
    header = next(line for line in md.splitlines() if "带图博文" in line)
    assert "带图篇均互动" in header and "无图篇均互动" in header
    out = workspace / "tables"
    r = cli("report", *SPAN, "--format", "csv", "-o", f"{out}/")
    assert r.code == 0, r.err
    with (out / "categories.csv").open(encoding="utf-8-sig") as f:
        [row] = list(csv.DictReader(f))
    data = json.loads(report(cli, "json"))["categories"][0]
    assert row["posts_with_pictures"] == "3"
    assert float(row["per_post_with_pictures"]) == data["per_post_with_pictures"]
    assert float(row["per_post_without_pictures"]) == data["per_post_without_pictures"]


def test_a_picture_gone_from_the_store_leaves_the_report_whole(
        published: dict[int, bool], cli: Cli, workspace: Any) -> None:
    store = MediaStore(load_settings(workspace / "config.toml").media_dir)
    for path in store.root.rglob("*"):
        if path.is_file():
            path.unlink()
    html = report(cli, "html")
    assert "data:image/jpeg" not in html
    assert html.count('<td class="thumb"><span class="muted">') == 3  # said, not hidden


def test_without_pictures_the_tables_are_as_before(runtime_factory: Callable[..., Runtime],
                                                   clock: FakeClock, cli: Cli) -> None:
    clock.set(START)
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0))
    sync_accounts(rt)
    add_post(rt, "pingan-local", tip=None, text="注意防范电信诈骗。", at=None, by="officer-a")
    Publisher(rt).run_due()
    clock.advance(days=1)
    collect(rt, force=True)
    html = report(cli, "html")
    assert "<img" not in html and "带图博文" not in html
    assert "带图博文" not in report(cli, "md")
