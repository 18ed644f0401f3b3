"""Console users from the command line and the actions: roles, Argon2 hashes, disabling,
new passwords, and sign-in throttling that survives a restart."""

from __future__ import annotations

import io
import sys
from datetime import timedelta

import pytest

from outreach.actions.users import (
    MAX_FAILURES,
    Forbidden,
    LoginFailed,
    LoginThrottled,
    Permission,
    Role,
    authenticate,
    disable_user,
    require,
    require_by_name,
    session_user,
)
from tests.conftest import logical_dump

PASSWORD = "correct horse 电池"


def add(cli, monkeypatch, name: str, role: str, password: str = PASSWORD, *extra: str):
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return cli("users", "add", name, "--role", role, "--password-stdin", *extra)


def test_users_add_and_list_keep_only_an_argon2_hash(cli, workspace, monkeypatch):
    r = add(cli, monkeypatch, "alice", "officer", PASSWORD, "--display-name", "王警官")
    assert r.code == 0, r.err
    assert add(cli, monkeypatch, "bob", "approver").code == 0
    r = cli("users", "list", "--json")
    assert r.code == 0, r.err
    rows = {u["name"]: u for u in r.json}
    assert rows["alice"]["role"] == "officer" and rows["alice"]["display_name"] == "王警官"
    assert rows["bob"]["role"] == "approver" and not rows["bob"]["disabled"]
    assert "hash" not in r.out and PASSWORD not in r.out
    dump = "\n".join(logical_dump(workspace / "outreach.db"))
    assert PASSWORD not in dump
    assert dump.count("$argon2id$") == 2
    table = cli("users", "list")
    assert table.code == 0 and "alice" in table.out and "approver" in table.out


@pytest.mark.parametrize(("args", "password", "code", "says"), [
    (("--role", "officer"), "short", 1, "shorter than 10"),
    (("--role", "chief"), PASSWORD, 2, "officer, approver, admin"),
    (("--role", "officer", "--lang", "fr"), PASSWORD, 2, "zh, en"),
])
def test_bad_users_add_stores_nothing(cli, workspace, monkeypatch, args, password, code, says):
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    r = cli("users", "add", "carol", *args, "--password-stdin")
    assert r.code == code
    assert says in " ".join(r.err.split())
    assert "Traceback" not in r.err
    assert cli("users", "list", "--json").json == []


def test_a_user_name_is_added_once(cli, workspace, monkeypatch):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    r = add(cli, monkeypatch, "alice", "admin")
    assert r.code == 1 and "exists" in r.err
    assert [u["role"] for u in cli("users", "list", "--json").json] == ["officer"]


def test_disable_and_set_password_end_sessions(cli, workspace, monkeypatch, runtime_factory):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    rt = runtime_factory()
    user = authenticate(rt, "alice", PASSWORD, address="127.0.0.1")
    assert session_user(rt, user.id, user.stamp) == user
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new long password\n"))
    assert cli("users", "set-password", "alice", "--password-stdin").code == 0
    assert session_user(rt, user.id, user.stamp) is None  # the old session has ended
    with pytest.raises(LoginFailed):
        authenticate(rt, "alice", PASSWORD, address="127.0.0.1")
    again = authenticate(rt, "alice", "a new long password", address="127.0.0.1")
    assert cli("users", "disable", "alice").code == 0
    assert session_user(rt, again.id, again.stamp) is None
    with pytest.raises(LoginFailed):
        authenticate(rt, "alice", "a new long password", address="127.0.0.1")
    r = cli("users", "disable", "alice")
    assert r.code == 1 and "already disabled" in r.err
    assert cli("users", "disable", "nobody").code == 1


def test_five_failures_lock_the_user_for_fifteen_minutes_across_restarts(
        cli, workspace, monkeypatch, runtime_factory, clock):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    rt = runtime_factory()
    for i in range(MAX_FAILURES):
        with pytest.raises(LoginFailed):
            authenticate(rt, "alice", f"guess {i}", address=f"10.0.0.{i}")
        clock.advance(seconds=30)
    restarted = runtime_factory()  # a second web process, or the same one restarted
    with pytest.raises(LoginThrottled) as exc:
        authenticate(restarted, "alice", PASSWORD, address="10.0.0.99")
    assert exc.value.until > clock.now()
    clock.advance(minutes=14)
    with pytest.raises(LoginThrottled):
        authenticate(restarted, "ALICE", PASSWORD, address="10.0.0.99")
    clock.advance(minutes=1, seconds=1)
    assert authenticate(restarted, "alice", PASSWORD, address="10.0.0.99").name == "alice"


def test_five_failures_from_one_address_lock_that_address(cli, workspace, monkeypatch,
                                                          runtime_factory, clock):
    assert add(cli, monkeypatch, "bob", "approver").code == 0
    rt = runtime_factory()
    for i in range(MAX_FAILURES):
        with pytest.raises(LoginFailed):
            authenticate(rt, f"user{i}", "whatever guess", address="192.0.2.7")
    with pytest.raises(LoginThrottled):
        authenticate(rt, "bob", PASSWORD, address="192.0.2.7")
    assert authenticate(rt, "bob", PASSWORD, address="192.0.2.8").name == "bob"
    clock.advance(timedelta(minutes=16))
    assert authenticate(rt, "bob", PASSWORD, address="192.0.2.7").name == "bob"


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(
        cli, workspace, monkeypatch, runtime_factory, clock):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    rt = runtime_factory()
    for i in range(MAX_FAILURES * 2):
        with pytest.raises(LoginFailed):
            authenticate(rt, "alice", f"guess {i}", address="127.0.0.1")
        clock.advance(minutes=4)
    assert authenticate(rt, "alice", PASSWORD, address="127.0.0.1").name == "alice"


def test_sign_ins_are_audited_without_the_password(cli, workspace, monkeypatch, runtime_factory):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    rt = runtime_factory()
    with pytest.raises(LoginFailed):
        authenticate(rt, "alice", "not the password", address="127.0.0.1")
    authenticate(rt, "alice", PASSWORD, address="127.0.0.1")
    dump = "\n".join(logical_dump(workspace / "outreach.db"))
    assert "'login_failed'" in dump and "'login'" in dump and "'user_add'" in dump
    assert "not the password" not in dump and PASSWORD not in dump


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.OFFICER, {Permission.VIEW, Permission.COMPOSE, Permission.EDIT_QUEUE,
                    Permission.REPLY}),
    (Role.APPROVER, set(Permission) - {Permission.MANAGE_USERS}),
    (Role.ADMIN, set(Permission)),
])
def test_roles_rank_officer_approver_admin(cli, workspace, monkeypatch, runtime_factory,
                                           role, allowed):
    assert add(cli, monkeypatch, "who", role).code == 0
    user = authenticate(runtime_factory(), "who", PASSWORD, address="127.0.0.1")
    for permission in Permission:
        if permission in allowed:
            require(user, permission)
        else:
            with pytest.raises(Forbidden):
                require(user, permission)


def test_a_name_that_is_a_console_user_keeps_its_role_elsewhere(cli, workspace, monkeypatch,
                                                                 runtime_factory):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    assert add(cli, monkeypatch, "bob", "approver").code == 0
    rt = runtime_factory()
    require_by_name(rt, "bob", Permission.APPROVE)
    require_by_name(rt, "an-operator", Permission.APPROVE)  # not a console user
    with pytest.raises(Forbidden):
        require_by_name(rt, "alice", Permission.APPROVE)
    disable_user(rt, "bob", by="root")
    with pytest.raises(Forbidden):
        require_by_name(rt, "bob", Permission.VIEW)


def test_only_an_admin_manages_users_in_their_own_name(cli, workspace, monkeypatch):
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    r = add(cli, monkeypatch, "eve", "admin", PASSWORD, "--by", "alice")
    assert r.code == 1 and "alice is officer" in r.err
    assert cli("users", "disable", "alice", "--by", "alice").code == 1
    assert [u["name"] for u in cli("users", "list", "--json").json] == ["alice"]
    assert add(cli, monkeypatch, "root", "admin").code == 0  # an operator at the server
    assert add(cli, monkeypatch, "eve", "officer", PASSWORD, "--by", "root").code == 0


def test_the_command_line_by_keeps_a_console_users_role(cli, workspace, monkeypatch):
    """An officer's name on --by cannot approve, pause, resume, retract or approve tips on
    the command line either; a disabled user's name can do nothing; a name that is no
    console user's (an operator at the server) acts as before."""
    assert add(cli, monkeypatch, "alice", "officer").code == 0
    assert add(cli, monkeypatch, "bob", "approver").code == 0
    assert add(cli, monkeypatch, "carol", "approver").code == 0
    assert cli("users", "disable", "carol").code == 0
    ids = []
    for text in ("一", "二"):
        r = cli("queue", "add", "--account", "pingan-local", "--text", text, "--json",
                "--by", "alice")
        assert r.code == 0, r.err
        ids.append(r.json["id"])
    before = logical_dump(workspace / "outreach.db")
    refused = [
        ("queue", "approve", str(ids[0]), "--by", "alice"),
        ("queue", "approve", str(ids[0]), "--by", "carol"),
        ("pause", "--reason", "演练", "--by", "alice"),
        ("resume", "--by", "alice"),
        ("content", "approve", "fraud-task-brushing-zh", "--by", "alice"),
        ("content", "approve", "--all", "--yes", "--by", "alice"),
        ("content", "approve", "fraud-task-brushing-zh", "--by", "carol"),
    ]
    for args in refused:
        r = cli(*args)
        assert r.code == 1, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1, (args, r.err)
        assert "alice is officer" in r.err or "carol is disabled" in r.err, (args, r.err)
        assert "Traceback" not in r.err
    assert logical_dump(workspace / "outreach.db") == before
    # bob (an approver) and an operator who is no console user may
    assert cli("queue", "approve", str(ids[0]), "--by", "bob").code == 0
    assert cli("queue", "approve", str(ids[1]), "--by", "an-operator").code == 0
    assert cli("pause", "--reason", "演练", "--by", "bob").code == 0
    assert cli("resume", "--by", "an-operator").code == 0
    assert cli("content", "approve", "fraud-task-brushing-zh", "--by", "bob").code == 0
    assert cli("content", "revoke", "fraud-task-brushing-zh", "--by", "alice").code == 1
    assert cli("queue", "reschedule", str(ids[1]), "--at", "+3h").code == 0
    assert cli("run", "--once").code == 0
    assert cli("queue", "show", str(ids[0]), "--json").json["status"] == "published"
    r = cli("queue", "retract", str(ids[0]), "--reason", "信息有误", "--by", "alice")
    assert r.code == 1 and "alice is officer" in r.err
    assert cli("queue", "show", str(ids[0]), "--json").json["status"] == "published"
    r = cli("queue", "retract", str(ids[0]), "--reason", "信息有误", "--by", "bob")
    assert r.code == 0, r.err
    assert cli("queue", "show", str(ids[0]), "--json").json["status"] == "retracted"
