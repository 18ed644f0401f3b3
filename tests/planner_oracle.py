"""The planner's draw for one slot, ranking every eligible tip: slow, plainly right.

``plan_slots`` must draw exactly what this draws slot by slot (``test_planner``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from outreach.config.settings import AccountSettings, Policy
from outreach.library.model import Library, TipDef
from outreach.schedule.planner import (
    Draw,
    History,
    Miss,
    SlotTime,
    _first_fit,
    _tie_break,
    approved_in_lang,
)


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
