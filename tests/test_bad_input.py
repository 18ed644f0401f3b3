"""Bad input of every kind, through the CLI as an officer meets it (DESIGN principle 6).

A table of broken configs, content files, templates, command lines, dates and import files.
Each case runs one command in-process against a workspace whose database already exists and
checks that it fails the way the CLI contract says: exit 1 (2 for a malformed command line),
a short message that names the file, key, line or argument, no traceback, and the database
logically unchanged (``logical_dump`` before and after, not file bytes).

Then the cases that must *not* fail: a broken tip file stops neither `queue list`, `plan` nor
`run` (a bad tip is never drawn), SQL-looking text is stored verbatim as text, and hostile
answers from the platforms (huge, not JSON, wrong types, missing keys) give typed errors,
leave each post in a defined state and never stop `run --once` or the daemon.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from outreach.clients.mastodon import api as mastodon_module
from outreach.clients.weibo import client as weibo_module
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    OutreachError,
    RateLimited,
    RemoteError,
    TransientError,
)
from tests.conftest import ROOT, Result, local_config, logical_dump
from tests.factories import account_settings
from tests.weibo_server import WeiboServer

Cli = Callable[..., Result]
Setup = Callable[["Ctx"], None]

GOOD = local_config()
NO_APPROVAL = local_config(require_approval=False)


@dataclass
class Ctx:
    """What a case's setup may touch: the workspace, the CLI and monkeypatch."""

    ws: Path
    cli: Cli
    monkeypatch: pytest.MonkeyPatch


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # "{ws}" stands for the workspace folder
    code: int
    needles: tuple[str, ...]  # each must appear in stdout + stderr ("{ws}" substituted)
    setup: Setup | None = None
    lines: int = 1  # at most this many non-empty output lines (usage errors: 4)
    xfail: str | None = None

    def param(self) -> Any:
        marks = [pytest.mark.xfail(reason=self.xfail, strict=True)] if self.xfail else []
        return pytest.param(self, id=self.id, marks=marks)


def config(text: str) -> Setup:
    def setup(ctx: Ctx) -> None:
        (ctx.ws / "config.toml").write_text(text, encoding="utf-8")

    return setup


def config_bytes(data: bytes) -> Setup:
    def setup(ctx: Ctx) -> None:
        (ctx.ws / "config.toml").write_bytes(data)

    return setup


def edit(old: str, new: str, base: str = GOOD) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def line_of(text: str, snippet: str) -> int:
    """The 1-based line of the first occurrence of ``snippet`` in ``text``."""
    index = text.index(snippet)
    return text.count("\n", 0, index) + 1


def cfg_case(case_id: str, text: str, needles: tuple[str, ...], *, at: str | None = None,
             args: tuple[str, ...] = ("queue", "list"), xfail: str | None = None) -> Case:
    """A broken config.toml: the message names config.toml (and the line of ``at``)."""
    where = f"config.toml:{line_of(text, at)}:" if at is not None else "config.toml"
    return Case(case_id, args, 1, (where, *needles), config(text))


WEIBO_ACCOUNT = """
[accounts.wb]
platform = "weibo"
api_base = "https://api.weibo.com"
token_env = "OUTREACH_BAD_INPUT_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"
vars = { city = "北京", hotline = { police = "110", fraud = "96110", fire = "119", \
traffic = "122", medical = "120" } }
"""
MASTODON_ACCOUNT = """
[accounts.md]
platform = "mastodon"
api_base = "https://social.example"
token_env = "OUTREACH_BAD_INPUT_MASTODON_TOKEN"
visibility = "public"
lang = "en"
"""


def with_account(block: str, old: str = "", new: str = "") -> str:
    text = edit("[policy]", block.lstrip("\n") + "\n[policy]")
    return edit(old, new, text) if old else text


NO_ACCOUNTS = GOOD[:GOOD.index("[accounts.pingan-local]")] + GOOD[GOOD.index("[policy]"):]
TZ_HUGE = edit('timezone = "Asia/Shanghai"', 'timezone = "' + "A" * 300 + '"')

CONFIG_CASES = [
    cfg_case("config-truncated-table-header", GOOD[:GOOD.index("[accounts.pingan-local]") + 10],
             ("invalid TOML",), at="[accounts."),
    cfg_case("config-truncated-string", GOOD[:GOOD.index('"Asia/Shanghai"') + 8],
             ("invalid TOML", "Unterminated string"), at='timezone = "Asia'),
    cfg_case("config-truncated-inline-table", GOOD[:GOOD.index("vars = {") + 20],
             ("invalid TOML",), at="vars = {"),
    cfg_case("config-type-int-as-string", edit("lease_seconds = 60", 'lease_seconds = "60"'),
             ("policy.lease_seconds", "expected an integer, got a string"), at="lease_seconds"),
    cfg_case("config-type-int-as-float", edit("lease_seconds = 60", "lease_seconds = 6.5"),
             ("policy.lease_seconds", "expected an integer"), at="lease_seconds"),
    cfg_case("config-type-bool-as-string",
             edit("require_approval = true", 'require_approval = "yes"'),
             ("policy.require_approval", "boolean"), at="require_approval"),
    cfg_case("config-type-slots-as-string",
             edit('slots = [{ cron = "0 8 * * *" }]', 'slots = "0 8 * * *"'),
             ("accounts.pingan-local.slots", "expected an array"), at="slots ="),
    cfg_case("config-type-cron-as-int", edit('cron = "0 8 * * *"', "cron = 8"),
             ("accounts.pingan-local.slots[0].cron", "expected a string"), at="slots ="),
    cfg_case("config-type-categories-as-string",
             edit('{ cron = "0 8 * * *" }', '{ cron = "0 8 * * *", categories = "fraud" }'),
             ("slots[0].categories", "expected an array"), at="slots ="),
    cfg_case("config-type-vars-as-int", re.sub(r"vars = .*\n", "vars = 5\n", GOOD, count=1),
             ("accounts.pingan-local.vars", "expected a table"), at="vars ="),
    cfg_case("config-type-accounts-as-int", "accounts = 5\n" + NO_ACCOUNTS,
             ("accounts", "expected a table, got an integer"), at="accounts = 5"),
    cfg_case("config-type-account-as-array",
             edit("[accounts.pingan-local]", "[[accounts.pingan-local]]"),
             ("accounts.pingan-local", "expected a table, got an array")),
    cfg_case("config-unknown-key-outreach", edit("content_dir", "contentdir"),
             ("outreach.contentdir", "unknown key", "content_dir"), at="contentdir"),
    cfg_case("config-unknown-key-account", edit('lang = "zh"', 'lang = "zh"\ntokn_env = "X"'),
             ("accounts.pingan-local.tokn_env", "unknown key"), at="tokn_env"),
    cfg_case("config-unknown-key-slot", edit('{ cron = "0 8 * * *" }',
                                             '{ cron = "0 8 * * *", category = ["fraud"] }'),
             ("accounts.pingan-local.slots[0].category", "unknown key"), at="slots ="),
    cfg_case("config-unknown-key-policy", edit('quiet_hours = ""', 'quiet_hour = ""'),
             ("policy.quiet_hour", "unknown key"), at="quiet_hour"),
    cfg_case("config-unknown-key-metrics", GOOD + "\n[metrics]\npol = []\n",
             ("metrics.pol", "unknown key"), at="pol ="),
    cfg_case("config-unknown-key-metrics-tier",
             GOOD + "\n[metrics]\npoll = [{ age_hours = 24, every_minute = 5 }]\n",
             ("metrics.poll[0].every_minute", "unknown key"), at="poll ="),
    cfg_case("config-unknown-key-opinions", GOOD + "\n[opinions]\nkeepdays = 3\n",
             ("opinions.keepdays", "unknown key"), at="keepdays"),
    cfg_case("config-unknown-key-of-another-platform",
             edit('platform = "local"', 'platform = "local"\nshare_url = "https://x.cn"'),
             ("accounts.pingan-local.share_url", "unknown key"), at="share_url"),
    cfg_case("config-unknown-top-level-table", GOOD + "\n[extra]\nx = 1\n",
             ("extra", "unknown key"), at="[extra]"),
    cfg_case("config-cron-minute-61", edit('cron = "0 8 * * *"', 'cron = "61 * * * *"'),
             ("accounts.pingan-local.slots[0].cron", "'61 * * * *'", "out of range"),
             at="slots ="),
    cfg_case("config-cron-four-fields", edit('cron = "0 8 * * *"', 'cron = "0 8 * *"'),
             ("slots[0].cron", "expected 5 fields"), at="slots ="),
    cfg_case("config-cron-step-zero", edit('cron = "0 8 * * *"', 'cron = "*/0 * * * *"'),
             ("slots[0].cron", "bad step"), at="slots ="),
    cfg_case("config-cron-words", edit('cron = "0 8 * * *"', 'cron = "every day at 8"'),
             ("slots[0].cron", "bad cron"), at="slots ="),
    cfg_case("config-account-timezone-mars",
             edit('platform = "local"', 'platform = "local"\ntimezone = "Mars/Base"'),
             ("accounts.pingan-local.timezone", "unknown timezone 'Mars/Base'"),
             at='timezone = "Mars'),
    cfg_case("config-timezone-path", edit('timezone = "Asia/Shanghai"', 'timezone = "../../etc"'),
             ("outreach.timezone", "unknown timezone"), at='timezone = "../'),
    cfg_case("config-timezone-huge-name", TZ_HUGE, ("outreach.timezone", "unknown timezone"),
             at='timezone = "AAA'),
    cfg_case("config-unknown-platform", edit('platform = "local"', 'platform = "twitter"'),
             ("accounts.pingan-local.platform", "unknown platform 'twitter'"), at="platform ="),
    cfg_case("config-missing-platform", edit('platform = "local"\n', ""),
             ("accounts.pingan-local.platform", "required key is missing")),
    cfg_case("config-quiet-hours-25", edit('quiet_hours = ""', 'quiet_hours = "25:00-07:00"'),
             ("policy.quiet_hours", "HH:MM-HH:MM", "25:00-07:00"), at="quiet_hours"),
    cfg_case("config-quiet-hours-word", edit('quiet_hours = ""', 'quiet_hours = "night"'),
             ("policy.quiet_hours", "'night'"), at="quiet_hours"),
    cfg_case("config-quiet-hours-int", edit('quiet_hours = ""', "quiet_hours = 23"),
             ("policy.quiet_hours", "expected a string"), at="quiet_hours"),
    cfg_case("config-negative-cooldown", edit("cooldown_days = 30", "cooldown_days = -1"),
             ("policy.cooldown_days", "at least 0", "-1"), at="cooldown_days"),
    cfg_case("config-zero-max-attempts", edit("max_attempts = 5", "max_attempts = 0"),
             ("policy.max_attempts", "at least 1"), at="max_attempts"),
    cfg_case("config-negative-lease", edit("lease_seconds = 60", "lease_seconds = -5"),
             ("policy.lease_seconds", "at least 5"), at="lease_seconds"),
    cfg_case("config-negative-max-length",
             edit('platform = "local"', 'platform = "local"\nmax_length = -10'),
             ("accounts.pingan-local.max_length", "must be positive"), at="max_length"),
    cfg_case("config-negative-poll-minutes",
             GOOD + "\n[metrics]\npoll = [{ age_hours = 24, every_minutes = -1 }]\n",
             ("metrics.poll[0].every_minutes", "at least 1"), at="poll ="),
    cfg_case("config-zero-keep-days", GOOD + "\n[opinions]\nkeep_days = 0\n",
             ("opinions.keep_days", "at least 1"), at="keep_days"),
    cfg_case("config-negative-local-seed",
             edit('platform = "local"', 'platform = "local"\nseed = -1'),
             ("accounts.pingan-local.seed", "non-negative"), at="seed ="),
    cfg_case("config-absurd-lease-seconds",
             edit("lease_seconds = 60", "lease_seconds = 99999999999999999999"),
             ("policy.lease_seconds",), at="lease_seconds", args=("run", "--once")),
    cfg_case("config-absurd-poll-age",
             GOOD + "\n[metrics]\npoll = [{ age_hours = 99999999999999, every_minutes = 5 }]\n",
             ("metrics.poll[0].age_hours",), at="poll =", args=("metrics", "collect")),
    cfg_case("config-blackout-impossible-date",
             edit('quiet_hours = ""', 'blackout_dates = ["2027-02-30"]'),
             ("policy.blackout_dates", "2027-02-30"), at="blackout_dates"),
    cfg_case("config-database-scheme",
             re.sub(r'database = ".*"', 'database = "mysql://db/outreach"', GOOD, count=1),
             ("outreach.database", "sqlite:///FILE"), at="database ="),
    cfg_case("config-api-base-not-http",
             edit('platform = "local"', 'platform = "local"\napi_base = "ftp://x"'),
             ("accounts.pingan-local.api_base", "not an http(s) URL"), at="api_base"),
    # plain http would send the token (and the app secret) in clear
    cfg_case("config-api-base-plain-http",
             with_account(WEIBO_ACCOUNT, 'api_base = "https://', 'api_base = "http://'),
             ("accounts.wb.api_base", "plain http", "allow_insecure_http"), at="api_base"),
    cfg_case("config-api-base-plain-http-private-address",
             with_account(MASTODON_ACCOUNT, 'api_base = "https://social.example"',
                          'api_base = "http://10.1.2.3:3000"'),
             ("accounts.md.api_base", "plain http"), at="api_base"),
    cfg_case("config-api-base-plain-http-loopback-lookalike",
             with_account(MASTODON_ACCOUNT, 'api_base = "https://social.example"',
                          'api_base = "http://127.0.0.1.example.net"'),
             ("accounts.md.api_base", "plain http"), at="api_base"),
    cfg_case("config-allow-insecure-http-not-bool",
             with_account(MASTODON_ACCOUNT, 'visibility = "public"',
                          'visibility = "public"\nallow_insecure_http = "yes"'),
             ("accounts.md.allow_insecure_http", "boolean"), at="allow_insecure_http"),
    # a TOML date-time is not a day: refused, not silently ignored
    cfg_case("config-blackout-datetime",
             edit('quiet_hours = ""', "blackout_dates = [2026-12-08T00:00:00]"),
             ("policy.blackout_dates", "2026-12-08", "a date without a time"),
             at="blackout_dates"),
    cfg_case("config-blackout-datetime-with-offset",
             edit('quiet_hours = ""', 'blackout_dates = ["2027-04-04", 2027-04-05 08:00:00+08:00]'),
             ("policy.blackout_dates", "2027-04-05", "a date without a time"),
             at="blackout_dates"),
    cfg_case("config-blackout-time-of-day",
             edit('quiet_hours = ""', "blackout_dates = [08:00:00]"),
             ("policy.blackout_dates", "08:00:00"), at="blackout_dates"),
    cfg_case("config-token-env-not-a-name",
             edit('platform = "local"', 'platform = "local"\ntoken_env = "1BAD-NAME"'),
             ("accounts.pingan-local.token_env", "environment variable"), at="token_env"),
    cfg_case("config-lang-fr", edit('lang = "zh"', 'lang = "fr"'),
             ("accounts.pingan-local.lang", "'fr'"), at='lang = "fr"'),
    cfg_case("config-account-name-invalid",
             edit("[accounts.pingan-local]", '[accounts."bad name!"]'),
             ("accounts.bad name!", "letters, digits")),
    cfg_case("config-account-name-too-long",
             edit("[accounts.pingan-local]", "[accounts." + "a" * 41 + "]"),
             ("accounts." + "a" * 41, "letters, digits")),
    cfg_case("config-weibo-rip-not-an-ip",
             with_account(WEIBO_ACCOUNT, 'rip = "203.0.113.7"', 'rip = "my laptop"'),
             ("accounts.wb.rip", "not an IP address"), at='rip = "my'),
    cfg_case("config-mastodon-visibility",
             with_account(MASTODON_ACCOUNT, 'visibility = "public"', 'visibility = "everyone"'),
             ("accounts.md.visibility", "must be one of"), at="visibility"),
    cfg_case("config-mastodon-visibility-type",
             with_account(MASTODON_ACCOUNT, 'visibility = "public"', "visibility = [1]"),
             ("accounts.md.visibility", "expected a string"), at="visibility"),
    Case("config-invalid-utf8", ("queue", "list"), 1,
         (f"config.toml:{line_of(GOOD, '北京')}:", "not valid UTF-8"),
         config_bytes(GOOD.encode().replace("北京".encode(), b"\xff\xfe", 1))),
    Case("config-binary-file", ("queue", "list"), 1, ("config.toml:1:",),
         config_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)),
    Case("config-huge-file", ("queue", "list"), 1, ("config.toml:1:", "invalid TOML"),
         config_bytes(b"x" * 3_000_000)),
    Case("config-huge-file-of-keys", ("queue", "list"), 1, ("config.toml:1:", "k0", "unknown key"),
         config("".join(f"k{i} = {i}\n" for i in range(30_000)))),
    Case("config-missing-file", ("--config", "{ws}/nope.toml", "queue", "list"), 1,
         ("{ws}/nope.toml", "config file not found")),
    Case("config-directory-option", ("--config", "{ws}", "queue", "list"), 2,
         ("--config", "is a directory"), lines=4),
    Case("config-directory-env", ("queue", "list"), 1, ("{ws}", "cannot read config file"),
         lambda ctx: ctx.monkeypatch.setenv("OUTREACH_CONFIG", str(ctx.ws))),
]


# --- content -----------------------------------------------------------------------------


def tip_toml(tip_id: str, text: str, *, extra: str = "", source: bool = True,
             category: str = "fraud") -> str:
    src = 'source = "公安部"\n' if source else ""
    return (f'[[tip]]\nid = "{tip_id}"\ncategory = "{category}"\nlang = "zh"\n'
            f'text = "{text}"\n{src}{extra}\n')


def slim_library(ws: Path) -> None:
    """Only fraud_zh.toml of the starter tips: `content check` renders a few tips, not 238."""
    for path in (ws / "content" / "tips").glob("*.toml"):
        if path.name != "fraud_zh.toml":
            path.unlink()


def content_file(rel: str, data: str | bytes, *, cfg: str | None = None) -> Setup:
    def setup(ctx: Ctx) -> None:
        slim_library(ctx.ws)
        path = ctx.ws / "content" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        if cfg is not None:
            (ctx.ws / "config.toml").write_text(cfg, encoding="utf-8")

    return setup


def check_case(case_id: str, rel: str, data: str | bytes, needles: tuple[str, ...], *,
               lines: int = 2, xfail: str | None = None) -> Case:
    """`content check` on a library with one broken file: exit 1, `file:line: id: problem`
    on stdout, the summary on stderr."""
    return Case(case_id, ("content", "check"), 1, needles, content_file(rel, data),
                lines=lines)


def rewrite(rel: str, old: str, new: str) -> Setup:
    def setup(ctx: Ctx) -> None:
        path = ctx.ws / "content" / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def both(*setups: Setup) -> Setup:
    def setup(ctx: Ctx) -> None:
        for s in setups:
            s(ctx)

    return setup


BROKEN_LOCAL_TEMPLATE = "{% if title %}【{{ title }}】{{ text }}"  # no endif

CONTENT_CASES = [
    check_case("tip-escape-sequence", "tips/ctl.toml", tip_toml("ctl-zh", "注意\\u001b[2J安全"),
               ("tips/ctl.toml:5: ctl-zh: text:", "U+001B", "ESCAPE", "character 3")),
    check_case("tip-bidi-override-in-variant", "tips/ctl.toml",
               tip_toml("ctl-zh", "好", extra='variants = ["转账\\u202e联系"]'),
               ("tips/ctl.toml:7: ctl-zh: variants[0]:", "U+202E", "RIGHT-TO-LEFT OVERRIDE",
                "character 3")),
    check_case("tip-control-in-title", "tips/ctl.toml",
               tip_toml("ctl-zh", "好", extra='title = "标题\\u0007"'),
               ("tips/ctl.toml:7: ctl-zh: title:", "U+0007", "BELL", "character 3")),
    check_case("tip-jinja-syntax-error", "tips/bad.toml",
               "# a comment first\n" + tip_toml("bad-syntax-zh", "{{ city "),
               ("content/tips/bad.toml:2: bad-syntax-zh:", "template syntax error")),
    check_case("tip-undefined-variable", "tips/bad.toml", tip_toml("bad-undef-zh", "{{ nosuch }}提醒"),
               ("content/tips/bad.toml:1: bad-undef-zh:", "undefined", "nosuch")),
    check_case("tip-over-length-for-local", "tips/bad.toml", tip_toml("bad-long-zh", "长" * 200),
               ("content/tips/bad.toml:1: bad-long-zh:", "pingan-local (local)", "limit is 140")),
    check_case("tip-invalid-utf8", "tips/bad.toml",
               tip_toml("bad-utf8-zh", "好").encode().replace("好".encode(), b"\xff\xfe"),
               ("content/tips/bad.toml:5:", "not valid UTF-8")),
    check_case("tip-binary-file", "tips/junk.toml", b"\x89PNG\r\n\x1a\n\x00" + bytes(range(256)),
               ("content/tips/junk.toml:1:", "not valid UTF-8")),
    check_case("tip-huge-file", "tips/huge.toml", b"# " + b"x" * 2_100_000 + b"\n",
               ("content/tips/huge.toml", "over 2000000 bytes")),
    check_case("tip-duplicate-id", "tips/dup.toml", tip_toml("fraud-four-rules-zh", "重复的提示"),
               ("fraud-four-rules-zh:", "duplicate id", "content/tips/dup.toml:1")),
    check_case("tip-missing-source", "tips/bad.toml", tip_toml("nosrc-zh", "无出处", source=False),
               ("content/tips/bad.toml:1: nosrc-zh: source: required key is missing",)),
    check_case("tip-truncated-toml", "tips/bad.toml", tip_toml("trunc-zh", "截断")[:30],
               ("content/tips/bad.toml:3:", "invalid TOML")),
    check_case("tip-unknown-key", "tips/bad.toml",
               tip_toml("unk-zh", "未知键", extra='colour = "red"\n'),
               ("content/tips/bad.toml:7: unk-zh: colour: unknown key",)),
    check_case("tip-unknown-category", "tips/bad.toml",
               tip_toml("cat-zh", "未知分类", category="aliens"),
               ("content/tips/bad.toml:3: cat-zh: category: unknown category 'aliens'",)),
    check_case("tip-months-out-of-range", "tips/bad.toml",
               tip_toml("month-zh", "月份", extra="months = [13]\n"),
               ("content/tips/bad.toml:7: month-zh: months[0]: must be at most 12",)),
    check_case("tip-sandbox-escape", "tips/bad.toml",
               tip_toml("esc-zh", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
               ("content/tips/bad.toml:1: esc-zh:", "not allowed")),
    check_case("tip-oversize-render", "tips/bad.toml",
               tip_toml("big-zh", "{% for i in range(20000) %}长{% endfor %}"),
               ("content/tips/bad.toml:1: big-zh:", "size cap")),
    check_case("template-local-syntax-error", "templates/local.j2", BROKEN_LOCAL_TEMPLATE,
               ("content/templates/local.j2:1:", "template syntax"), lines=3),  # Rich wraps
    check_case("template-local-invalid-utf8", "templates/local.j2", b"\xff\xfe{{ text }}",
               ("content/templates/local.j2", "cannot read")),
    check_case("template-local-undefined-variable", "templates/local.j2", "{{ nosuch }}{{ text }}",
               ("undefined", "nosuch"), lines=400),
    check_case("calendar-bad-month", "calendar.toml", """\
[[campaign]]
id = "bad-campaign"
name = { zh = "坏", en = "Bad" }
start = "13-01"
end = "12-31"
categories = { fraud = 2 }
""", ("content/calendar.toml:4: bad-campaign: start:", "13-01")),
    Case("template-weibo-syntax-error", ("content", "check"), 1,
         ("content/templates/weibo.j2:1:", "template syntax"),
         both(config(with_account(WEIBO_ACCOUNT)),
              content_file("templates/weibo.j2", "{{ text }{% if %}")), lines=3),
    check_case("blocklist-invalid-utf8", "blocklist.txt", b"\xff\xfe\n",
               ("content/blocklist.txt", "cannot read")),
    # what the queue does with broken content
    Case("queue-add-tip-that-fails-to-render",
         ("queue", "add", "--account", "pingan-local", "--tip", "bad-undef-zh"), 1,
         ("undefined", "nosuch"),
         content_file("tips/bad.toml", tip_toml("bad-undef-zh", "{{ nosuch }}提醒"),
                      cfg=NO_APPROVAL)),
    Case("queue-add-tip-with-load-errors",
         ("queue", "add", "--account", "pingan-local", "--tip", "bad-dup-zh"), 1,
         ("bad-dup-zh", "errors"),
         content_file("tips/bad.toml", tip_toml("bad-dup-zh", "一") + tip_toml("bad-dup-zh", "二"),
                      cfg=NO_APPROVAL)),
    Case("content-approve-tip-that-fails-to-render",
         ("content", "approve", "bad-syntax-zh", "--by", "chief"), 1,
         ("bad-syntax-zh", "template syntax"),
         content_file("tips/bad.toml", tip_toml("bad-syntax-zh", "{{ city "))),
    Case("queue-add-with-a-broken-platform-template",
         ("queue", "add", "--account", "pingan-local", "--tip", "fraud-four-rules-zh"), 1,
         ("templates/local.j2",),
         content_file("templates/local.j2", BROKEN_LOCAL_TEMPLATE, cfg=NO_APPROVAL)),
    Case("queue-add-with-an-unreadable-blocklist",
         ("queue", "add", "--account", "pingan-local", "--text", "待定的内容"), 1,
         ("blocklist",),
         content_file("blocklist.txt", (ROOT / "content" / "blocklist.txt").read_bytes()
                      + b"\n\xff\xfe\n")),
]


# --- command-line arguments ----------------------------------------------------------------


def usage(case_id: str, args: tuple[str, ...], *needles: str, xfail: str | None = None) -> Case:
    return Case(case_id, args, 2, needles, lines=4)


def add_post(ctx: Ctx) -> None:
    r = ctx.cli("queue", "add", "--account", "pingan-local", "--text", "夜里出行注意安全",
                "--at", "+3h", "--json")
    assert r.code == 0 and r.json["id"] == 1, r.err


ADD = ("queue", "add", "--account", "pingan-local", "--text", "夜里出行注意安全")
HUGE_ID = "99999999999999999999999"

ARGUMENT_CASES = [
    usage("args-limit-not-a-number", ("queue", "list", "--limit", "abc"), "--limit"),
    usage("args-plan-days-10000", ("plan", "--days", "10000"), "--days"),
    usage("args-plan-days-negative", ("plan", "--days", "-1"), "--days"),
    usage("args-demo-days-0", ("demo", "--days", "0"), "--days"),
    usage("args-stale-days-negative", ("content", "stale", "--days", "-1"), "--days"),
    usage("args-variant-negative", ("content", "show", "fraud-four-rules-zh", "--variant", "-1"),
          "--variant"),
    usage("args-unknown-option", ("queue", "list", "--bogus"), "--bogus"),
    usage("args-unknown-subcommand", ("queue", "frobnicate"), "frobnicate"),
    usage("args-missing-account", ("queue", "add", "--text", "x"), "--account"),
    usage("args-missing-reason", ("pause",), "--reason"),
    usage("args-missing-at", ("queue", "reschedule", "1"), "--at"),
    usage("args-id-not-an-integer", ("queue", "cancel", "1.5"), "'ID'"),
    usage("args-one-id-not-an-integer", ("queue", "approve", "1", "abc"), "'ID'"),
    usage("args-tip-and-text", ("queue", "add", "--account", "pingan-local", "--tip", "x",
                                "--text", "y"), "exactly one"),
    usage("args-blank-by", (*ADD, "--by", " "), "--by"),
    usage("args-status-sql", ("queue", "list", "--status", "x'; DROP TABLE posts;--"), "--status"),
    Case("args-unknown-category", ("content", "list", "--category", "nope"), 1,
         ("unknown category 'nope'",)),
    Case("args-unknown-account-list", ("queue", "list", "--account", "nobody"), 1,
         ("unknown account 'nobody'",)),
    Case("args-unknown-account-check", ("accounts", "check", "--account", "nobody"), 1,
         ("unknown account 'nobody'",)),
    Case("args-unknown-account-collect", ("metrics", "collect", "--account", "nobody"), 1,
         ("unknown account 'nobody'",)),
    Case("args-unknown-account-pause", ("pause", "--account", "nobody", "--reason", "x"), 1,
         ("unknown account 'nobody'",)),
    Case("args-variant-too-high", ("content", "show", "fraud-four-rules-zh", "--variant", "99",
                                   "--account", "pingan-local"), 1, ("no variant 99",)),
    Case("args-blank-retract-reason", ("queue", "retract", "1", "--reason", "  "), 1,
         ("--reason must not be empty",)),
    # control characters would be published as they are
    Case("args-text-escape-sequence", ("queue", "add", "--account", "pingan-local", "--text",
                                       "注意\x1b[2J安全"), 1,
         ("U+001B", "ESCAPE", "character 3")),
    Case("args-text-bidi-override", ("queue", "add", "--account", "pingan-local", "--text",
                                     "转账请联系\u202e0110-1234"), 1,
         ("U+202E", "RIGHT-TO-LEFT OVERRIDE", "character 6")),
    Case("args-text-nul", ("queue", "add", "--account", "pingan-local", "--text", "a\x00b"), 1,
         ("U+0000", "NULL", "character 2")),
    Case("args-text-c1-csi", ("queue", "add", "--account", "pingan-local", "--text",
                              "八位\x9b31m控制"), 1,
         ("U+009B", "CONTROL SEQUENCE INTRODUCER", "character 3")),
    Case("args-text-carriage-return", ("queue", "add", "--account", "pingan-local", "--text",
                                       "真实内容\r伪造内容"), 1,
         ("U+000D", "CARRIAGE RETURN", "character 5")),
    Case("args-text-over-5000", ("queue", "add", "--account", "pingan-local", "--text",
                                 "长" * 1_000_000), 1, ("over 5000 characters",)),
    Case("args-backup-into-missing-folder", ("db", "backup", "{ws}/no/such/dir/b.db"), 1,
         ("{ws}/no/such/dir/b.db", "backup failed")),
    Case("args-show-huge-id", ("queue", "show", HUGE_ID), 1, (f"no post with id {HUGE_ID}",)),
    Case("args-cancel-huge-id", ("queue", "cancel", HUGE_ID), 1, (f"no post with id {HUGE_ID}",)),
    # SQL-looking arguments are only names that do not exist
    Case("args-account-sql", ("queue", "add", "--account", "x'; DROP TABLE posts;--", "--text",
                              "hi"), 1, ("unknown account", "DROP TABLE posts")),
    Case("args-tip-sql", ("content", "show", "x'); DROP TABLE tips;--"), 1,
         ("unknown tip", "DROP TABLE tips")),
]

# --- dates ---------------------------------------------------------------------------------


def at_case(case_id: str, when: str, *needles: str, xfail: str | None = None) -> Case:
    return Case(case_id, (*ADD, "--at", when), 1, ("--at", *needles))



DATE_CASES = [
    at_case("date-month-13", "2027-13-01", "not a valid date"),
    at_case("date-hour-25", "25:00", "not a valid time of day"),
    at_case("date-tomorrow-24-61", "tomorrow 24:61", "not a valid time of day"),
    at_case("date-bad-offset", "2027-03-01T08:00+99:00", "not a valid date"),
    at_case("date-yesterday", "yesterday 08:00", "in the past"),
    at_case("date-far-past", "1999-12-31T23:59", "in the past"),
    at_case("date-more-than-ten-years", "2040-01-01T08:00", "more than ten years ahead"),
    at_case("date-year-3000", "3000-01-01", "more than ten years ahead"),
    at_case("date-garbage", "下周三", "cannot read"),
    at_case("date-minus", "-2h", "cannot read"),
    at_case("date-float", "1e10", "cannot read"),
    at_case("date-year-1", "0001-01-01T00:00"),
    at_case("date-huge-days", "+99999999d"),
    at_case("date-huge-hours", "+999999999999999999999h"),
    at_case("date-empty", "", "empty"),
    Case("date-reschedule-feb-30", ("queue", "reschedule", "1", "--at", "2027-02-30"), 1,
         ("--at", "'2027-02-30'", "not a valid date"), add_post),
    Case("date-reschedule-far-past", ("queue", "reschedule", "1", "--at", "1999-01-01T00:00"), 1,
         ("--at", "in the past"), add_post),
    Case("date-report-since-feb-30", ("report", "--since", "2027-02-30"), 1,
         ("--since", "'2027-02-30'", "not a valid date")),
    Case("date-report-until-garbage", ("report", "--until", "garbage"), 1,
         ("--until", "YYYY-MM-DD")),
    Case("date-report-since-after-until", ("report", "--since", "2027-03-10", "--until",
                                           "2027-03-01"), 1, ("--since", "--until")),
    Case("date-report-since-year-1", ("report", "--since", "0001-01-01"), 1, ("--since",)),
    Case("date-report-until-year-9999", ("report", "--until", "9999-12-31"), 1, ("--until",)),
    Case("date-opinions-since-garbage", ("opinions", "--since", "garbage"), 1,
         ("--since", "YYYY-MM-DD")),
    usage("args-report-period", ("report", "--period", "fortnight"), "--period"),
    usage("args-report-format", ("report", "--format", "pdf"), "--format"),
    usage("args-report-lang", ("report", "--lang", "fr"), "--lang"),
    Case("args-report-unknown-account", ("report", "--account", "nobody"), 1,
         ("unknown account 'nobody'",)),
    Case("args-report-output-is-a-folder", ("report", "--format", "html", "-o", "{ws}"), 1,
         ("{ws}", "--output", "directory")),
    usage("args-opinions-negative-limit", ("opinions", "--limit", "-1"), "--limit"),
    Case("args-opinions-unknown-class", ("opinions", "--class", "bogus"), 1,
         ("unknown class 'bogus'",)),
    Case("args-opinions-reply-missing-comment", ("opinions", "reply", "99999", "--text", "好"), 1,
         ("no comment with id 99999",)),
    Case("args-opinions-reply-huge-id", ("opinions", "reply", HUGE_ID, "--text", "好"), 1,
         (f"no comment with id {HUGE_ID}",)),
]

# --- import files --------------------------------------------------------------------------


def import_case(case_id: str, name: str, data: str | bytes, *needles: str, lines: int = 1,
                xfail: str | None = None, patch: tuple[str, Any] | None = None) -> Case:
    def setup(ctx: Ctx) -> None:
        (ctx.ws / name).write_bytes(data.encode() if isinstance(data, str) else data)
        if patch is not None:
            ctx.monkeypatch.setattr(*patch)

    return Case(case_id, ("queue", "import", f"{{ws}}/{name}"), 1,
                tuple(n.replace("FILE", f"{{ws}}/{name}") for n in needles), setup,
                lines=lines)


ROW = "pingan-local,+1h,夜里出行注意安全\n"

IMPORT_CASES = [
    import_case("import-csv-bad-header", "a.csv", "acct,at,text\n" + ROW, "FILE:1:",
                "CSV header"),
    import_case("import-csv-extra-column", "b.csv", "account,at,text,foo\n" + ROW[:-1] + ",bar\n",
                "FILE:2:", "unknown column(s): foo", "nothing was imported", lines=2),
    import_case("import-csv-too-many-cells", "c.csv", "account,at,text\n" + ROW[:-1] + ",more\n",
                "FILE:2:", "more cells than header columns"),
    import_case("import-csv-tip-and-text", "d.csv",
                "account,at,text,tip\n" + ROW[:-1] + ",fraud-four-rules-zh\n", "FILE:2:",
                "exactly one", lines=2),
    import_case("import-jsonl-not-an-object", "e.jsonl", "[1, 2]\n", "FILE:1:", "JSON object"),
    import_case("import-jsonl-a-string", "f.jsonl",
                '{"account": "pingan-local", "text": "一"}\n"just text"\n', "FILE:2:",
                "JSON object"),
    import_case("import-jsonl-invalid", "g.jsonl", '{"account": \n', "FILE:1:", "invalid JSON"),
    import_case("import-jsonl-wrong-type", "h.jsonl", '{"account": 5, "text": "一"}\n',
                "FILE:1:", "account must be text", lines=2),
    import_case("import-jsonl-list-text", "i.jsonl",
                '{"account": "pingan-local", "text": ["a"]}\n', "FILE:1:", "text must be text",
                lines=2),
    import_case("import-jsonl-unknown-key", "j.jsonl",
                '{"account": "pingan-local", "text": "一", "extra": 1}\n', "FILE:1:",
                "unknown column(s): extra", lines=2),
    import_case("import-empty-csv", "k.csv", b"", "FILE", "empty file"),
    import_case("import-empty-jsonl", "l.jsonl", b"", "FILE", "no rows"),
    import_case("import-header-only", "m.csv", "account,at,text\n", "FILE", "no rows"),
    import_case("import-binary", "n.csv", b"\x89PNG\r\n\x1a\n\x00" + bytes(range(256)), "FILE",
                "binary file"),
    import_case("import-invalid-utf8", "o.csv",
                b"account,at,text\npingan-local,+1h,\xff\xfe\n", "FILE:2:", "not valid UTF-8"),
    import_case("import-over-size-cap", "p.csv", "account,at,text\n" + ROW * 200, "FILE", "MB",
                patch=("outreach.actions.imports.MAX_IMPORT_BYTES", 1000)),
    import_case("import-many-bad-rows", "q.csv",
                "account,at,text\n" + "".join(f"nobody{i},+1h,夜里\n" for i in range(25)),
                "FILE:2:", "FILE:21:", "unknown account 'nobody19'", "(and 5 more)",
                "nothing was imported", lines=22),
    import_case("import-row-date-overflow", "r.csv", "account,at,text\npingan-local,+99999999d,一\n",
                "FILE:2:", "at", lines=2),
    import_case("import-jsonl-deep-nesting", "s.jsonl", "[" * 100_000 + "\n", "FILE:1:",
                "invalid JSON"),
    import_case("import-csv-huge-field", "t.csv",
                "account,at,text\npingan-local,+1h," + "x" * 200_000 + "\n", "FILE:2:"),
    import_case("import-csv-unterminated-quote", "u.csv",
                'account,at,text\npingan-local,+1h,"一\npingan-local,+2h,二\n'
                "pingan-local,+3h,三\n", "FILE:2:"),
    import_case("import-csv-control-character", "c.csv",
                "account,at,text\n" + ROW + "pingan-local,+2h,\u8f6c\u8d26\u202e\u8054\u7cfb\n",
                "FILE:3:", "U+202E", "RIGHT-TO-LEFT OVERRIDE", "character 3", lines=2),
    import_case("import-jsonl-escape", "c.jsonl",
                '{"account": "pingan-local", "at": "+1h", "text": "ok"}\n'
                '{"account": "pingan-local", "at": "+2h", "text": "\\u001b]0;x\\u0007hi"}\n',
                "FILE:2:", "U+001B", "ESCAPE", "character 1", lines=2),
    Case("import-missing-file", ("queue", "import", "{ws}/nope.csv"), 1,
         ("{ws}/nope.csv", "file not found")),
    Case("import-a-folder", ("queue", "import", "{ws}"), 1, ("{ws}", "is a folder")),
]

ALL_CASES = CONFIG_CASES + CONTENT_CASES + ARGUMENT_CASES + DATE_CASES + IMPORT_CASES


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 45


# --- running a case --------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """One migrated SQLite file, copied into each workspace (saves a migration per case)."""
    from outreach.store.db import Database

    if os.environ.get("OUTREACH_TEST_DATABASE_URL"):
        return None
    path = tmp_path_factory.mktemp("template") / "outreach.db"
    db = Database(f"sqlite:///{path}")
    db.ensure_schema()
    db.dispose()
    conn = sqlite3.connect(path)
    try:  # everything in the main file, so copying it alone copies the database
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        conn.close()
    return path


@pytest.fixture
def ready(workspace: Path, cli: Cli, migrated_db: Path | None) -> Path:
    """The workspace with its database created (as `outreach queue list` would leave it)."""
    if migrated_db is not None:
        (workspace / "outreach.db").write_bytes(migrated_db.read_bytes())
    else:
        assert cli("queue", "list").code == 0
    return workspace


def sub(text: str, ws: Path) -> str:
    return text.replace("{ws}", str(ws))


def assert_reported(r: Result, case: Case, ws: Path) -> None:
    shown = r.out + r.err
    assert r.code == case.code, shown
    assert "Traceback" not in shown and "internal error" not in shown, shown
    for needle in case.needles:
        assert sub(needle, ws) in shown, (needle, shown)
    lines = [line for line in shown.splitlines() if line.strip()]
    assert 1 <= len(lines) <= case.lines, shown
    if case.code == 2:
        assert lines[-1].startswith("Error:"), shown
    elif case.args[:2] != ("content", "check"):
        assert r.out == "" and r.err.startswith("error: "), shown
    for line in lines:
        assert len(line) <= 600, line[:200]


@pytest.mark.parametrize("case", [c.param() for c in ALL_CASES])
def test_bad_input_is_reported_and_changes_nothing(
    ready: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    if case.setup is not None:
        case.setup(Ctx(ready, cli, monkeypatch))
    before = logical_dump(ready / "outreach.db")
    r = cli(*(sub(a, ready) for a in case.args))
    assert_reported(r, case, ready)
    assert logical_dump(ready / "outreach.db") == before


# --- broken tips are never drawn, and nothing else stops -------------------------------------


BROKEN_CATEGORY = '\n[[category]]\ncode = "zz"\nzh = "测验类"\nen = "Quiz"\n'


@pytest.fixture
def broken_tip_library(ready: Path) -> Path:
    """Every tip of category zz is broken; the account's only slot asks for zz."""
    (ready / "config.toml").write_text(
        local_config(slots='{ cron = "0 */3 * * *", categories = ["zz"] }',
                     require_approval=False), encoding="utf-8")
    with (ready / "content" / "categories.toml").open("a", encoding="utf-8") as fh:
        fh.write(BROKEN_CATEGORY)
    (ready / "content" / "tips" / "zz.toml").write_text(
        tip_toml("zz-syntax-zh", "{{ city ", category="zz")
        + tip_toml("zz-undefined-zh", "{{ nosuch }}", category="zz")
        + tip_toml("zz-long-zh", "长" * 200, category="zz"), encoding="utf-8")
    (ready / "content" / "tips" / "junk.toml").write_bytes(b"\x00\x01\x02 not toml")
    return ready


@pytest.mark.sqlite_only
def test_a_broken_library_stops_no_other_command(broken_tip_library: Path, cli: Cli) -> None:
    ws = broken_tip_library
    r = cli("content", "check", "--json")
    assert r.code == 1
    problems = {(p["id"], p["file"]) for p in r.json if p["severity"] == "error"}
    assert {("zz-syntax-zh", "content/tips/zz.toml"), ("zz-undefined-zh", "content/tips/zz.toml"),
            ("zz-long-zh", "content/tips/zz.toml"), ("", "content/tips/junk.toml")} <= problems

    assert cli("queue", "list").code == 0
    r = cli("plan", "--days", "1", "--json")
    assert r.code == 0, r.err
    rows = r.json
    assert rows and all(row["status"] == "missed" and row["tip_id"] is None for row in rows)
    assert all("exhausted" in (row["reason"] or "") for row in rows)

    r = cli("run", "--once")
    assert r.code == 0, r.err
    assert "error(s)" in r.err and "never drawn" in r.err  # the daemon's warning
    conn = sqlite3.connect(ws / "outreach.db")
    try:
        drawn = conn.execute("SELECT tip_id, status FROM posts WHERE tip_id IS NOT NULL").fetchall()
        missed = conn.execute("SELECT last_error FROM posts WHERE status = 'missed'").fetchall()
    finally:
        conn.close()
    assert drawn == []
    assert all("exhausted" in (m[0] or "") for m in missed)
    assert cli("status", "--json").code in (0, 1)  # reported, not crashed
    assert cli("content", "list", "--json").code == 0


# --- SQL-looking text is text ------------------------------------------------------------------


SQL = "'); DROP TABLE posts; --"


@pytest.mark.sqlite_only
def test_sql_looking_text_is_stored_verbatim(ready: Path, cli: Cli) -> None:
    r = cli("queue", "add", "--account", "pingan-local", "--text", SQL, "--json")
    assert r.code == 0, r.err
    assert r.json["text"] == SQL
    path = ready / "rows.jsonl"
    texts = [f"{SQL} {i}" for i in range(2)] + ['"; DELETE FROM audit_log; --', "1 OR 1=1"]
    path.write_text("".join(json.dumps({"account": "pingan-local", "text": t},
                                       ensure_ascii=False) + "\n" for t in texts), "utf-8")
    r = cli("queue", "import", str(path), "--by", SQL)
    assert r.code == 0, r.err
    r = cli("queue", "approve", "1", "--by", "x' OR '1'='1")
    assert r.code == 0, r.err
    listed = cli("queue", "list", "--json").json
    assert [p["text"] for p in listed] == [SQL, *texts]
    shown = cli("queue", "show", "1", "--json").json
    assert shown["approved_by"] == "x' OR '1'='1"
    conn = sqlite3.connect(ready / "outreach.db")
    try:
        tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"posts", "audit_log", "accounts", "approvals"} <= tables
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 4
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    assert cli("queue", "list").code == 0


# --- hostile answers from the platforms --------------------------------------------------------


WEIBO_TOKEN = "bad-input-weibo-token-5e1f"
SHARE = "/2/statuses/share.json"
TIMELINE = "/2/statuses/user_timeline.json"
COUNT = "/2/statuses/count.json"
TEXT = "夜间出行请结伴而行，遇到危险请拨打110。"

WEIBO_CONFIG = """\
[outreach]
database = "{database}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "{api}"
token_env = "OUTREACH_BAD_INPUT_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"

[policy]
require_approval = false
max_attempts = 3
min_gap_minutes = 0
"""


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[WeiboServer]:
    with WeiboServer(token=WEIBO_TOKEN, user_limit=0) as server:
        yield server


@pytest.fixture
def weibo(ready: Path, weibo_server: WeiboServer, monkeypatch: pytest.MonkeyPatch) -> WeiboServer:
    from tests.conftest import DATABASE_URL

    weibo_server.reset()
    weibo_server.set_user_limit(0)
    (ready / "config.toml").write_text(
        WEIBO_CONFIG.format(database=DATABASE_URL, api=weibo_server.url), encoding="utf-8")
    monkeypatch.setenv("OUTREACH_BAD_INPUT_WEIBO_TOKEN", WEIBO_TOKEN)
    return weibo_server


def queue_one(cli: Cli, account: str, text: str = TEXT) -> int:
    r = cli("queue", "add", "--account", account, "--text", text, "--json")
    assert r.code == 0, r.err
    post_id: int = r.json["id"]
    return post_id


def post(cli: Cli, post_id: int) -> dict[str, Any]:
    r = cli("queue", "show", str(post_id), "--json")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json
    return data


def run_once(cli: Cli) -> Result:
    r = cli("run", "--once")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.out + r.err and "internal error" not in r.err
    return r


# (fault on statuses/share, the post's state after one run, last_error prefix)
WEIBO_FAULTS: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "malformed"}, "unconfirmed", "ambiguous:"),
    ({"kind": "http500"}, "unconfirmed", "ambiguous:"),
    ({"kind": "error_code", "code": 99999, "message": "x" * 1_000_000}, "queued", "retrying:"),
    ({"kind": "error_code", "code": 10001, "status": 200}, "unconfirmed", "ambiguous:"),
    ({"kind": "error_code", "code": 20012, "message": "\x1b]0;pwned\x07" * 5000}, "failed",
     "rejected:"),
    ({"kind": "rate", "message": "\x1b[2J" + "慢" * 50_000}, "queued", "rate limited:"),
]


def test_hostile_weibo_answers_to_a_publish(weibo: WeiboServer, cli: Cli) -> None:
    """One post per fault, taken in order by one `run --once`: each ends in its defined
    state, with a short, clean reason."""
    ids = [queue_one(cli, "wb", f"第{i}条：{TEXT}") for i in range(len(WEIBO_FAULTS))]
    for fault, _, _ in WEIBO_FAULTS:
        weibo.fault(SHARE, **fault)
    run_once(cli)
    for post_id, (fault, state, prefix) in zip(ids, WEIBO_FAULTS, strict=True):
        shown = post(cli, post_id)
        error = shown["last_error"]
        assert (shown["status"], error[:len(prefix)]) == (state, prefix), (fault["kind"], error)
        assert len(error) < 600 and "\x1b" not in error and "\x07" not in error
    run_once(cli)  # and the next run goes on: reconciles, retries or waits
    states = {p["status"] for p in cli("queue", "list", "--json").json}
    assert states <= {"queued", "unconfirmed", "published", "failed"}


def test_hostile_weibo_answers_while_reconciling_and_collecting(weibo: WeiboServer,
                                                                cli: Cli) -> None:
    weibo.fault(SHARE, "malformed")
    weibo.fault(TIMELINE, "malformed", count=-1)
    post_id = queue_one(cli, "wb")
    run_once(cli)
    run_once(cli)  # reconciliation reads a broken timeline: the post stays unconfirmed
    shown = post(cli, post_id)
    assert shown["status"] == "unconfirmed" and "reconcile failed" in shown["last_error"]
    assert len(weibo.requests(SHARE)) == 1  # never resent blindly

    other = queue_one(cli, "wb", "第二条：" + TEXT)
    run_once(cli)
    assert post(cli, other)["status"] == "published"
    weibo.fault(COUNT, "malformed", count=-1)
    weibo.fault("/2/users/show.json", "http500", count=-1)
    r = cli("metrics", "collect", "--json")
    assert r.code == 0 and "Traceback" not in r.err
    assert "wb" in r.json["skipped"]
    r = cli("metrics", "collect", "--account", "wb")
    assert r.code == 1 and "Traceback" not in r.err and "skipped" in r.err


MASTODON_API = "https://social.example"
MASTODON_TOKEN = "bad-input-mastodon-token-77ab"
MASTODON_CONFIG = """\
[outreach]
database = "{database}"
timezone = "Asia/Shanghai"
content_dir = "content"
data_dir = "data"

[accounts.md]
platform = "mastodon"
api_base = "https://social.example"
token_env = "OUTREACH_BAD_INPUT_MASTODON_TOKEN"
lang = "en"

[policy]
require_approval = false
max_attempts = 3
min_gap_minutes = 0
"""


@pytest.fixture
def mastodon(ready: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    from tests.conftest import DATABASE_URL

    (ready / "config.toml").write_text(MASTODON_CONFIG.format(database=DATABASE_URL),
                                       encoding="utf-8")
    monkeypatch.setenv("OUTREACH_BAD_INPUT_MASTODON_TOKEN", MASTODON_TOKEN)
    monkeypatch.setattr(mastodon_module, "MAX_BODY_BYTES", 4096)
    with respx.mock(base_url=MASTODON_API, assert_all_called=False) as router:
        # the account's own figures come back as junk too: the sweep skips, never crashes
        router.get("/api/v1/accounts/verify_credentials").respond(200, content=b"<html>oops")
        router.get("/api/v2/instance").respond(200, json={"configuration": "none"})
        router.get("/api/v1/statuses").respond(200, json={"not": "a list"})
        router.get(path__regex=r"^/api/v1/accounts/[^/]+/statuses$").respond(200, content=b"[")
        router.get("/api/v1/notifications").respond(200, json=[None, 1, "x"])
        yield router


HOSTILE_MASTODON = {  # name: (HTTP status, body, the post's state after one run, prefix)
    "huge": (200, b'{"id": "1", "content": "' + b"x" * 10_000 + b'"}', "unconfirmed", "ambiguous:"),
    "not-json": (200, b"<html><body>Welcome to nginx!</body></html>", "unconfirmed", "ambiguous:"),
    "deep-json": (200, b"[" * 50_000, "unconfirmed", "ambiguous:"),
    "wrong-type-list": (200, b"[]", "unconfirmed", "ambiguous:"),
    "wrong-type-id": (200, b'{"id": {"$oid": 1}}', "unconfirmed", "ambiguous:"),
    "missing-keys": (200, b"{}", "unconfirmed", "ambiguous:"),
    "odd-fields": (200, b'{"id": "110", "created_at": 5, "url": ["x"], "uri": null}', "published",
                   None),
    "5xx-html": (503, b"<html>" + b"busy " * 2000 + b"</html>", "unconfirmed", "ambiguous:"),
    "4xx-not-json": (400, b"\xff\xfe\x00garbage", "queued", "retrying:"),
    "429-bad-reset": (429, b"slow down", "queued", "rate limited:"),
}


def test_hostile_mastodon_answers_to_a_publish(mastodon: respx.MockRouter, cli: Cli) -> None:
    """One post per hostile answer (chosen by the status text), all in one `run --once`."""
    def answer(request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["status"].split()[-1]
        status, body, _, _ = HOSTILE_MASTODON[name]
        headers = ({"X-RateLimit-Reset": "not a date", "Retry-After": "soon"}
                   if status == 429 else {})
        return httpx.Response(status, content=body, headers=headers)

    mastodon.post("/api/v1/statuses").mock(side_effect=answer)
    ids = {name: queue_one(cli, "md", f"Lock your bike. {name}") for name in HOSTILE_MASTODON}
    run_once(cli)
    for name, post_id in ids.items():
        _, _, state, prefix = HOSTILE_MASTODON[name]
        shown = post(cli, post_id)
        assert shown["status"] == state, (name, shown)
        if prefix is None:
            assert shown["remote_id"] == "110" and shown["remote_url"] is None
        else:
            assert shown["last_error"].startswith(prefix), (name, shown["last_error"])
            assert len(shown["last_error"]) < 600
    run_once(cli)  # the next run goes on


def test_a_mastodon_401_with_junk_holds_the_account(mastodon: respx.MockRouter, cli: Cli) -> None:
    mastodon.post("/api/v1/statuses").respond(401, json={"error": ["not", "a", "string"]})
    post_id = queue_one(cli, "md", "Lock your bike, every time.")
    run_once(cli)
    shown = post(cli, post_id)
    assert shown["status"] == "queued" and shown["last_error"].startswith("auth:")
    [account] = cli("accounts", "list", "--json").json
    assert account["state"] == "needs_reauth"


def test_hostile_mastodon_answers_to_every_read(mastodon: respx.MockRouter, cli: Cli) -> None:
    mastodon.post("/api/v1/statuses").respond(200, json={"id": "110", "content": "<p>x</p>"})
    post_id = queue_one(cli, "md", "Lock your bike, every time.")
    run_once(cli)  # published; the metrics sweep meets junk everywhere and skips
    assert post(cli, post_id)["status"] == "published"
    run_once(cli)
    r = cli("metrics", "collect", "--json")
    assert r.code == 0 and "md" in r.json["skipped"], r.out + r.err
    r = cli("accounts", "check", "--json")
    assert r.code == 1 and r.json[0]["ok"] is False  # verify_credentials answers junk
    assert r.json[0]["error"] == "TransientError"
    assert "Traceback" not in r.out + r.err
    r = cli("status", "--json")
    assert r.code == 1 and "Traceback" not in r.err


# the client itself: one typed error per hostile answer


def weibo_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AccountSettings:
    monkeypatch.setenv("OUTREACH_BAD_INPUT_WEIBO_TOKEN", WEIBO_TOKEN)
    account = account_settings(
        data_dir=tmp_path, name="wb", platform="weibo", api_base="https://api.weibo.com",
        token_env="OUTREACH_BAD_INPUT_WEIBO_TOKEN",
        options={"share_url": "https://example.gov.cn/safety", "rip": "203.0.113.7",
                 "uid": "1404376560"})
    return account


@pytest.mark.parametrize(("body", "write_error", "read_error"), [
    (b'{"idstr": "1", "pad": "' + b"x" * 9_000_000 + b'"}', AmbiguousOutcome, TransientError),
    (b"<html>502 Bad Gateway</html>", AmbiguousOutcome, TransientError),
    (b'{"idstr": ["1"], "id": {"n": 1}}', AmbiguousOutcome, RemoteError),
    (b'[{"id": {"n": 1}, "reposts": []}, 5, null, "1"]', AmbiguousOutcome, None),
    (b'"a string"', AmbiguousOutcome, RemoteError),
    (b'{"error_code": "21327", "error": "expired_token"}', AuthError, AuthError),
    (b'{"error_code": "10023", "error": 5}', RateLimited, RateLimited),
])
def test_weibo_client_types_each_hostile_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                body: bytes, write_error: type[Exception],
                                                read_error: type[Exception] | None) -> None:
    from outreach.clients.weibo.client import WeiboClient

    account = weibo_account(tmp_path, monkeypatch)
    with httpx.Client(timeout=5) as http, respx.mock(base_url=weibo_module.API_BASE) as router:
        router.route().respond(200, content=body)
        client = WeiboClient(account, http=http)
        with pytest.raises(write_error) as info:
            client.publish(TEXT, idempotency_key="k")
        assert isinstance(info.value, OutreachError) and len(str(info.value)) < 600
        if read_error is None:
            assert client.fetch_counts(["1"]) == {}  # junk entries are skipped, not guessed
        else:
            with pytest.raises(read_error) as read:
                client.fetch_counts(["1"])
            assert len(str(read.value)) < 600


# --- the daemon keeps going -------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_daemon_survives_a_platform_that_answers_junk(ready: Path, weibo: WeiboServer,
                                                         cli: Cli) -> None:
    """Every publish and timeline call answers junk: the daemon keeps ticking with the post
    unconfirmed (never re-sent blindly), and publishes the next post once Weibo is sane."""
    weibo.fault(SHARE, "malformed", count=-1)
    weibo.fault(TIMELINE, "malformed", count=-1)
    first = queue_one(cli, "wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=ready, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def query(sql: str, *params: Any) -> Any:
        conn = sqlite3.connect(ready / "outreach.db", timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def wait(post_id: int, status: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if query("SELECT status FROM posts WHERE id = ?", post_id) == [(status,)]:
                return
            time.sleep(0.1)
        raise AssertionError(f"post {post_id} never became {status}")

    try:
        wait(first, "unconfirmed")
        time.sleep(1.5)  # ticks go on against a timeline that answers junk
        assert proc.poll() is None, "the daemon stopped"
        [(error,)] = query("SELECT last_error FROM posts WHERE id = ?", first)
        assert error.startswith(("ambiguous:", "reconcile failed")), error
        weibo.reset()
        weibo.set_user_limit(0)
        second = queue_one(cli, "wb", "第二条：" + TEXT)
        wait(second, "published")
        assert proc.poll() is None
        beats = query("SELECT last_tick_error FROM daemon_heartbeats WHERE stopped_at IS NULL")
        assert beats == [(None,)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out[-3000:]
    texts = [s["text"] for s in weibo.statuses()]
    assert texts.count(f"第二条：{TEXT} https://example.gov.cn/safety") == 1 and len(texts) <= 2


# --- plain http: only to this machine, or when the account says so -----------------------------


@pytest.mark.parametrize(("api_base", "extra"), [
    ("http://127.0.0.1:8099", ""),
    ("http://127.9.8.7", ""),
    ("http://localhost:3000", ""),
    ("http://LOCALHOST.:3000", ""),
    ("http://[::1]:3000", ""),
    ("https://social.example", ""),
    ("http://gateway.internal:8080", "allow_insecure_http = true\n"),
])
def test_plain_http_is_accepted_to_this_machine_or_when_allowed(
        ready: Path, cli: Cli, api_base: str, extra: str) -> None:
    block = MASTODON_ACCOUNT.replace('api_base = "https://social.example"',
                                     f'api_base = "{api_base}"\n{extra}')
    (ready / "config.toml").write_text(with_account(block), encoding="utf-8")
    r = cli("accounts", "list", "--json")
    assert r.code == 0, r.err
    assert {a["name"] for a in r.json} == {"pingan-local", "md"}


def test_a_cron_that_never_fires_is_warned_about(ready: Path, cli: Cli) -> None:
    slim_library(ready)
    (ready / "config.toml").write_text(
        local_config(slots='{ cron = "0 8 * * *" }, { cron = "0 0 30 2 *" }, '
                           '{ cron = "0 9 31 4,6,9,11 *" }, { cron = "0 0 29 2 *" }'),
        encoding="utf-8")
    r = cli("content", "check")
    assert r.code == 0, r.out + r.err  # warnings only
    warned = [line for line in r.out.splitlines() if "never fires" in line]
    assert len(warned) == 2, r.out
    assert "slots[1]" in warned[0] and "0 0 30 2 *" in warned[0], warned
    assert "slots[2]" in warned[1] and "0 9 31 4,6,9,11 *" in warned[1], warned
    assert "0 0 29 2 *" not in r.out  # leap days come
    r = cli("plan", "--days", "2", "--json")
    assert r.code == 0, r.err
    assert isinstance(r.json, list)
    assert r.err.count("never fires") == 2, r.err
    assert "pingan-local" in r.err and "0 0 30 2 *" in r.err
