"""When a Weibo app's shared hourly budget cannot cover a sweep, the collector spends it on
the newest posts first, says what it skipped (log, `outreach status`), and collects the
rest in the next window. Against the fake Weibo server, with an injected clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.collect.counts import collect
from outreach.config.load import load_settings
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from tests.conftest import DATABASE_URL
from tests.factories import FakeClock, shared_app_config
from tests.weibo_server import WeiboServer

TOKEN = "collect-budget-token-93ac"
BUDGET = 3  # one call is the publishing reserve: a sweep may read twice an hour
COUNT = "/2/statuses/count.json"
# config order puts the oldest posts first: the order of value is not the config's
AGES = {"wb-old": timedelta(days=10), "wb-recent": timedelta(days=3),
        "wb-new": timedelta(hours=2)}


def config(api_base: str) -> str:
    return shared_app_config(api_base, AGES, database=DATABASE_URL, budget=BUDGET,
                             token_env="OUTREACH_TEST_BUDGET_TOKEN", extra='uid = "1234567890"\n')


@pytest.fixture(scope="module")
def server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0, safe_domain="example.gov.cn") as weibo:
        yield weibo


@pytest.fixture
def weibo(server: WeiboServer, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> WeiboServer:
    server.reset()
    (workspace / "config.toml").write_text(config(server.url), encoding="utf-8")
    monkeypatch.setenv("OUTREACH_TEST_BUDGET_TOKEN", TOKEN)
    return server


def _publish_aged(rt: Runtime, weibo: WeiboServer, clock: FakeClock, now: datetime) -> dict:
    """One post on each account, published (on the server's clock too) its age before
    ``now``, each in an hour of its own; the post ids by account."""
    ids = {}
    for name, age in AGES.items():
        at = clock.set(now - age)
        weibo.configure(clock_offset=(at - datetime.now(at.tzinfo)).total_seconds())
        post = add_post(rt, name, tip=None, text=f"{name}：夜间出行请结伴而行。", at=None,
                        by="officer-a")
        Publisher(rt).run_due()
        ids[name] = post.id
    weibo.configure(clock_offset=0)
    return ids


def _counted(weibo: WeiboServer, remote: dict[str, str]) -> list[str]:
    """The accounts whose post each statuses/count call asked for, in order."""
    by_remote = {v: k for k, v in remote.items()}
    return [by_remote[parse_qs(r["query"])["ids"][0]] for r in weibo.requests(COUNT)]


def test_a_short_budget_collects_the_newest_posts_and_the_rest_next_window(
        weibo, workspace, clock, cli, caplog):
    now = clock.now().replace(minute=20, second=0, microsecond=0)
    rt = Runtime(load_settings(workspace / "config.toml"), clock=clock)
    try:
        sync_accounts(rt)
        ids = _publish_aged(rt, weibo, clock, now)
        posts = {p["account"]: p for p in cli("queue", "list", "--json").json}
        assert {p["status"] for p in posts.values()} == {"published"}
        remote = {name: posts[name]["remote_id"] for name in AGES}
        for name in AGES:
            weibo.engage(remote[name], reposts=5)
        before = len(weibo.requests())

        clock.set(now)
        with caplog.at_level(logging.WARNING, logger="outreach"):
            summary = collect(rt)
        sent = weibo.requests()[before:]
        assert len(sent) == BUDGET - 1  # the publishing reserve is left alone
        assert _counted(weibo, remote) == ["wb-new", "wb-recent"]  # newest first
        assert summary.deferred == {"wb-old": 1}
        assert "app 'pingan-app'" in summary.skipped["wb-old"]
        assert "1 post(s) of wb-old" in caplog.text and "next window" in caplog.text
        assert cli("queue", "show", str(ids["wb-new"]), "--json").json["reposts"] == 5
        assert cli("queue", "show", str(ids["wb-old"]), "--json").json["reposts"] is None

        status = cli("status", "--json").json
        skipped = {s["account"]: s for s in status["skipped_collection"]}
        assert skipped["wb-old"]["posts"] == 1 and "pingan-app" in skipped["wb-old"]["reason"]
        next_hour = now.replace(minute=0) + timedelta(hours=1)
        assert datetime.fromisoformat(skipped["wb-old"]["resumes_at"]) == next_hour
        assert any("wb-old: counts of 1 post(s) skipped" in w for w in status["warnings"])
        text = cli("status").err + cli("status").out
        assert "wb-old: counts of 1 post(s) skipped" in text

        clock.advance(minutes=5)  # the next sweep of the same hour spends nothing
        again = collect(rt)
        assert len(weibo.requests()) == before + len(sent)
        assert again.deferred.get("wb-old") == 1

        clock.set(next_hour + timedelta(minutes=1))  # a new window: the old post's turn
        later = collect(rt)
        assert "wb-old" in _counted(weibo, remote)[2:]
        assert "wb-old" not in later.deferred
        assert cli("queue", "show", str(ids["wb-old"]), "--json").json["reposts"] == 5
    finally:
        rt.close()


def test_an_app_refused_statuses_count_is_spent_a_post_at_a_time_newest_first(
        weibo, workspace, clock, cli):
    """Without statuses/count each post costs a statuses/show: a short budget counts the
    newest posts, and the one it could not reach is skipped (not taken for deleted), then
    counted in the next window."""
    now = clock.now().replace(minute=20, second=0, microsecond=0)
    rt = Runtime(load_settings(workspace / "config.toml"), clock=clock)
    try:
        sync_accounts(rt)
        ids = []
        for hours in (3, 2, 1):  # three posts of one account, the newest last
            at = clock.set(now - timedelta(hours=hours))
            weibo.configure(clock_offset=(at - datetime.now(at.tzinfo)).total_seconds())
            ids.append(add_post(rt, "wb-new", tip=None, text=f"第{hours}条：夜间出行请结伴而行。",
                                at=None, by="officer-a").id)
            Publisher(rt).run_due()
        weibo.configure(clock_offset=0)
        weibo.fault(COUNT, "error_code", code=10014, count=-1)  # the app may not count
        clock.set(now - timedelta(minutes=50))
        collect(rt, accounts=[rt.settings.account("wb-new")], figures=False)  # learns it
        clock.set(now)  # the next hour: two reads for three posts
        before = len(weibo.requests())
        summary = collect(rt, accounts=[rt.settings.account("wb-new")], figures=False)
        shown = [r for r in weibo.requests()[before:] if r["path"] == "/2/statuses/show.json"]
        assert len(shown) == BUDGET - 1
        newest = {rt_id for rt_id in _remote_ids(rt, ids[1:])}
        assert {parse_qs(r["query"])["id"][0] for r in shown} == newest
        assert summary.deferred == {"wb-new": 1}
        clock.advance(hours=1)  # the next window: the post skipped goes first
        before = len(weibo.requests())
        collect(rt, accounts=[rt.settings.account("wb-new")], figures=False)
        shown = [parse_qs(r["query"])["id"][0] for r in weibo.requests()[before:]
                 if r["path"] == "/2/statuses/show.json"]
        assert shown[0] == _remote_ids(rt, ids[:1])[0]
        assert cli("queue", "show", str(ids[0]), "--json").json["reposts"] == 0
    finally:
        rt.close()


def _remote_ids(rt: Runtime, post_ids: list) -> list[str | None]:
    from outreach.actions.queries.posts import post_detail
    return [post_detail(rt, i)["remote_id"] for i in post_ids]
