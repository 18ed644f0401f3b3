"""Groups of accounts (the matrix): nested in config, checked when loaded, and
``--account @group`` on every command that takes accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.config.load import load_settings
from tests.conftest import logical_dump
from tests.matrix_config import ORDER, matrix_config, matrix_workspace


@pytest.fixture
def matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return matrix_workspace(tmp_path / "ws", matrix_config(), monkeypatch)


def _line_of(ws: Path, text: str) -> int:
    lines = (ws / "config.toml").read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_nested_groups_expand_in_order_each_account_once(matrix):
    s = load_settings(matrix / "config.toml")
    assert s.select("@guangdong") == tuple(ORDER)
    assert s.select("@shenzhen") == ("sz", "sz-ft", "sz-ns")
    assert s.select("gz") == ("gz",)
    assert s.select(None) is None


def test_an_account_in_two_subgroups_is_listed_once(tmp_path, monkeypatch):
    ws = matrix_workspace(tmp_path, matrix_config(groups=(
        '[groups]\nall = ["@a", "@b"]\na = ["gz", "sz"]\nb = ["sz", "fs"]\n')), monkeypatch)
    assert load_settings(ws / "config.toml").select("@all") == ("gz", "sz", "fs")


def test_a_cycle_is_one_line_naming_it(tmp_path, monkeypatch, cli):
    ws = matrix_workspace(tmp_path, matrix_config(groups=(
        '[groups]\ntop = ["gd", "@a"]\na = ["gz", "@b"]\nb = ["sz", "@a"]\n')), monkeypatch)
    before = logical_dump(ws / "outreach.db")
    r = cli("queue", "list", "--account", "@top")
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert "groups.a → groups.b → groups.a" in lines[0]
    assert f"config.toml:{_line_of(ws, 'a = [')}" in lines[0]
    assert "Traceback" not in r.err
    assert logical_dump(ws / "outreach.db") == before


def test_a_group_in_itself_is_a_cycle(tmp_path, monkeypatch, cli):
    matrix_workspace(tmp_path, matrix_config(groups='[groups]\nself = ["gz", "@self"]\n'),
                   monkeypatch)
    r = cli("plan")
    assert r.code == 1 and "groups.self → groups.self" in r.err


@pytest.mark.parametrize(("groups", "key", "words"), [
    ('[groups]\ng = ["gz", "nowhere"]\n', "groups.g[1]", "unknown account 'nowhere'"),
    ('[groups]\ng = ["gz", "@nowhere"]\n', "groups.g[1]", "unknown group '@nowhere'"),
    ('[groups]\ng = []\n', "groups.g", "is empty"),
    ('[groups]\ng = ["gz", "gz"]\n', "groups.g[1]", "listed twice"),
    ('[groups]\n"省 厅" = ["gz"]\n', "groups", "letters, digits"),
    ('[groups]\ng = ["gz", 3]\n', "groups.g[1]", "string"),
    ('[groups]\ng = "gz"\n', "groups.g", "expected an array"),
])
def test_a_bad_group_names_file_line_and_key(tmp_path, monkeypatch, cli, groups, key, words):
    ws = matrix_workspace(tmp_path, matrix_config(groups=groups), monkeypatch)
    r = cli("queue", "list")
    assert r.code == 1, r.err
    assert key in r.err and words in r.err
    assert f"config.toml:{_line_of(ws, '[groups]') + 1}:" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_unknown_group_on_the_command_line_names_the_groups(matrix, cli):
    r = cli("queue", "list", "--account", "@hainan")
    assert r.code == 1
    assert "unknown group '@hainan'" in r.err and "guangdong" in r.err
    r = cli("queue", "list", "--account", "guangdong")
    assert r.code == 1 and "groups are written @name" in r.err


def _queue(cli, account: str) -> int:
    r = cli("queue", "add", "--account", account, "--text", f"{account} 的通知", "--at", "+2h",
            "--json")
    assert r.code == 0, r.err
    return int(r.json["id"])


def test_queue_list_takes_a_group(matrix, cli):
    ids = {name: _queue(cli, name) for name in ("gd", "sz-ft", "fs")}
    r = cli("queue", "list", "--account", "@shenzhen", "--json")
    assert r.code == 0, r.err
    assert [p["id"] for p in r.json] == [ids["sz-ft"]]
    r = cli("queue", "list", "--account", "@guangdong", "--json")
    assert sorted(p["id"] for p in r.json) == sorted(ids.values())


def test_pause_and_resume_a_group_touch_only_its_accounts(matrix, cli):
    r = cli("pause", "--account", "@shenzhen", "--reason", "台风应急")
    assert r.code == 0, r.err
    r = cli("accounts", "list", "--json")
    states = {a["name"]: a["state"] for a in r.json}
    assert {n for n, st in states.items() if st == "paused"} == {"sz", "sz-ft", "sz-ns"}
    r = cli("resume", "--account", "@shenzhen")
    assert r.code == 0, r.err
    states = {a["name"]: a["state"] for a in cli("accounts", "list", "--json").json}
    assert "paused" not in states.values()
    r = cli("resume", "--account", "@shenzhen")
    assert r.code == 0 and "no open pause" in r.err


def test_plan_and_opinions_take_a_group(matrix, cli):
    _queue(cli, "gz-th")
    _queue(cli, "fs")
    r = cli("plan", "--account", "@guangzhou", "--json")
    assert r.code == 0, r.err
    assert {row["account"] for row in r.json} == {"gz-th"}
    r = cli("opinions", "--account", "@foshan", "--json")
    assert r.code == 0 and r.json == []
    r = cli("opinions", "--account", "@nowhere", "--json")
    assert r.code == 1 and "unknown group" in r.err


def test_report_takes_a_group(matrix, cli):
    r = cli("report", "--account", "@foshan", "--json")
    assert r.code == 0, r.err
    assert [a["name"] for a in r.json["accounts"]] == ["fs", "fs-cc", "fs-nh"]


def test_queue_list_of_most_accounts_keeps_only_the_group_in_time_order(tmp_path, monkeypatch,
                                                                         cli):
    """A group of most accounts is read in time order (the first page at once); still only
    its own posts, oldest first, and the limit holds."""
    groups = ('[groups]\nsouth = ["@guangzhou", "@shenzhen"]\n'
              'guangzhou = ["gz", "gz-th", "gz-yx"]\nshenzhen = ["sz", "sz-ft", "sz-ns"]\n')
    matrix_workspace(tmp_path / "ws", matrix_config(groups=groups), monkeypatch)
    ids = []
    for hours, name in enumerate(("fs", "gz", "gd", "sz-ns", "fs-cc", "gz-th", "sz"), 2):
        r = cli("queue", "add", "--account", name, "--text", f"{name} 的通知", "--at",
                f"+{hours}h", "--json")
        assert r.code == 0, r.err
        ids.append((name, int(r.json["id"])))
    r = cli("queue", "list", "--account", "@south", "--json")
    assert r.code == 0, r.err
    members = [i for name, i in ids if name in ("gz", "sz-ns", "gz-th", "sz")]
    assert [p["id"] for p in r.json] == members
    r = cli("queue", "list", "--account", "@south", "--limit", "2", "--json")
    assert [p["id"] for p in r.json] == members[:2]
