"""The command line speaks the language asked for: --lang, else OUTREACH_LANG, else the locale.

Golden files under tests/golden/zh/ hold what a Chinese officer sees; they are compared
exactly (``OUTREACH_UPDATE_GOLDEN=1`` rewrites them after a deliberate change). Only words
change: JSON, exit codes and the ``file:line: key:`` prefix of errors are the same in every
language.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from outreach import i18n
from outreach.cli import language
from tests.conftest import local_config

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "zh"
LOCALE_VARS = ("OUTREACH_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    """``python -m outreach`` as a user runs it, with a fixed terminal width and only the
    locale variables given in ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    base.update({"COLUMNS": "100", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "outreach", *args], capture_output=True,
                          text=True, encoding="utf-8", env=base, cwd=cwd, timeout=120)


ZH = {"LANG": "zh_CN.UTF-8"}


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("OUTREACH_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs:\n{text}"


@pytest.fixture
def quiet_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose account has no slots, so nothing in its listings depends on today."""
    from tests.factories import make_workspace

    return make_workspace(tmp_path / "ws", local_config(slots=""), monkeypatch)


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a workspace (no slots: nothing depends on today) holding three
    posts in fixed future times: a draft, a queued tip and a queued approved text. Shared by
    the tests that only read it."""
    from outreach.library.starter import write_starter

    root = tmp_path_factory.mktemp("lang")
    write_starter(root)
    (root / "config.toml").write_text(local_config(slots=""), encoding="utf-8")
    env = {"OUTREACH_CONFIG": str(root / "config.toml"), "OUTREACH_USER": "officer-a"}
    for args in (
        ("queue", "add", "--account", "pingan-local", "--text", "今晚有雨，注意出行安全。",
         "--at", "2031-03-01T09:00"),
        ("content", "approve", "cyber-qr-codes-zh", "--by", "officer-b"),
        ("queue", "add", "--account", "pingan-local", "--tip", "cyber-qr-codes-zh",
         "--at", "2031-03-02T20:30"),
        ("queue", "add", "--account", "pingan-local", "--text", "守护平安，从我做起。",
         "--at", "2031-03-03T08:00"),
        ("queue", "approve", "3", "--by", "officer-b"),
    ):
        r = run(*args, env=env, cwd=root)
        assert r.returncode == 0, r.stderr
    return env


# --- the help, in Chinese -----------------------------------------------------------------


def test_the_root_help_is_chinese_under_a_chinese_locale() -> None:
    r = run("--help", env=ZH)
    assert r.returncode == 0, r.stderr
    assert_golden("help.txt", r.stdout)


def test_a_sub_commands_help_is_chinese_with_click_s_own_words() -> None:
    r = run("queue", "list", "--help", env=ZH)
    assert r.returncode == 0, r.stderr
    assert_golden("queue-list-help.txt", r.stdout)
    assert "Usage" not in r.stdout and "Options" not in r.stdout
    assert "Show this message" not in r.stdout and "default" not in r.stdout


def test_lang_given_after_help_still_decides_the_help() -> None:
    r = run("--help", "--lang", "zh")
    assert r.returncode == 0 and r.stdout.startswith("用法："), r.stdout[:200]
    assert run("--lang", "en", "--help", env=ZH).stdout.startswith("Usage: ")


def test_every_command_s_short_help_fits_its_line_in_chinese() -> None:
    r = run("--help", env=ZH)
    listing = r.stdout.split("命令：\n", 1)[1].splitlines()
    assert len(listing) >= 19
    for line in listing:
        assert cell_len(line) <= 100, line
        assert line.rstrip(".").strip() != line.split()[0], f"no help shown: {line!r}"


# --- usage errors: click's words, exit 2 ----------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (("--bogus",), "错误：没有此选项：--bogus"),
    (("nonesuch",), "错误：没有此命令 'nonesuch'。"),
    (("queue", "show"), "错误：缺少参数 'ID'。"),
    (("queue", "show", "abc"), "错误：'ID' 的值无效：应为有效整数，无法把该字符串解析为整数"),
    (("queue", "list", "--limit", "-1"), "错误：'--limit' 的值无效：应大于或等于 0"),
    (("queue", "retract", "3"), "错误：缺少选项 '--reason'。"),
    (("queue", "list", "--status", "x"), "错误：--status 的值无效：必须是以下之一：draft, queued"),
])
def test_usage_errors_are_chinese_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    r = run(*args, env=ZH)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("用法：") and "查看帮助。" in r.stderr, r.stderr
    assert expected in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_usage_error_on_the_root_line_speaks_the_lang_option() -> None:
    r = run("--lang", "zh", "--bogus")
    assert r.returncode == 2 and "错误：没有此选项：--bogus" in r.stderr, r.stderr


# --- choosing the language ------------------------------------------------------------------


def test_a_bad_lang_option_is_a_usage_error() -> None:
    r = run("--lang", "fr", "status")
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--lang': 'fr' is not a language outreach speaks (zh, en)")


def test_a_bad_outreach_lang_is_one_error_line_and_exit_1() -> None:
    r = run("status", env={"OUTREACH_LANG": "klingon"})
    assert r.returncode == 1
    assert r.stderr == ("error: OUTREACH_LANG: 'klingon' is not a language outreach speaks "
                        "(zh, en)\n")
    assert run("--lang", "en", "--help", env={"OUTREACH_LANG": "klingon"}).returncode == 0


def test_the_lang_option_beats_outreach_lang_which_beats_the_locale(
        posts: dict[str, str]) -> None:
    def says(*args: str, **env: str) -> str:
        return run(*args, "queue", "list", env={**posts, **env}).stderr

    zh, en = "共 3 条帖子\n", "3 post(s)\n"
    assert says(OUTREACH_LANG="zh", LANG="C") == zh
    assert says(OUTREACH_LANG="en", **ZH) == en
    assert says("--lang", "en", OUTREACH_LANG="zh") == en
    assert says("--lang=zh") == zh
    assert says(LC_ALL="C", **ZH) == en
    assert says(LC_MESSAGES="zh_CN.UTF-8", LANG="en_US.UTF-8") == zh
    assert says() == en


def test_lang_is_only_read_from_the_root_s_own_options() -> None:
    from typer.main import get_command

    from outreach.cli.app import app

    root = get_command(app)
    assert language.lang_argument(root, ["-c", "--lang", "queue"]) is None  # a config file
    assert language.lang_argument(root, ["-v", "--lang", "zh", "queue"]) == "zh"
    assert language.lang_argument(root, ["report", "--lang", "en"]) is None  # the report's
    assert language.lang_argument(root, ["--", "--lang", "zh"]) is None
    assert language.lang_argument(root, ["--config", "c.toml", "--lang=en"]) == "en"


@pytest.mark.parametrize(("at", "expected"), [
    ("2020-01-01T08:00", "--at: 2020-01-01 08:00 CST 已经过去"),
    ("2031-02-30T08:00", "--at: '2031-02-30T08:00' 不是有效的日期时间"),
    ("soon", "--at: 无法把 'soon' 读作时间"),
    ("25:00", "--at: '25:00' 不是有效的时刻"),
])
def test_a_bad_time_is_refused_in_chinese(posts: dict[str, str], at: str, expected: str) -> None:
    """What is wrong with a time is said in the reader's language; the option stays as typed."""
    r = run("queue", "add", "--account", "pingan-local", "--text", "提醒：注意防范电信诈骗。",
            "--at", at, env={**posts, **ZH})
    assert r.returncode == 1, r.stderr
    assert expected in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# --- listings: words translated, JSON identical ----------------------------------------------


def test_queue_list_is_chinese_and_aligned_by_display_width(posts: dict[str, str]) -> None:
    r = run("queue", "list", env={**posts, **ZH})
    assert r.returncode == 0, r.stderr
    assert_golden("queue-list.txt", r.stdout + r.stderr)
    header, rule, *rows = r.stdout.splitlines()
    columns = [m.start() for m in re.finditer(r"(?<=  )\S|^\S", header)]
    for row in rows:  # each column starts at the same display column as its header
        for start in columns:
            prefix = header[:start]
            shown = row[:len(row)]
            width = cell_len(prefix)
            cut = 0
            while cell_len(shown[:cut]) < width:
                cut += 1
            assert shown[cut - 1:cut] in (" ", ""), (header, row)
    assert cell_len(rule) == max(cell_len(x) for x in (header, *rows))


def test_status_is_chinese(posts: dict[str, str]) -> None:
    r = run("status", env={**posts, **ZH})
    assert r.returncode == 1  # the daemon never ran: unhealthy
    # what a problem says is the health check's; the label and the layout are the CLI's
    shown = re.sub(r"(?m)^(问题：|提醒：) .+$", r"\1 …", r.stdout)
    assert "问题： …" in shown
    assert_golden("status.txt", shown)


@pytest.mark.parametrize("args", [
    ("queue", "list", "--json"), ("content", "list", "--json"),
    ("accounts", "list", "--json"), ("content", "list", "--stats", "--json"),
    ("notify", "list", "--json"), ("opinions", "--json"), ("queue", "show", "1", "--json"),
])
def test_json_is_byte_identical_in_every_language(posts: dict[str, str],
                                                  args: tuple[str, ...]) -> None:
    en = run("--lang", "en", *args, env=posts)
    zh = run("--lang", "zh", *args, env=posts)
    assert (zh.returncode, zh.stdout) == (en.returncode, en.stdout)
    assert en.stdout.strip()


def test_status_json_differs_only_in_the_time_it_was_checked(posts: dict[str, str]) -> None:
    strip = re.compile(r'"(checked_at|age_seconds)": [^,\n]*')
    en = strip.sub("", run("--lang", "en", "status", "--json", env=posts).stdout)
    zh = strip.sub("", run("--lang", "zh", "status", "--json", env=posts).stdout)
    assert en == zh and '"daemon": null' in en


# --- errors: the words change, the file:line: key: prefix does not ----------------------------


def test_a_bad_config_error_is_chinese_with_the_same_prefix(quiet_workspace: Path) -> None:
    config = quiet_workspace / "config.toml"
    config.write_text(config.read_text("utf-8").replace(
        'timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "utf-8")
    en, zh = run("--lang", "en", "status"), run("status", env=ZH)
    assert en.returncode == zh.returncode == 1
    assert en.stderr.count("\n") == zh.stderr.count("\n") == 1, zh.stderr
    assert en.stderr.startswith("error: ") and zh.stderr.startswith("错误： ")
    prefix = re.match(r"error: (\S+:\d+: [\w.\[\]-]+:)", en.stderr)
    assert prefix is not None, en.stderr
    assert zh.stderr.startswith("错误： " + prefix.group(1)), zh.stderr
    assert f"{config}:3: " in en.stderr or "config.toml:3: " in en.stderr


def test_a_content_check_error_is_chinese_with_the_same_prefix(quiet_workspace: Path) -> None:
    tips = quiet_workspace / "content" / "tips" / "cyber_zh.toml"
    text = tips.read_text("utf-8")
    tips.write_text(text.replace('id = "cyber-qr-codes-zh"', 'id = "cyber-qr-codes-zh"\n'
                                 'category = "no-such-category"', 1), "utf-8")
    en, zh = run("--lang", "en", "content", "check"), run("content", "check", env=ZH)
    assert en.returncode == zh.returncode == 1, en.stdout + en.stderr
    en_lines, zh_lines = en.stdout.splitlines(), zh.stdout.splitlines()
    assert len(en_lines) == len(zh_lines) >= 1
    for en_line, zh_line in zip(en_lines, zh_lines, strict=True):
        where = re.match(r"\S+:\d+: [\w-]+: ", en_line)
        assert where is not None, en_line
        assert zh_line.startswith(where.group(0)), (en_line, zh_line)
    summary = re.fullmatch(r"(\d+) tips, (\d+) error\(s\), (\d+) warning\(s\)\n", en.stderr)
    assert summary is not None, en.stderr
    tips_n, errors, warnings = summary.groups()
    assert zh.stderr == f"{tips_n} 个知识条目，{errors} 个错误，{warnings} 个提醒\n"
    assert_golden("content-check-summary.txt", zh.stderr)


# --- human-readable times -------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "en", "zh"), [
    (0.0, "0.0 s ago", "0.0 秒前"), (12.5, "12.5 s ago", "12.5 秒前"),
    (180, "3 min ago", "3 分钟前"), (7_300, "2 h ago", "2 小时前"),
    (3 * 86_400 + 5, "3 d ago", "3 天前"), (-0.3, "0 s ago", "0 秒前"),
])
def test_ago_reads_like_people_say_it(seconds: float, en: str, zh: str) -> None:
    from outreach.cli.output import ago

    with i18n.use_language("en"):
        assert ago(seconds) == en
    with i18n.use_language("zh"):
        assert ago(seconds) == zh


# --- the catalogue covers click's sentences ---------------------------------------------------


def test_click_sentences_are_matched_and_nested_reasons_translated() -> None:
    with i18n.use_language("zh"):
        assert language.translate_message(
            "Invalid value for '--days': Input should be less than or equal to 366") == \
            "'--days' 的值无效：应小于或等于 366"
        assert language.translate_message("No such option: --x (Possible options: --y, --z)") \
            == "没有此选项：--x（可能的选项：--y, --z）"
        assert language.translate_message("Error: The two entered values do not match.") == \
            "错误：两次输入的值不一致。"
        assert language.translate_message("something click never said") == \
            "something click never said"
    with i18n.use_language("en"):
        assert language.translate_message("No such option: --x") == "No such option: --x"


def test_each_in_process_run_chooses_its_language_again(workspace: Path, cli) -> None:
    assert cli("--lang", "zh", "queue", "list").err == "没有帖子\n"
    assert cli("queue", "list").err == "no posts\n"
    zh = cli("--lang", "zh", "queue", "list", "--help").out
    assert "列出帖子" in zh and "显示此帮助并退出。" in zh
    en = cli("queue", "list", "--help").out  # the same command objects, English again
    assert "List posts" in en and "Show this message and exit." in en and "选项" not in en
