"""Fan-out: `queue add --account @group` queues one post per account as one batch, each
rendered with its account's variables and checked by its platform; all or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import logical_dump
from tests.matrix_config import CITY, ORDER, matrix_config, matrix_workspace

TIP = "service-police-day-zh"  # "…{{ city }}公安民警全天候守护平安…"


def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, **kw) -> Path:
    """The matrix with the tip approved; then ``kw`` changes the config (an account's
    ``max_length`` lowered after the approval, as an officer might)."""
    ws = matrix_workspace(tmp_path / "ws", matrix_config(), monkeypatch)
    r = cli("content", "approve", TIP, "--by", "chief")
    assert r.code == 0, r.err
    (ws / "config.toml").write_text(matrix_config(**kw), "utf-8")
    return ws


@pytest.fixture
def matrix(tmp_path, monkeypatch, cli) -> Path:
    return _workspace(tmp_path, monkeypatch, cli)


def test_a_tip_fans_out_to_a_three_level_group_as_one_batch(matrix, cli):
    r = cli("queue", "add", "--account", "@guangdong", "--tip", TIP, "--at", "tomorrow 09:00",
            "--stagger", "10m", "--json")
    assert r.code == 0, r.err
    out = r.json
    posts = out["posts"]
    assert out["accounts"] == "@guangdong" and len(posts) == 10
    assert [p["account"] for p in posts] == ORDER
    assert {p["batch_id"] for p in posts} == {out["batch_id"]}
    for p in posts:  # each with its own city, under the platform's 【title】 wrapper
        assert f"{CITY[p['account']]}公安民警" in p["text"] and p["text"].startswith("【")
        assert p["status"] == "queued" and p["tip_id"] == TIP
    times = [datetime.fromisoformat(p["scheduled_at"]) for p in posts]
    assert all(b - a == timedelta(minutes=10) for a, b in zip(times, times[1:], strict=False))
    assert times[0].astimezone().utcoffset() is not None
    assert times[0].hour == 1 and times[0].minute == 0  # 09:00 in Shanghai, shown in UTC
    listed = cli("queue", "list", "--batch", str(out["batch_id"]), "--json").json
    assert [p["id"] for p in listed] == [p["id"] for p in posts]
    shown = cli("queue", "show", str(posts[4]["id"]), "--json").json
    assert [a["action"] for a in shown["audit"]] == ["queue_add"]


def test_one_over_length_rendering_refuses_the_batch_and_stores_nothing(
        tmp_path, monkeypatch, cli):
    ws = _workspace(tmp_path, monkeypatch, cli, short=("sz-ft",))
    before = logical_dump(ws / "outreach.db")
    r = cli("queue", "add", "--account", "@guangdong", "--tip", TIP, "--at", "+1h")
    assert r.code == 1
    assert "sz-ft:" in r.err and "20" in r.err and "nothing was queued" in r.err
    assert "Traceback" not in r.err
    assert logical_dump(ws / "outreach.db") == before
    assert cli("queue", "list", "--json").json == []


def test_every_problem_is_listed_not_only_the_first(tmp_path, monkeypatch, cli):
    _workspace(tmp_path, monkeypatch, cli, short=("gz-yx", "fs-nh"))
    r = cli("queue", "add", "--account", "@guangdong", "--tip", TIP)
    assert r.code == 1
    assert "2 problem(s) on 10 account(s)" in r.err
    lines = [line for line in r.err.splitlines() if "limit is 20" in line]
    assert len(lines) == 2 and "gz-yx:" in lines[0] and "fs-nh:" in lines[1]


def test_a_long_text_refuses_the_batch_on_the_account_whose_limit_it_passes(
        tmp_path, monkeypatch, cli):
    ws = _workspace(tmp_path, monkeypatch, cli, short=("sz-ns",))
    before = logical_dump(ws / "outreach.db")
    r = cli("queue", "add", "--account", "@shenzhen",
            "--text", "台风红色预警：请留在室内，远离广告牌和临时建筑。")
    assert r.code == 1 and "sz-ns:" in r.err and "sz-ft:" not in r.err
    assert logical_dump(ws / "outreach.db") == before


def test_an_unapproved_tip_refuses_the_batch(tmp_path, monkeypatch, cli):
    ws = matrix_workspace(tmp_path, matrix_config(), monkeypatch)
    assert cli("queue", "list").code == 0  # the database exists
    before = logical_dump(ws / "outreach.db")
    r = cli("queue", "add", "--account", "@shenzhen", "--tip", TIP)
    assert r.code == 1 and "not approved" in r.err and "nothing was queued" in r.err
    assert logical_dump(ws / "outreach.db") == before


def test_a_text_batch_is_approved_once_by_another_officer(matrix, cli):
    r = cli("queue", "add", "--account", "@foshan", "--text", "台风天请减少外出", "--json")
    assert r.code == 0, r.err
    batch = r.json["batch_id"]
    assert {p["status"] for p in r.json["posts"]} == {"draft"}
    r = cli("queue", "approve", "--batch", str(batch))  # the author (officer-a) may not
    assert r.code == 1 and "another officer" in r.err
    assert {p["status"] for p in cli("queue", "list", "--batch", str(batch), "--json").json} \
        == {"draft"}
    r = cli("queue", "approve", "--batch", str(batch), "--by", "officer-b")
    assert r.code == 0, r.err
    assert "3 post(s) approved" in r.err
    posts = cli("queue", "list", "--batch", str(batch), "--json").json
    assert {(p["status"], p["approved_by"]) for p in posts} == {("queued", "officer-b")}
    trail = cli("queue", "show", str(posts[0]["id"]), "--json").json["audit"]
    assert [a["action"] for a in trail] == ["queue_add", "queue_approve"]
    r = cli("queue", "approve", "--batch", str(batch), "--by", "officer-c")
    assert r.code == 1 and "only drafts are approved" in r.err


def test_a_batch_is_cancelled_as_one(matrix, cli):
    batch = cli("queue", "add", "--account", "@guangzhou", "--tip", TIP, "--at", "+2h",
                "--json").json["batch_id"]
    other = cli("queue", "add", "--account", "gz", "--text", "单独一条", "--json").json["id"]
    r = cli("queue", "cancel", "--batch", str(batch), "--reason", "口径调整")
    assert r.code == 0, r.err
    assert "3 post(s) cancelled" in r.err
    posts = cli("queue", "list", "--json").json
    assert {p["id"]: p["status"] for p in posts if p["batch_id"] == batch}.keys()
    assert {p["status"] for p in posts if p["batch_id"] == batch} == {"cancelled"}
    assert next(p for p in posts if p["id"] == other)["status"] == "draft"


@pytest.mark.parametrize("args", [
    ("queue", "list", "--batch", "99"),
    ("queue", "approve", "--batch", "99"),
    ("queue", "cancel", "--batch", "99"),
])
def test_an_unknown_batch_is_an_error(matrix, cli, args):
    r = cli(*args)
    assert r.code == 1 and "no batch with id 99" in r.err


def test_stagger_needs_a_group_and_a_readable_gap(matrix, cli):
    r = cli("queue", "add", "--account", "gz", "--tip", TIP, "--stagger", "10m")
    assert r.code == 2 and "--stagger" in r.err
    r = cli("queue", "add", "--account", "@guangzhou", "--tip", TIP, "--stagger", "soon")
    assert r.code == 1 and "--stagger" in r.err
    r = cli("queue", "approve")
    assert r.code == 2
    r = cli("queue", "approve", "1", "--batch", "1")
    assert r.code == 2


def test_a_second_fan_out_warns_per_account_as_queue_add_does(matrix, cli):
    cli("queue", "add", "--account", "@shenzhen", "--tip", TIP, "--at", "+1d")
    single = cli("queue", "add", "--account", "sz", "--tip", TIP, "--at", "+2d", "--json")
    assert single.code == 0
    r = cli("queue", "add", "--account", "@shenzhen", "--tip", TIP, "--at", "+2d", "--json")
    assert r.code == 0, r.err
    warnings = r.json["warnings"]
    # sz: the first fan-out and the single post; its counties: the first fan-out
    assert sum(w.startswith("sz: ") for w in warnings) == 2
    assert sum(w.startswith("sz-ft: ") for w in warnings) == 1
    single_warning = single.err.strip().splitlines()[0].removeprefix("warning: ")
    assert f"sz: {single_warning}" in warnings  # the same words as queue add
    r = cli("queue", "add", "--account", "@shenzhen", "--tip", TIP, "--at", "+3d", "--strict")
    assert r.code == 1 and "--strict" in r.err and "nothing was queued" in r.err


def test_many_warnings_are_summed_up_not_printed_one_by_one(matrix, cli):
    for day in ("+1d", "+2d"):
        cli("queue", "add", "--account", "@guangdong", "--tip", TIP, "--at", day)
    r = cli("queue", "add", "--account", "@guangdong", "--tip", TIP, "--at", "+3d")
    assert r.code == 0, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 12  # ten warnings, the sum of the rest, what was queued
    assert lines[-2] == "warning: … and 10 more warning(s); 20 in all on 10 account(s) " \
                        "(--json lists them)"
    assert lines[-1].startswith("batch ")


def test_the_fan_out_benchmark_runs(tmp_path):
    from bench import run

    results, skipped, _ = run.run_benchmarks(
        run.TINY, groups=["fanout"], quick=True, cache=tmp_path / "cache",
        work=tmp_path / "work", log=lambda _m: None, use_peer=False)
    assert skipped == []
    by_key = {r.key: r for r in results}
    assert set(by_key) == {"fanout.queue_add", "matrix.report", "matrix.queue_list"}
    assert by_key["fanout.queue_add"].details["posts"] == run.TINY.fanout_accounts
    assert by_key["matrix.report"].details["accounts"] == run.TINY.matrix_accounts


POSTER_TIP = "campus-strangers-zh"  # a starter tip with a poster


def test_a_tips_poster_goes_with_every_post_of_the_batch(matrix, cli):
    assert cli("content", "approve", POSTER_TIP, "--by", "chief").code == 0
    r = cli("queue", "add", "--account", "@shenzhen", "--tip", POSTER_TIP, "--at", "+2h",
            "--json")
    assert r.code == 0, r.err
    posts = r.json["posts"]
    assert len(posts) > 1
    shas = set()
    for p in posts:
        media = cli("queue", "show", str(p["id"]), "--json").json["media"]
        assert [m["alt"][:6] for m in media] == ["安全提示海报"]
        shas.add(media[0]["sha256"])
    assert len(shas) == 1  # one poster, prepared once, stored once


def test_pictures_given_with_a_text_go_with_every_post_and_a_bad_one_stores_nothing(
        matrix, cli, tmp_path):
    from PIL import Image

    photo = tmp_path / "警情通报.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(photo, "JPEG")
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture", "utf-8")
    before = cli("queue", "list", "--json").json
    bad = cli("queue", "add", "--account", "@shenzhen", "--text", "台风预警，请留在室内。",
              "--image", str(fake), "--alt", "海报")
    assert bad.code == 1 and "fake.png" in bad.err and "Traceback" not in bad.err
    assert cli("queue", "list", "--json").json == before
    r = cli("queue", "add", "--account", "@shenzhen", "--text", "台风预警，请留在室内。",
            "--image", str(photo), "--alt", "台风预警海报", "--json")
    assert r.code == 0, r.err
    for p in r.json["posts"]:
        media = cli("queue", "show", str(p["id"]), "--json").json["media"]
        assert [m["alt"] for m in media] == ["台风预警海报"]
