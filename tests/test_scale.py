"""A province's matrix on the run side: the scale benchmark at a tiny size, and three daemons
on one PostgreSQL database publishing many accounts' posts exactly once."""

from __future__ import annotations

import json
import time
from argparse import Namespace
from pathlib import Path

import pytest

from bench import b_scale
from bench.harness import Context
from outreach.clients.local import LocalPlatform
from tests.conftest import PG_URL, local_config
from tests.daemon_process import start_daemon, stop_daemons


def test_the_scale_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """Six slots a day per account, plan over a week, the daemon at rest; the PostgreSQL
    figure is skipped without a scratch database."""
    config = b_scale.build(tmp_path / "dept", accounts=4, days=1, tips=150)
    text = config.read_text(encoding="utf-8")
    assert text.count(b_scale.six_slots_line()) == 4
    ctx = Context(params=Namespace(reps=1, daemon_window=2.0), cache=tmp_path,
                  work=tmp_path / "work", quick=True, log=lambda _m: None)
    results = b_scale.bench_province_run(ctx, config, "sqlite:///outreach.db", None)
    by_key = {r.key: r for r in results}
    assert set(by_key) == {"scale.plan", "scale.rest_cpu", "scale.rest_rss"}
    plan = by_key["scale.plan"]
    # a week of six slots for four accounts (quiet hours and the first hours may drop a few)
    assert 4 * 6 * 6 <= plan.details["rows"] <= 4 * 6 * 8, plan.details
    assert by_key["scale.rest_cpu"].details["exit_code"] == 0
    rss = by_key["scale.rest_rss"].value
    assert rss is not None and 0 < rss < 400


def _accounts(n: int) -> str:
    text = local_config(slots="", require_approval=False, min_gap=0, cooldown_days=0)
    policy = text.index("[policy]")
    extra = "".join(f'\n[accounts.city{i:02d}]\nplatform = "local"\nlang = "zh"\nseed = {i}\n'
                    "slots = []\n" for i in range(n))
    return text[:policy] + extra + "\n" + text[policy:]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="OUTREACH_TEST_DATABASE_URL is not set; .ci/run "
                                      "starts a PostgreSQL server for this lane")
def test_three_daemons_on_postgresql_publish_every_accounts_posts_exactly_once(workspace, cli):
    """Twelve accounts with ten posts each due at once, three daemons racing for them (some
    shares slow, so claims overlap): every post lands on the platform once, none twice."""
    (workspace / "config.toml").write_text(_accounts(11), encoding="utf-8")
    names = ["pingan-local", *(f"city{i:02d}" for i in range(11))]
    rows = "\n".join(json.dumps({"account": name, "at": "now",
                                 "text": f"{name}第{k}条：陌生来电要转账，先挂断再核实。"})
                     for k in range(10) for name in names)
    (workspace / "posts.jsonl").write_text(rows, encoding="utf-8")
    r = cli("queue", "import", str(workspace / "posts.jsonl"), "--by", "officer-a")
    assert r.code == 0, r.err
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    platform.add_fault("publish", "delay", count=15, account="city03", delay_ms=400)
    platform.close()
    daemons = [start_daemon(workspace) for _ in range(3)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = [p for p in cli("queue", "list", "--limit", "0", "--json").json
                    if p["status"] != "published"]
            if not left:
                break
            time.sleep(1)
    finally:
        stopped = stop_daemons(daemons)
    for code, out in stopped:
        assert code == 0, out[-3000:]
        assert "Traceback" not in out, out[-3000:]
    posts = cli("queue", "list", "--limit", "0", "--json").json
    assert len(posts) == 120
    assert all(p["status"] == "published" for p in posts), [p["status"] for p in posts]
    assert len({p["remote_id"] for p in posts}) == 120
    platform = LocalPlatform(workspace / "data" / "local-platform.db")
    try:
        statuses = [s for name in names for s in platform.statuses(name)]
    finally:
        platform.close()
    texts = sorted(s["text"] for s in statuses)
    assert len(statuses) == 120 and len(set(texts)) == 120  # each post once, none twice
    assert all(any(p["text"] in t for t in texts) for p in posts)
