"""Slots and the draw policy: what plan shows is what run publishes."""

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

import outreach.schedule.plan
from outreach.actions.accounts import sync_accounts
from outreach.actions.tips import approve_tips
from outreach.publish.publisher import Publisher
from outreach.schedule.history import approved_tips, load_history
from outreach.schedule.materialise import materialise
from outreach.schedule.plan import plan_rows
from outreach.schedule.planner import Draw, History, Miss, plan_slots, slot_times
from outreach.store.models import Post
from tests.conftest import local_config
from tests.planner_oracle import draw

SHANGHAI = ZoneInfo("Asia/Shanghai")


def approve_all(rt, lang="zh"):
    approve_tips(rt, [t.id for t in rt.library.tips.values() if t.lang == lang], by="chief")


def posts(rt, **where):
    with rt.db.reader() as s:
        q = select(Post).order_by(col(Post.scheduled_at))
        for k, v in where.items():
            q = q.where(getattr(Post, k) == v)
        return s.execute(q).scalars().all()


def test_quiet_hours_and_blackout_dates_suppress_slots(runtime_factory):
    text = local_config(slots='{ cron = "0 * * * *" }', quiet_hours="23:00-07:00")
    text += 'blackout_dates = ["2027-03-02"]\n'
    rt = runtime_factory(text)
    acc = rt.settings.account("pingan-local")
    start = datetime(2027, 3, 1, tzinfo=SHANGHAI).astimezone(UTC)
    slots = slot_times(acc, rt.settings.policy, start, start + timedelta(days=3))
    hours = {s.at.astimezone(SHANGHAI).hour for s in slots}
    days = {s.at.astimezone(SHANGHAI).day for s in slots}
    assert hours == set(range(7, 23))
    assert days == {1, 3}


def test_cooldown_is_never_violated_and_variants_rotate(runtime_factory, clock):
    rt = runtime_factory(local_config(slots='{ cron = "*/30 * * * *" }', cooldown_days=2))
    approve_all(rt)
    acc = rt.settings.account("pingan-local")
    client = rt.client(acc)
    start = datetime(2027, 3, 1, tzinfo=UTC)
    slots = slot_times(acc, rt.settings.policy, start, start + timedelta(days=20))
    history = History()
    with rt.db.reader() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy)
    results = plan_slots(slots, acc, rt.library, client, history, rt.settings.policy, approved)
    last: dict[str, tuple[datetime, str]] = {}
    drawn = 0
    for slot, result in results:
        if isinstance(result, Miss):
            continue
        drawn += 1
        if result.tip_id in last:
            prev_at, prev_text = last[result.tip_id]
            assert slot.at - prev_at >= timedelta(days=2)
            if len(rt.library.tips[result.tip_id].texts) > 1:
                assert result.text != prev_text  # a recycled tip never repeats its last text
        last[result.tip_id] = (slot.at, result.text)
    assert drawn > 0


def test_exhausted_category_becomes_missed(runtime_factory, clock):
    rt = runtime_factory(local_config(slots='{ cron = "0 8 * * *", categories = ["drugs"] }',
                                      cooldown_days=30))
    approve_all(rt)
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    acc = rt.settings.account("pingan-local")
    drugs = [t for t in rt.library.tips.values() if t.lang == "zh" and t.category == "drugs"]
    slots = slot_times(acc, rt.settings.policy, clock(), clock() + timedelta(days=len(drugs) + 2))
    results = plan_slots(slots, acc, rt.library, rt.client(acc), History(), rt.settings.policy,
                         None)
    drawn = [r for _, r in results if not isinstance(r, Miss)]
    misses = [r for _, r in results if isinstance(r, Miss)]
    assert len(drawn) == len({r.tip_id for r in drawn}) <= len(drugs)
    assert len(misses) >= 2
    assert misses[0].reason == "exhausted: drugs"


def test_nested_category_slot_draws_sub_codes(runtime_factory):
    rt = runtime_factory(local_config(slots='{ cron = "0 8 * * *", categories = ["fraud"] }'))
    approve_all(rt)
    acc = rt.settings.account("pingan-local")
    start = datetime(2027, 3, 1, tzinfo=UTC)
    slots = slot_times(acc, rt.settings.policy, start, start + timedelta(days=30))
    results = plan_slots(slots, acc, rt.library, rt.client(acc), History(), rt.settings.policy,
                         None)
    cats = {r.category for _, r in results if not isinstance(r, Miss)}
    assert cats <= {c for c in rt.library.categories if c.startswith("fraud")}
    assert len(cats) > 2


def test_campaign_weights_come_first(runtime_factory):
    rt = runtime_factory(local_config(slots='{ cron = "0 8 * * *" }'))
    acc = rt.settings.account("pingan-local")
    july = datetime(2027, 7, 1, tzinfo=UTC)  # drowning season
    slots = slot_times(acc, rt.settings.policy, july, july + timedelta(days=3))
    results = plan_slots(slots, acc, rt.library, rt.client(acc), History(), rt.settings.policy,
                         None)
    draws = [r for _, r in results if isinstance(r, Draw)]
    assert len(draws) == len(results)
    weights = [rt.library.campaign_weight(r.category, july.date()) for r in draws]
    assert weights[0] == max(rt.library.campaign_weight(t.category, july.date())
                             for t in rt.library.tips.values() if t.lang == "zh")


def test_unapproved_tips_are_never_drawn(runtime_factory):
    rt = runtime_factory(local_config())
    acc = rt.settings.account("pingan-local")
    slot = slot_times(acc, rt.settings.policy, datetime(2027, 3, 1, tzinfo=UTC),
                      datetime(2027, 3, 2, tzinfo=UTC))[0]
    result = draw(slot, acc, rt.library, rt.client(acc), History(), rt.settings.policy, set())
    assert isinstance(result, Miss)
    [(_, planned)] = plan_slots([slot], acc, rt.library, rt.client(acc), History(),
                                rt.settings.policy, set())
    assert isinstance(planned, Miss)


def test_plan_equals_run(runtime_factory, clock):
    """Preview 3 days, then let the daemon's code run through them: the same tips go out."""
    rt = runtime_factory(local_config(slots='{ cron = "0 8,20 * * *" }', cooldown_days=10))
    approve_all(rt)
    sync_accounts(rt)
    clock.set(datetime(2027, 3, 1, 1, 0, tzinfo=UTC))
    preview = [(r["scheduled_at"], r["tip_id"]) for r in plan_rows(rt, days=3)]
    assert len(preview) == 7  # a slot an hour late is still inside catch_up_minutes
    publisher = Publisher(rt, worker="test")
    end = clock() + timedelta(days=3)
    while clock() <= end:
        materialise(rt, clock())
        publisher.run_due(clock())
        clock.advance(minutes=30)
    published = [(p.scheduled_at.isoformat(), p.tip_id)
                 for p in posts(rt, status="published")]
    assert published == preview


def test_materialise_is_idempotent(runtime_factory, clock):
    rt = runtime_factory(local_config(slots='{ cron = "0 8,20 * * *" }'))
    approve_all(rt)
    sync_accounts(rt)
    assert materialise(rt, clock()) == 2
    assert materialise(rt, clock()) == 0
    assert materialise(rt, clock() + timedelta(minutes=5)) == 1  # the next slot enters the horizon
    assert materialise(rt, clock() + timedelta(minutes=5)) == 0
    keys = [p.slot_key for p in posts(rt)]
    assert len(keys) == len(set(keys)) == 3


def test_downtime_turns_old_slots_into_missed_not_a_burst(runtime_factory, clock):
    rt = runtime_factory(local_config(slots='{ cron = "0 * * * *" }'))
    approve_all(rt)
    sync_accounts(rt)
    clock.set(datetime(2027, 3, 1, 0, 30, tzinfo=UTC))
    materialise(rt, clock())
    publisher = Publisher(rt, worker="t")
    publisher.run_due(clock())
    clock.advance(hours=6)  # the daemon was down
    materialise(rt, clock())
    summary = publisher.run_due(clock())
    assert summary.counts.get("published", 0) <= 1
    missed = posts(rt, status="missed")
    assert missed and all(p.last_error.startswith("late") for p in missed)


@pytest.mark.parametrize("zone", ["Europe/Berlin"])
def test_slot_key_is_account_plus_utc_instant(runtime_factory, zone):
    rt = runtime_factory(local_config().replace('lang = "zh"', f'lang = "zh"\ntimezone = "{zone}"'))
    acc = rt.settings.account("pingan-local")
    slot = slot_times(acc, rt.settings.policy, datetime(2027, 3, 28, tzinfo=UTC),
                      datetime(2027, 3, 29, tzinfo=UTC))[0]
    assert slot.key == "pingan-local@2027-03-28T06:00:00Z"  # 08:00 CEST


def test_a_slot_every_minute_for_a_simulated_week_materialises_once_each(runtime_factory, clock):
    rt = runtime_factory(local_config(slots='{ cron = "* * * * *" }', cooldown_days=0))
    approve_all(rt)
    sync_accounts(rt)
    clock.set(datetime(2027, 3, 22, 0, 0, tzinfo=UTC))
    week = clock() + timedelta(days=7)
    while clock() < week:
        materialise(rt, clock())
        clock.advance(hours=6)
    rows = posts(rt)
    keys = [p.slot_key for p in rows]
    assert len(keys) == len(set(keys))
    first = rows[0].scheduled_at
    minutes = [int((p.scheduled_at - first).total_seconds() // 60) for p in rows]
    assert minutes == list(range(len(rows)))  # one row a minute, no hole, no repeat
    assert len(rows) >= 7 * 24 * 60


def test_lunar_campaign_weights_the_draw_at_spring_festival(runtime_factory):
    rt = runtime_factory(local_config(slots='{ cron = "0 9 * * *" }'))
    acc = rt.settings.account("pingan-local")
    eve = datetime(2027, 2, 5, tzinfo=UTC)  # 除夕 2027: lunar 12-29 → the spring-festival window
    campaign = next(c for c in rt.library.campaigns if c.calendar == "lunar" and c.start[0] == 12)
    assert campaign.active(eve.date())
    slots = slot_times(acc, rt.settings.policy, eve, eve + timedelta(days=2))
    results = plan_slots(slots, acc, rt.library, rt.client(acc), History(), rt.settings.policy,
                         None)
    boosted = {code for code, w in campaign.weights.items() if w > 1}
    from outreach.library.model import category_matches

    draws = [r for _, r in results if isinstance(r, Draw)]
    assert len(draws) == len(results)
    assert all(any(category_matches(code, r.category) for code in boosted) for r in draws)
    august = datetime(2027, 8, 1, tzinfo=UTC)
    assert not campaign.active(august.date())


class _ShortClient:
    """A client with a tight length limit, so some tips have no variant an account may post."""

    max_length = 75

    def text_length(self, text):
        from outreach.clients.base import weibo_length

        return weibo_length(text)

    def text_problems(self, text):
        return []

    def media_limits(self):
        from outreach.clients.local.client import LOCAL_MEDIA

        return LOCAL_MEDIA


@pytest.mark.parametrize("seed", range(6))
def test_plan_slots_draws_what_draw_draws_slot_by_slot(runtime_factory, seed):
    """The ranking ``plan_slots`` keeps gives exactly the draws of ``draw`` (which ranks every
    tip for every slot): campaigns, nested categories, cooldown, approvals, tips used ahead of
    the window and tips no variant of which fits."""
    import random

    rng = random.Random(seed)
    slots_toml = ('{ cron = "0 8 * * *", categories = ["fraud"] }, { cron = "30 12 * * *" }, '
                  '{ cron = "0 20 * * *", categories = ["traffic", "drowning"] }')
    rt = runtime_factory(local_config(slots=slots_toml, cooldown_days=rng.choice([0, 3, 20])))
    acc = rt.settings.account("pingan-local")
    lib = rt.library
    tips = [t for t in lib.tips.values() if t.lang == "zh"]
    approved = {t.id for t in tips if rng.random() < 0.8} if seed % 2 else None
    start = datetime(2027, rng.choice([1, 6, 7, 9]), 1, tzinfo=UTC)
    slots = slot_times(acc, rt.settings.policy, start, start + timedelta(days=40))

    def history():
        h = History()
        r = random.Random(seed)
        for tip in tips:
            for _ in range(r.choice([0, 0, 1, 2, 3])):  # the past, and posts queued ahead
                h.record(tip.id, start + timedelta(hours=r.randint(-24 * 120, 24 * 30)),
                         r.randint(0, 3))
        return h

    client = _ShortClient() if seed % 3 == 0 else rt.client(acc)
    planned = plan_slots(slots, acc, lib, client, history(), rt.settings.policy, approved)
    step_history = history()
    stepwise = []
    for slot in slots:
        result = draw(slot, acc, lib, client, step_history, rt.settings.policy, approved)
        if not isinstance(result, Miss):
            step_history.record(result.tip_id, slot.at, result.variant)
        stepwise.append((slot, result))
    assert planned == stepwise
    assert sum(not isinstance(r, Miss) for _, r in planned) > len(slots) // 2


def test_history_since_answers_like_the_whole_history(runtime_factory):
    """``load_history(since=…)`` keeps per tip only its latest use before ``since``: for any
    moment from ``since`` on, last use, cooldown and next variant are those of the full
    history, including two uses at the same instant."""
    import random

    from outreach.store.models import Post

    rt = runtime_factory(local_config())
    rng = random.Random(7)
    base = datetime(2027, 3, 1, tzinfo=UTC)
    statuses = ["published", "queued", "retracted", "failed", "missed", "cancelled"]
    with rt.db.session() as s:
        for n in range(600):
            at = base + timedelta(hours=rng.randint(-24 * 90, 24 * 20))
            s.add(Post(account="pingan-local", kind="manual", text="x", status=rng.choice(statuses),
                       tip_id=f"tip-{rng.randint(0, 30)}", variant=rng.choice([None, 0, 1, 2]),
                       scheduled_at=at, not_before=at,
                       published_at=at + timedelta(minutes=1) if rng.random() < 0.5 else None,
                       idempotency_key=f"k{n}", created_at=base, updated_at=base,
                       created_by="test", attempts=0))
        s.add(Post(account="pingan-local", kind="manual", text="x", status="published",
                   tip_id="tip-tie", variant=0, scheduled_at=base - timedelta(days=15),
                   not_before=base,
                   idempotency_key="t0", created_at=base, updated_at=base, created_by="test",
                   attempts=0))
        s.add(Post(account="pingan-local", kind="manual", text="x", status="published",
                   tip_id="tip-tie", variant=2, scheduled_at=base - timedelta(days=15),
                   not_before=base,
                   idempotency_key="t1", created_at=base, updated_at=base, created_by="test",
                   attempts=0))
        s.commit()
    since = base - timedelta(days=10)
    with rt.db.reader() as s:
        full = load_history(s, "pingan-local")
        part = load_history(s, "pingan-local", since=since)
    assert sum(map(len, part.uses.values())) < sum(map(len, full.uses.values()))
    tips = [f"tip-{i}" for i in range(31)] + ["tip-tie"]
    for hours in range(0, 24 * 40, 7):
        at = since + timedelta(hours=hours)
        for tip in tips:
            assert part.last_before(tip, at) == full.last_before(tip, at)
            assert part.next_variant(tip, at, 3) == full.next_variant(tip, at, 3)
            cooldown = timedelta(hours=hours)
            assert part.used_near(tip, at, cooldown) == full.used_near(tip, at, cooldown)
    assert part.next_variant("tip-tie", base, 3) == 0  # after variant 2, not after variant 0


def test_plan_over_forked_processes_equals_plan_in_one(runtime_factory, clock, monkeypatch):
    """Many accounts are planned on several cores: the rows are the same, in the same order."""
    config = local_config(slots='{ cron = "0 8,20 * * *" }', cooldown_days=3)
    variables = next(line for line in config.splitlines() if line.startswith("vars ="))
    extra = "".join(
        f'\n[accounts.station-{i}]\nplatform = "local"\nlang = "zh"\n'
        f'seed = {i}\nslots = [{{ cron = "0 {8 + i},{14 + i} * * *" }}]\n{variables}'
        for i in range(4))
    head, policy = config.split("[policy]")
    rt = runtime_factory(head + extra + "\n[policy]" + policy)
    approve_all(rt)
    sync_accounts(rt)
    clock.set(datetime(2027, 3, 1, 1, 0, tzinfo=UTC))
    materialise(rt, clock())
    Publisher(rt, worker="test").run_due(clock() + timedelta(hours=12))
    in_one = plan_rows(rt, days=10)
    assert {r["account"] for r in in_one} == {"pingan-local"} | {f"station-{i}" for i in range(4)}
    assert any(r["status"] == "planned" for r in in_one)
    assert in_one == sorted(in_one, key=lambda r: (r["scheduled_at"], r["account"]))
    assert plan_rows(rt, days=10) == in_one

    forks = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(outreach.schedule.plan, "FORK_FROM", 1)
    monkeypatch.setattr(outreach.schedule.plan, "workers_available", lambda: 3)
    forked = plan_rows(rt, days=10)
    assert len(forks) == 2
    assert forked == in_one
