"""The console speaks the one catalogue of ``outreach.i18n``: zh by default, en on
``?lang=en``; a word changed in the ``.po`` is the word the page shows; values (statuses,
classes) stay as they are, only their labels change."""

from __future__ import annotations

import pytest

from outreach import i18n
from outreach.actions.posts import add_post
from tests.web_helpers import add_users, client, log_in


@pytest.fixture
def rt(runtime_factory):
    rt = runtime_factory()
    add_users(rt)
    return rt


def _catalogue_says(msgid: str) -> str:
    with i18n.use_language("zh"):
        return i18n.gettext(msgid)


def test_the_console_shows_the_catalogues_chinese_and_english_on_request(rt):
    c = client(rt)
    log_in(c, "alice")
    zh = c.get("/queue").text
    for msgid in ("Officers' console", "Queue", "Log out", "Scheduled"):
        assert _catalogue_says(msgid) != msgid
        assert _catalogue_says(msgid) in zh, msgid
    en = c.get("/queue?lang=en").text
    assert "Officers&#39; console" in en and "Log out" in en
    assert _catalogue_says("Log out") not in en


def test_a_word_changed_in_the_po_is_the_word_the_console_shows(rt, tmp_path, monkeypatch):
    here = tmp_path / "zh" / "LC_MESSAGES"
    here.mkdir(parents=True)
    po = i18n.po_path("zh").read_text(encoding="utf-8")
    old = 'msgid "Officers\' console"\nmsgstr "民警工作台"'
    assert old in po
    (here / "outreach.po").write_text(po.replace(old, old.replace("民警工作台", "警务工作台")),
                                      encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reset_cache()
    try:
        c = client(rt)
        log_in(c, "alice")
        page = c.get("/").text
        assert "警务工作台" in page and "民警工作台" not in page
    finally:
        monkeypatch.undo()
        i18n.reset_cache()


def test_statuses_keep_their_values_and_show_translated_labels(rt):
    post = add_post(rt, "pingan-local", tip=None, text="夜间出行请结伴而行。", at="+1h", by="alice")
    c = client(rt)
    log_in(c, "alice")
    page = c.get("/queue").text
    assert '<option value="queued"' in page and _catalogue_says("queued") in page
    detail = c.get(f"/posts/{post.id}").text
    assert _catalogue_says(str(post.status)) in detail


def test_an_error_from_the_actions_reads_in_the_pages_language(rt):
    c = client(rt)
    log_in(c, "alice")
    zh = c.get("/posts/9999")
    assert zh.status_code == 404 and "没有编号为 9999 的帖子" in zh.text
    en = c.get("/posts/9999?lang=en")
    assert en.status_code == 404 and "no post with id 9999" in en.text


def test_a_refused_form_says_why_in_the_pages_language(rt):
    c = client(rt)
    log_in(c, "alice")
    zh = c.post("/pause", data={"csrf": "stale", "reason": "drill"})
    assert zh.status_code == 403 and zh.text.startswith("403: 表单的安全令牌缺失或已过期")
    en = c.post("/pause?lang=en", data={"csrf": "stale", "reason": "drill"})
    assert en.status_code == 403 and en.text.startswith("403: the form's security token")
