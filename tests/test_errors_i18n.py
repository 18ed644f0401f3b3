"""Errors raised below the CLI are in the current language, said when they are raised; the
``file:line: key:`` prefix that scripts and editors read stays byte for byte the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from outreach import i18n
from tests.conftest import Result, local_config

Cli = Callable[..., Result]


def _in_both(run: Callable[[], Result]) -> tuple[Result, Result]:
    with i18n.use_language("en"):
        en = run()
    with i18n.use_language("zh"):
        zh = run()
    return en, zh


def _only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_a_config_error_reads_in_chinese_with_the_same_prefix(workspace: Path, cli: Cli) -> None:
    cfg = workspace / "config.toml"
    cfg.write_text(local_config().replace('platform = "local"', 'platform = "nope"'),
                   encoding="utf-8")
    en, zh = _in_both(lambda: cli("queue", "list"))
    assert en.code == zh.code == 1
    prefix = f"{cfg}:8: accounts.pingan-local.platform: "
    en_line, zh_line = _only_line(en.err), _only_line(zh.err)
    assert prefix in en_line and prefix in zh_line  # only the "error:" label before it is said
    assert en_line.split(prefix, 1)[1].startswith("unknown platform 'nope' (known: ")
    assert zh_line.split(prefix, 1)[1].startswith("未知平台 'nope'（已知：")


def test_a_config_shape_error_reads_in_chinese(workspace: Path, cli: Cli) -> None:
    cfg = workspace / "config.toml"
    cfg.write_text(local_config(max_attempts=0), encoding="utf-8")
    en, zh = _in_both(lambda: cli("queue", "list"))
    assert en.code == zh.code == 1
    prefix = f"{cfg}:20: policy.max_attempts: "
    en_line, zh_line = _only_line(en.err), _only_line(zh.err)
    assert prefix in en_line and prefix in zh_line  # only the "error:" label before it is said
    assert en_line.split(prefix, 1)[1] == "must be at least 1, got 0"
    assert zh_line.split(prefix, 1)[1] == "至少为 1，实际为 0"


def test_a_content_check_problem_reads_in_chinese_with_the_same_prefix(
        workspace: Path, cli: Cli) -> None:
    for path in (workspace / "content" / "tips").glob("*.toml"):
        if path.name != "fraud_zh.toml":
            path.unlink()
    (workspace / "content" / "tips" / "ctl.toml").write_text(
        '[[tip]]\nid = "ctl-zh"\ncategory = "fraud"\nlang = "zh"\n'
        'text = "注意\\u001b[2J安全"\nsource = "公安部"\n', encoding="utf-8")
    en, zh = _in_both(lambda: cli("content", "check"))
    assert en.code == zh.code == 1
    prefix = "tips/ctl.toml:5: ctl-zh: text: "
    en_line = next(line for line in en.out.splitlines() if prefix in line)
    zh_line = next(line for line in zh.out.splitlines() if prefix in line)
    assert en_line.split(prefix, 1)[0] == zh_line.split(prefix, 1)[0]
    assert en_line.split(prefix, 1)[1] == \
        "has a control character U+001B (ESCAPE) at character 3"
    assert zh_line.split(prefix, 1)[1] == "含有控制字符 U+001B（ESCAPE），位于第 3 个字符"


def test_a_name_or_key_before_a_messages_words_is_kept_byte_for_byte() -> None:
    """``{path}: …``, ``--stagger: …``, ``images[{n}]: …``: what a script or an editor reads
    before the words keeps its half-width ``: `` in every translation. A plain word before a
    colon (``Usage:``, ``held:``) is a word, and is translated."""
    from babel.messages.pofile import read_po

    with i18n.po_path("zh").open("rb") as handle:
        catalogue = read_po(handle, domain=i18n.DOMAIN)
    wrong = []
    for entry in catalogue:
        if not entry.id or not isinstance(entry.id, str):
            continue
        prefix = re.match(r"^[^\s:：]+: ", entry.id)
        if prefix and re.fullmatch(r"[A-Za-z]+: ", prefix.group(0)):
            continue
        if prefix and not str(entry.string).startswith(prefix.group(0)):
            wrong.append(f"{entry.id!r} → {entry.string!r}")
    assert not wrong, "\n".join(wrong)


def test_an_unknown_comment_reads_in_chinese(workspace: Path, cli: Cli) -> None:
    en, zh = _in_both(lambda: cli("opinions", "reply", "99999", "--text", "好"))
    assert en.code == zh.code == 1
    assert "no comment with id 99999" in _only_line(en.err)
    assert "没有编号为 99999 的留言" in _only_line(zh.err)
