"""Pictures through the CLI: `queue add --image/--alt`, `queue import` images, `queue show`
and `queue list --json`; bad pictures refused in one line with nothing stored (no post row,
no new file in the media store)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from outreach.config.load import load_settings
from outreach.media.store import MediaStore
from tests.conftest import Result, logical_dump
from tests.test_media_images import animated_gif, bomb_png, encode, gps_jpeg

Cli = Callable[..., Result]
WEIBO, MASTODON, LOCAL = "pingan-weibo", "safety-mastodon", "pingan-local"
TEXT = {WEIBO: "夏季防溺水提示", MASTODON: "Stay safe near water", LOCAL: "夏季防溺水提示"}


def media_files(ws: Path) -> set[Path]:
    root = load_settings(ws / "config.toml").media_dir
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def add(cli: Cli, account: str, *images: tuple[str, str | None], json_: bool = False) -> Result:
    args = ["queue", "add", "--account", account, "--text", TEXT[account]]
    for path, alt in images:
        args += ["--image", path]
        if alt is not None:
            args += ["--alt", alt]
    return cli(*args, *(["--json"] if json_ else []))


def poster(path: Path, size: tuple[int, int] = (600, 800)) -> Path:
    im = Image.new("RGB", size, (230, 60, 40))
    im.paste((255, 255, 255), (50, 50, size[0] - 50, 200))
    path.write_bytes(encode(im, "PNG"))
    return path


def truncated_jpeg(path: Path) -> Path:
    data = encode(Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)), "JPEG")
    path.write_bytes(data[: len(data) // 2])
    return path


def test_add_with_pictures_stores_them_and_show_lists_them(starter_workspace: Path,
                                                          cli: Cli) -> None:
    ws = starter_workspace
    a, b = poster(ws / "a.png"), ws / "scene.jpg"
    b.write_bytes(gps_jpeg())
    r = add(cli, MASTODON, (str(a), "A red safety poster"), (str(b), "The beach at dusk"),
            json_=True)
    assert r.code == 0, r.err
    post = r.json
    assert post["images"] == 2
    assert "removed its GPS position" in r.err
    a.unlink()  # the officer's original is gone: the queued post is not
    b.write_bytes(b"changed")
    show = cli("queue", "show", str(post["id"]), "--json").json
    assert show["images"] == 2
    media = show["media"]
    assert [m["alt"] for m in media] == ["A red safety poster", "The beach at dusk"]
    assert [m["position"] for m in media] == [0, 1]
    assert media[0]["mime"] == "image/png" and (media[0]["width"], media[0]["height"]) == (600, 800)
    assert media[1]["mime"] == "image/jpeg" and (media[1]["width"], media[1]["height"]) == (100, 200)
    store = MediaStore(load_settings(ws / "config.toml").media_dir)
    for m in media:
        data = store.get(m["sha256"])
        assert len(data) == m["size"] and Path(m["file"]).is_file()
        assert not Image.open(io.BytesIO(data)).getexif()
    listed = cli("queue", "list", "--json").json
    assert [p["images"] for p in listed] == [2]
    text = cli("queue", "show", str(post["id"]))
    assert text.code == 0 and "The beach at dusk" in text.out and "600×800" in text.out


def test_plain_add_message_counts_pictures(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    r = add(cli, LOCAL, (str(poster(ws / "p.png")), "红色海报"))
    assert r.code == 0, r.err
    assert "with 1 picture(s)" in r.err + r.out


def test_big_png_for_weibo_is_fitted_at_queue_time_and_says_so(starter_workspace: Path,
                                                              cli: Cli) -> None:
    ws = starter_workspace
    noise = Image.frombytes("RGB", (2000, 2100), os.urandom(2000 * 2100 * 3))
    big = ws / "big.png"
    big.write_bytes(encode(noise, "PNG", compress_level=1))
    assert big.stat().st_size > 12 * 1024 * 1024
    r = add(cli, WEIBO, (str(big), "检测图"), json_=True)
    assert r.code == 0, r.err
    assert "big.png:" in r.err and "to fit weibo's 5.0 MB" in r.err and "JPEG" in r.err
    media = cli("queue", "show", str(r.json["id"]), "--json").json["media"]
    assert media[0]["size"] < 5 * 1024 * 1024 and media[0]["mime"] == "image/jpeg"


def _bad_cases(ws: Path) -> dict[str, tuple[str, tuple[tuple[str, str | None], ...], str]]:
    """id → (account, images, what the one line says)."""
    text_png = ws / "poster.png"
    text_png.write_text("这不是图片，只是一段文字。\n", encoding="utf-8")
    bomb = ws / "bomb.png"
    bomb.write_bytes(bomb_png(30000, 30000))
    good = str(poster(ws / "good.png"))
    return {
        "text-named-png": (WEIBO, ((str(text_png), "海报"),),
                           "poster.png: not a JPEG, PNG, GIF or WebP image"),
        "truncated-jpeg": (WEIBO, ((str(truncated_jpeg(ws / "cut.jpg")), "照片"),),
                           "cut.jpg: truncated or damaged image"),
        "bomb-30000x30000": (MASTODON, ((str(bomb), "a bomb"),),
                             "bomb.png: refused as a decompression bomb"),
        "missing-file": (WEIBO, ((str(ws / "nowhere.png"), "海报"),),
                         "nowhere.png: image file not found"),
        "no-alt": (WEIBO, ((good, None),), "--image 1 (" ),
        "blank-alt": (MASTODON, ((good, "   "),), "has no alt text"),
        "five-for-mastodon": (MASTODON, tuple((good, f"poster {i}") for i in range(5)),
                              "5 pictures for account 'safety-mastodon': mastodon takes at "
                              "most 4"),
        "two-for-weibo": (WEIBO, ((good, "一"), (good, "二")),
                          "2 pictures for account 'pingan-weibo': weibo takes at most 1"),
        "second-of-two-bad": (MASTODON, ((good, "fine"), (str(text_png), "bad")),
                              "poster.png: not a JPEG"),
    }


CASES = ["text-named-png", "truncated-jpeg", "bomb-30000x30000", "missing-file", "no-alt",
         "blank-alt", "five-for-mastodon", "two-for-weibo", "second-of-two-bad"]


@pytest.mark.parametrize("case", CASES)
def test_bad_pictures_one_line_exit_1_nothing_stored(starter_workspace: Path, cli: Cli,
                                                    case: str) -> None:
    ws = starter_workspace
    assert cli("queue", "list").code == 0  # the database exists before
    account, images, needle = _bad_cases(ws)[case]
    before, files = logical_dump(ws / "outreach.db"), media_files(ws)
    r = add(cli, account, *images)
    lines = [line for line in (r.out + r.err).splitlines() if line.strip()]
    assert r.code == 1, r.out + r.err
    assert len(lines) == 1, lines
    assert needle in lines[0]
    assert "Traceback" not in r.err
    assert logical_dump(ws / "outreach.db") == before
    assert media_files(ws) == files


def test_more_alts_than_images_is_an_error(starter_workspace: Path, cli: Cli) -> None:
    r = cli("queue", "add", "--account", WEIBO, "--text", TEXT[WEIBO], "--alt", "x")
    assert r.code == 1 and "1 --alt for 0 --image" in r.err


def test_a_tip_takes_no_pictures_of_the_officer(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    tip = cli("content", "list", "--lang", "zh", "--json").json[0]["id"]
    r = cli("queue", "add", "--account", LOCAL, "--tip", tip, "--image",
            str(poster(ws / "p.png")), "--alt", "海报")
    assert r.code == 1 and "a tip's pictures come from the library" in r.err


def test_animated_gif_kept_for_weibo(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    (ws / "a.gif").write_bytes(animated_gif())
    r = add(cli, WEIBO, (str(ws / "a.gif"), "动图"), json_=True)
    assert r.code == 0, r.err
    media = cli("queue", "show", str(r.json["id"]), "--json").json["media"]
    data = MediaStore(load_settings(ws / "config.toml").media_dir).get(media[0]["sha256"])
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3


def test_edit_keeps_the_pictures(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    r = add(cli, LOCAL, (str(poster(ws / "p.png")), "红色海报"), json_=True)
    post_id = str(r.json["id"])
    assert cli("queue", "edit", post_id, "--text", "新的防溺水提示").code == 0
    show = cli("queue", "show", post_id, "--json").json
    assert show["images"] == 1 and show["media"][0]["alt"] == "红色海报"


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_import_jsonl_images_relative_to_the_file(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    batch = ws / "batch"
    batch.mkdir()
    poster(batch / "one.png")
    poster(batch / "two.png", (400, 400))
    f = write_jsonl(batch / "posts.jsonl", [
        {"account": MASTODON, "text": "Two posters", "images": [
            {"file": "one.png", "alt": "First poster"}, {"file": "two.png", "alt": "Second"}]},
        {"account": LOCAL, "text": "没有图片的提示"},
    ])
    r = cli("queue", "import", str(f), "--json")
    assert r.code == 0, r.err
    assert [p["images"] for p in r.json] == [2, 0]
    media = cli("queue", "show", str(r.json[0]["id"]), "--json").json["media"]
    assert [(m["alt"], m["width"]) for m in media] == [("First poster", 600), ("Second", 400)]


def test_import_csv_image_and_alt_columns(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    poster(ws / "p.png")
    poster(ws / "q.png")
    f = ws / "posts.csv"
    f.write_text("account,text,image,alt,image2,alt2\n"
                 f"{LOCAL},防溺水提示,p.png,红色海报,q.png,第二张\n"
                 f"{WEIBO},防诈骗提示,p.png,红色海报,,\n", encoding="utf-8")
    r = cli("queue", "import", str(f), "--json")
    assert r.code == 0, r.err
    assert [p["images"] for p in r.json] == [2, 1]


@pytest.mark.parametrize(("rows", "needle"), [
    ([{"file": "nope.png", "alt": "x"}], "posts.jsonl:2: " ),
    ([{"file": "p.png"}], "images[1] (" ),
    ([{"file": "p.png", "alt": "x", "where": "y"}], "images[1]: unknown key(s): where"),
    ("p.png", "images must be a list"),
])
def test_import_bad_images_all_or_nothing(starter_workspace: Path, cli: Cli, rows: object,
                                          needle: str) -> None:
    ws = starter_workspace
    poster(ws / "p.png")
    f = write_jsonl(ws / "posts.jsonl", [
        {"account": LOCAL, "text": "好的一行", "images": [{"file": "p.png", "alt": "海报"}]},
        {"account": LOCAL, "text": "坏的一行", "images": rows},
    ])
    assert cli("queue", "list").code == 0
    before, files = logical_dump(ws / "outreach.db"), media_files(ws)
    r = cli("queue", "import", str(f))
    assert r.code == 1, r.err
    assert needle in r.err and "nothing was imported" in r.err
    assert "Traceback" not in r.err
    assert logical_dump(ws / "outreach.db") == before
    assert media_files(ws) == files


def test_import_names_the_file_and_line_of_a_bad_picture(starter_workspace: Path,
                                                        cli: Cli) -> None:
    ws = starter_workspace
    (ws / "fake.png").write_text("text", encoding="utf-8")
    f = ws / "posts.csv"
    f.write_text(f"account,text,image,alt\n{LOCAL},一,fake.png,图\n", encoding="utf-8")
    r = cli("queue", "import", str(f))
    assert r.code == 1
    assert f"{f}:2: {ws / 'fake.png'}: not a JPEG, PNG, GIF or WebP" in r.err


def test_edit_replaces_or_removes_pictures_and_needs_approval_again(
        starter_workspace: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = starter_workspace
    post_id = str(add(cli, LOCAL, (str(poster(ws / "p.png")), "红色海报"), json_=True).json["id"])
    monkeypatch.setenv("OUTREACH_USER", "officer-b")
    assert cli("queue", "approve", post_id).code == 0
    r = cli("queue", "edit", post_id, "--image", str(poster(ws / "q.png", (300, 300))),
            "--alt", "新海报", "--json")
    assert r.code == 0, r.err
    assert r.json["status"] == "draft" and r.json["images"] == 1
    show = cli("queue", "show", post_id, "--json").json
    assert [(m["alt"], m["width"]) for m in show["media"]] == [("新海报", 300)]
    assert cli("queue", "approve", post_id).code == 1  # officer-b edited: four eyes
    monkeypatch.setenv("OUTREACH_USER", "officer-a")
    assert cli("queue", "approve", post_id).code == 0
    r = cli("queue", "edit", post_id, "--no-images", "--json")
    assert r.code == 0 and r.json["images"] == 0 and r.json["status"] == "draft"
    bad = cli("queue", "edit", post_id, "--image", str(ws / "nope.png"), "--alt", "x")
    assert bad.code == 1 and "image file not found" in bad.err


def test_an_unwritable_media_store_is_one_error_and_nothing_queued(starter_workspace: Path,
                                                                  cli: Cli) -> None:
    ws = starter_workspace
    (ws / "blocked").write_text("a file where the media folder should be", encoding="utf-8")
    config = ws / "config.toml"
    config.write_text(config.read_text("utf-8").replace(
        'content_dir = "content"', 'content_dir = "content"\nmedia_dir = "blocked/media"'),
        encoding="utf-8")
    assert cli("queue", "list").code == 0
    before = logical_dump(ws / "outreach.db")
    r = add(cli, LOCAL, (str(poster(ws / "p.png")), "海报"))
    assert r.code == 1, r.err
    assert "cannot write a picture to the media store" in r.err and "blocked" in r.err
    assert logical_dump(ws / "outreach.db") == before


def test_the_same_picture_twice_is_one_file(starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    p = str(poster(ws / "p.png"))
    first = add(cli, LOCAL, (p, "海报"), json_=True).json["id"]
    second = add(cli, MASTODON, (p, "A poster"), (p, "The same poster"), json_=True).json["id"]
    shas = {m["sha256"] for post in (first, second)
            for m in cli("queue", "show", str(post), "--json").json["media"]}
    assert len(shas) == 1 and len(media_files(ws)) == 1
