"""Untrusted text: what the public writes (and what a platform sends back) never drives the
officer's terminal, and the tip renderer is a sandbox with a size cap.

`outreach.cli.output.safe` strips ANSI (CSI), OSC and other control sequences and escapes Rich
markup; every command that shows a post, a comment or a tip goes through it. The checks
render through a Rich console forced into terminal mode, so Rich's own colours are there
and only they may be.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from outreach.cli import output
from outreach.cli.output import safe
from outreach.errors import ContentError
from outreach.library.render import MAX_RENDERED, Renderer
from tests.conftest import DATABASE_URL, Result
from tests.weibo_server import WeiboServer

Cli = Callable[..., Result]

# Rich's own styling: SGR sequences only (ESC [ params m)
SGR = re.compile(r"\x1b\[[0-9;]*m")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = {
    "csi-colour": "注意\x1b[31m红色\x1b[0m字",
    "csi-clear-screen": "\x1b[2J\x1b[H清屏了",
    "csi-private-mode": "\x1b[?1049h切换屏幕\x1b[?25l",
    "csi-device-report": "查询\x1b[6n终端",
    "csi-truecolour": "\x1b[38;2;255;0;0m真彩\x1b[m",
    "osc-title": "\x1b]0;pwned\x07改标题",
    "osc-hyperlink": "\x1b]8;;http://evil.example\x1b\\点我\x1b]8;;\x1b\\",
    "osc-clipboard": "\x1b]52;c;ZXZpbA==\x07剪贴板",
    "dcs": "\x1bP1$r0m\x1b\\设备",
    "c1-csi": "八位\x9b31m控制",
    "backspace": "evil\x08\x08\x08\x08good",
    "carriage-return": "真实内容\r伪造内容",
    "nul-and-bell": "空\x00字符\x07响铃\x7f删除",
    "rich-markup": "[bold red]假通知[/] [link=http://evil.example]点我[/link]",
    "rich-closing-tag": "[/]意外结束[/bold]",
    "trailing-backslash": "路径C:\\",
    "escaped-bracket": "\\[bold]不是粗体",
}


def render(markup: str, *, width: int = 200) -> str:
    """What a terminal receives when a command prints ``markup`` the way outreach does."""
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, color_system="truecolor", width=width,
                      highlight=False, soft_wrap=True, emoji=False)
    console.print(markup)
    return sink.getvalue()


def visible(terminal: str) -> str:
    return SGR.sub("", terminal)


def assert_inert(terminal: str) -> None:
    """Only Rich's own SGR styling; no other escape or control character."""
    rest = visible(terminal)
    assert "\x1b" not in rest, repr(rest)
    assert not CONTROL.search(rest.replace("\n", "")), repr(rest)


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_leaves_nothing_a_terminal_obeys(name: str) -> None:
    text = HOSTILE[name]
    cleaned = safe(text)
    assert "\x1b" not in cleaned and "\x07" not in cleaned and "\x9b" not in cleaned
    assert not CONTROL.search(cleaned.replace("\n", "").replace("\t", ""))
    terminal = render(f"[red]{cleaned}[/]")  # as print_posts and friends wrap it
    assert_inert(terminal)


@pytest.mark.parametrize("text", [
    "[bold red]假通知[/]", "[link=http://evil.example]点我[/link]", "[/]意外结束[/bold]",
    "路径C:\\", "\\[bold]不是粗体", "a [b] c [/b] d", "[[x]]",
])
def test_markup_in_text_is_shown_literally(text: str) -> None:
    shown = visible(render(f"[green]{safe(text)}[/]"))
    assert shown.rstrip("\n") == text


@pytest.mark.parametrize(("text", "kept"), [
    ("注意\x1b[31m红色\x1b[0m字", "注意红色字"),
    ("\x1b[2J\x1b[H清屏了", "清屏了"),
    ("\x1b[38;2;255;0;0m真彩\x1b[m", "真彩"),
    ("\x1b[?1049h切换屏幕\x1b[?25l", "切换屏幕"),
    ("evil\x08\x08\x08\x08good", "evilgood"),
    ("真实内容\r伪造内容", "真实内容伪造内容"),
])
def test_csi_sequences_go_whole(text: str, kept: str) -> None:
    assert safe(text) == kept


@pytest.mark.parametrize(("text", "kept"), [
    ("\x1b]0;pwned\x07改标题", "改标题"),
    ("\x1b]8;;http://evil.example\x1b\\点我\x1b]8;;\x1b\\", "点我"),
    ("\x1b]52;c;ZXZpbA==\x07剪贴板", "剪贴板"),
])
def test_osc_sequences_go_whole(text: str, kept: str) -> None:
    assert safe(text) == kept


def test_bidi_overrides_are_removed() -> None:
    cleaned = safe("转账请联系\u202e0110-1234\u202c客服\u2066x\u2069")
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", cleaned)


def test_safe_of_nothing_is_empty() -> None:
    assert safe(None) == "" and safe("") == ""


# --- through the commands -------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands print to a console that believes it is a colour terminal."""
    monkeypatch.setattr(output, "out", Console(force_terminal=True, color_system="truecolor",
                                               width=200, highlight=False, soft_wrap=False))
    monkeypatch.setattr(output, "err", Console(stderr=True, force_terminal=True,
                                               color_system="truecolor", width=200,
                                               highlight=False))


POST_TEXT = ("注意\x1b[31m红色\x1b[0m[bold]粗体[/bold]\x1b]0;pwned\x07\x1b[2J"
             "\x9b6n\x08\x08假")
MARKUP_TEXT = "注意[red]红色[/red][bold]粗体[/bold][/] [link=http://evil.example]点我[/link]\\"


def test_a_post_with_control_characters_is_refused(workspace: Path, cli: Cli,
                                                   terminal: None) -> None:
    r = cli("queue", "add", "--account", "pingan-local", "--text", POST_TEXT, "--json")
    assert r.code == 1
    assert "U+001B (ESCAPE) at character 3" in visible(r.err)
    assert_inert(r.err)
    assert cli("queue", "list", "--json").json == []


def test_queue_commands_neutralise_a_hostile_post(workspace: Path, cli: Cli,
                                                  terminal: None) -> None:
    r = cli("queue", "add", "--account", "pingan-local", "--text", MARKUP_TEXT, "--json")
    assert r.code == 0, r.err
    assert r.json["text"] == MARKUP_TEXT  # stored as written
    assert cli("queue", "approve", "1", "--by", "officer-b").code == 0
    for args in (("queue", "list"), ("queue", "show", "1"), ("plan", "--days", "1"),
                 ("run", "--once", "--dry-run")):
        r = cli(*args)
        assert r.code == 0, (args, r.err)
        assert_inert(r.out)
        assert_inert(r.err)
        shown = visible(r.out)
        if args[0] == "queue":
            assert "[bold]" in shown, shown  # markup shown, not applied
            assert "\x1b[1m粗体" not in r.out


def test_an_error_naming_hostile_input_is_inert(workspace: Path, cli: Cli, terminal: None) -> None:
    for args in (("queue", "add", "--account", "\x1b[2J\x1b]0;x\x07evil", "--text", "x"),
                 ("content", "show", "\x1b[31m[bold]tip"),
                 ("queue", "add", "--account", "pingan-local", "--text", "x", "--at",
                  "\x1b[2J[red]soon")):
        r = cli(*args)
        assert r.code == 1, (args, r.err)
        assert_inert(r.err)
        assert "Traceback" not in r.err


def test_a_hostile_tip_is_inert_in_content_commands(workspace: Path, cli: Cli,
                                                    terminal: None) -> None:
    (workspace / "content" / "tips" / "hostile.toml").write_text(
        '[[tip]]\nid = "hostile-zh"\ncategory = "fraud"\nlang = "zh"\n'
        'title = "\\u001b]0;pwned\\u0007[bold]标题[/bold]"\n'
        'text = "正文\\u001b[2J{{ city }}\\u009b6n"\n'
        'source = "\\u001b[31m公安部"\n'
        '\n[[tip]]\nid = "hostile-bad-zh"\ncategory = "fraud"\nlang = "zh"\n'
        'text = "\\u001b[2J{{ nosuch }}"\nsource = "x"\n', encoding="utf-8")
    for args, code in ((("content", "show", "hostile-zh", "--account", "pingan-local"), 0),
                       (("content", "list"), 0), (("content", "check"), 1)):
        r = cli(*args)
        assert r.code == code, (args, r.out, r.err)
        assert_inert(r.out)
        assert_inert(r.err)


# --- square brackets are text, wherever they come from --------------------------------------

BRACKETS = "[/]事故[bold]处置[/bold] [link=http://evil.example]x[/link] C:\\"


def test_brackets_in_a_pause_reason_are_shown_as_written(workspace: Path, cli: Cli,
                                                         terminal: None) -> None:
    r = cli("pause", "--reason", BRACKETS)
    assert r.code == 0, r.err
    assert BRACKETS in visible(r.err)
    assert "Traceback" not in r.err and "internal error" not in r.err
    r = cli("accounts", "list")
    assert r.code == 0, r.err
    assert_inert(r.out)
    r = cli("resume", "--account", "[/]nobody")
    assert r.code == 1 and "[/]nobody" in visible(r.err), r.err


def test_brackets_in_file_names_and_category_names_are_shown_as_written(
        workspace: Path, cli: Cli, terminal: None) -> None:
    folder = workspace / "[bold]导入[red]"
    folder.mkdir()
    (folder / "a.csv").write_text("account,at,text\npingan-local,+1h,夜里出行注意安全\n",
                                  encoding="utf-8")
    r = cli("queue", "import", str(folder / "a.csv"))
    assert r.code == 0, r.err
    assert str(folder / "a.csv") in visible(r.err)
    with (workspace / "content" / "categories.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[category]]\ncode = "zz"\nzh = "[/]测验[bold]"\nen = "[/b]Quiz"\n')
    r = cli("content", "list", "--stats")
    assert r.code == 0, r.err
    assert "[/]测验[bold]" in visible(r.out) and "[/b]Quiz" in visible(r.out)


def test_brackets_in_a_remote_error_are_shown_as_written(workspace: Path, cli: Cli,
                                                         terminal: None,
                                                         weibo_server: WeiboServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    weibo_server.reset()
    monkeypatch.setenv("OUTREACH_UNTRUSTED_WEIBO_TOKEN", TOKEN)
    _weibo_config(workspace, weibo_server)
    weibo_server.fault("/2/users/show.json", "error_code", code=10001, count=-1,
                       message="[/]系统[bold]错误")
    for args in (("metrics", "collect"), ("accounts", "check"), ("run", "--once")):
        r = cli(*args)
        assert r.code in (0, 1), (args, r.err)
        assert "internal error" not in r.err and "Traceback" not in r.err, (args, r.err)
        assert_inert(r.out)
        assert_inert(r.err)
    r = cli("accounts", "check")
    assert "[/]系统[bold]错误" in visible(r.out + r.err), r.out + r.err


# --- the public's comments ---------------------------------------------------------------------


COMMENTS = [
    "\x1b[2J\x1b[H清屏了",
    "\x1b]0;pwned\x07改标题",
    "&#x1b;[31m实体编码的转义&#x1b;[0m",
    "[bold red]假通知[/] [link=http://evil.example]点我[/link]",
    "evil\x08\x08\x08\x08good\r覆盖",
    "\x9b31m八位控制",
]
TOKEN = "untrusted-text-weibo-token"


def _weibo_config(workspace: Path, weibo_server: WeiboServer) -> None:
    (workspace / "config.toml").write_text(f"""\
[outreach]
database = "{DATABASE_URL}"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "{weibo_server.url}"
token_env = "OUTREACH_UNTRUSTED_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"

[policy]
require_approval = false
min_gap_minutes = 0
""", encoding="utf-8")


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0) as server:
        yield server


def test_comments_from_the_public_are_inert(workspace: Path, cli: Cli, terminal: None,
                                            weibo_server: WeiboServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    weibo_server.reset()
    monkeypatch.setenv("OUTREACH_UNTRUSTED_WEIBO_TOKEN", TOKEN)
    _weibo_config(workspace, weibo_server)
    r = cli("queue", "add", "--account", "wb", "--text", "夜间出行请结伴而行。", "--json")
    assert r.code == 0, r.err
    assert cli("run", "--once").code == 0
    [status] = weibo_server.statuses()
    weibo_server.engage(status["idstr"], comments=[
        {"author": f"\x1b[2J网友{i}[bold]", "text": text} for i, text in enumerate(COMMENTS)])
    r = cli("metrics", "collect")
    assert r.code == 0, r.err
    r = cli("opinions", "--json")
    assert r.code == 0, r.err
    rows: list[dict[str, Any]] = r.json
    assert len(rows) == len(COMMENTS)
    assert "\x1b" not in r.out
    r = cli("opinions")
    assert r.code == 0, r.err
    assert_inert(r.out)
    assert_inert(r.err)
    shown = visible(r.out)
    assert "[bold red]假通知[/]" in shown or "[bold red]假通知" in shown  # literal, not styled
    for args in (("queue", "list"), ("queue", "show", "1"), ("status",), ("accounts", "list")):
        r = cli(*args)
        assert_inert(r.out)
        assert_inert(r.err)


# --- the tip renderer is a sandbox ------------------------------------------------------------


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__.__mro__}'.format(1) }}",
    "{{ '%s' | format(''.__class__) }}",
    "{{ range.__self__ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}{{ os }}",
    "{% extends '/etc/passwd' %}",
    "{{ config }}",
    "{{ request.environ }}",
    "{{ city.__len__() }}",
    "{% set x = city.__class__ %}{{ x }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused(source: str) -> None:
    renderer = Renderer({})
    with pytest.raises(ContentError) as info:
        renderer.render_string(source, {"city": "北京", "hotline": {"police": "110"}})
    message = str(info.value)
    assert "root:" not in message and "<class" not in message and "<module" not in message
    assert len(message) < 400


@pytest.mark.parametrize("source", [
    "{{ 'x' * 20000 }}",
    "{% for i in range(20000) %}长{% endfor %}",
    "{{ city * 6000 }}",
    "{% for i in range(200) %}{% for j in range(200) %}x{% endfor %}{% endfor %}",
])
def test_oversize_output_is_refused(source: str) -> None:
    with pytest.raises(ContentError, match="size cap"):
        Renderer({}).render_string(source, {"city": "北京"})


def test_huge_ranges_are_refused_before_they_run() -> None:
    with pytest.raises(ContentError, match="[Rr]ange"):
        Renderer({}).render_string("{% for i in range(10**9) %}{% endfor %}", {})


def test_the_size_cap_applies_to_platform_templates_too() -> None:
    renderer = Renderer({"local": "{{ text }}{{ 'x' * 20000 }}"})
    with pytest.raises(ContentError, match="size cap"):
        renderer.wrap("local", "正文", title="", tags=(), variables={})
    at_cap = "x" * (MAX_RENDERED - 10)
    assert Renderer({}).render_string("{{ t }}", {"t": at_cap}) == at_cap


def test_rendering_is_plain_text_and_strict() -> None:
    renderer = Renderer({})
    assert renderer.render_string("{{ a }} & <b>", {"a": "<i>&</i>"}) == "<i>&</i> & <b>"
    with pytest.raises(ContentError, match="undefined"):
        renderer.render_string("{{ hotline.nosuch }}", {"hotline": {"police": "110"}})
    with pytest.raises(ContentError, match="undefined"):
        renderer.render_string("{{ missing }}", {})


def test_literal_text_is_never_rendered(workspace: Path, cli: Cli) -> None:
    source = "{{ ''.__class__.__mro__ }}{% for i in range(10**9) %}{% endfor %}"
    r = cli("queue", "add", "--account", "pingan-local", "--text", source, "--json")
    assert r.code == 0, r.err
    assert r.json["text"] == source


# --- rendering is bounded while it runs, not after -------------------------------------------

RUNAWAY = {  # tip id: a template that would run for hours or take gigabytes
    "nested-loops-zh": "{% for a in range(100000) %}{% for b in range(100000) %}"
                       "{% endfor %}{% endfor %}好",
    "nested-string-loops-zh": "{% set s = 'x' * 5000 %}{% for a in s %}{% for b in s %}"
                              "{% for c in s %}{% endfor %}{% endfor %}{% endfor %}好",
    "big-repeat-zh": "{{ ('防' * 100000000)[:10] }}",
    "doubling-zh": "{% set s = 'x' * 1000 %}" + "{% set s = s ~ s %}" * 30 + "{{ s[:5] }}",
    "ljust-zh": "{{ city.ljust(300000000)[:3] }}",
    "format-width-zh": "{{ '{:>300000000}'.format(1)[:3] }}",
    "percent-width-zh": "{{ ('%300000000s' % 1)[:3] }}",
    "filter-width-zh": "{{ (city | center(300000000))[:3] }}",
    "power-zh": "{{ (10 ** (10 ** 9)) % 7 }}",
    "macro-fork-zh": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
                     "{% endmacro %}{{ f(40) }}好",
    "macro-loop-buffer-zh": "{% set s = 'x' * 9000 %}{% macro m() %}{% for i in range(90000) %}"
                            "{{ s }}{% endfor %}{% endmacro %}{{ m()[:3] }}",
    "recursion-zh": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "nested-repeat-zh": "{% set a = [range(100000) | list] * 100000 %}{{ (a | string)[:3] }}",
    "lipsum-zh": "{{ lipsum(n=100000)[:3] }}",
    "join-of-lists-zh": "{% set a = [range(1000) | list] * 1000 %}{{ a | sum(start=[]) | length }}",
}


def _runaway_library(workspace: Path) -> None:
    for path in (workspace / "content" / "tips").glob("*.toml"):
        if path.name != "fraud_zh.toml":
            path.unlink()
    entries = []
    for tip_id, text in RUNAWAY.items():
        entries.append(f"[[tip]]\nid = \"{tip_id}\"\ncategory = \"fraud\"\nlang = \"zh\"\n"
                       f"text = '''{text}'''\nsource = \"公安部\"\n")
    (workspace / "content" / "tips" / "runaway.toml").write_text("\n".join(entries),
                                                                  encoding="utf-8")


@pytest.mark.slow
def test_runaway_templates_are_stopped_while_rendering(workspace: Path) -> None:
    _runaway_library(workspace)
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "outreach", "content", "check"],
                              cwd=workspace, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "300"})
    except subprocess.TimeoutExpired:
        pytest.fail("content check did not finish within 60 s")
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    text = (workspace / "content" / "tips" / "runaway.toml").read_text("utf-8")
    for tip_id in RUNAWAY:
        line = text[:text.index(f'id = "{tip_id}"')].count("\n")  # the [[tip]] line above
        hits = [row for row in proc.stdout.splitlines() if f": {tip_id}: " in row]
        assert hits, (tip_id, proc.stdout)
        assert hits[0].startswith(f"content/tips/runaway.toml:{line}: {tip_id}: "), hits
    assert elapsed < 30, elapsed


@pytest.mark.parametrize("tip_id", list(RUNAWAY))
def test_a_runaway_template_is_refused_quickly_and_small(tip_id: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ContentError) as info:
        Renderer({}).render_string(RUNAWAY[tip_id], {"city": "北京"})
    assert time.perf_counter() - started < 3
    tracemalloc.start()
    try:
        with pytest.raises(ContentError):
            Renderer({}).render_string(RUNAWAY[tip_id], {"city": "北京"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, peak
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(("source", "expected"), [
    ("{% for i in range(3) %}{% for j in range(3) %}{{ i * j }}{% endfor %}{% endfor %}",
     "000012024"),
    ("{{ '-' * 20 }}", "-" * 20),
    ("{{ city ~ city }}", "北京北京"),
    ("{{ '%05d' | format(42) }}{{ '{:>4}'.format(7) }}", "00042   7"),
    ("{{ 2 ** 10 }} {{ 20270101 }}", "1024 20270101"),
    ("{% macro f(n) %}{% if n %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}",
     "54321"),
])
def test_ordinary_templates_still_render(source: str, expected: str) -> None:
    assert Renderer({}).render_string(source, {"city": "北京"}) == expected


def test_a_reply_with_control_characters_is_refused(workspace: Path, cli: Cli,
                                                    weibo_server: WeiboServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    weibo_server.reset()
    monkeypatch.setenv("OUTREACH_UNTRUSTED_WEIBO_TOKEN", TOKEN)
    _weibo_config(workspace, weibo_server)
    assert cli("queue", "add", "--account", "wb", "--text", "夜里出行注意安全").code == 0
    assert cli("run", "--once").code == 0
    [status] = weibo_server.statuses()
    weibo_server.engage(status["idstr"], comments=[{"author": "市民", "text": "请问怎么报警？"}])
    assert cli("metrics", "collect").code == 0
    r = cli("opinions", "--json")
    assert r.code == 0 and r.json, r.err
    comment = r.json[0]["id"]
    r = cli("opinions", "reply", str(comment), "--text", "已收到\u202e请拨打110")
    assert r.code == 1, r.out + r.err
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE) at character 4" in r.err, r.err
    assert len(cli("queue", "list", "--json").json) == 1  # the post; no reply


@pytest.mark.parametrize("source", [
    "{% set a = ['x' * 1000] * 90 %}{{ (a | join('y' * 90000))[:3] }}",
    "{% set a = ['x' * 1000] * 90 %}{{ ('y' * 90000).join(a)[:3] }}",
    "{{ ('ab' * 40000).replace('a', 'x' * 90000)[:3] }}",
    "{{ ('a\\n' * 40000) | indent(90000) | length }}",
])
def test_operations_that_multiply_their_input_are_refused_before_they_run(source: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ContentError, match="size cap"):
            Renderer({}).render_string(source, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak
