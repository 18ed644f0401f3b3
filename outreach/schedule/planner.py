"""Slots → draws: when an account posts, and which tip it draws. Pure.

Config, library, history and a time window in; slots and draws out. Nothing here
reads or writes the database: the caller loads the history, approvals and pauses
(``schedule/history.py``) and writes rows (``schedule/materialise.py``). The daemon,
``outreach plan`` and the publisher's redraw all draw with ``plan_slots``, so what
plan shows is what run publishes.

Draw order: campaign weight, then least recently used on this account, then a
deterministic tie-break from the slot key.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import heapq
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from outreach.config.settings import AccountSettings, Policy, Slot
from outreach.errors import ContentError
from outreach.library.model import Library, TipDef
from outreach.library.texts import render_tip, text_problems
from outreach.schedule.cron import fire_times
from outreach.states import PostStatus

USED_STATUSES: tuple[PostStatus, ...] = (
    PostStatus.QUEUED, PostStatus.PUBLISHING, PostStatus.UNCONFIRMED, PostStatus.PUBLISHED,
    PostStatus.RETRACTED)  # a use of the tip: counts for cooldown and rotation


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
    return [SlotTime(account.name, at, categories) for at, categories in _slot_instants(
        account.slots, account.timezone, policy.blackout_dates, policy.quiet_hours, start, end)]


@functools.lru_cache(maxsize=1024)
def _slot_instants(slots: tuple[Slot, ...], zone: ZoneInfo, blackout: tuple[date, ...],
                   quiet: tuple[time, time] | None, start: datetime, end: datetime,
                   ) -> tuple[tuple[datetime, tuple[str, ...]], ...]:
    """The instants (and categories) of these slots in [start, end): computed once for every
    account with the same slots, zone and window (a department's accounts usually share them)."""
    by_instant: dict[datetime, tuple[str, ...]] = {}
    for slot in slots:
        for at in fire_times(slot.cron, zone, start, end):
            local = at.astimezone(zone)
            if local.date() in blackout:
                continue
            if in_quiet_hours(local.time(), quiet):
                continue
            by_instant.setdefault(at, slot.categories)
    return tuple((at, by_instant[at]) for at in sorted(by_instant))


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


_MASK = (1 << 64) - 1


@functools.lru_cache(maxsize=65536)
def _mix_of(text: str) -> int:
    """A stable 64-bit number for a slot key or a tip id."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _tie_break(key: str, tip: TipDef) -> int:
    """The deterministic tie-break between tips equally due for the slot ``key``: the tips'
    numbers read around a circle from the slot's own number. The first of a tied group is
    then found by a binary search, whatever the size of the group."""
    return (_mix_of(tip.id) - _mix_of(key)) & _MASK


Entry = tuple[int, str, TipDef]  # (the tip's number, its id, the tip): never used on the account


class Ranking:
    """One account's drawable tips per category, least recently used first.

    Ranking every eligible tip for every slot (the tests keep that as an oracle) is slow.
    Across a run of slots in time order, where each draw becomes the newest use, the same
    first choice is found by looking only
    at the head of each category's list: the drawn tip moves to the end. Tips never used on
    the account (all tied, often most of the library) are kept per category in the order of
    their tie-break numbers, so a slot looks at the first of them, not at all. Tips with a
    use at or after the first slot (posts queued ahead) are kept apart and ranked exactly.
    """

    def __init__(self, lib: Library, account: AccountSettings, history: History,
                 approved: set[str] | None, first_at: datetime) -> None:
        self.by_category: dict[str, list[tuple[float, TipDef]]] = defaultdict(list)
        self.unused: dict[str, list[Entry]] = defaultdict(list)
        self.ahead: list[TipDef] = []
        self.unusable: set[str] = set()  # no variant renders to a text this account may post
        for tip in approved_in_lang(lib, account, approved):
            uses = history.uses.get(tip.id)
            if uses and uses[-1] >= first_at:
                self.ahead.append(tip)
            elif uses:
                self.by_category[tip.category].append((uses[-1].timestamp(), tip))
            else:
                self.unused[tip.category].append((_mix_of(tip.id), tip.id, tip))
        for entries in self.by_category.values():
            entries.sort(key=lambda e: e[0])  # stable: equal times keep library order
        for unused in self.unused.values():
            unused.sort()

    def drawn(self, tip: TipDef, at: datetime) -> None:
        unused = self.unused.get(tip.category, [])
        i = bisect.bisect_left(unused, (_mix_of(tip.id), tip.id))
        if i < len(unused) and unused[i][2] is tip:
            del unused[i]
        else:
            entries = self.by_category.get(tip.category, [])
            for i, (_last, other) in enumerate(entries):
                if other is tip:
                    del entries[i]
                    break
            else:
                return  # a tip used ahead: ranked by its history
        # the newest use: the end of the list
        self.by_category[tip.category].append((at.timestamp(), tip))

    def leaders(self, slot: SlotTime, day: date, lib: Library, history: History,
                cooldown: timedelta) -> Iterator[TipDef]:
        """The drawable tips tied for first place by (campaign weight, last use), in the
        order of the tie-break; lazily (the first one usually fits)."""
        codes = lib.matching_categories(slot.categories)
        at = slot.at
        origin = _mix_of(slot.key)
        best_key: tuple[float, float] | None = None
        best: list[TipDef] = []
        walks: list[Iterator[tuple[int, TipDef]]] = []
        unusable = self.unusable
        uses = history.uses

        def drawable(tip: TipDef) -> bool:  # the common case (never used, no dates) first
            if tip.id in unusable:
                return False
            if (tip.months or tip.valid_until is not None) and (
                    not tip.in_season(day) or tip.expired(day)):
                return False
            return not uses.get(tip.id) or not history.used_near(tip.id, at, cooldown)

        def walk(unused: list[Entry]) -> Iterator[tuple[int, TipDef]]:
            """The drawable unused tips of a category in tie-break order: from the slot's
            number around the circle."""
            n = len(unused)
            i = bisect.bisect_left(unused, (origin,))
            for k in range(i, i + n):
                mix, _id, tip = unused[k % n]
                if drawable(tip):
                    yield (mix - origin) & _MASK, tip

        def offer(key: tuple[float, float]) -> bool:
            """Whether a group with this key joins the leaders (clearing worse ones)."""
            nonlocal best_key
            if best_key is None or key < best_key:
                best_key = key
                best.clear()
                walks.clear()
                return True
            return key == best_key

        for category in {*self.by_category, *self.unused}:
            if codes is not None and category not in codes:
                continue
            weight = -lib.campaign_weight(category, day)
            if best_key is not None and weight > best_key[0]:
                continue
            unused = self.unused.get(category)
            if unused:
                tips = walk(unused)
                first = next(tips, None)
                if first is not None:  # never used beats any use in the category
                    if offer((weight, float("-inf"))):
                        walks.append(itertools.chain([first], tips))
                    continue
            entries = self.by_category.get(category)
            # entries are in order of last use: none of them can beat or tie the best so far
            if not entries or (best_key is not None and (weight, entries[0][0]) > best_key):
                continue
            head: float | None = None
            for last, tip in entries:
                if head is not None and last != head:
                    break
                if drawable(tip):
                    if head is None:  # this category's first choice: better, tied or worse?
                        head = last
                        if not offer((weight, last)):
                            break
                    best.append(tip)
        for tip in self.ahead:
            if (codes is None or tip.category in codes) and drawable(tip):
                last_use = history.last_before(tip.id, at)
                if offer((-lib.campaign_weight(tip.category, day),
                          last_use.timestamp() if last_use else float("-inf"))):
                    best.append(tip)
        if not walks:
            if len(best) > 1:
                best.sort(key=lambda t: _tie_break(slot.key, t))
            return iter(best)
        ranked = sorted(((_tie_break(slot.key, t), t) for t in best), key=lambda e: e[0])
        return (tip for _, tip in heapq.merge(ranked, *walks, key=lambda e: e[0]))


Renders = dict[tuple[str, int, str], "str | None"]  # (tip, variant, account's look) → text


def render_profile(lib: Library, account: AccountSettings, client: Any) -> str:
    """Everything a rendered tip and its checks depend on besides the tip: accounts with the
    same profile (a department's accounts often share their variables) render alike."""
    wrapper = account.wrapper_variables
    names = lib.renderer.wrapper_names(account.platform)
    used = {k: v for k, v in wrapper.items() if names is None or k in names}
    return json.dumps([account.platform, account.lang, client.max_length, type(client).__name__,
                       dict(account.template_variables), used],
                      sort_keys=True, default=str, ensure_ascii=False)


def _first_fit(tips: Iterable[TipDef], slot: SlotTime, account: AccountSettings, lib: Library,
               client: Any, history: History, unusable: set[str] | None = None,
               renders: Renders | None = None, profile: str = "") -> Draw | None:
    """The first tip, in order, with a variant that renders to a text the account may post
    (``renders``: texts already rendered for accounts of this ``profile``, and those that
    failed, as None)."""
    for tip in tips:
        count = len(tip.texts)
        first = history.next_variant(tip.id, slot.at, count)
        for step in range(count):
            variant = (first + step) % count
            pictures = tip.images_for(variant)
            if pictures and len(pictures) > client.media_limits().max_count:
                continue  # more pictures than the platform takes (content check warns)
            key = (tip.id, variant, profile)
            if renders is not None and key in renders:
                text = renders[key]
            else:
                try:
                    text = render_tip(lib, tip, variant, account)
                except ContentError:
                    text = None
                if text is not None and text_problems(text, client, lib):
                    text = None
                if renders is not None:
                    renders[key] = text
            if text is not None:
                return Draw(tip.id, variant, tip.category, text)
        if unusable is not None:
            unusable.add(tip.id)
    return None


def plan_slots(slots: Sequence[SlotTime], account: AccountSettings, lib: Library, client: Any,
               history: History, policy: Policy, approved: set[str] | None,
               renders: Renders | None = None) -> list[tuple[SlotTime, Draw | Miss]]:
    """Draw slots in time order, each draw becoming history for the next (``history`` is
    updated). The one draw: the daemon's materialise, ``outreach plan`` and the publisher's
    redraw all call it.

    The result is the same as ranking every tip for every slot, slot by slot (tests compare
    them); the ranking makes a month for fifty accounts over a thousand tips take well under
    a second. ``renders``, shared by the calls of one plan or materialise over many
    accounts, keeps each text rendered once per account profile.
    """
    out: list[tuple[SlotTime, Draw | Miss]] = []
    if not slots:
        return out
    profile = render_profile(lib, account, client) if renders is not None else ""
    ranking = Ranking(lib, account, history, approved, slots[0].at)
    cooldown = timedelta(days=policy.cooldown_days)
    for slot in slots:
        day = slot.at.astimezone(account.timezone).date()
        result: Draw | Miss | None = None
        while result is None:  # a group whose tips all fail is marked unusable: try the next
            leaders = ranking.leaders(slot, day, lib, history, cooldown)
            first = next(leaders, None)
            if first is None:
                result = Miss(f"exhausted: {slot.label}")
                break
            result = _first_fit(itertools.chain([first], leaders), slot, account, lib, client,
                                history, ranking.unusable, renders, profile)
        if isinstance(result, Draw):
            history.record(result.tip_id, slot.at, result.variant)
            ranking.drawn(lib.tips[result.tip_id], slot.at)
        out.append((slot, result))
    return out


def paused_at(intervals: Iterable[tuple[datetime, datetime | None]], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in intervals)


def slot_instant(key: str) -> datetime:
    """The UTC instant a slot key names (see ``slot_key``)."""
    return datetime.strptime(key.rsplit("@", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex
