"""The one TOML loader: the locator finds the line of any key, however it was written."""

from __future__ import annotations

import tomllib

import pytest

from outreach.config.toml import KeyLines, Shape, Unreadable, dotted, parse_toml

TRICKY = '''\
# a comment [not.a.table]
title = "top"
[accounts.gz]
platform = "local"
max_length = "x"
vars = { city = "北京", hotline = { police = "110", fraud = "96110" } }
slots = [
  { cron = "0 8 * * *" },  # the first slot
  { cron = "0 20 * * *", categories = ["fraud",
     "drowning"] },
]
"城市"."名称" = "北京"
site.url = "https://x.cn"
notes = """
[not.a.table]
key = "inside a string"
"""
literal = \'\'\'one "quoted" \'\'\'
after = 1

[[tip]]
id = "one"
[[tip]]
id = "two"
variants = ["a", \'\'\'b
still b\'\'\', "c"]
[tip.meta]
author = "陈"
[[tip]]
id = "three"
'''


def lines_of(text: str) -> KeyLines:
    tomllib.loads(text)  # the locator reads valid TOML only
    return KeyLines(text)


def line_with(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize(("loc", "needle"), [
    (("title",), 'title = "top"'),
    (("accounts",), "[accounts.gz]"),
    (("accounts", "gz"), "[accounts.gz]"),
    (("accounts", "gz", "max_length"), 'max_length = "x"'),
    (("accounts", "gz", "vars", "hotline", "fraud"), "vars = {"),
    (("accounts", "gz", "slots", 0), '{ cron = "0 8'),
    (("accounts", "gz", "slots", 1, "cron"), '{ cron = "0 20'),
    (("accounts", "gz", "slots", 1, "categories", 1), '"drowning"'),
    (("accounts", "gz", "城市", "名称"), '"城市"."名称"'),
    (("accounts", "gz", "site", "url"), "site.url"),
    (("accounts", "gz", "notes"), 'notes = """'),
    (("accounts", "gz", "literal"), "literal ="),
    (("accounts", "gz", "after"), "after = 1"),
    (("tip",), 'id = "one"'),
    (("tip", 0, "id"), 'id = "one"'),
    (("tip", 1), 'id = "two"'),
    (("tip", 1, "variants", 1), "variants ="),
    (("tip", 1, "variants", 2), 'still b'),
    (("tip", 1, "meta", "author"), 'author = "陈"'),
    (("tip", 2, "id"), 'id = "three"'),
    (("tip", 1, "no_such_key"), 'id = "two"'),  # a missing key: its table's line
])
def test_the_locator_finds_nested_keys(loc, needle, crlf):
    text = TRICKY.replace("\n", "\r\n") if crlf else TRICKY
    line = line_with(TRICKY, needle)
    if loc in (("tip",), ("tip", 0, "id")):
        line -= 1 if loc == ("tip",) else 0  # the first [[tip]] header, then its id
    if loc == ("tip", 1):
        line -= 1  # the [[tip]] header of the second entry
    if loc == ("tip", 1, "no_such_key"):
        line -= 1
    assert lines_of(text).line(loc) == line


def test_a_key_nowhere_has_no_line():
    assert lines_of(TRICKY).line(("nothing", "here")) is None
    assert lines_of(TRICKY).line(()) is None


def test_dotted_names_keys_and_indices():
    assert dotted(("accounts", "a", "slots", 0, "cron")) == "accounts.a.slots[0].cron"
    assert dotted(("tip", 2, "variants", 1)) == "tip[2].variants[1]"
    assert dotted(()) == ""


def test_syntax_errors_and_bad_bytes_name_the_line():
    with pytest.raises(Unreadable) as err:
        parse_toml('a = 1\nb = = 2\n')
    assert err.value.line == 2 and err.value.message.startswith("invalid TOML")
    with pytest.raises(Unreadable) as err:
        parse_toml(b'a = 1\n# \xff\n')
    assert err.value.line == 2 and err.value.message == "not valid UTF-8"


class _Inner(Shape):
    max_length: int | None = None
    name: str = ""


class _Outer(Shape):
    accounts: dict[str, _Inner] = {}


def test_validation_errors_become_one_line_each_with_key_and_line():
    text = '[accounts.gz]\r\nname = "广州"\r\nmax_length = "x"\r\ncolour = 1\r\n'
    toml = parse_toml(text)
    model, problems = toml.validate(_Outer, toml.data)
    assert model is None
    assert [(p.line, p.message) for p in problems] == [
        (3, "accounts.gz.max_length: expected an integer, got a string"),
        (4, "accounts.gz.colour: unknown key (known: max_length, name)"),
    ]
    assert problems[0].where("config.toml") == "config.toml:3"
    inner = toml.data["accounts"]["gz"]
    _, problems = toml.validate(_Inner, inner, at=("accounts", "gz"))
    assert problems[0].message.startswith("accounts.gz.max_length: expected an integer")


@pytest.mark.parametrize("value", [
    '"a \\" b"', '"ends in a backslash \\\\"', "'C:\\\\path'", '""', "''",
    '"""\nx\n"""', '"""a"""""', '"""a""""', "'''b''''", "'''b'''''", "''''c''''",
    '"""one "quoted" and ""two"" \\"""\n"""', '"""line \\\nfolded"""', "'''[[tip]]\n'''",
    '"城市 # not a comment"',
])
def test_the_locator_steps_over_every_kind_of_string(value):
    """A string of any of TOML's four kinds, ending however it may, is stepped over whole:
    the key after it is on its own line."""
    text = f"a = {value}\nb = 1\n[t]\nc = [{value}, {value}]\nd = 2\n"
    lines = lines_of(text)
    assert lines.line(("b",)) == line_with(text, "b = 1")
    assert lines.line(("t", "d")) == line_with(text, "d = 2")
    assert lines.line(("t", "c", 0)) == line_with(text, "c = [")


def test_an_entry_line_is_the_locators_however_the_file_is_written():
    """``entry_line`` (the header lines alone when they can be trusted) says what the
    locator says, also when a multi-line string or array holds a line that looks like a
    header, and for quoted headers."""
    lookalike = TRICKY + 'notes2 = """\n[[tip]]\n"""\n[[ "tip" ]]\nid = "four"\n' \
        "arrays = [\n  [['tip']],\n]\n[['tip']]\nid = \"five\"\n"
    for text in (TRICKY, lookalike, TRICKY.replace("[[tip]]", '[[ "tip" ]]')):
        parsed = parse_toml(text)
        locator = KeyLines(text)
        lines = [parsed.entry_line("tip", i) for i in range(len(parsed.data["tip"]))]
        assert lines == [locator.line(("tip", i)) for i in range(len(parsed.data["tip"]))]
        assert lines[0] == line_with(text, "id = \"one\"") - 1
