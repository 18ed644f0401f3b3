"""Pictures in the console (Starlette's test client on a real SQLite file): composing with
pictures goes through the same checks as `queue add --image`, and a post's pictures are
shown, with their alt text, only to someone signed in."""

from __future__ import annotations

import pytest

from outreach.actions.posts import add_post
from tests.conftest import logical_dump
from tests.pictures import picture
from tests.test_media_images import gps_jpeg
from tests.web_helpers import add_users, client, log_in

ACCOUNT = "pingan-local"


@pytest.fixture
def rt(runtime_factory):
    rt = runtime_factory()
    add_users(rt)
    return rt


def compose(c, csrf, files, alts, text="防范电信诈骗，请看海报。"):
    return c.post("/compose", data={"csrf": csrf, "account": ACCOUNT, "tip": "", "text": text,
                                    "at": "+1h", "alt": alts, "next": "/compose"},
                  files=[("image", f) for f in files])


def test_compose_with_two_pictures_makes_a_draft_with_both(rt, cli):
    c = client(rt)
    csrf = log_in(c, "alice")
    form = c.get("/compose?lang=en").text
    assert 'enctype="multipart/form-data"' in form
    assert form.count('type="file"') == 4 and ">Image</label>" in form and ">Alt text</label>" in form
    r = compose(c, csrf, [("poster.png", picture("red", (300, 200)), "image/png"),
                          ("scene.jpg", gps_jpeg(), "image/jpeg")],
                ["红色防诈骗海报", "黄昏时的海滩"])
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/posts/")
    post_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = c.get(r.headers["location"])
    assert "scene.jpg: removed its GPS position" in page.text  # the note, as queue add says it
    shown = cli("queue", "show", str(post_id), "--json").json
    assert shown["status"] == "draft" and shown["images"] == 2
    assert [m["alt"] for m in shown["media"]] == ["红色防诈骗海报", "黄昏时的海滩"]
    assert [m["mime"] for m in shown["media"]] == ["image/png", "image/jpeg"]
    for n in (0, 1):
        assert f'src="/posts/{post_id}/pictures/{n}"' in page.text
    assert 'alt="红色防诈骗海报"' in page.text and 'alt="黄昏时的海滩"' in page.text
    approvals = c.get("/approvals").text
    assert 'alt="红色防诈骗海报"' in approvals and f"/posts/{post_id}/pictures/1" in approvals


@pytest.mark.parametrize(("files", "alts", "says"), [
    ([("poster.png", "这不是图片，只是文字。\n".encode() * 20, "image/png")], ["海报"],
     "poster.png: not a JPEG, PNG, GIF or WebP image"),
    ([("poster.png", picture(), "image/png")], [""], "picture 1 (poster.png) has no alt text"),
    ([("", b"", "application/octet-stream")], ["没有图片的替代文字"],
     "picture 1 has alt text but no image file"),
    ([("poster.png", picture(), "image/png")] * 10, ["海报"] * 10, "10 pictures"),
])
def test_a_bad_picture_is_one_error_and_nothing_is_stored(rt, workspace, files, alts, says):
    c = client(rt)
    csrf = log_in(c, "alice")
    c.get("/compose?lang=en")  # the cases say what is wrong in English
    before = logical_dump(workspace / "outreach.db")
    stored = sorted(rt.settings.media_dir.rglob("*"))
    r = compose(c, csrf, files, alts)
    assert r.status_code == 303 and r.headers["location"] == "/compose"
    page = c.get("/compose")
    errors = [line for line in page.text.splitlines() if 'class="flash error"' in line]
    assert len(errors) == 1 and says in errors[0], page.text[:2000]
    assert logical_dump(workspace / "outreach.db") == before
    assert sorted(rt.settings.media_dir.rglob("*")) == stored


def test_an_upload_over_the_cap_is_refused_before_it_is_read(rt, workspace):
    c = client(rt, max_upload=10_000)
    csrf = log_in(c, "alice")
    c.get("/compose?lang=en")
    before = logical_dump(workspace / "outreach.db")
    r = compose(c, csrf, [("big.png", picture("red", (800, 800)) + b"\0" * 20_000, "image/png")],
                ["大图"])
    assert r.status_code == 413 and "nothing was stored" in r.text
    assert logical_dump(workspace / "outreach.db") == before


def test_a_picture_needs_a_session_and_belongs_to_its_post(rt):
    data = picture("blue", (200, 120))
    c = client(rt)
    csrf = log_in(c, "alice")
    r = compose(c, csrf, [("a.png", data, "image/png"), ("b.png", picture("green"), "image/png")],
                ["蓝色", "绿色"])
    first = int(r.headers["location"].rsplit("/", 1)[1])
    r = compose(c, csrf, [("c.png", picture("red"), "image/png")], ["红色"], text="另一条")
    second = int(r.headers["location"].rsplit("/", 1)[1])
    got = c.get(f"/posts/{first}/pictures/0")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.get(f"/posts/{first}/pictures/1").status_code == 200
    assert c.get(f"/posts/{second}/pictures/1").status_code == 404  # the first post's index
    assert c.get(f"/posts/{second + 5}/pictures/0").status_code == 404
    anonymous = client(rt)
    r = anonymous.get(f"/posts/{first}/pictures/0")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_post_without_pictures_shows_none(rt):
    p = add_post(rt, ACCOUNT, tip=None, text="纯文字", at="+1h", by="alice")
    c = client(rt)
    log_in(c, "bob")
    page = c.get(f"/posts/{p.id}")
    assert page.status_code == 200 and "/pictures/" not in page.text
    assert c.get(f"/posts/{p.id}/pictures/0").status_code == 404


def test_an_upload_without_the_form_token_is_refused_and_stores_nothing(rt, workspace):
    c = client(rt)
    log_in(c, "alice")
    before = logical_dump(workspace / "outreach.db")
    stored = sorted(rt.settings.media_dir.rglob("*"))
    r = compose(c, "", [("poster.png", picture(), "image/png")], ["海报"])
    assert r.status_code == 403
    assert logical_dump(workspace / "outreach.db") == before
    assert sorted(rt.settings.media_dir.rglob("*")) == stored
