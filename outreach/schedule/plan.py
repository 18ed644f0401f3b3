"""`outreach plan`: what will be published, by the same code the daemon runs.

Rows already materialised are shown as they are; slots further ahead are drawn
in memory with ``planner.plan_slots`` (the daemon's draw) from the same history, in the same order,
so the preview is what ``run`` will publish unless someone changes the library,
the approvals or the queue in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from outreach.config.settings import AccountSettings
from outreach.errors import ContentError
from outreach.library.model import Library
from outreach.library.texts import render_tip
from outreach.schedule.history import (
    StaleSlot,
    all_pauses,
    approved_tips,
    load_histories,
    pauses_of,
    schedule_changes,
    slot_rows_ahead,
    window_starts,
)
from outreach.schedule.parallel import collector_paused, map_forked, split, workers_available
from outreach.schedule.planner import Draw, Renders, SlotTime, paused_at, plan_slots, slot_times
from outreach.states import PostKind, PostStatus
from outreach.store.models import Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime

FORK_FROM = 8  # accounts; fewer are planned faster than a fork starts
PLAN_STATUSES = (PostStatus.DRAFT, PostStatus.QUEUED, PostStatus.PUBLISHING,
                 PostStatus.UNCONFIRMED, PostStatus.MISSED)


def plan_rows(rt: Runtime, *, days: int, account: str | None = None,
              ahead: timedelta | None = None) -> list[dict[str, Any]]:
    """Every post and planned slot of the next ``days`` days (or ``ahead``), in time order.

    Accounts are planned independently, so many of them are spread over the cores."""
    now = rt.clock()
    end = now + (ahead if ahead is not None else timedelta(days=days))
    names = rt.settings.select(account)  # a name or @group
    accounts = ([rt.settings.account(n) for n in names] if names is not None
                else list(rt.settings.accounts.values()))
    if not accounts:
        return []
    with rt.db.reader() as s:  # the library is loaded here, once, before any fork
        approved = approved_tips(s, rt.library, rt.settings.policy)
    with collector_paused():
        parts = map_forked(lambda chunk: _plan_accounts(rt, chunk, now, end, approved),
                           split(accounts, workers_available() if len(accounts) >= FORK_FROM
                                 else 1), after_fork=rt.after_fork)
    rows = [row for part in parts for row in part]
    rows.sort(key=lambda r: (r["scheduled_at"], r["account"]))
    return rows


def _plan_accounts(rt: Runtime, accounts: list[AccountSettings], now: datetime, end: datetime,
                   approved: set[str] | None) -> list[dict[str, Any]]:
    """The rows of these accounts: each read is made once for all of them."""
    policy = rt.settings.policy
    names = [acc.name for acc in accounts]
    rows: list[dict[str, Any]] = []
    with rt.db.reader() as s:
        posts: dict[str, list[Post]] = {name: [] for name in names}
        for post in s.execute(select(Post).where(
                col(Post.account).in_(names), col(Post.status).in_(PLAN_STATUSES),
                col(Post.scheduled_at) < end,
                (col(Post.scheduled_at) >= now) | (col(Post.status) != PostStatus.MISSED),
        ).order_by(col(Post.scheduled_at), col(Post.id))).scalars():
            posts[post.account].append(post)
        # the same window the daemon materialises: late slots inside catch_up_minutes
        # are still published, older ones are missed
        starts = window_starts(s, names, now, policy)
        ahead = slot_rows_ahead(s, names, now)
        pauses = all_pauses(s)
        catch_up = now - timedelta(minutes=policy.catch_up_minutes)
        todo: list[tuple[AccountSettings, list[SlotTime], list[StaleSlot]]] = []
        for acc in accounts:
            # a changed schedule: what the next materialise cancels and adds
            added, stale = schedule_changes(s, acc, policy, now, starts[acc.name], rt.library,
                                            ahead=ahead[acc.name])
            removed = {x.id: x.reason for x in stale}
            for p in posts[acc.name]:
                if p.id in removed:
                    rows.append(_row(acc.name, p.scheduled_at, p.tip_id, p.category, p.text,
                                     PostStatus.CANCELLED, removed[p.id], p.id))
                    continue
                hold = tip_hold(rt.library, p, approved, acc, now)
                if hold is not None:
                    rows.append(_row(acc.name, p.scheduled_at, p.tip_id, p.category, p.text,
                                     "held", hold, p.id))
                    continue
                rows.append(_row(acc.name, p.scheduled_at, p.tip_id, p.category, p.text,
                                 p.status, p.last_error, p.id))
            slots = [x for x in slot_times(acc, policy, starts[acc.name], end) if x.at >= catch_up]
            slots = sorted([*(x for x in added if x.at < end), *slots], key=lambda x: x.at)
            if slots:
                todo.append((acc, slots, stale))
        if not todo:
            return rows
        cooldown = timedelta(days=policy.cooldown_days)
        histories = load_histories(s, [acc.name for acc, _, _ in todo],
                                   since=min(slots[0].at for _, slots, _ in todo) - cooldown)
    renders: Renders = {}  # accounts that look alike render each text once
    for acc, slots, stale in todo:
        history = histories[acc.name]
        for x in stale:
            if x.tip_id is not None:
                history.forget(x.tip_id, x.scheduled_at, x.variant)
        paused = pauses_of(pauses, acc.name)
        client = rt.client(acc)
        for slot, result in plan_slots(slots, acc, rt.library, client, history, policy,
                                       approved, renders):
            open_pause = paused_at(paused, now) and paused_at(paused, slot.at)
            if isinstance(result, Draw):
                rows.append(_row(acc.name, slot.at, result.tip_id, result.category,
                                 result.text, "paused" if open_pause else "planned", None,
                                 None))
            else:
                rows.append(_row(acc.name, slot.at, None, slot.label, "", PostStatus.MISSED,
                                 result.reason, None))
    return rows


def tip_hold(lib: Library, post: Post, approved: set[str] | None, account: AccountSettings,
             now: datetime) -> str | None:
    """Why the publisher will not send a queued tip post as it stands (the same test as its
    check just before publishing), or None."""
    if post.tip_id is None or post.status != PostStatus.QUEUED:
        return None
    tip = lib.tips.get(post.tip_id)
    if tip is None:
        why = "the tip is no longer in the library"
    elif post.tip_id in lib.broken_tips:
        why = "the tip has errors"
    elif approved is not None and post.tip_id not in approved:
        why = "approval withdrawn (the tip changed or was revoked since it was queued)"
    elif tip.expired((post.scheduled_at or now).astimezone(account.timezone).date()):
        why = f"the tip expired on {tip.valid_until}"
    else:
        return None
    return why + ("; another tip is drawn when due" if post.kind == PostKind.SLOT
                  else "; it fails when due")


def changed_tip_posts(rt: Runtime) -> list[tuple[Post, str]]:
    """Queued and draft tip posts whose text is no longer what their tip renders to, with
    what will become of each (for `content check`)."""
    lib = rt.library
    out: list[tuple[Post, str]] = []
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, rt.settings.policy)
        posts = s.execute(select(Post).where(
            col(Post.status).in_((PostStatus.QUEUED, PostStatus.DRAFT)), col(Post.tip_id).is_not(None),
        ).order_by(col(Post.scheduled_at), col(Post.id))).scalars().all()
    now = rt.clock()
    for post in posts:
        account = rt.settings.accounts.get(post.account)
        tip = lib.tips.get(post.tip_id or "")
        if account is None:
            continue
        hold = tip_hold(lib, post, approved, account, now)
        if tip is not None and hold is None:
            try:
                current = render_tip(lib, tip, post.variant or 0, account)
            except (ContentError, IndexError):
                current = None
            if current == post.text:
                continue
            hold = ("it was queued with an older text of this tip and goes out with that "
                    "text (queue edit or cancel it)")
        elif hold is not None:
            hold = "changed since it was queued: " + hold
        else:
            continue
        out.append((post, hold))
    return out


def _row(account: str, at: Any, tip_id: str | None, category: str | None, text: str,
         status: str, reason: str | None, post_id: int | None) -> dict[str, Any]:
    return {"account": account, "scheduled_at": at.isoformat(), "tip_id": tip_id,
            "category": category, "text": text, "status": status, "reason": reason,
            "post_id": post_id}
