"""Every send passes one gate: pause, approval and the text are checked before the first
attempt, every retry, a reconciling resend and a reply — and an officer can cancel a post
whose outcome is unknown (it is reconciled first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import pause, resume, sync_accounts
from outreach.actions.opinions import reply
from outreach.actions.posts import add_post, cancel_post
from outreach.actions.queries.opinions import list_opinions
from outreach.collect.counts import collect
from outreach.errors import StateError
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.store.models import AuditLog, Post
from tests.conftest import Result, local_config
from tests.factories import FakeClock, local_platform, remember_keys

Cli = Callable[..., Result]
START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def rt(runtime_factory: Callable[..., Runtime], clock: FakeClock) -> Runtime:
    clock.set(START)
    rt = runtime_factory(local_config(slots="", require_approval=False, min_gap=0))
    sync_accounts(rt)
    return rt


def statuses(rt: Runtime) -> list[dict[str, Any]]:
    return local_platform(rt).statuses("pingan-local")


def get(rt: Runtime, post_id: int | None) -> Post:
    """The stored post ``post_id`` (the id of a post that was added: never None)."""
    assert post_id is not None
    with rt.db.reader() as s:
        post = s.get(Post, post_id)
    assert post is not None
    return post


def add(rt: Runtime, text: str) -> Post:
    return add_post(rt, "pingan-local", tip=None, text=text, at=None, by="officer-a")


def died_mid_call(rt: Runtime, clock: FakeClock) -> Post:
    """A worker claims the due post and stops before its request left (it releases the
    claim at shutdown): the post is unconfirmed, and not on the platform."""
    gone = Publisher(rt, worker="gone")
    post = gone.claim_next(clock(), {})
    assert post is not None
    assert gone.release_all() == 1
    return get(rt, post.id)


def test_a_reconciling_resend_waits_for_resume(rt: Runtime, clock: FakeClock) -> None:
    remember_keys(rt.client("pingan-local"))  # like Mastodon
    post = add(rt, "断网演练：先挂断再核实。")
    assert died_mid_call(rt, clock).status == "unconfirmed"
    pause(rt, None, reason="突发事件", by="chief")
    for _ in range(3):
        clock.advance(minutes=2)
        Publisher(rt).run_due()
    assert statuses(rt) == []
    assert get(rt, post.id).status == "unconfirmed"
    resume(rt, None, by="chief")
    Publisher(rt).run_due()
    Publisher(rt).run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def test_a_pause_that_begins_after_the_claim_still_holds_the_send(rt: Runtime, clock: FakeClock) -> None:
    post = add(rt, "演练：认领之后才暂停。")
    pub = Publisher(rt)
    claimed = pub.claim_next(clock(), {})
    assert claimed is not None and claimed.id == post.id
    pause(rt, "pingan-local", reason="舆情处置", by="chief")
    assert pub.process(claimed, clock()) == "held"
    p = get(rt, post.id)
    assert p.status == "queued" and p.attempts == 0 and "paused" in (p.last_error or "")
    assert statuses(rt) == []


def test_a_reply_during_a_pause_is_held_until_resume(rt: Runtime, clock: FakeClock) -> None:
    for i in range(6):
        add(rt, f"第{i}条：陌生来电要求转账，先挂断再核实。")
    Publisher(rt).run_due()
    clock.advance(days=2)
    collect(rt, force=True)
    waiting = list_opinions(rt, unanswered=True)
    assert waiting
    before = len(statuses(rt))
    pause(rt, None, reason="重大活动安保", by="chief")
    answer = reply(rt, waiting[0]["id"], "感谢留言，可拨打96110咨询。", by="officer-a")
    assert answer.status == "queued" and "paused" in (answer.last_error or "")
    Publisher(rt).run_due()
    assert len(statuses(rt)) == before
    resume(rt, None, by="chief")
    Publisher(rt).run_due()
    assert get(rt, answer.id).status == "published"
    assert len(statuses(rt)) == before + 1


def test_a_resend_is_refused_when_the_text_no_longer_passes(rt: Runtime, clock: FakeClock,
                                                            workspace: Path,
                                                            runtime_factory: Callable[..., Runtime]) -> None:
    remember_keys(rt.client("pingan-local"))
    post = add(rt, "演练：这段文字稍后被列入屏蔽词。")
    died_mid_call(rt, clock)
    with (workspace / "content" / "blocklist.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n屏蔽词\n")
    later = runtime_factory()  # the daemon restarted with the new list
    remember_keys(later.client("pingan-local"))
    clock.advance(minutes=2)
    Publisher(later).run_due()
    p = get(rt, post.id)
    assert p.status == "failed" and "not sent again" in (p.last_error or "")
    assert statuses(rt) == []


def test_an_unconfirmed_post_that_never_landed_is_cancelled(rt: Runtime, clock: FakeClock) -> None:
    post = add(rt, "撤销演练：这条不该发出。")
    assert post.id is not None
    died_mid_call(rt, clock)
    with pytest.raises(StateError, match="may still be landing"):
        cancel_post(rt, post.id, by="officer-b", reason="内容有误")
    assert get(rt, post.id).status == "unconfirmed"
    clock.advance(seconds=Publisher(rt).in_flight_grace.total_seconds() + 1)
    done = cancel_post(rt, post.id, by="officer-b", reason="内容有误")
    assert done.status == "cancelled"
    clock.advance(hours=2)
    Publisher(rt).run_due()
    assert statuses(rt) == []
    with rt.db.reader() as s:
        actions = list(s.execute(select(col(AuditLog.action)).where(
            col(AuditLog.post_id) == post.id)).scalars())
    assert "queue_cancel" in actions


def test_an_unconfirmed_post_that_landed_is_retracted_on_cancel(rt: Runtime, clock: FakeClock,
                                                                cli: Cli) -> None:
    local_platform(rt).add_fault("publish", "ambiguous")  # it lands; the answer is lost
    post = add(rt, "撤销演练：已经发出的一条。")
    Publisher(rt).run_due()
    assert get(rt, post.id).status == "unconfirmed" and len(statuses(rt)) == 1
    remote = str(statuses(rt)[0]["id"])
    r = cli("queue", "cancel", str(post.id), "--reason", "内容有误", "--by", "officer-b")
    assert r.code == 0, r.err
    assert "retracted" in r.err and remote in r.err
    p = get(rt, post.id)
    assert p.status == "retracted" and p.remote_id == remote
    assert statuses(rt) == []  # deleted on the platform
    Publisher(rt).run_due()
    assert statuses(rt) == []


def test_a_post_in_flight_cannot_be_cancelled(rt: Runtime, clock: FakeClock, cli: Cli) -> None:
    post = add(rt, "演练：正在发送的一条。")
    assert Publisher(rt, worker="busy").claim_next(clock(), {}) is not None
    r = cli("queue", "cancel", str(post.id))
    assert r.code == 1 and "being published right now" in r.err
    assert get(rt, post.id).status == "publishing"
