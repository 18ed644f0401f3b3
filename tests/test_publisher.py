"""Every publishing outcome ends in its stated state: nothing lost, nothing doubled."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from outreach.actions.accounts import pause, resume, sync_accounts
from outreach.actions.posts import add_post
from outreach.actions.tips import approve_tips
from outreach.publish.publisher import Publisher
from outreach.schedule.materialise import materialise
from outreach.store.models import Account, Post
from tests.conftest import local_config
from tests.factories import local_client, local_platform, remember_keys

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def rt(runtime_factory, clock):
    clock.set(START)
    rt = runtime_factory(local_config(slots="", require_approval=False, max_attempts=3,
                                      min_gap=30))
    sync_accounts(rt)
    return rt


def add(rt, text="注意防范电信诈骗。", at=None):
    return add_post(rt, "pingan-local", tip=None, text=text, at=at, by="officer-a")


def get(rt, post_id) -> Post:
    with rt.db.reader() as s:
        return s.get(Post, post_id)


def statuses(rt):
    return local_platform(rt).statuses("pingan-local")


def test_success(rt, clock):
    post = add(rt)
    summary = Publisher(rt).run_due()
    assert summary.counts["published"] == 1
    p = get(rt, post.id)
    assert p.status == "published" and p.remote_id and p.attempts == 1
    assert p.claimed_by is None and p.lease_until is None
    assert len(statuses(rt)) == 1


def test_transient_backs_off_then_fails_after_max_attempts(rt, clock):
    local_platform(rt).add_fault("publish", "transient", count=5)
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "queued" and p.attempts == 1
    assert timedelta(seconds=24) <= p.not_before - clock() <= timedelta(seconds=36)
    pub.run_due()  # not due yet: nothing happens
    assert get(rt, post.id).attempts == 1
    clock.set(p.not_before)
    pub.run_due()
    p = get(rt, post.id)
    assert p.attempts == 2
    assert timedelta(seconds=48) <= p.not_before - clock() <= timedelta(seconds=72)
    clock.set(p.not_before)
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "failed"
    assert p.last_error is not None and "gave up after 3 attempts" in p.last_error
    assert statuses(rt) == []


def test_rate_limited_waits_until_retry_at_without_counting(rt, clock):
    local_platform(rt).add_fault("publish", "rate_limited", retry_seconds=600)
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "queued" and p.attempts == 0
    assert p.not_before == clock() + timedelta(seconds=600)
    clock.advance(seconds=599)
    assert pub.run_due().counts == {}  # no immediate retry
    clock.advance(seconds=1)
    pub.run_due()
    assert get(rt, post.id).status == "published"


def test_auth_error_holds_the_account_and_keeps_posts_queued(rt, clock):
    local_platform(rt).add_fault("publish", "auth")
    local_platform(rt).add_fault("verify", "auth")
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "queued" and p.attempts == 0
    assert p.last_error is not None and p.last_error.startswith("auth")
    with rt.db.reader() as s:
        assert s.execute(select(col(Account.state))).scalar() == "needs_reauth"
    clock.advance(minutes=1)
    assert pub.run_due().counts == {}  # no retry while re-authorisation is needed
    clock.advance(minutes=10)  # the re-check fails (injected), still held
    pub.run_due()
    assert get(rt, post.id).status == "queued"
    clock.advance(minutes=10)  # the token works again
    pub.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def test_rejected_content_fails_with_the_reason(rt):
    local_platform(rt).add_fault("publish", "rejected")
    post = add(rt)
    Publisher(rt).run_due()
    p = get(rt, post.id)
    assert p.status == "failed"
    assert p.last_error is not None and p.last_error.startswith("rejected")


def test_ambiguous_outcome_is_reconciled_not_repeated(rt, clock):
    local_platform(rt).add_fault("publish", "ambiguous")
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "unconfirmed" and p.lease_until is None  # released: reconcile at once
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "published"
    assert len(statuses(rt)) == 1
    assert p.remote_id == str(statuses(rt)[0]["id"])


def test_ambiguous_outcome_resends_with_the_same_key_inside_the_window(rt, clock):
    remember_keys(rt.client("pingan-local"))
    local_platform(rt).add_fault("publish", "ambiguous")
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    clock.advance(seconds=5)
    pub.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def test_ambiguous_that_never_landed_is_retried(rt, clock):
    post = add(rt)
    with rt.db.session() as s:  # the last attempt's outcome was unknown, and it did not land
        p = s.get(Post, post.id)
        p.status, p.ambiguous, p.attempts, p.first_attempt_at = "unconfirmed", True, 1, clock()
        s.commit()
    pub = Publisher(rt)
    pub.run_due()  # reconcile: not found yet, but the attempt may still be landing
    p = get(rt, post.id)
    assert p.status == "unconfirmed" and p.lease_until == clock() + pub.in_flight_grace
    clock.advance(seconds=pub.in_flight_grace.total_seconds() + 1)
    pub.run_due()  # not on the platform after the grace → queued for a retry
    p = get(rt, post.id)
    assert p.status == "queued"
    assert p.last_error is not None and "not found" in p.last_error
    pub.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def test_a_failed_reconcile_waits_and_looks_again(rt, clock):
    local_platform(rt).add_fault("publish", "ambiguous")
    post = add(rt)
    pub = Publisher(rt)
    pub.run_due()
    local_platform(rt).add_fault("find_published", "transient")
    pub.run_due()
    p = get(rt, post.id)
    assert p.status == "unconfirmed"
    assert p.last_error is not None and "reconcile failed" in p.last_error
    assert p.lease_until is not None
    assert p.lease_until > clock()  # not looked at again before the backoff
    clock.set(p.lease_until + timedelta(seconds=1))
    pub.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def test_duplicate_after_an_ambiguous_attempt_means_it_landed(rt, clock):
    post = add(rt)
    landed = rt.client("pingan-local").publish(post.text, idempotency_key="earlier-attempt")
    with rt.db.session() as s:  # an earlier ambiguous attempt was not seen by reconciliation
        p = s.get(Post, post.id)
        p.ambiguous, p.attempts, p.first_attempt_at = True, 1, clock()
        s.commit()
    local_platform(rt).add_fault("publish", "duplicate")
    Publisher(rt).run_due()
    p = get(rt, post.id)
    assert p.status == "published" and p.remote_id == landed.remote_id
    assert len(statuses(rt)) == 1


def test_duplicate_without_an_ambiguous_attempt_fails(rt):
    local_platform(rt).add_fault("publish", "duplicate")
    post = add(rt)
    Publisher(rt).run_due()
    p = get(rt, post.id)
    assert p.status == "failed"
    assert p.last_error is not None and p.last_error.startswith("duplicate")


def test_a_lease_that_expired_mid_call_is_reconciled_by_another_worker(rt, clock):
    post = add(rt)
    a = Publisher(rt, worker="daemon-a")
    claimed = a.claim_next(clock(), {})
    assert claimed is not None
    assert claimed.id == post.id and get(rt, post.id).status == "publishing"
    b = Publisher(rt, worker="daemon-b")
    assert b.run_due().counts == {}  # a's lease is live: b keeps off
    clock.advance(seconds=rt.settings.policy.lease_seconds + 1)
    b.run_due()  # a died: b reconciles — not found, but a's request may still be landing
    assert get(rt, post.id).status == "unconfirmed"
    clock.advance(seconds=b.in_flight_grace.total_seconds())
    b.run_due()  # not found after the grace: retried once
    clock.advance(seconds=1)
    b.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1
    assert a.process(claimed, clock()) in ("lost", "published")  # a wakes up late: no double
    assert len(statuses(rt)) == 1


@pytest.mark.parametrize("landed", [True, False])
def test_a_post_left_publishing_is_reconciled_during_a_pause_and_nothing_is_sent(
        rt, clock, landed):
    """A worker dies mid-call; the account is paused before its lease runs out. The next
    pass still finds out what became of the post (an incident is when an officer most needs
    to know whether it went out) and sends nothing while the pause holds; after the resume a
    post that never landed goes out once."""
    post = add(rt)
    claimed = Publisher(rt, worker="daemon-a").claim_next(clock(), {})
    assert claimed is not None and claimed.id == post.id
    if landed:  # a's request reached the platform before a died
        local_client(rt).publish(post.text, idempotency_key=post.idempotency_key)
    pause(rt, "pingan-local", reason="突发事件", by="chief")
    clock.advance(seconds=rt.settings.policy.lease_seconds + 1)
    b = Publisher(rt, worker="daemon-b")
    b.run_due()
    p = get(rt, post.id)
    assert p.status != "publishing", "a post left publishing past its lease"
    assert p.status == ("published" if landed else "unconfirmed"), (p.status, p.last_error)
    for _ in range(3):  # past the in-flight grace: still nothing sent while paused
        clock.advance(seconds=b.in_flight_grace.total_seconds() + 1)
        b.run_due()
    assert len(statuses(rt)) == (1 if landed else 0)
    assert get(rt, post.id).status in (("published",) if landed else ("unconfirmed", "queued"))
    resume(rt, "pingan-local", by="chief")
    for _ in range(12):  # resuming never bursts: it goes out within the hour, once
        clock.advance(minutes=5)
        b.run_due()
    assert get(rt, post.id).status == "published"
    assert len(statuses(rt)) == 1


def wait_for(condition, seconds=10.0):
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_the_lease_is_renewed_while_the_call_runs_and_a_taken_claim_is_noticed(
        rt, clock, runtime_factory):
    """One keeper thread renews every post in flight, says when a claim was taken over, and
    is gone once nothing is in flight (a loop of posts does not start one per post)."""
    from outreach.publish.publisher import LeaseKeeper

    # two posts in flight at once: no min_gap_minutes between them
    rt = runtime_factory(local_config(slots="", require_approval=False, max_attempts=3,
                                      min_gap=0))
    first, second = add(rt), add(rt, text="夜间出行注意安全。")
    pub = Publisher(rt, worker="daemon-a")
    lease = timedelta(seconds=rt.settings.policy.lease_seconds)
    keeper = LeaseKeeper(rt, "daemon-a", lease, interval=0.01)
    a = pub.claim_next(clock(), {})
    assert a is not None and a.id is not None
    b = pub.claim_next(clock(), {}, exclude={a.id})
    assert b is not None and b.id is not None
    assert {a.id, b.id} == {first.id, second.id}
    clock.advance(seconds=40)
    with keeper.watch(a.id) as call_a, keeper.watch(b.id) as call_b:
        wait_for(lambda: get(rt, a.id).lease_until == clock() + lease
                 and get(rt, b.id).lease_until == clock() + lease)
        with rt.db.session() as s:  # another worker took b over (its lease had expired)
            s.execute(update(Post).where(col(Post.id) == b.id).values(
                claimed_by="daemon-b"))
            s.commit()
        wait_for(lambda: call_b.lost)
        assert not call_a.lost
        assert get(rt, b.id).claimed_by == "daemon-b"
    wait_for(lambda: not keeper.running)
    assert pub.process(a, clock()) == "published"
    assert not call_a.lost


def test_pause_then_resume_after_three_hours_never_bursts(runtime_factory, clock):
    clock.set(datetime(2027, 3, 1, 0, 0, tzinfo=UTC))
    rt = runtime_factory(local_config(slots='{ cron = "*/20 * * * *" }', require_approval=False,
                                      min_gap=30))
    approve_tips(rt, [t.id for t in rt.library.tips.values() if t.lang == "zh"], by="chief")
    sync_accounts(rt)
    pub = Publisher(rt)
    pause(rt, None, reason="重大活动安保", by="chief")
    held = [add(rt, text=f"提醒{i}") for i in range(3)]
    for _ in range(3 * 6):  # three hours, a tick every 10 minutes
        materialise(rt, clock())
        pub.run_due()
        clock.advance(minutes=10)
    assert statuses(rt) == []
    with rt.db.reader() as s:
        missed = s.execute(select(Post).where(col(Post.status) == "missed")).scalars().all()
    in_pause = [p for p in missed if p.scheduled_at >= datetime(2027, 3, 1, 0, 0, tzinfo=UTC)]
    assert len(in_pause) == 9 and all(p.last_error == "paused" for p in in_pause)
    resume(rt, None, by="chief")
    for _ in range(12):  # two hours after resume, a tick every 10 minutes
        materialise(rt, clock())
        pub.run_due()
        clock.advance(minutes=10)
    assert all(get(rt, p.id).status == "published" for p in held)
    published_at = sorted(at for p in held if (at := get(rt, p.id).published_at) is not None)
    assert len(published_at) == len(held)
    gaps = [b - a for a, b in zip(published_at, published_at[1:], strict=False)]
    assert all(g >= timedelta(minutes=30) for g in gaps), gaps  # held posts are spaced
    slot_posts = [datetime.fromisoformat(s["created_at"]) for s in statuses(rt)]
    per_tick: dict[datetime, int] = {}
    for t in slot_posts:
        per_tick[t] = per_tick.get(t, 0) + 1
    assert max(per_tick.values()) <= 2  # one slot and at most one held post at a time
    after = [get(rt, p.id) for p in in_pause]  # read again: resume never publishes them
    assert all(p.status == "missed" and p.last_error == "paused" for p in after)
    assert not {p.remote_id for p in after} - {None}


def test_catch_up_posts_are_spaced(rt, clock):
    late = [add(rt, text=f"补发{i}") for i in range(3)]
    clock.advance(minutes=10)  # all three are ten minutes late
    pub = Publisher(rt)
    for _ in range(10):
        pub.run_due()
        clock.advance(minutes=10)
    times = sorted(datetime.fromisoformat(s["created_at"]) for s in statuses(rt))
    assert len(times) == 3
    assert all(b - a >= timedelta(minutes=30) for a, b in zip(times, times[1:], strict=False))
    assert all(get(rt, p.id).status == "published" for p in late)


def test_cancelled_post_is_never_published(rt):
    from outreach.actions.posts import cancel_post

    post = add(rt, at="+1h")
    cancel_post(rt, post.id, by="officer-b", reason="不需要了")
    Publisher(rt).run_due(rt.clock() + timedelta(hours=2))
    assert statuses(rt) == []
