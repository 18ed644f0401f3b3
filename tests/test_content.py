"""The content library: the shipped one is valid; every problem names file, line and tip."""

from datetime import date
from pathlib import Path

import pytest

from outreach.library.load import load_library
from outreach.library.model import category_matches, normalise_for_blocklist
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def shipped():
    return load_library(ROOT / "content")


def test_shipped_library_loads_without_problems(shipped):
    assert shipped.problems == []
    zh = [t for t in shipped.tips.values() if t.lang == "zh"]
    en = [t for t in shipped.tips.values() if t.lang == "en"]
    assert len(zh) >= 120 and len(en) >= 60
    assert {t.category for t in shipped.tips.values()} == set(shipped.categories)
    assert len(shipped.categories) == 16


def test_every_tip_has_a_source_and_review_date(shipped):
    assert all(t.source and t.review_by for t in shipped.tips.values())


def test_nested_categories_match():
    assert category_matches("fraud", "fraud.task")
    assert category_matches("fraud", "fraud")
    assert not category_matches("fraud.task", "fraud")
    assert not category_matches("fraud", "fraudulent")


@pytest.mark.parametrize("text", ["ＴＯＤＯ:", "todo :", "T O D O:", "测 试", "ＸＸＸ"])
def test_blocklist_matches_after_width_case_and_space_folding(shipped, text):
    assert shipped.blocked_word(f"今天的提醒 {text} 完") is not None


def test_blocklist_normalisation():
    assert normalise_for_blocklist("Ｆｏｏ Ｂａｒ") == "foobar"


def test_lunar_campaign_in_three_years(shipped):
    spring = next(c for c in shipped.campaigns if c.calendar == "lunar" and c.start[0] == 12)
    # lunar 12-15 .. 01-15 around Chinese New Year: 2027-02-06, 2028-01-26, 2029-02-13
    for new_year in (date(2027, 2, 6), date(2028, 1, 26), date(2029, 2, 13)):
        assert spring.active(new_year)
        assert spring.active(date.fromordinal(new_year.toordinal() + 14))
        assert not spring.active(date.fromordinal(new_year.toordinal() + 20))
        assert not spring.active(date.fromordinal(new_year.toordinal() - 20))


def test_campaign_weight_boosts_matching_categories(shipped):
    assert shipped.campaign_weight("drowning", date(2027, 7, 1)) > 1
    assert shipped.campaign_weight("drowning", date(2027, 12, 1)) == 1


def write_lib(tmp_path: Path, tips: str) -> Path:
    root = tmp_path / "content"
    (root / "tips").mkdir(parents=True)
    (root / "categories.toml").write_text(
        '[[category]]\ncode = "fraud"\nzh = "诈骗"\nen = "Fraud"\n', encoding="utf-8")
    (root / "tips" / "a.toml").write_text(tips, encoding="utf-8")
    return root


GOOD = '[[tip]]\nid = "t1"\ncategory = "fraud"\nlang = "zh"\ntitle = "标题"\ntext = "正文"\n' \
       'source = "反诈法"\nreview_by = 2027-01-01\n'


@pytest.mark.parametrize("tips, line, needle", [
    (GOOD + GOOD, 10, "id: duplicate id (also content/tips/a.toml:1)"),
    (GOOD.replace('"fraud"', '"nope"'), 3, "category: unknown category 'nope'"),
    (GOOD.replace('source = "反诈法"\n', ""), 1, "source: required key is missing"),
    (GOOD.replace("2027-01-01", '"soon"'), 8, "review_by: must be a date"),
    (GOOD.replace('lang = "zh"', 'lang = "fr"'), 4, "lang: must be 'zh' or 'en', got 'fr'"),
    (GOOD.replace('id = "t1"', 'id = "Bad Id"'), 2, "id: must be a slug"),
    (GOOD + 'months = [13]\n', 9, "months[0]: must be at most 12, got 13"),
    (GOOD + 'colour = "red"\n', 9, "colour: unknown key"),
    (GOOD + 'variants = ["一", "二", "  "]\n', 9, "variants[2]: is empty"),
    (GOOD + GOOD.replace('"t1"', '"t2"') + 'variants = ["一",\n  "\\u202e二"]\n', 18,
     "variants[1]: has a control character U+202E"),
    ('[[tip]]\nid = "t1\n', 2, "invalid TOML"),
])
def test_problems_name_file_line_and_tip(tmp_path, tips, line, needle):
    lib = load_library(write_lib(tmp_path, tips))
    problems = [p for p in lib.problems if needle in p.message]
    assert problems, lib.problems
    assert problems[0].line == line
    assert str(problems[0]).startswith(f"content/tips/a.toml:{line}: ")


def test_invalid_utf8_tip_file(tmp_path):
    root = write_lib(tmp_path, GOOD)
    (root / "tips" / "b.toml").write_bytes(b'[[tip]]\nid = "\xff"\n')
    lib = load_library(root)
    assert any(p.file.endswith("b.toml") and p.line == 2 and "UTF-8" in p.message
               for p in lib.problems)
    assert "t1" in lib.tips  # one bad file does not hide the others


def test_broken_template_and_undefined_variable(tmp_path):
    from outreach.errors import ContentError

    root = write_lib(tmp_path, GOOD.replace('"正文"', '"拨打{{ hotline.fraud }}{{ nope }}"'))
    lib = load_library(root)
    with pytest.raises(ContentError, match="undefined"):
        lib.renderer.render_string(lib.tips["t1"].text, {"hotline": {"fraud": "96110"}})
    with pytest.raises(ContentError, match="syntax"):
        lib.renderer.render_string("{% if %}", {})


def test_sandbox_refuses_unsafe_templates(shipped):
    from outreach.errors import ContentError

    with pytest.raises(ContentError):
        shipped.renderer.render_string("{{ ''.__class__.__mro__ }}", {})


def test_templates_cannot_change_the_account_variables(runtime_factory):
    """The account's variables are computed once and shared by every render: a template
    that tries to change one is refused, and the next render sees them unchanged."""
    from outreach.config.settings import AccountSettings
    from outreach.errors import ContentError
    from tests.conftest import local_config

    rt = runtime_factory(local_config())
    acc: AccountSettings = rt.settings.account("pingan-local")
    variables = acc.template_variables
    with pytest.raises(ContentError, match="not allowed"):
        rt.library.renderer.render_string("{{ {}.update(city='x') }}", variables)
    with pytest.raises(ContentError, match="not allowed"):
        rt.library.renderer.render_string("{{ tags.append('x') }}", {"tags": ["a"]})
    assert acc.template_variables is variables
    assert dict(variables) == {**dict(acc.vars), "city": variables["city"],
                               "hashtag": variables["hashtag"]}
    with pytest.raises(TypeError):
        variables["city"] = "elsewhere"  # type: ignore[index]


def test_render_size_cap(shipped):
    from outreach.errors import ContentError

    with pytest.raises(ContentError, match="size cap"):
        shipped.renderer.render_string("{% for i in range(100000) %}xx{% endfor %}", {})


def test_text_hash_changes_when_the_text_changes(tmp_path):
    a = load_library(write_lib(tmp_path / "a", GOOD)).tips["t1"]
    b = load_library(write_lib(tmp_path / "b", GOOD.replace("正文", "正文。"))).tips["t1"]
    assert a.text_hash != b.text_hash


def test_problems_in_a_crlf_file_name_the_line_of_their_key(tmp_path):
    tips = (GOOD + GOOD.replace('"t1"', '"t2"') + 'variants = ["一", "二",\n  ""]\n')
    root = write_lib(tmp_path, tips.replace("\n", "\r\n"))
    (root / "categories.toml").write_text(
        '[[category]]\r\ncode = "fraud"\r\nzh = "诈骗"\r\nen = "Fraud"\r\n'
        '[[category]]\r\ncode = "fire"\r\nzh = "消防"\r\n', encoding="utf-8")
    (root / "calendar.toml").write_text(
        '[[campaign]]\r\nid = "spring"\r\nstart = "02-01"\r\nend = "02-10"\r\n'
        'categories = { fraud = 2, "噪音" = 1, nope = 3 }\r\n', encoding="utf-8")
    shown = {str(p) for p in load_library(root).problems}
    assert shown == {
        "content/tips/a.toml:18: t2: variants[2]: is empty",
        "content/categories.toml:5: -: en: required key is missing",
        "content/calendar.toml:5: spring: categories.噪音: unknown category '噪音'",
        "content/calendar.toml:5: spring: categories.nope: unknown category 'nope'",
    }
