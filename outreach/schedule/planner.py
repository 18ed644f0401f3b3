"""Slots → posts: when an account posts, and which tip it draws.

The functions at the top are pure (config, library, history, time window in;
slots and draws out), so ``outreach plan`` and the daemon run the same code and
what plan shows is what run publishes. ``materialise`` at the bottom is the one
place that writes: it turns due and upcoming slots into ``posts`` rows with
``INSERT … ON CONFLICT DO NOTHING`` on the slot key.

Draw order: campaign weight, then least recently used on this account, then a
deterministic tie-break from the slot key.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, union_all, update
from sqlmodel import SQLModel, col

from outreach.config.settings import AccountSettings, Policy
from outreach.errors import ContentError
from outreach.library.model import Library, TipDef
from outreach.library.texts import render_tip, text_problems
from outreach.schedule.cron import fire_times
from outreach.store.models import Approval, Pause, Post

USED_STATUSES = ("queued", "publishing", "unconfirmed", "published", "retracted")
MAX_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class SlotTime:
    account: str
    at: datetime  # aware UTC
    categories: tuple[str, ...]

    @property
    def key(self) -> str:
        return slot_key(self.account, self.at)

    @property
    def label(self) -> str:
        return ",".join(self.categories) if self.categories else "any"


def slot_key(account: str, at: datetime) -> str:
    """The unique key of a slot: the account plus the UTC instant."""
    return f"{account}@{at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def in_quiet_hours(local: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight


def slot_times(account: AccountSettings, policy: Policy, start: datetime,
               end: datetime) -> list[SlotTime]:
    """The account's slots in [start, end), without quiet hours and blackout dates."""
    by_instant: dict[datetime, SlotTime] = {}
    for slot in account.slots:
        for at in fire_times(slot.cron, account.timezone, start, end):
            local = at.astimezone(account.timezone)
            if local.date() in policy.blackout_dates:
                continue
            if in_quiet_hours(local.time(), policy.quiet_hours):
                continue
            by_instant.setdefault(at, SlotTime(account.name, at, slot.categories))
    return [by_instant[k] for k in sorted(by_instant)]


@dataclass
class History:
    """When each tip was used on one account, and which variant it used last."""

    uses: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    variants: dict[str, list[tuple[datetime, int]]] = field(
        default_factory=lambda: defaultdict(list))

    def record(self, tip_id: str, at: datetime, variant: int | None) -> None:
        bisect.insort(self.uses[tip_id], at)
        bisect.insort(self.variants[tip_id], (at, variant or 0))

    def last_before(self, tip_id: str, at: datetime) -> datetime | None:
        uses = self.uses.get(tip_id)
        if not uses:
            return None
        i = bisect.bisect_left(uses, at)
        return uses[i - 1] if i else None

    def used_near(self, tip_id: str, at: datetime, cooldown: timedelta) -> bool:
        uses = self.uses.get(tip_id)
        if not uses or cooldown <= timedelta(0):
            return False
        i = bisect.bisect_left(uses, at - cooldown)
        return i < len(uses) and uses[i] < at + cooldown

    def forget(self, tip_id: str, at: datetime, variant: int | None) -> None:
        """Drop one use (a post that is about to be cancelled)."""
        with contextlib.suppress(ValueError):
            self.uses[tip_id].remove(at)
        with contextlib.suppress(ValueError):
            self.variants[tip_id].remove((at, variant or 0))

    def next_variant(self, tip_id: str, at: datetime, count: int) -> int:
        history = self.variants.get(tip_id)
        if not history or count <= 1:
            return 0
        i = bisect.bisect_left(history, (at, -1))
        if i == 0:
            return 0
        return (history[i - 1][1] + 1) % count


@dataclass(frozen=True)
class Draw:
    tip_id: str
    variant: int
    category: str
    text: str


@dataclass(frozen=True)
class Miss:
    reason: str


def approved_in_lang(lib: Library, account: AccountSettings,
                     approved: set[str] | None) -> Iterator[TipDef]:
    """The account's language's tips without errors and (when required) approved."""
    broken = lib.broken_tips
    for tip in lib.tips_in(account.lang):
        if tip.id not in broken and (approved is None or tip.id in approved):
            yield tip


def eligible_tips(lib: Library, account: AccountSettings, slot: SlotTime, day: date,
                  approved: set[str] | None) -> list[TipDef]:
    """Tips a slot may draw, before cooldown and rendering."""
    out = []
    codes = lib.matching_categories(slot.categories)
    for tip in approved_in_lang(lib, account, approved):
        if codes is not None and tip.category not in codes:
            continue
        if not tip.in_season(day) or tip.expired(day):
            continue
        out.append(tip)
    return out


def draw(slot: SlotTime, account: AccountSettings, lib: Library, client: Any,
         history: History, policy: Policy, approved: set[str] | None) -> Draw | Miss:
    """Pick the tip (and variant) a slot publishes, or say why none fits."""
    day = slot.at.astimezone(account.timezone).date()
    cooldown = timedelta(days=policy.cooldown_days)
    candidates = [t for t in eligible_tips(lib, account, slot, day, approved)
                  if not history.used_near(t.id, slot.at, cooldown)]

    ranked = []
    for tip in candidates:
        last = history.last_before(tip.id, slot.at)
        ranked.append((-lib.campaign_weight(tip.category, day),
                       last.timestamp() if last else float("-inf"), tip))
    ranked.sort(key=lambda r: (r[0], r[1]))

    ordered: list[TipDef] = []
    i = 0
    while i < len(ranked):  # the hash tie-break is computed only where there is a tie
        j = i + 1
        while j < len(ranked) and ranked[j][:2] == ranked[i][:2]:
            j += 1
        group = [r[2] for r in ranked[i:j]]
        ordered.extend(sorted(group, key=lambda t: _tie_break(slot.key, t)) if len(group) > 1
                       else group)
        i = j
    return _first_fit(ordered, slot, account, lib, client, history) or Miss(
        f"exhausted: {slot.label}")


def _tie_break(key: str, tip: TipDef) -> str:
    return hashlib.sha256(f"{key}|{tip.id}".encode()).hexdigest()


class Ranking:
    """One account's drawable tips per category, least recently used first.

    ``draw`` ranks every eligible tip for every slot. Across a run of slots in time order,
    where each draw becomes the newest use, the same first choice is found by looking only
    at the head of each category's list: the drawn tip moves to the end. Tips with a use at
    or after the first slot (posts queued ahead) are kept apart and ranked exactly.
    """

    def __init__(self, lib: Library, account: AccountSettings, history: History,
                 approved: set[str] | None, first_at: datetime) -> None:
        self.by_category: dict[str, list[tuple[float, TipDef]]] = defaultdict(list)
        self.ahead: list[TipDef] = []
        self.unusable: set[str] = set()  # no variant renders to a text this account may post
        for tip in approved_in_lang(lib, account, approved):
            uses = history.uses.get(tip.id)
            if uses and uses[-1] >= first_at:
                self.ahead.append(tip)
            else:
                last = uses[-1].timestamp() if uses else float("-inf")
                self.by_category[tip.category].append((last, tip))
        for entries in self.by_category.values():
            entries.sort(key=lambda e: e[0])  # stable: equal times keep library order

    def drawn(self, tip: TipDef, at: datetime) -> None:
        entries = self.by_category.get(tip.category, [])
        for i, (_last, other) in enumerate(entries):
            if other is tip:
                del entries[i]
                entries.append((at.timestamp(), tip))  # the newest use: the end of the list
                return

    def leaders(self, slot: SlotTime, day: date, lib: Library, history: History,
                cooldown: timedelta) -> list[TipDef]:
        """The drawable tips tied for first place by (campaign weight, last use)."""
        codes = lib.matching_categories(slot.categories)
        at = slot.at
        best_key: tuple[float, float] | None = None
        best: list[TipDef] = []

        def offer(key: tuple[float, float], tip: TipDef) -> None:
            nonlocal best_key, best
            if best_key is None or key < best_key:
                best_key, best = key, [tip]
            elif key == best_key:
                best.append(tip)

        def drawable(tip: TipDef) -> bool:
            return (tip.id not in self.unusable and tip.in_season(day) and not tip.expired(day)
                    and not history.used_near(tip.id, at, cooldown))

        for category, entries in self.by_category.items():
            if codes is not None and category not in codes:
                continue
            weight = -lib.campaign_weight(category, day)
            if best_key is not None and weight > best_key[0]:
                continue
            head: float | None = None
            for last, tip in entries:
                if head is not None and last != head:
                    break
                if drawable(tip):
                    head = last
                    offer((weight, last), tip)
        for tip in self.ahead:
            if (codes is None or tip.category in codes) and drawable(tip):
                last_use = history.last_before(tip.id, at)
                offer((-lib.campaign_weight(tip.category, day),
                       last_use.timestamp() if last_use else float("-inf")), tip)
        return best


def _first_fit(tips: Sequence[TipDef], slot: SlotTime, account: AccountSettings, lib: Library,
               client: Any, history: History, unusable: set[str] | None = None) -> Draw | None:
    """The first tip, in order, with a variant that renders to a text the account may post."""
    for tip in tips:
        count = len(tip.texts)
        first = history.next_variant(tip.id, slot.at, count)
        for step in range(count):
            variant = (first + step) % count
            try:
                text = render_tip(lib, tip, variant, account)
            except ContentError:
                continue
            if not text_problems(text, client, lib):
                return Draw(tip.id, variant, tip.category, text)
        if unusable is not None:
            unusable.add(tip.id)
    return None


def plan_slots(slots: Sequence[SlotTime], account: AccountSettings, lib: Library, client: Any,
               history: History, policy: Policy,
               approved: set[str] | None) -> list[tuple[SlotTime, Draw | Miss]]:
    """Draw slots in time order, each draw becoming history for the next.

    The result is the same as ``draw`` slot by slot (tests compare them); the ranking
    makes a month for fifty accounts over a thousand tips take well under a second.
    """
    out: list[tuple[SlotTime, Draw | Miss]] = []
    if not slots:
        return out
    ranking = Ranking(lib, account, history, approved, slots[0].at)
    cooldown = timedelta(days=policy.cooldown_days)
    for slot in slots:
        day = slot.at.astimezone(account.timezone).date()
        result: Draw | Miss | None = None
        while result is None:  # a group whose tips all fail is marked unusable: try the next
            leaders = ranking.leaders(slot, day, lib, history, cooldown)
            if not leaders:
                result = Miss(f"exhausted: {slot.label}")
                break
            if len(leaders) > 1:
                leaders.sort(key=lambda t: _tie_break(slot.key, t))
            result = _first_fit(leaders, slot, account, lib, client, history, ranking.unusable)
        if isinstance(result, Draw):
            history.record(result.tip_id, slot.at, result.variant)
            ranking.drawn(lib.tips[result.tip_id], slot.at)
        out.append((slot, result))
    return out


# --- reading what the database knows ------------------------------------------------


def approved_tips(session: Any, lib: Library, policy: Policy) -> set[str] | None:
    """Tips whose current text carries an approval; None when approval is not required."""
    if not policy.require_approval:
        return None
    rows = session.execute(select(col(Approval.tip_id), col(Approval.text_hash))).all()
    hashes: dict[str, set[str]] = defaultdict(set)
    for tip_id, text_hash in rows:
        hashes[tip_id].add(text_hash)
    return {t.id for t in lib.tips.values() if t.text_hash in hashes.get(t.id, ())}


def load_history(session: Any, account: str, since: datetime | None = None) -> History:
    """When each tip was used on the account, and with which variant.

    With ``since``: every use from then on and, per tip, only its latest use before it;
    that is all cooldown, ranking and variant rotation need for slots at or after
    ``since`` plus the cooldown (a year of history is then a few hundred rows, read from
    the covering index ``ix_posts_tip_uses``)."""
    tip_id = col(Post.tip_id)
    used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
    variant = func.coalesce(col(Post.variant), 0)
    used = and_(col(Post.account) == account, tip_id.is_not(None),
                col(Post.status).in_(USED_STATUSES))
    query: Any = select(tip_id, used_at, variant).where(used)
    if since is not None:
        latest = select(tip_id.label("tip_id"), func.max(used_at).label("at")).where(
            used, used_at < since).group_by(tip_id).subquery()
        earlier = select(tip_id, latest.c.at, func.max(variant)).join(
            latest, and_(tip_id == latest.c.tip_id, used_at == latest.c.at),
        ).where(used).group_by(tip_id, latest.c.at)  # equal times: the highest variant
        query = union_all(query.where(used_at >= since), earlier)
    rows = sorted(((tip_id, at if at.tzinfo is not None else _aware(at), variant)
                   for tip_id, at, variant in session.connection().execute(query).all()),
                  key=lambda r: (r[1], r[2]))
    history = History()
    for tip_id, at, variant in rows:  # in time order: appending keeps every list sorted
        history.uses[tip_id].append(at)
        history.variants[tip_id].append((at, variant))
    return history


def _aware(value: Any) -> datetime:
    """A value from an aggregate (MAX/MIN), which skips the column type: aware UTC again."""
    from outreach.store.models import as_utc

    out = as_utc(value)
    assert out is not None
    return out


def pause_intervals(session: Any, account: str) -> list[tuple[datetime, datetime | None]]:
    rows = session.execute(
        select(col(Pause.started_at), col(Pause.ended_at)).where(
            or_(col(Pause.account).is_(None), col(Pause.account) == account)
        )
    ).all()
    return [(r[0], r[1]) for r in rows]


def paused_at(intervals: Iterable[tuple[datetime, datetime | None]], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in intervals)


# --- writing: slots become rows --------------------------------------------------------


def window_start(session: Any, account: str, now: datetime, policy: Policy) -> datetime:
    """Where materialising resumes: after the last slot row, or the catch-up window on a
    first run; never more than a week back, and never before the account first appeared in
    the config (its ``accounts`` row; an account without one appears now)."""
    from outreach.store.models import Account

    appeared = session.execute(
        select(col(Account.created_at)).where(col(Account.name) == account)).scalar()
    appeared = _aware(appeared) if appeared is not None else now
    last = session.execute(
        select(col(Post.scheduled_at)).where(
            col(Post.account) == account, col(Post.kind) == "slot", col(Post.slot_key).is_not(None),
        ).order_by(col(Post.scheduled_at).desc()).limit(1)  # ix_posts_account_kind
    ).scalar()
    if last is not None:
        start = last + timedelta(seconds=1)
    else:
        start = now - timedelta(minutes=policy.catch_up_minutes)
    return max(start, now - MAX_LOOKBACK, appeared)


def new_key() -> str:
    return uuid.uuid4().hex


def materialise(rt: Any, now: datetime, accounts: Iterable[AccountSettings] | None = None) -> int:
    """Turn every slot up to ``materialise_hours`` ahead into a ``posts`` row.

    Slots missed while nothing ran (older than ``catch_up_minutes``) and slots that
    fell in a pause become ``missed`` rows with the reason, so they are reported and
    never drawn again. Returns how many rows were inserted.
    """
    settings = rt.settings
    policy = settings.policy
    horizon = now + timedelta(hours=policy.materialise_hours)
    catch_up = now - timedelta(minutes=policy.catch_up_minutes)
    inserted = 0
    db = rt.db
    for account in accounts if accounts is not None else settings.accounts.values():
        if not account.slots:
            with db.session() as session:  # every slot removed: its future posts go too
                follow_schedule_changes(session, account, policy, now, now, [], rt.library)
                session.commit()
            continue
        with db.session() as session:
            start = window_start(session, account.name, now, policy)
            slots = slot_times(account, policy, start, horizon)
            slots = follow_schedule_changes(session, account, policy, now, start, slots,
                                            rt.library)
            if not slots:
                continue
            lib = rt.library
            client = rt.client(account)
            approved = approved_tips(session, lib, policy)
            history = load_history(session, account.name, since=slots[0].at - timedelta(
                days=policy.cooldown_days))
            pauses = pause_intervals(session, account.name)
            rows = []
            for slot in slots:
                row = {
                    "account": account.name, "kind": "slot", "slot_key": slot.key,
                    "scheduled_at": slot.at, "not_before": slot.at, "attempts": 0,
                    "idempotency_key": new_key(), "created_at": now, "updated_at": now,
                    "created_by": "planner", "text": "", "status": "missed",
                    "category": slot.label,
                }
                if slot.at < catch_up:
                    row["last_error"] = (f"late: the daemon was not running within "
                                         f"{policy.catch_up_minutes} minutes of the slot")
                elif slot.at <= now and paused_at(pauses, slot.at):
                    row["last_error"] = "paused"
                else:
                    result = draw(slot, account, lib, client, history, policy, approved)
                    if isinstance(result, Miss):
                        row["last_error"] = result.reason
                    else:
                        history.record(result.tip_id, slot.at, result.variant)
                        row.update(status="queued", tip_id=result.tip_id,
                                   variant=result.variant, category=result.category,
                                   text=result.text)
                rows.append(row)
            inserted += _insert_slots(session, rows)
            session.commit()
    return inserted


# --- the account's slots changed in config ------------------------------------------

SLOT_REMOVED = "slot removed from config"
SLOT_CHANGED = "slot changed in config"


@dataclass(frozen=True)
class StaleSlot:
    """A future slot row whose slot the config no longer has."""

    id: int
    slot_key: str
    status: str
    tip_id: str | None
    scheduled_at: datetime
    variant: int | None
    reason: str = SLOT_REMOVED


def _slot_instant(key: str) -> datetime:
    return datetime.strptime(key.rsplit("@", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def schedule_changes(session: Any, account: AccountSettings, policy: Policy, now: datetime,
                     start: datetime, lib: Library | None = None,
                     ) -> tuple[list[SlotTime], list[StaleSlot]]:
    """What a change of an account's slots (cron lines, categories, zone, quiet hours,
    blackout dates) means for the rows already materialised ahead: the future rows, not yet
    claimed, of slots it no longer has (or whose categories no longer fit the row's draw,
    when ``lib`` is given), and the slots the config has now that lie before ``start``
    (where materialising resumes) with no live row. Both are empty while the config is
    unchanged; a slot post keeps its slot when rescheduled, so rows are matched by key."""
    rows = session.execute(select(
        col(Post.id), col(Post.slot_key), col(Post.status), col(Post.tip_id),
        col(Post.scheduled_at), col(Post.variant), col(Post.claimed_by),
        col(Post.category)).where(
        col(Post.account) == account.name, col(Post.kind) == "slot",
        col(Post.scheduled_at) > now, col(Post.slot_key).is_not(None),
    )).all()
    stale: list[StaleSlot] = []
    if rows:
        instants = [_slot_instant(r.slot_key) for r in rows]
        expected = {s.key: s for s in slot_times(account, policy, min(min(instants), now),
                                                 max(instants) + timedelta(seconds=1))}
        for r in rows:
            if r.claimed_by is not None or r.status not in ("queued", "missed"):
                continue
            slot = expected.get(r.slot_key)
            reason = (SLOT_REMOVED if slot is None
                      else None if lib is None or _fits(slot, r, lib) else SLOT_CHANGED)
            if reason is not None:
                stale.append(StaleSlot(r.id, r.slot_key, r.status, r.tip_id, r.scheduled_at,
                                       r.variant, reason))
    gone = {x.id for x in stale}
    live = {r.slot_key for r in rows if r.id not in gone}
    added = [s for s in slot_times(account, policy, now, start) if s.key not in live]
    return added, stale


def _fits(slot: SlotTime, row: Any, lib: Library) -> bool:
    """Whether a slot row's draw still suits the slot's categories."""
    if row.status == "missed":  # found nothing for the slot as it was: try again
        return row.category == slot.label
    if row.tip_id is None:  # an officer's text replaced the draw: theirs to keep
        return True
    tip = lib.tips.get(row.tip_id)
    codes = lib.matching_categories(slot.categories)
    return codes is None or (tip.category if tip else row.category) in codes


def follow_schedule_changes(session: Any, account: AccountSettings, policy: Policy,
                            now: datetime, start: datetime, slots: list[SlotTime],
                            lib: Library | None = None) -> list[SlotTime]:
    """Cancel the future posts of removed or changed slots (audited) and add the new slots
    that lie before ``start`` to ``slots`` (in time order), so a config change shows at
    once."""
    from outreach.store.audit import audit

    added, stale = schedule_changes(session, account, policy, now, start, lib)
    for row in stale:
        n = session.execute(update(Post).where(
            col(Post.id) == row.id, col(Post.status) == row.status,
            col(Post.claimed_by).is_(None),
        ).values(status="cancelled", last_error=row.reason, slot_key=None,
                 updated_at=now)).rowcount
        if n == 1:  # the key is freed: a slot put back (or changed) is drawn again
            audit(session, now, "planner", "queue_cancel", account=account.name,
                  post_id=row.id, reason=row.reason, detail={"slot": row.slot_key})
    if stale:
        session.flush()
    if not added:
        return slots
    return sorted([*added, *slots], key=lambda s: s.at)


def _insert_slots(session: Any, rows: list[dict[str, Any]]) -> int:
    from outreach.store.db import insert_ignore

    table = SQLModel.metadata.tables["posts"]
    blank: dict[str, Any] = {c.name: None for c in table.columns if c.name != "id"}
    blank.update(attempts=0, ambiguous=False, catch_up=False)
    return insert_ignore(session, table, [blank | r for r in rows], "slot_key")


def due_filter(now: datetime) -> Any:
    return and_(col(Post.status) == "queued", col(Post.not_before) <= now)


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
