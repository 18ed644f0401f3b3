"""Slots and the draw policy: what plan shows is what run publishes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from outreach.models import Post
from outreach.planner import History, Miss, draw, materialise, plan_slots, slot_times
from outreach.preview import plan_rows
from outreach.publisher import Publisher
from outreach.queue import approve_tips, sync_accounts
from tests.conftest import local_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def approve_all(rt, lang="zh"):
    approve_tips(rt, [t.id for t in rt.library.tips.values() if t.lang == lang], by="chief")


def posts(rt, **where):
    with rt.db.reader() as s:
        q = select(Post).order_by(Post.scheduled_at)
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
        from outreach.planner import approved_tips

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
    weights = [rt.library.campaign_weight(r.category, july.date()) for _, r in results]
    assert weights[0] == max(rt.library.campaign_weight(t.category, july.date())
                             for t in rt.library.tips.values() if t.lang == "zh")


def test_unapproved_tips_are_never_drawn(runtime_factory):
    rt = runtime_factory(local_config())
    acc = rt.settings.account("pingan-local")
    slot = slot_times(acc, rt.settings.policy, datetime(2027, 3, 1, tzinfo=UTC),
                      datetime(2027, 3, 2, tzinfo=UTC))[0]
    result = draw(slot, acc, rt.library, rt.client(acc), History(), rt.settings.policy, set())
    assert isinstance(result, Miss)


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
    from outreach.content import category_matches

    assert all(any(category_matches(code, r.category) for code in boosted) for _, r in results)
    august = datetime(2027, 8, 1, tzinfo=UTC)
    assert not campaign.active(august.date())
