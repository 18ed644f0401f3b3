"""`outreach plan`: what will be published, by the same code the daemon runs.

Rows already materialised are shown as they are; slots further ahead are drawn
in memory with ``planner.plan_slots`` from the same history, in the same order,
so the preview is what ``run`` will publish unless someone changes the library,
the approvals or the queue in between.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from outreach.models import Post
from outreach.planner import (
    Draw,
    approved_tips,
    load_history,
    pause_intervals,
    paused_at,
    plan_slots,
    slot_times,
    window_start,
)

PLAN_STATUSES = ("draft", "queued", "publishing", "unconfirmed", "missed")


def plan_rows(rt: Any, *, days: int, account: str | None = None) -> list[dict[str, Any]]:
    now = rt.clock()
    end = now + timedelta(days=days)
    accounts = ([rt.settings.account(account)] if account
                else list(rt.settings.accounts.values()))
    policy = rt.settings.policy
    rows: list[dict[str, Any]] = []
    with rt.db.reader() as s:
        approved = approved_tips(s, rt.library, policy) if accounts else None
        for acc in accounts:
            posts = s.execute(select(Post).where(
                col(Post.account) == acc.name, col(Post.status).in_(PLAN_STATUSES),
                col(Post.scheduled_at) < end,
                (col(Post.scheduled_at) >= now) | (col(Post.status) != "missed"),
            ).order_by(col(Post.scheduled_at), col(Post.id))).scalars().all()
            for p in posts:
                rows.append(_row(acc.name, p.scheduled_at, p.tip_id, p.category, p.text,
                                 p.status, p.last_error, p.id))
            # the same window the daemon materialises: late slots inside catch_up_minutes
            # are still published, older ones are missed
            start = window_start(s, acc.name, now, policy)
            catch_up = now - timedelta(minutes=policy.catch_up_minutes)
            slots = [x for x in slot_times(acc, policy, start, end) if x.at >= catch_up]
            if not slots:
                continue
            history = load_history(s, acc.name, since=slots[0].at - timedelta(
                days=policy.cooldown_days))
            pauses = pause_intervals(s, acc.name)
            client = rt.client(acc)
            for slot, result in plan_slots(slots, acc, rt.library, client, history, policy,
                                           approved):
                open_pause = paused_at(pauses, now) and paused_at(pauses, slot.at)
                if isinstance(result, Draw):
                    rows.append(_row(acc.name, slot.at, result.tip_id, result.category,
                                     result.text, "paused" if open_pause else "planned", None,
                                     None))
                else:
                    rows.append(_row(acc.name, slot.at, None, slot.label, "", "missed",
                                     result.reason, None))
    rows.sort(key=lambda r: (r["scheduled_at"], r["account"]))
    return rows


def _row(account: str, at: Any, tip_id: str | None, category: str | None, text: str,
         status: str, reason: str | None, post_id: int | None) -> dict[str, Any]:
    return {"account": account, "scheduled_at": at.isoformat(), "tip_id": tip_id,
            "category": category, "text": text, "status": status, "reason": reason,
            "post_id": post_id}
