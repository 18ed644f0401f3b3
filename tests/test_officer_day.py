"""An officer's day through the CLI: schedule changes, edits, bulk approval, what is held and
why, warnings when queueing, times in the account's zone — on a real config and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import local_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cron_in(delta: timedelta) -> str:
    """A daily cron line firing at now + delta (to the minute) in the account's zone."""
    at = (datetime.now(UTC) + delta).astimezone(SHANGHAI)
    return f"{at.minute} {at.hour} * * *"


def use_slots(ws, *crons: str, **kwargs) -> None:
    slots = ", ".join(f'{{ cron = "{c}" }}' for c in crons)
    (ws / "config.toml").write_text(local_config(slots=slots, require_approval=False, **kwargs),
                                    encoding="utf-8")


def slot_posts(cli) -> list[dict]:
    return [p for p in cli("queue", "list", "--json").json if p["kind"] == "slot"]


# --- a schedule change shows at once ---------------------------------------------------


def test_changed_slots_show_at_once_and_a_removed_slots_post_is_cancelled(workspace, cli):
    early, middle, late = (cron_in(timedelta(hours=h)) for h in (1, 2, 4))
    use_slots(workspace, middle, late)
    assert cli("run", "--once").code == 0
    before = slot_posts(cli)
    assert [p["status"] for p in before] == ["queued", "queued"]
    removed = before[0]  # the `middle` slot

    use_slots(workspace, early, late)  # `middle` removed, `early` added (before `late`)
    planned = cli("plan", "--days", "1", "--json").json
    assert [r["status"] for r in planned] == ["planned", "cancelled", "queued"], planned
    assert planned[1]["reason"] == "slot removed from config"

    assert cli("run", "--once").code == 0
    after = {p["id"]: p for p in slot_posts(cli)}
    assert after[removed["id"]]["status"] == "cancelled"
    assert after[removed["id"]]["last_error"] == "slot removed from config"
    shown = cli("queue", "show", str(removed["id"]), "--json").json
    assert shown["audit"][-1]["action"] == "queue_cancel"
    assert shown["audit"][-1]["reason"] == "slot removed from config"
    queued = sorted((p["scheduled_at"], p["status"]) for p in after.values()
                    if p["status"] == "queued")
    assert len(queued) == 2 and queued[0][0] < before[0]["scheduled_at"]

    use_slots(workspace, early, middle, late)  # put back: the slot is drawn again
    assert cli("run", "--once").code == 0
    assert len([p for p in slot_posts(cli) if p["status"] == "queued"]) == 3



def test_a_slot_whose_categories_changed_is_drawn_again(workspace, cli):
    at = cron_in(timedelta(hours=2))
    (workspace / "config.toml").write_text(local_config(
        slots=f'{{ cron = "{at}", categories = ["fraud"] }}', require_approval=False), "utf-8")
    assert cli("run", "--once").code == 0
    [before] = slot_posts(cli)
    assert before["category"].startswith("fraud")
    (workspace / "config.toml").write_text(local_config(
        slots=f'{{ cron = "{at}", categories = ["fire"] }}', require_approval=False), "utf-8")
    planned = cli("plan", "--days", "1", "--json").json
    assert [(r["status"], (r["category"] or "")[:4]) for r in planned] == [
        ("cancelled", "frau"), ("planned", "fire")], planned
    assert cli("run", "--once").code == 0
    after = {p["id"]: p for p in slot_posts(cli)}
    assert after[before["id"]]["status"] == "cancelled"
    assert after[before["id"]]["last_error"] == "slot changed in config"
    [new] = [p for p in after.values() if p["status"] == "queued"]
    assert new["category"].startswith("fire") and new["scheduled_at"] == before["scheduled_at"]


@pytest.mark.slow
def test_a_minute_slot_added_to_a_running_daemons_config_publishes_after_a_restart(workspace,
                                                                                   cli):
    from tests.daemon_process import query, start_daemon, stop_daemon, wait_for

    use_slots(workspace, cron_in(timedelta(hours=3)))
    cli("queue", "list")  # creates the database
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, "SELECT count(*) FROM posts")[0][0] == 1, 60,
                 "the daily slot to be materialised")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    use_slots(workspace, cron_in(timedelta(hours=3)), "* * * * *")
    restarted = datetime.now(UTC)
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, "SELECT count(*) FROM posts WHERE status = "
                                          "'published' AND kind = 'slot'")[0][0] >= 1,
                 120, "a minute slot to be published")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    first = query(workspace, "SELECT min(published_at) FROM posts WHERE status = 'published'")
    assert datetime.fromisoformat(first[0][0]).replace(tzinfo=UTC) - restarted < timedelta(
        minutes=2)


# --- queue edit ----------------------------------------------------------------------------


def test_queue_edit_changes_text_and_time_and_needs_approval_again(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "今晚有雨，注意安全。",
            "--at", "+3h", "--json")
    post_id = str(r.json["id"])
    assert cli("queue", "approve", post_id, "--by", "officer-b").code == 0

    r = cli("queue", "edit", post_id, "--text", "今晚有暴雨，尽量不要外出。", "--by", "officer-b",
            "--json")
    assert r.code == 0, r.err
    assert r.json["status"] == "draft" and r.json["text"] == "今晚有暴雨，尽量不要外出。"
    assert r.json["approved_by"] is None
    # the editor wrote this text: another officer approves it (here the original author)
    r = cli("queue", "approve", post_id, "--by", "officer-b")
    assert r.code == 1 and "another officer" in r.err
    assert cli("queue", "approve", post_id, "--by", "officer-a").code == 0

    at = cli("queue", "show", post_id, "--json").json["scheduled_at"]
    r = cli("queue", "edit", post_id, "--at", "+5h", "--json")
    assert r.code == 0, r.err
    assert r.json["status"] == "queued" and r.json["scheduled_at"] > at  # time only: approved

    shown = cli("queue", "show", post_id, "--json").json
    edits = [a for a in shown["audit"] if a["action"] == "queue_edit"]
    assert len(edits) == 2 and edits[0]["actor"] == "officer-b"
    assert edits[0]["detail"]["text_from"] == "今晚有雨，注意安全。"


@pytest.mark.parametrize("args, needle", [
    (["--text", "待定的内容"], "blocklisted"),
    (["--text", "长" * 141], "limit is 140"),
    (["--text", "响铃\x07了"], "control character"),
    (["--text", "   "], "blank"),
    (["--at", "2001-01-01T08:00"], "in the past"),
    ([], "give --text or --at"),
])
def test_queue_edit_checks_like_queue_add_and_changes_nothing_on_error(workspace, cli, args,
                                                                       needle):
    from tests.conftest import logical_dump

    r = cli("queue", "add", "--account", "pingan-local", "--text", "注意防火", "--at", "+2h",
            "--json")
    before = logical_dump(workspace / "outreach.db")
    r = cli("queue", "edit", str(r.json["id"]), *args)
    assert r.code in (1, 2) and needle in r.err, r.err
    assert "Traceback" not in r.err
    assert logical_dump(workspace / "outreach.db") == before


def test_queue_edit_refuses_a_published_post(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "注意防骗", "--json")
    post_id = str(r.json["id"])
    cli("queue", "approve", post_id, "--by", "officer-b")
    cli("run", "--once")
    r = cli("queue", "edit", post_id, "--text", "改一下")
    assert r.code == 1 and "published" in r.err


def test_queue_add_refuses_control_characters(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "看这里\u202e反转")
    assert r.code == 1 and "control character" in r.err


# --- bulk approval and revoking ------------------------------------------------------------


def approved_ids(cli, *args: str) -> set[str]:
    return {t["id"] for t in cli("content", "list", *args, "--json").json if t["approved"]}


def test_content_approve_a_category_lists_and_asks_first(workspace, cli, monkeypatch):
    import io

    campus = {t["id"] for t in cli("content", "list", "--category", "campus", "--json").json}
    assert len(campus) == 13
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    r = cli("content", "approve", "--category", "campus", "--by", "chief")
    assert r.code == 1 and "nothing was approved" in r.err
    assert "campus-bullying-zh" in r.out + r.err  # it listed what it would approve
    assert approved_ids(cli) == set()

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    r = cli("content", "approve", "--category", "campus", "--by", "chief")
    assert r.code == 0, r.err
    assert approved_ids(cli) == campus
    assert "13 tip(s) approved" in r.err


def test_content_approve_all_with_yes_and_revoke(workspace, cli):
    r = cli("content", "approve", "--all", "--yes", "--by", "chief")
    assert r.code == 0, r.err
    everything = {t["id"] for t in cli("content", "list", "--json").json}
    assert approved_ids(cli) == everything
    r = cli("content", "approve", "--all", "--yes", "--by", "chief")
    assert r.code == 0 and "every tip is already approved" in r.err

    r = cli("content", "revoke", "fraud-task-brushing-zh", "campus-bullying-zh", "--by", "chief",
            "--reason", "法规更新")
    assert r.code == 0, r.err
    assert approved_ids(cli) == everything - {"fraud-task-brushing-zh", "campus-bullying-zh"}
    r = cli("content", "revoke", "fraud-task-brushing-zh")
    assert r.code == 1 and "not approved" in r.err
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh")
    assert r.code == 1 and "not approved" in r.err


@pytest.mark.parametrize("args", [
    ["content", "approve"],
    ["content", "approve", "fraud-task-brushing-zh", "--all"],
    ["content", "approve", "--all", "--category", "fraud"],
    ["content", "revoke"],
])
def test_content_approve_needs_exactly_one_way_to_choose(workspace, cli, args):
    r = cli(*args)
    assert r.code == 2, r.err


# --- who paused, when, why ---------------------------------------------------------------


def test_accounts_list_and_status_say_who_paused_when_and_why(workspace, cli):
    assert cli("pause", "--reason", "重大警情，暂停发布", "--by", "chief").code == 0
    row = cli("accounts", "list", "--json").json[0]
    assert row["state"] == "paused"
    assert row["paused_by"] == "chief" and row["paused_reason"] == "重大警情，暂停发布"
    assert row["paused_at"].endswith("+00:00")
    status = cli("status", "--json").json
    assert status["accounts"][0]["paused_reason"] == "重大警情，暂停发布"
    for args in (("accounts", "list"), ("status",)):
        r = cli(*args)
        text = r.out + r.err
        assert "chief" in text and "重大警情" in text, text
    assert cli("resume").code == 0
    row = cli("accounts", "list", "--json").json[0]
    assert row["state"] == "active" and row["paused_by"] is None and row["paused_reason"] is None


# --- run --once says what is held and why ----------------------------------------------------


def test_run_once_says_what_is_held_and_why(starter_workspace, cli):
    def approved(account: str, text: str) -> str:
        post_id = str(cli("queue", "add", "--account", account, "--text", text, "--json")
                      .json["id"])
        assert cli("queue", "approve", post_id, "--by", "officer-b").code == 0
        return post_id

    approved("pingan-weibo", "今晚有雨，注意安全。")
    approved("pingan-local", "夜间出行注意安全。")
    approved("pingan-local", "注意防火。")
    cli("queue", "add", "--account", "pingan-local", "--text", "等待审核的提示。")
    assert cli("pause", "--account", "pingan-local", "--reason", "演练", "--by", "chief").code == 0
    r = cli("run", "--once")
    assert r.code == 0, r.err
    assert "nothing due" not in r.err
    assert "held: 2 paused (pingan-local, by chief: 演练)" in r.err, r.err
    assert "1 unconfigured (pingan-weibo: no token)" in r.err
    assert "1 draft awaiting approval" in r.err


# --- an edited tip's queued post ----------------------------------------------------------


def test_plan_holds_a_queued_post_whose_tip_changed_and_content_check_lists_it(workspace, cli):
    cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief")
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
            "--at", "+2h", "--json")
    post_id = r.json["id"]
    assert cli("content", "check").code == 0
    tips = workspace / "content" / "tips" / "fraud_zh.toml"
    tips.write_text(tips.read_text("utf-8").replace("凡是要你先垫钱的刷单，都是诈骗。",
                                                    "凡是要你先垫钱的，都是诈骗。"), "utf-8")
    row = next(r for r in cli("plan", "--days", "1", "--json").json if r["post_id"] == post_id)
    assert row["status"] == "held", row
    assert "approval withdrawn" in row["reason"]
    r = cli("content", "check")
    assert r.code == 0, r.out + r.err
    assert f"post {post_id}" in r.out and "fraud-task-brushing-zh" in r.out
    assert "changed since it was queued" in r.out

    cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief")  # the new text
    row = next(r for r in cli("plan", "--days", "1", "--json").json if r["post_id"] == post_id)
    assert row["status"] == "queued"
    r = cli("content", "check")
    assert f"post {post_id}" in r.out and "older text" in r.out  # it would go out as queued


# --- warnings when queueing ------------------------------------------------------------------


def test_queue_add_warns_of_a_tip_queued_within_the_cooldown_and_strict_refuses(workspace,
                                                                               cli):
    from tests.conftest import logical_dump

    cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief")
    first = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
                "--at", "+2h", "--json").json["id"]
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
            "--at", "+3d", "--json")
    assert r.code == 0, r.err
    assert f"post {first}" in r.err and "cooldown_days" in r.err and "warning" in r.err
    before = logical_dump(workspace / "outreach.db")
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
            "--at", "+4d", "--strict")
    assert r.code == 1 and f"post {first}" in r.err
    assert logical_dump(workspace / "outreach.db") == before
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
            "--at", "+40d")
    assert r.code == 0 and "cooldown" not in r.err


def test_queue_add_warns_inside_quiet_hours_on_a_blackout_date_and_of_template_marks(
        workspace, cli):
    day = (datetime.now(UTC) + timedelta(days=3)).astimezone(SHANGHAI).date()
    (workspace / "config.toml").write_text(
        local_config(quiet_hours="23:00-07:00") + f'blackout_dates = ["{day}"]\n', "utf-8")
    r = cli("queue", "add", "--account", "pingan-local", "--text", "夜间巡逻提示",
            "--at", f"{day + timedelta(days=1)}T23:30")
    assert r.code == 0, r.err
    assert "quiet hours" in r.err and "23:00-07:00" in r.err
    r = cli("queue", "add", "--account", "pingan-local", "--text", "清明节提示", "--at",
            f"{day}T10:00")
    assert r.code == 0 and "blackout" in r.err and str(day) in r.err
    r = cli("queue", "add", "--account", "pingan-local", "--text", "请拨打{{ hotline.police }}",
            "--at", "+1h", "--json")
    assert r.code == 0 and "not a template" in r.err
    assert r.json["text"] == "请拨打{{ hotline.police }}"
    r = cli("queue", "add", "--account", "pingan-local", "--text", "白天的提示", "--at",
            f"{day + timedelta(days=1)}T10:00", "--json")
    assert r.code == 0 and "warning" not in r.err
    post_id = str(r.json["id"])
    r = cli("queue", "edit", post_id, "--at", f"{day}T12:00")  # moved onto it
    assert r.code == 0 and "blackout" in r.err, r.err
    r = cli("queue", "reschedule", post_id, "--at", f"{day}T23:45")
    assert r.code == 0 and "blackout" in r.err and "quiet hours" in r.err, r.err


# --- times in the account's zone -------------------------------------------------------------


def test_a_past_time_is_shown_in_the_accounts_zone(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "x", "--at",
            "2020-12-01T08:00")
    assert r.code == 1
    assert "2020-12-01 08:00 CST is in the past" in r.err, r.err


def test_dry_run_shows_local_times_and_the_materialise_window(workspace, cli):
    at = (datetime.now(UTC) + timedelta(hours=30)).astimezone(SHANGHAI)
    (workspace / "config.toml").write_text(
        local_config(slots=f'{{ cron = "{at.minute} {at.hour} * * *" }}',
                     require_approval=False).replace("materialise_hours = 24",
                                                     "materialise_hours = 48"), "utf-8")
    r = cli("run", "--dry-run")
    assert r.code == 0, r.err
    assert "next 48 h" in r.err and "24 h" not in r.err
    assert f"{at:%Y-%m-%d %H:%M} CST" in r.out, r.out
    assert "+00:00" not in r.out


# --- content show -------------------------------------------------------------------------------


def test_content_show_says_whether_a_tip_is_approved(workspace, cli):
    r = cli("content", "show", "fraud-task-brushing-zh", "--json")
    assert r.code == 0 and r.json["approved"] is False
    assert "not approved" in cli("content", "show", "fraud-task-brushing-zh").out
    cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief")
    data = cli("content", "show", "fraud-task-brushing-zh", "--json").json
    assert data["approved"] is True and data["approved_by"] == "chief"
    assert "approved by chief" in cli("content", "show", "fraud-task-brushing-zh").out


def test_content_show_warns_of_a_tip_in_another_language(starter_workspace, cli):
    r = cli("content", "show", "fraud-task-brushing-zh", "--account", "safety-mastodon",
            "--json")
    assert r.code == 0, r.err
    assert any("posts in en" in p for p in r.json["problems"]), r.json["problems"]
    r = cli("content", "show", "fraud-task-brushing-zh", "--account", "safety-mastodon")
    assert "posts in en" in r.out + r.err


@pytest.mark.parametrize("columns", ["60", "70", "80"])
def test_content_show_never_splits_a_template_mark_across_lines(workspace, columns):
    import os
    import subprocess
    import sys

    env = dict(os.environ, COLUMNS=columns)
    out = subprocess.run([sys.executable, "-m", "outreach", "content", "show",
                          "service-police-day-en"], capture_output=True, text=True, env=env,
                         cwd=workspace, check=True).stdout
    for line in out.splitlines():
        assert line.count("{{") == line.count("}}"), out
    assert "{{ city }}" in out and "{{ hotline.police }}" in out


# --- accounts check in plain words -------------------------------------------------------------


def test_an_unconfigured_account_is_not_contacted(starter_workspace, cli, caplog):
    import logging

    caplog.set_level(logging.INFO)
    cli("content", "approve", "--all", "--yes", "--by", "chief")
    for args in (("content", "check"), ("plan", "--days", "2"), ("run", "--once")):
        r = cli(*args)
        assert r.code == 0, r.out + r.err
        logged = [rec.getMessage() for rec in caplog.records]
        assert not any("instance limits unavailable" in m for m in logged), (args, logged)


def test_accounts_check_speaks_plainly_names_placeholders_and_records_the_state(
        starter_workspace, cli, monkeypatch):
    r = cli("accounts", "check", "--account", "pingan-weibo")
    assert r.code == 1
    text = " ".join((r.out + r.err).split())
    assert "ConfigError" not in text and "Error:" not in text
    assert "OUTREACH_PINGAN_WEIBO_TOKEN" in text
    assert "https://example.gov.cn/safety" in text and "203.0.113.7" in text
    assert "placeholder" in text

    monkeypatch.setenv("OUTREACH_SAFETY_MASTODON_TOKEN", "not-a-real-token")
    r = cli("accounts", "check", "--account", "safety-mastodon", "--json")
    assert r.code == 1
    result = r.json[0]
    assert not result["ok"] and result["error"] == "TransientError"
    assert "TransientError" not in result["detail"]
    assert any("mastodon.example" in p for p in result["placeholders"])
    r = cli("accounts", "check", "--account", "safety-mastodon")
    assert "TransientError" not in r.out + r.err and "placeholder" in r.out
    row = next(a for a in cli("accounts", "list", "--json").json
               if a["name"] == "safety-mastodon")
    assert row["state"] == "active" and row["check_failed"], row
    assert "placeholder" in (cli("accounts", "list").out)


# --- small ones -----------------------------------------------------------------------------


def test_init_in_another_folder_says_to_go_there_first(tmp_path, cli):
    target = tmp_path / "my ws"
    r = cli("init", str(target))
    assert r.code == 0, r.err
    assert f"cd '{target}'" in r.err and "outreach content check" in r.err
    r = cli("init", str(target))  # everything kept: still the same next step
    assert f"cd '{target}'" in r.err


def _commands(group, path=()):
    import click

    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield (*path, name)  # a group with its own options (opinions)
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_help_names_arguments_in_users_words(workspace, cli):
    import re

    import typer.main

    from outreach.cli.app import app

    for path in _commands(typer.main.get_command(app)):
        r = cli(*path, "--help")
        assert r.code == 0, path
        usage = r.out.splitlines()[0]
        arguments = r.out.split("Arguments:")[1].split("Options:")[0] if "Arguments:" in r.out \
            else ""
        assert not re.search(r"[{\[][a-z_]+[}\]]", usage), (path, usage)  # a Python name
        assert "<" not in arguments and not re.search(r"\b[a-z]+_[a-z_]+\b", arguments), (
            path, arguments)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_import_reads_a_chinese_excel_csv_and_says_which_encoding(workspace, cli, encoding):
    path = workspace / "posts.csv"
    path.write_bytes("account,at,text\r\npingan-local,+1h,今晚有雨，注意安全。\r\n"
                     "pingan-local,+2h,电动车请勿进楼充电。\r\n".encode(encoding))
    r = cli("queue", "import", str(path), "--json")
    assert r.code == 0, r.err
    assert [p["text"] for p in r.json] == ["今晚有雨，注意安全。", "电动车请勿进楼充电。"]
    assert "GB18030" in r.err or "GBK" in r.err


def test_import_of_undecodable_bytes_still_names_the_line(workspace, cli):
    path = workspace / "posts.csv"
    path.write_bytes(b"account,at,text\npingan-local,+1h,\xff\xff\xff\n")
    r = cli("queue", "import", str(path))
    assert r.code == 1 and f"{path}:2" in r.err, r.err


def test_status_never_shows_a_negative_heartbeat_age(workspace, cli, runtime_factory, clock):
    from outreach.daemon import Daemon

    cli("queue", "list")
    clock.set(datetime.now(UTC) + timedelta(milliseconds=300))  # a clock a little ahead
    Daemon(runtime_factory()).heartbeat()
    r = cli("status")
    assert "-0.0" not in r.out and "heartbeat 0.0 s ago" in r.out, r.out
    assert cli("status", "--json").json["daemon"]["age_seconds"] >= 0


def test_removing_every_slot_cancels_the_accounts_future_slot_posts(workspace, cli):
    use_slots(workspace, cron_in(timedelta(hours=2)))
    assert cli("run", "--once").code == 0
    [post] = slot_posts(cli)
    (workspace / "config.toml").write_text(local_config(slots="", require_approval=False),
                                           "utf-8")
    assert [r["status"] for r in cli("plan", "--json").json] == ["cancelled"]
    assert cli("run", "--once").code == 0
    [after] = slot_posts(cli)
    assert after["id"] == post["id"] and after["status"] == "cancelled"
