"""The message catalogue: every word marked in the code has its Chinese, with the same
placeholders, and the language is chosen the way the CLI documents."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from outreach import i18n

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
FIELD = re.compile(r"\{[^{}]*\}")


def _extracted() -> dict[str, list[str]]:
    """msgid → where it is used, as ``pybabel extract -F babel.cfg`` finds them."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message  # a plural: its singular
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _catalogue(lang: str):
    with i18n.po_path(lang).open("rb") as handle:
        return read_po(handle, domain=i18n.DOMAIN)


def _fields(text: str) -> list[str]:
    return sorted(FIELD.findall(text))


def test_every_marked_message_has_a_chinese_translation() -> None:
    catalogue = _catalogue("zh")
    missing = []
    for msgid, where in sorted(_extracted().items()):
        entry = catalogue.get(msgid)
        strings = () if entry is None else (
            entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{where[0]}: {msgid!r}")
    assert not missing, "no zh translation for:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for entry in _catalogue("zh"):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if text and _fields(text) != _fields(ids[-1]) and _fields(text) != _fields(ids[0]):
                wrong.append(f"{ids[0]!r}: {_fields(ids[0])} ≠ {_fields(text)} in {text!r}")
    assert not wrong, "\n".join(wrong)


def test_the_placeholder_check_catches_a_dropped_field() -> None:
    assert _fields("第 {id} 条") == _fields("Post {id}")
    assert _fields("已保存") != _fields("Post {id} saved.")
    assert _fields("{a}{b}") != _fields("{a}")


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "zh_TW.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.GB18030", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),
    ({"OUTREACH_LANG": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),
    ({"OUTREACH_LANG": "zh-CN", "LANG": "en_US.UTF-8"}, "zh"),
])
def test_the_language_comes_from_outreach_lang_then_the_locale(environ, expected) -> None:
    assert i18n.language_from_env(environ) == expected


def test_an_unknown_outreach_lang_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"OUTREACH_LANG: 'fr' is not a language outreach speaks"):
        i18n.language_from_env({"OUTREACH_LANG": "fr"})


def test_a_context_speaks_its_own_language_whatever_the_process_speaks() -> None:
    before = i18n.current_language()
    try:
        i18n.set_language("en")
        with i18n.use_language("zh"):
            assert i18n.current_language() == "zh"
        assert i18n.current_language() == "en"
    finally:
        i18n.set_language(before)


def test_a_po_file_compiles_without_a_build_step(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Queue"\nmsgstr "队列"\n\n'
                  '#, fuzzy\nmsgid "Draft"\nmsgstr "草"\n', encoding="utf-8")
    compiled = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(po)))
    assert compiled.gettext("Queue") == "队列"
    assert compiled.gettext("Draft") == "Draft"  # a fuzzy guess is not shown


def test_a_compiled_catalogue_is_readable_by_every_user(tmp_path: Path) -> None:
    mo = tmp_path / "outreach.mo"
    i18n._write_quietly(mo, b"compiled")
    assert mo.read_bytes() == b"compiled" and mo.stat().st_mode & 0o044 == 0o044
