"""A picture on Weibo through the CLI against the fake Weibo server: a post with a picture
goes out as a multipart share with exactly one ``pic`` part under 5 MB (the stored
bytes), a text-only post stays form-encoded, and a lost answer never sends the picture
twice (the share is reconciled from the timeline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from outreach.config.load import load_settings
from tests.conftest import Result
from tests.pictures import picture
from tests.test_weibo_e2e import (
    SAFE_DOMAIN,
    SHARE,
    TOKEN,
    TOKEN_ENV,
    add,
    ok,
    run_once,
    show,
    write_config,
)
from tests.weibo_server import WeiboServer

Cli = Callable[..., Result]


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0, safe_domain=SAFE_DOMAIN) as weibo:
        yield weibo


@pytest.fixture
def wb(workspace: Path, server: WeiboServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    server.reset()
    write_config(workspace, server.url, uid=server.uid)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return workspace


def with_picture(cli: Cli, workspace: Path, text: str, data: bytes, alt: str) -> int:
    """Queue ``text`` with one picture as an officer would (``--image/--alt``)."""
    path = workspace / ("photo.jpg" if data.startswith(b"\xff\xd8") else "photo.png")
    path.write_bytes(data)
    post_id: int = ok(cli("queue", "add", "--account", "wb", "--text", text, "--image",
                          str(path), "--alt", alt, "--json")).json["id"]
    return post_id


def stored(cli: Cli, post_id: int) -> dict[str, Any]:
    [media] = show(cli, post_id)["media"]
    assert isinstance(media, dict)
    return media


def test_a_post_with_a_picture_is_a_multipart_share_with_one_pic(
        wb: Path, server: WeiboServer, cli: Cli) -> None:
    photo = picture("navy", (1200, 900), "JPEG")
    post_id = with_picture(cli, wb, "【防诈骗】陌生来电要求转账的一律是诈骗。", photo, "反诈海报")
    run_once(cli)
    assert show(cli, post_id)["status"] == "published"
    [share] = server.requests(SHARE)
    assert share["encoding"] == "multipart"
    assert [p["name"] for p in share["parts"]].count("pic") == 1
    [pic] = [p for p in share["parts"] if p["name"] == "pic"]
    media = stored(cli, post_id)
    assert pic["size"] == media["size"] < 5 * 1024 * 1024 and pic["content_type"] == "image/jpeg"
    [status] = server.statuses()
    assert status["pic_sha256"] == media["sha256"]  # the stored (checked, stripped) bytes


def test_a_text_only_post_stays_form_encoded(wb: Path, server: WeiboServer, cli: Cli) -> None:
    post_id = add(cli, "【夜间出行】请结伴而行，遇到危险请拨打110。")
    run_once(cli)
    assert show(cli, post_id)["status"] == "published"
    [share] = server.requests(SHARE)
    assert share["encoding"] == "form" and "parts" not in share
    assert server.statuses()[0]["pic_bytes"] is None


def test_a_lost_answer_sends_the_picture_once(wb: Path, server: WeiboServer, cli: Cli) -> None:
    photo = picture("maroon", (640, 480), "PNG")
    post_id = with_picture(cli, wb, "【防溺水】夏季请勿到野外水域游泳。", photo, "防溺水提示卡")
    server.fault(SHARE, "drop_after_apply")
    run_once(cli)
    assert show(cli, post_id)["status"] == "unconfirmed"
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "published"
    [status] = server.statuses()
    assert post["remote_id"] == status["idstr"]
    assert status["pic_sha256"] == stored(cli, post_id)["sha256"]
    assert len(server.requests(SHARE)) == 1


def test_a_picture_gone_from_the_store_is_not_published(wb: Path, server: WeiboServer,
                                                        cli: Cli) -> None:
    post_id = with_picture(cli, wb, "【防诈骗】不要点击陌生链接。", picture(), "提示卡")
    for path in load_settings(wb / "config.toml").media_dir.rglob("*"):
        if path.is_file():
            path.unlink()
    run_once(cli)
    post = show(cli, post_id)
    assert post["status"] == "failed"
    assert "not published without its picture" in post["last_error"]
    assert server.requests(SHARE) == [] and server.statuses() == []
    listed = ok(cli("queue", "list", "--status", "failed", "--json")).json
    assert [p["id"] for p in listed] == [post_id]
