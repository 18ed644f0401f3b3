"""`queue approve|cancel --account @group`: one decision over every waiting post of a
group's accounts, listed and confirmed first, four eyes post by post, one line per post
refused; consistent with `--batch`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tests.conftest import logical_dump
from tests.matrix_config import matrix_config, matrix_workspace

TEXT = "台风天请减少外出，远离广告牌。"


@pytest.fixture
def matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return matrix_workspace(tmp_path / "ws", matrix_config(), monkeypatch)


def _drafts(cli, account: str, by: str) -> list[int]:
    r = cli("queue", "add", "--account", account, "--text", TEXT, "--at", "+2h", "--by", by,
            "--json")
    assert r.code == 0, r.err
    return [p["id"] for p in r.json["posts"]] if "posts" in r.json else [r.json["id"]]


def _status(cli) -> dict[int, tuple[str, str | None]]:
    return {p["id"]: (p["status"], p["approved_by"])
            for p in cli("queue", "list", "--limit", "0", "--json").json}


def test_approving_a_group_approves_every_draft_of_its_accounts_once_confirmed(
        matrix, cli, monkeypatch):
    shenzhen = _drafts(cli, "@shenzhen", "officer-a")
    own = _drafts(cli, "sz-ft", "officer-b")  # officer-b wrote this one: four eyes
    outside = _drafts(cli, "gz", "officer-a")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    r = cli("queue", "approve", "--account", "@shenzhen", "--by", "officer-b", "--json")
    assert r.code == 0, r.err
    assert "Approve these 4 draft(s) as officer-b?" in r.err
    assert f"post {own[0]} on sz-ft:" in r.err and "another officer" in r.err
    assert "3 post(s) approved by officer-b; queued; 1 refused" in r.err
    out = r.json
    assert [p["id"] for p in out["approved"]] == shenzhen
    assert out["refused"] == [{"id": own[0], "account": "sz-ft",
                               "reason": out["refused"][0]["reason"]}]
    status = _status(cli)
    assert all(status[i] == ("queued", "officer-b") for i in shenzhen)
    assert status[own[0]] == ("draft", None) and status[outside[0]] == ("draft", None)
    trail = cli("queue", "show", str(shenzhen[0]), "--json").json["audit"]
    assert [(a["action"], a["actor"]) for a in trail][-1] == ("queue_approve", "officer-b")


def test_a_group_decision_not_confirmed_changes_nothing(matrix, cli, monkeypatch):
    _drafts(cli, "@guangzhou", "officer-a")
    before = logical_dump(matrix / "outreach.db")
    for answer in ("n\n", ""):  # a no, and no answer at all
        monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
        r = cli("queue", "approve", "--account", "@guangzhou", "--by", "officer-b")
        assert r.code == 1 and "nothing was approved" in r.err and "Traceback" not in r.err
        monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
        r = cli("queue", "cancel", "--account", "@guangzhou")
        assert r.code == 1 and "nothing was cancelled" in r.err
    assert logical_dump(matrix / "outreach.db") == before


def test_when_every_draft_is_the_approvers_own_nothing_is_approved_and_it_exits_1(
        matrix, cli):
    ids = _drafts(cli, "@foshan", "officer-a")
    r = cli("queue", "approve", "--account", "@foshan", "--by", "officer-a", "--yes")
    assert r.code == 1
    assert [line for line in r.err.splitlines() if "another officer" in line] and all(
        f"post {i} on " in r.err for i in ids)
    assert {_status(cli)[i][0] for i in ids} == {"draft"}


def test_a_console_user_without_the_approver_role_approves_nothing(matrix, cli, monkeypatch):
    ids = _drafts(cli, "@foshan", "officer-a")
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert cli("users", "add", "xiaoli", "--role", "officer", "--password-stdin").code == 0
    for args in (("--account", "@foshan", "--yes"),
                 ("--batch", str(cli("queue", "list", "--json").json[0]["batch_id"]))):
        r = cli("queue", "approve", *args, "--by", "xiaoli")
        assert r.code == 1 and "approver" in r.err, r.err
    assert {_status(cli)[i][0] for i in ids} == {"draft"}


def test_cancelling_a_group_cancels_what_waits_and_names_what_it_leaves(
        matrix, cli):
    guangzhou = _drafts(cli, "@guangzhou", "officer-a")
    queued = _drafts(cli, "gz-th", "officer-a")
    assert cli("queue", "approve", str(queued[0]), "--by", "officer-b").code == 0
    other = _drafts(cli, "sz", "officer-a")
    r = cli("queue", "cancel", "--account", "@guangzhou", "--reason", "口径调整", "--yes",
            "--json")
    assert r.code == 0, r.err
    assert "4 post(s) cancelled" in r.err
    assert sorted(r.json["cancelled"]) == sorted(guangzhou + queued)
    assert r.json["refused"] == [] and r.json["retracted"] == []
    status = _status(cli)
    assert {status[i][0] for i in guangzhou + queued} == {"cancelled"}
    assert status[other[0]][0] == "draft"
    trail = cli("queue", "show", str(queued[0]), "--json").json["audit"]
    assert trail[-1]["action"] == "queue_cancel" and trail[-1]["reason"] == "口径调整"
    r = cli("queue", "cancel", "--account", "@guangzhou", "--yes")
    assert r.code == 0 and "nothing waiting on @guangzhou" in r.err


def test_batch_decisions_speak_json_as_the_group_ones_do(matrix, cli):
    r = cli("queue", "add", "--account", "@foshan", "--text", TEXT, "--json")
    batch = r.json["batch_id"]
    r = cli("queue", "approve", "--batch", str(batch), "--by", "officer-b", "--json")
    assert r.code == 0, r.err
    assert r.json["batch_id"] == batch and len(r.json["approved"]) == 3
    assert r.json["refused"] == []
    r = cli("queue", "cancel", "--batch", str(batch), "--json")
    assert r.code == 0 and len(r.json["cancelled"]) == 3


@pytest.mark.parametrize("args", [
    ("queue", "approve"),
    ("queue", "approve", "1", "--account", "@foshan"),
    ("queue", "cancel", "--batch", "1", "--account", "@foshan"),
])
def test_a_decision_needs_exactly_one_choice_of_posts(matrix, cli, args):
    r = cli(*args)
    assert r.code == 2 and "--account @group" in r.err


def test_an_unknown_group_is_an_error_naming_it(matrix, cli):
    r = cli("queue", "cancel", "--account", "@hainan", "--yes")
    assert r.code == 1 and "hainan" in r.err and "Traceback" not in r.err
