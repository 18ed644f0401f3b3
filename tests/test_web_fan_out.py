"""The console composes to a group as `queue add --account @group` does: one batch, all or
nothing with every problem on the page, the batch shown after; the queue filters by batch
and the approvals page approves a batch at once (four eyes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outreach.actions.queries.posts import list_posts
from outreach.actions.tips import approve_tips
from tests.conftest import logical_dump
from tests.matrix_config import CITY, matrix_config
from tests.web_helpers import add_users, client, log_in

TIP = "service-police-day-zh"  # "…{{ city }}公安民警全天候守护平安…"
TEXT = "台风天请减少外出，远离广告牌。"


@pytest.fixture
def make(runtime_factory):
    def build(**kw):
        """The matrix with the tip approved; then ``kw`` changes the config (an account's
        ``max_length`` lowered after the approval, as an officer might)."""
        rt = runtime_factory(matrix_config())
        add_users(rt)
        approve_tips(rt, [TIP], by="chief")
        return runtime_factory(matrix_config(**kw)) if kw else rt
    return build


@pytest.fixture
def rt(make):
    return make()


def _dump(workspace) -> list[str]:
    return [line for line in logical_dump(workspace / "outreach.db") if "login" not in line
            and "console_sessions" not in line]


def test_composing_to_a_group_queues_one_batch_and_shows_it(rt):
    c = client(rt)
    csrf = log_in(c, "alice")
    form = c.get("/compose").text
    assert 'value="@guangzhou"' in form and 'name="stagger"' in form
    r = c.post("/compose", data={"csrf": csrf, "account": "@guangzhou", "tip": TIP,
                                 "at": "tomorrow 09:00", "stagger": "10m",
                                 "next": "/compose"})
    assert r.status_code == 303 and r.headers["location"] == "/queue?batch=1"
    posts = list_posts(rt, status=None, account=None, limit=0, batch=1)
    assert [p["account"] for p in posts] == ["gz", "gz-th", "gz-yx"]
    for p in posts:  # each rendered with its own city, as the CLI's fan-out does
        assert f"{CITY[p['account']]}公安民警" in p["text"] and p["status"] == "queued"
    times = [p["scheduled_at"] or "" for p in posts]
    assert times == sorted(times) and len(set(times)) == 3
    page = c.get("/queue?batch=1&lang=en").text
    assert "批次 1：3 条已保存为待发。" in page  # said in the officer's language (zh)
    assert "Batch 1: 3 posts to @guangzhou, by alice" in page
    assert all(f">{p['id']}</a>" in page for p in posts)


def test_one_accounts_problem_refuses_the_group_listing_every_problem(make, workspace):
    rt = make(short=("gz-th", "gz-yx"))
    c = client(rt)
    csrf = log_in(c, "alice")
    before = _dump(workspace)
    c.get("/compose?lang=en")  # the officer reads English: the problems are said in it
    r = c.post("/compose", data={"csrf": csrf, "account": "@guangzhou", "tip": TIP,
                                 "at": "+1h", "next": "/compose"})
    assert r.status_code == 303 and r.headers["location"] == "/compose"
    page = c.get("/compose").text
    assert "gz-th:" in page and "gz-yx:" in page and "limit is 20" in page
    assert "nothing was queued: 2 problem(s) on 3 account(s)" in page
    assert _dump(workspace) == before
    assert list_posts(rt, status=None, account=None, limit=0) == []


def test_a_stagger_needs_a_group_and_a_readable_gap(rt, workspace):
    c = client(rt)
    csrf = log_in(c, "alice")
    before = _dump(workspace)
    c.get("/compose?lang=en")
    for account, stagger, said in (("gz", "10m", "a stagger is for a group"),
                                   ("@guangzhou", "soon", "cannot read")):
        c.post("/compose", data={"csrf": csrf, "account": account, "text": TEXT,
                                 "stagger": stagger, "at": "+1h", "next": "/compose"})
        assert said in c.get("/compose").text
    assert _dump(workspace) == before


def test_the_preview_of_a_group_is_its_first_accounts(rt):
    c = client(rt)
    log_in(c, "alice")
    data = c.get("/compose/preview", params={"account": "@shenzhen", "tip": TIP,
                                             "lang": "en"}).json()
    assert "深圳公安民警" in data["text"]
    assert "Preview for sz, the first of 3 accounts" in data["warnings"][0]


def test_the_approvals_page_approves_a_batch_at_once_not_by_its_author(rt, clock):
    alice, bob = client(rt), client(rt)
    csrf_a, csrf_b = log_in(alice, "alice"), log_in(bob, "bob")
    alice.post("/compose", data={"csrf": csrf_a, "account": "@foshan", "text": TEXT,
                                 "at": "+1h", "next": "/compose"})
    bob.post("/compose", data={"csrf": csrf_b, "account": "@shenzhen", "text": TEXT,
                               "at": "+1h", "next": "/compose"})
    page = bob.get("/approvals?lang=en").text
    assert 'action="/batches/1/approve"' in page  # alice's batch: bob may approve it
    assert 'action="/batches/2/approve"' not in page  # his own: another officer's
    assert "your batch: another officer approves it" in page
    assert 'action="/batches/1/approve"' not in alice.get("/approvals").text  # an officer

    r = bob.post("/batches/2/approve", data={"csrf": csrf_b, "next": "/approvals"})
    assert r.status_code == 303
    assert "another officer must approve" in bob.get("/approvals?lang=en").text
    assert {p["status"] for p in list_posts(rt, status=None, account=None, limit=0,
                                            batch=2)} == {"draft"}
    assert alice.post("/batches/1/approve", data={"csrf": csrf_a}).status_code == 403

    clock.advance(timedelta(minutes=1))
    r = bob.post("/batches/1/approve", data={"csrf": csrf_b, "next": "/approvals"})
    assert r.status_code == 303 and r.headers["location"] == "/approvals"
    # said in bob's language (English since ?lang=en)
    assert "Batch 1: 3 posts approved; queued." in bob.get("/approvals").text
    posts = list_posts(rt, status=None, account=None, limit=0, batch=1)
    assert {(p["status"], p["approved_by"]) for p in posts} == {("queued", "bob")}


def test_the_queue_filters_by_batch_and_an_unknown_batch_is_named(rt):
    c = client(rt)
    csrf = log_in(c, "alice")
    for account in ("@foshan", "gz"):
        c.post("/compose", data={"csrf": csrf, "account": account, "text": TEXT,
                                 "at": "+1h", "next": "/compose"})
    single = list_posts(rt, status=None, account="gz", limit=0)[0]["id"]
    page = c.get("/queue?batch=1").text
    assert f'href="/posts/{single}"' not in page
    assert c.get("/queue").text.count('href="/queue?batch=1"') == 3
    r = c.get("/queue?batch=99&lang=en")
    assert r.status_code == 404 and "no batch with id 99" in r.text
