"""Pictures in the library: tips (and variants) name images with alt text; `content check`
fails on a missing file, a missing alt, an unreadable or unsupported image, and warns where a
platform takes fewer; slot posts and `queue add --tip` carry their tip's pictures."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from outreach.runtime import Runtime
from outreach.schedule.materialise import materialise
from tests.conftest import Result, local_config
from tests.factories import FakeClock
from tests.test_media_images import encode

Cli = Callable[..., Result]

TIP = '''\
[[tip]]
id = "pictures-zh"
category = "drowning"
lang = "zh"
title = "防溺水"
text = "夏季注意防溺水，发现险情拨打{{{{ hotline.police }}}}。"
{extra}
source = "教育部 防溺水安全提示"
'''


def write_tip(ws: Path, extra: str, *, only: bool = False) -> Path:
    tips = ws / "content" / "tips"
    if only:
        for f in tips.glob("*.toml"):
            f.unlink()
    path = tips / "zz_pictures.toml"
    path.write_text(TIP.format(extra=extra), encoding="utf-8")
    return path


def picture(ws: Path, name: str, size: tuple[int, int] = (540, 675),
            colour: tuple[int, int, int] = (20, 90, 200)) -> str:
    media = ws / "content" / "media"
    media.mkdir(exist_ok=True)
    (media / name).write_bytes(encode(Image.new("RGB", size, colour), "PNG"))
    return f"media/{name}"


def line_of(path: Path, needle: str) -> int:
    return path.read_text("utf-8").splitlines().index(
        next(line for line in path.read_text("utf-8").splitlines() if needle in line)) + 1


def test_tip_with_pictures_passes_content_check(workspace: Path, cli: Cli) -> None:
    one = picture(workspace, "one.png")
    write_tip(workspace, f'images = [{{ file = "{one}", alt = "蓝色海报：夏季防溺水" }}]')
    r = cli("content", "check")
    assert r.code == 0, r.out + r.err
    shown = cli("content", "show", "pictures-zh", "--json").json
    assert [(i["file"], i["alt"]) for i in shown["images"]] == [(one, "蓝色海报：夏季防溺水")]


@pytest.mark.parametrize(("extra", "needle"), [
    ('images = [{ file = "media/nowhere.png", alt = "海报" }]',
     "pictures-zh: images[0].file: media/nowhere.png: file not found"),
    ('images = [{ file = "media/one.png" }]', "pictures-zh: images[0].alt: required key"),
    ('images = [{ file = "media/one.png", alt = "  " }]', "pictures-zh: images[0].alt: is empty"),
    ('images = [{ file = "media/text.png", alt = "海报" }]',
     "media/text.png: not a JPEG, PNG, GIF or WebP"),
    ('images = [{ file = "../config.toml", alt = "海报" }]', "inside the content folder"),
    ('images = "media/one.png"', "images: expected an array"),
    ('variants = [{ text = "另一段", images = [{ file = "media/one.png", alt = "" }] }]',
     "pictures-zh: variants[0].images[0].alt: is empty"),
    ('variants = [5]', "variants[0]: expected a string or a table"),
])
def test_content_check_fails_on_bad_pictures(workspace: Path, cli: Cli, extra: str,
                                             needle: str) -> None:
    picture(workspace, "one.png")
    (workspace / "content" / "media" / "text.png").write_text("不是图片", encoding="utf-8")
    path = write_tip(workspace, extra)
    r = cli("content", "check")
    assert r.code == 1, r.out
    line = next(x for x in (r.out + r.err).splitlines() if needle in x)
    assert f"tips/zz_pictures.toml:{line_of(path, extra.split('=')[0].strip())}:" in line
    assert "Traceback" not in r.err


def test_content_check_fails_on_a_truncated_picture(workspace: Path, cli: Cli) -> None:
    media = workspace / "content" / "media"
    noise = encode(Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)), "JPEG")
    (media / "cut.jpg").write_bytes(noise[: len(noise) // 2])
    write_tip(workspace, 'images = [{ file = "media/cut.jpg", alt = "照片" }]')
    r = cli("content", "check")
    assert r.code == 1
    assert "pictures-zh: image media/cut.jpg: truncated or damaged image" in r.out + r.err


def test_more_pictures_than_weibo_takes_is_a_warning_and_never_drawn_there(
        starter_workspace: Path, cli: Cli) -> None:
    ws = starter_workspace
    a, b = picture(ws, "a.png"), picture(ws, "b.png", colour=(200, 20, 20))
    write_tip(ws, f'images = [{{ file = "{a}", alt = "一" }}, {{ file = "{b}", alt = "二" }}]')
    r = cli("content", "check")
    assert r.code == 0, r.out + r.err
    assert ("pictures-zh: 2 pictures, and weibo takes at most 1 a post: never drawn for "
            "pingan-weibo") in r.out + r.err
    assert cli("content", "approve", "pictures-zh", "--by", "officer-b").code == 0
    r = cli("queue", "add", "--account", "pingan-weibo", "--tip", "pictures-zh")
    assert r.code == 1 and "has 2 pictures; weibo takes at most 1" in r.err
    write_tip(ws, f'images = [{{ file = "{a}", alt = "一" }}, {{ file = "{b}", alt = "二" }}]',
              only=True)
    assert cli("content", "approve", "pictures-zh", "--by", "officer-b").code == 0
    planned = cli("plan", "--days", "2", "--json").json
    local = {p["tip_id"] for p in planned if p["account"] == "pingan-local"}
    weibo = {p["tip_id"] for p in planned if p["account"] == "pingan-weibo"}
    assert "pictures-zh" in local and weibo == {None}


def test_editing_a_picture_withdraws_the_approval(workspace: Path, cli: Cli) -> None:
    one = picture(workspace, "one.png")
    write_tip(workspace, f'images = [{{ file = "{one}", alt = "海报" }}]')
    assert cli("content", "approve", "pictures-zh", "--by", "officer-b").code == 0
    approved = {t["id"]: t["approved"] for t in cli("content", "list", "--json").json}
    assert approved["pictures-zh"] is True
    picture(workspace, "one.png", colour=(0, 0, 0))  # another poster under the same name
    approved = {t["id"]: t["approved"] for t in cli("content", "list", "--json").json}
    assert approved["pictures-zh"] is False


def test_queue_add_tip_carries_its_pictures(workspace: Path, cli: Cli) -> None:
    one = picture(workspace, "one.png")
    write_tip(workspace, f'images = [{{ file = "{one}", alt = "蓝色海报" }}]')
    assert cli("content", "approve", "pictures-zh", "--by", "officer-b").code == 0
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "pictures-zh", "--json")
    assert r.code == 0, r.err
    media = cli("queue", "show", str(r.json["id"]), "--json").json["media"]
    assert [(m["alt"], m["width"], m["height"]) for m in media] == [("蓝色海报", 540, 675)]


def _slot_posts(rt: Runtime) -> list[tuple[int, int | None, list[tuple[str, str]]]]:
    from sqlalchemy import select
    from sqlmodel import col

    from outreach.store.models import Post, PostMedia

    with rt.db.reader() as s:
        posts = s.execute(select(Post).order_by(col(Post.scheduled_at))).scalars().all()
        out = []
        for p in posts:
            media = s.execute(select(PostMedia).where(col(PostMedia.post_id) == p.id)
                              .order_by(col(PostMedia.position))).scalars().all()
            out.append((p.id, p.variant, [(m.alt, m.sha256) for m in media]))
    return out


def test_slot_posts_carry_their_variants_pictures_prepared_once(
        workspace: Path, runtime_factory: Callable[..., Runtime], clock: FakeClock) -> None:
    one, two = picture(workspace, "one.png"), picture(workspace, "two.png", colour=(9, 9, 9))
    write_tip(workspace, f'images = [{{ file = "{one}", alt = "主图" }}]\n'
                         f'variants = ["第二段文字", {{ text = "第三段", images = '
                         f'[{{ file = "{two}", alt = "第三段的图" }}] }}]', only=True)
    rt = runtime_factory(local_config(require_approval=False, cooldown_days=0,
                                      slots='{ cron = "0 * * * *" }', min_gap=0))
    materialise(rt, clock.now())
    posts = _slot_posts(rt)
    assert len(posts) >= 20
    by_variant = {variant: media for _, variant, media in posts}
    assert [alt for alt, _ in by_variant[0]] == ["主图"]
    assert [alt for alt, _ in by_variant[1]] == ["主图"]  # a plain variant shows the tip's
    assert [alt for alt, _ in by_variant[2]] == ["第三段的图"]
    assert len(rt.library.prepared_images) == 2  # two files, one platform: prepared twice
    files = {p for p in rt.settings.media_dir.rglob("*") if p.is_file()}
    assert len(files) == 2
    clock.current += timedelta(hours=30)
    materialise(rt, clock.now())  # again: no new work, no duplicate rows
    again = _slot_posts(rt)
    assert all(len(media) == 1 for _, _, media in again)
    assert len(rt.library.prepared_images) == 2


def test_a_slot_whose_picture_changed_after_loading_is_missed_with_the_reason(
        workspace: Path, runtime_factory: Callable[..., Runtime], clock: FakeClock) -> None:
    one = picture(workspace, "one.png")
    write_tip(workspace, f'images = [{{ file = "{one}", alt = "主图" }}]', only=True)
    rt = runtime_factory(local_config(require_approval=False, cooldown_days=0))
    rt.library  # noqa: B018  (loaded with the first picture)
    picture(workspace, "one.png", colour=(1, 2, 3))
    materialise(rt, clock.now())
    from sqlalchemy import select

    from outreach.store.models import Post

    with rt.db.reader() as s:
        rows = s.execute(select(Post.status, Post.last_error)).all()  # type: ignore[call-overload]
    assert rows and all(status == "missed" for status, _ in rows)
    assert any("pictures-zh" in (err or "") and "changed since the library was loaded" in err
               for _, err in rows)


def test_starter_posters(workspace: Path, cli: Cli) -> None:
    """`init` copies real posters for at least ten starter tips: 1080×1350, small, with alt
    text in the tip's language, and the starter library passes `content check`."""
    from outreach.config.load import load_settings
    from outreach.library.load import load_library

    lib = load_library(load_settings(workspace / "config.toml").content_dir)
    with_posters = [t for t in lib.tips.values() if t.images]
    assert len(with_posters) >= 10
    assert {t.lang for t in with_posters} == {"zh", "en"}
    for tip in with_posters:
        [image] = tip.images
        path = workspace / "content" / image.file
        assert path.stat().st_size < 300 * 1024
        with Image.open(path) as im:
            assert im.size == (1080, 1350) and im.format == "PNG"
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in image.alt)
        assert has_cjk == (tip.lang == "zh"), tip.id
        assert tip.title in image.alt
    r = cli("content", "check")
    assert r.code == 0 and "0 error(s)" in r.out + r.err


def test_a_redrawn_slot_post_does_not_keep_the_old_tips_pictures(
        workspace: Path, runtime_factory: Callable[..., Runtime], clock: FakeClock,
        cli: Cli) -> None:
    from outreach.daemon import run_once

    one = picture(workspace, "one.png")
    path = write_tip(workspace, f'images = [{{ file = "{one}", alt = "主图" }}]', only=True)
    path.write_text(path.read_text("utf-8") + TIP.format(extra="").replace(
        "pictures-zh", "plain-zh").replace("夏季注意", "夏天注意"), encoding="utf-8")
    rt = runtime_factory(local_config(cooldown_days=0, slots='{ cron = "0 * * * *" }',
                                      min_gap=0))
    assert cli("content", "approve", "pictures-zh", "plain-zh", "--by", "officer-b").code == 0
    materialise(rt, clock.now())
    post_id = next(p for p, variant, media in _slot_posts(rt) if media)
    from outreach.store.models import Post

    with rt.db.reader() as s:
        post = s.get(Post, post_id)
        assert post is not None and post.tip_id == "pictures-zh" and post.scheduled_at
        due = post.scheduled_at
    assert cli("content", "revoke", "pictures-zh", "--by", "chief").code == 0
    clock.current = due
    run_once(rt)
    with rt.db.reader() as s:
        post = s.get(Post, post_id)
        assert post is not None and post.tip_id == "plain-zh"  # redrawn
    assert dict((p, m) for p, _, m in _slot_posts(rt))[post_id] == []
