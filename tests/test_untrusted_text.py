"""Untrusted text: what the public writes (and what a platform sends back) never drives the
officer's terminal, and the tip renderer is a sandbox with a size cap.

`outreach.output.safe` strips ANSI (CSI), OSC and other control sequences and escapes Rich
markup; every command that shows a post, a comment or a tip goes through it. The checks
render through a Rich console forced into terminal mode, so Rich's own colours are there
and only they may be.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from outreach import output
from outreach.content import MAX_RENDERED, Renderer
from outreach.errors import ContentError
from outreach.output import safe
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


def test_queue_commands_neutralise_a_hostile_post(workspace: Path, cli: Cli,
                                                  terminal: None) -> None:
    # an ad-hoc text with control characters is refused; a library tip can still carry them
    r = cli("queue", "add", "--account", "pingan-local", "--text", POST_TEXT)
    assert r.code == 1 and "control character" in r.err
    escaped = "".join(f"\\u{ord(c):04X}" if not c.isprintable() or c in '"\\' else c
                      for c in POST_TEXT)  # a TOML basic string
    (workspace / "content" / "tips" / "hostile_zh.toml").write_text(
        f'[[tip]]\nid = "hostile-zh"\ncategory = "fraud"\nlang = "zh"\ntext = "{escaped}"\n'
        'review_by = 2099-01-01\nsource = "test"\n', "utf-8")
    assert cli("content", "approve", "hostile-zh", "--by", "officer-b").code == 0
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "hostile-zh", "--json")
    assert r.code == 0, r.err
    assert r.json["text"] == POST_TEXT  # stored as written
    assert "\x1b" not in r.out  # JSON escapes control characters
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


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0) as server:
        yield server


def test_comments_from_the_public_are_inert(workspace: Path, cli: Cli, terminal: None,
                                            weibo_server: WeiboServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    weibo_server.reset()
    monkeypatch.setenv("OUTREACH_UNTRUSTED_WEIBO_TOKEN", TOKEN)
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
