"""The queue and content commands on a real SQLite file, as officers use them."""

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import logical_dump


def test_content_check_passes_on_the_starter_library(starter_workspace, cli):
    r = cli("content", "check")
    assert r.code == 0, r.out + r.err
    assert "0 error(s)" in r.err


def test_content_show_gives_the_exact_text_posted(workspace, cli):
    r = cli("content", "show", "fraud-task-brushing-zh", "--account", "pingan-local", "--json")
    assert r.code == 0, r.err
    data = r.json
    assert data["rendered"].startswith("【") and "{{" not in data["rendered"]
    assert data["length"] <= data["max_length"] == 140


def test_adhoc_text_is_a_draft_and_needs_another_officer(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "今晚有雨，出行注意安全。",
            "--at", "+1h", "--json")
    assert r.code == 0, r.err
    post = r.json
    assert post["status"] == "draft" and post["text"] == "今晚有雨，出行注意安全。"
    r = cli("queue", "approve", str(post["id"]))
    assert r.code == 1 and "another officer" in r.err
    r = cli("queue", "approve", str(post["id"]), "--by", "officer-b")
    assert r.code == 0, r.err
    r = cli("queue", "show", str(post["id"]), "--json")
    shown = r.json
    assert shown["status"] == "queued" and shown["approved_by"] == "officer-b"
    assert shown["reposts"] is None and shown["comments"] is None and shown["likes"] is None
    assert [a["action"] for a in shown["audit"]] == ["queue_add", "queue_approve"]


def test_text_is_taken_literally(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "{{ hotline.police }} & <b>",
            "--json")
    assert r.code == 0, r.err
    assert r.json["text"] == "{{ hotline.police }} & <b>"


def test_a_new_process_sees_the_same_rows(workspace, cli):
    cli("queue", "add", "--account", "pingan-local", "--text", "注意防火", "--at", "+2h")
    out = subprocess.run([sys.executable, "-m", "outreach", "queue", "list", "--json"],
                         capture_output=True, text=True, cwd=workspace, check=True).stdout
    rows = json.loads(out)
    assert len(rows) == 1 and rows[0]["text"] == "注意防火"
    keys = {"id", "account", "status", "scheduled_at", "not_before", "tip_id", "text",
            "remote_id", "remote_url", "published_at", "attempts", "last_error"}
    assert keys <= set(rows[0])
    assert rows[0]["scheduled_at"].endswith("+00:00")


def test_tip_posts_need_an_approved_tip(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh")
    assert r.code == 1 and "not approved" in r.err
    assert cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief").code == 0
    r = cli("queue", "add", "--account", "pingan-local", "--tip", "fraud-task-brushing-zh",
            "--json")
    assert r.code == 0, r.err
    assert r.json["status"] == "queued" and r.json["tip_id"] == "fraud-task-brushing-zh"
    listed = cli("content", "list", "--category", "fraud.task", "--json").json
    assert any(t["id"] == "fraud-task-brushing-zh" and t["approved"] for t in listed)


def test_run_once_publishes_what_is_due(workspace, cli):
    r = cli("queue", "add", "--account", "pingan-local", "--text", "注意防骗", "--json")
    post_id = r.json["id"]
    cli("queue", "approve", str(post_id), "--by", "officer-b")
    r = cli("run", "--once")
    assert r.code == 0, r.err
    shown = cli("queue", "show", str(post_id), "--json").json
    assert shown["status"] == "published" and shown["remote_id"]
    assert cli("metrics", "collect").code == 0
    shown = cli("queue", "show", str(post_id), "--json").json
    assert shown["reposts"] is not None and shown["comments"] is not None


def test_cancel_reschedule_and_retract(workspace, cli):
    ids = []
    for text in ("一", "二"):
        r = cli("queue", "add", "--account", "pingan-local", "--text", text, "--at", "+3h",
                "--json")
        ids.append(r.json["id"])
        cli("queue", "approve", str(r.json["id"]), "--by", "officer-b")
    assert cli("queue", "cancel", str(ids[0]), "--reason", "重复").code == 0
    assert cli("queue", "show", str(ids[0]), "--json").json["status"] == "cancelled"
    assert cli("queue", "cancel", str(ids[0])).code == 1  # already cancelled
    r = cli("queue", "reschedule", str(ids[1]), "--at", "now", "--json")
    assert r.code == 0, r.err
    cli("run", "--once")
    assert cli("queue", "show", str(ids[1]), "--json").json["status"] == "published"
    assert cli("queue", "retract", str(ids[1])).code == 2  # --reason is required
    r = cli("queue", "retract", str(ids[1]), "--reason", "信息有误")
    assert r.code == 0, r.err
    shown = cli("queue", "show", str(ids[1]), "--json").json
    assert shown["status"] == "retracted"
    assert shown["audit"][-1]["action"] == "queue_retract"
    assert shown["audit"][-1]["reason"] == "信息有误"


def test_import_is_all_or_nothing(workspace, cli):
    cli("content", "approve", "fraud-task-brushing-zh", "--by", "chief")
    cli("queue", "list")  # creates the database
    before = logical_dump(workspace / "outreach.db")
    path = workspace / "posts.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["account", "at", "text", "tip"])
        w.writerow(["pingan-local", "+1h", "第一条", ""])
        w.writerow(["pingan-local", "2027-02-30T08:00", "第二条", ""])
        w.writerow(["nobody", "+1h", "第三条", ""])
        w.writerow(["pingan-local", "+2h", "", "fraud-task-brushing-zh"])
    r = cli("queue", "import", str(path))
    assert r.code == 1
    assert f"{path}:3:" in r.err and "not a valid date" in r.err
    assert f"{path}:4:" in r.err and "unknown account" in r.err
    assert "Traceback" not in r.err
    assert logical_dump(workspace / "outreach.db") == before
    path.write_text("account,at,text,tip\npingan-local,+1h,第一条,\n"
                    "pingan-local,+2h,,fraud-task-brushing-zh\n", encoding="utf-8")
    r = cli("queue", "import", str(path), "--json")
    assert r.code == 0, r.err
    assert [p["status"] for p in r.json] == ["draft", "queued"]


def test_import_json_lines(workspace, cli):
    path = workspace / "posts.jsonl"
    path.write_text('{"account": "pingan-local", "at": "now", "text": "一"}\n'
                    '{"account": "pingan-local", "text": "二"}\n', encoding="utf-8")
    r = cli("queue", "import", str(path))
    assert r.code == 0, r.err
    assert len(cli("queue", "list", "--json").json) == 2


@pytest.mark.parametrize("args, code, needle", [
    (["queue", "add", "--account", "nobody", "--text", "x"], 1, "unknown account"),
    (["queue", "add", "--account", "pingan-local", "--tip", "no-such-tip"], 1, "unknown tip"),
    (["queue", "add", "--account", "pingan-local", "--text", "x", "--at", "2027-02-30"], 1,
     "not a valid date"),
    (["queue", "add", "--account", "pingan-local", "--text", "x", "--at", "2001-01-01T08:00"], 1,
     "in the past"),
    (["queue", "add", "--account", "pingan-local", "--text", "   "], 1, "blank"),
    (["queue", "add", "--account", "pingan-local", "--text", "长" * 141], 1, "limit is 140"),
    (["queue", "add", "--account", "pingan-local", "--text", "x", "--at", "soonish"], 1,
     "cannot read"),
    (["queue", "add", "--account", "pingan-local", "--text", "待定的内容"], 1, "blocklisted"),
    (["queue", "add", "--account", "pingan-local"], 2, "exactly one"),
    (["queue", "show", "999"], 1, "no post with id 999"),
    (["queue", "show", "abc"], 2, ""),
    (["queue", "list", "--limit", "-1"], 2, ""),
    (["queue", "list", "--status", "bogus"], 2, ""),
    (["queue", "approve", "12345"], 1, "no post"),
    (["content", "show", "nope"], 1, "unknown tip"),
    (["content", "list", "--lang", "fr"], 2, ""),
    (["plan", "--days", "0"], 2, ""),
    (["pause", "--reason", ""], 1, "must not be empty"),
    (["no-such-command"], 2, ""),
])
def test_bad_input_is_one_line_and_changes_nothing(workspace, cli, args, code, needle):
    cli("queue", "list")
    before = logical_dump(workspace / "outreach.db")
    r = cli(*args)
    assert r.code == code, (r.out, r.err)
    assert needle in r.err
    assert "Traceback" not in r.err + r.out
    assert logical_dump(workspace / "outreach.db") == before


def test_bad_config_is_one_line(workspace, cli):
    (workspace / "config.toml").write_text('[outreach]\ntimezone = "Mars/Base"\n', "utf-8")
    r = cli("queue", "list")
    assert r.code == 1
    assert "config.toml:2: outreach.timezone: unknown timezone 'Mars/Base'" in r.err.replace(
        "\n", "")
    assert "Traceback" not in r.err


def test_pause_and_resume_are_audited(workspace, cli):
    assert cli("pause", "--reason", "重大警情", "--account", "pingan-local").code == 0
    accounts = cli("accounts", "list", "--json").json
    assert accounts[0]["state"] == "paused"
    assert cli("resume", "--account", "pingan-local").code == 0
    assert cli("accounts", "list", "--json").json[0]["state"] == "active"


def test_status_is_unhealthy_without_a_daemon(workspace, cli):
    r = cli("status", "--json")
    assert r.code == 1
    assert r.json["healthy"] is False
    assert any("daemon" in p for p in r.json["problems"])


@pytest.mark.sqlite_only
def test_db_upgrade_and_backup(workspace, cli):
    assert cli("db", "upgrade").code == 0
    assert cli("db", "backup", str(workspace / "b.db")).code == 0
    assert cli("db", "backup", str(workspace / "b.db")).code == 1  # never overwrites


def test_init_never_overwrites(tmp_path, cli):
    target = tmp_path / "ws"
    assert cli("init", str(target)).code == 0
    (target / "config.toml").write_text("# mine\n", encoding="utf-8")
    assert cli("init", str(target)).code == 0
    assert (target / "config.toml").read_text(encoding="utf-8") == "# mine\n"


def test_grid_aligns_by_display_width_and_fits_the_terminal(monkeypatch):
    """Long listings are laid out by hand: CJK counts two columns, the flexible column is
    cut with an ellipsis so every line fits, control characters never reach the terminal."""
    import io

    from rich.cells import cell_len
    from rich.console import Console

    from outreach.cli import output

    buf = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=buf, width=50, color_system=None))
    output.grid(("id", "text", "who"), [
        ("1", "警惕冒充公检法诈骗：公检法机关不会通过电话办案，不会要求转账", "张警官"),
        ("22", output.plain("ok\x1b]8;;http://x\x07link\x1b]8;;\x07 [red]x[/]"), "li"),
    ], shrink=(1,))
    assert buf.getvalue().endswith("…\n") or buf.getvalue().endswith("li\n")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4 and all(cell_len(line) <= 50 for line in lines), lines
    assert lines[0].split() == ["id", "text", "who"] and set(lines[1]) == {"─"}
    assert "…" in lines[2] and "\x1b" not in buf.getvalue() and "[red]x[/]" in lines[3]
    who = [cell_len(line[: line.rindex(name)]) for line, name in ((lines[2], "张警官"),
                                                                 (lines[3], "li"))]
    assert who[0] == who[1]  # the last column starts at the same display column


def test_the_lazy_command_table_says_what_each_command_says():
    """`outreach --help` lists the commands from a table, importing none of them: the table's
    help must be each command's own first paragraph, and its module must hold it."""
    from outreach.cli.lazy import COMMANDS, load

    for name, lazy in COMMANDS.items():
        command = load(name)
        assert command.name == name
        first = (command.help or "").split("\n\n")[0]
        assert " ".join(first.split()) == " ".join(lazy.help.split()), name


def test_help_imports_no_command_module(tmp_path):
    code = ("import sys\nfrom outreach.cli.app import run_cli\nsys.argv = ['outreach', '--help']\n"
            "assert run_cli() == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith(('outreach.cli.', "
            "'outreach.actions', 'sqlalchemy'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['outreach.cli.app', 'outreach.cli.language', " \
                                                  "'outreach.cli.lazy', 'outreach.cli.output']"
    assert "queue" in out.stdout and "Commands:" in out.stdout


def test_help_lists_the_same_whether_commands_are_loaded_or_not():
    import typer.main

    from outreach.cli.app import app
    from outreach.cli.lazy import LazyGroup

    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    ctx = group.make_context("outreach", [], resilient_parsing=True)
    before = group.get_help(ctx)
    assert all(command.name == name for name, command in group.commands.items())  # loads all
    assert group.get_help(ctx) == before


def test_queued_posts_of_an_account_taken_out_of_the_config_are_a_problem(workspace, cli):
    """No daemon claims a post of an account the config no longer has: status says so,
    naming the account, until the posts are cancelled (or the account is back)."""
    config = workspace / "config.toml"
    original = config.read_text("utf-8")
    section = original[original.index("[accounts.pingan-local]"):original.index("[policy]")]
    config.write_text(original.replace(
        "[policy]", section.replace("pingan-local", "county-3") + "[policy]"), "utf-8")
    added = [cli("queue", "add", "--account", "county-3", "--text", f"注意防火 {n}",
                 "--at", "+2h", "--json").json["id"] for n in range(2)]
    assert not any("county-3" in p for p in cli("status", "--json").json["problems"])
    config.write_text(original, "utf-8")  # the county account is taken out
    r = cli("status", "--json")
    orphaned = [p for p in r.json["problems"] if "county-3" in p]
    assert r.code == 1 and len(orphaned) == 1 and orphaned[0].startswith("2 queued or draft post(s)")
    zh = cli("--lang", "zh", "status")
    assert "county-3" in zh.out + zh.err and "不在配置" in zh.out + zh.err
    for post_id in added:
        assert cli("queue", "cancel", str(post_id), "--reason", "撤销县级账号").code == 0
    assert not any("county-3" in p for p in cli("status", "--json").json["problems"])
