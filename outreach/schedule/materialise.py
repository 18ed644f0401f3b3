"""Slots become rows: the one place the schedule writes.

``materialise`` turns due and upcoming slots into ``posts`` rows with
``INSERT … ON CONFLICT DO NOTHING`` on the slot key, drawing them with the planner's
``plan_slots`` (the same draw ``outreach plan`` shows). A change of an account's slots
in config cancels the future rows of slots it no longer has (audited).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlmodel import SQLModel, col

from outreach.config.settings import AccountSettings, Policy
from outreach.library.media import media_row, stored_tip_pictures
from outreach.library.model import Library
from outreach.media.images import ImageRejected
from outreach.media.store import MediaStore
from outreach.schedule.history import (
    approved_tips,
    load_history,
    pause_intervals,
    schedule_changes,
    window_start,
)
from outreach.schedule.planner import Draw, SlotTime, new_key, paused_at, plan_slots, slot_times
from outreach.states import PostKind, PostStatus
from outreach.store.audit import audit
from outreach.store.db import insert_ignore, rowcount
from outreach.store.models import Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)


def materialise(rt: Runtime, now: datetime,
                accounts: Iterable[AccountSettings] | None = None) -> int:
    """Turn every slot up to ``materialise_hours`` ahead into a ``posts`` row.

    Slots missed while nothing ran (older than ``catch_up_minutes``) and slots that
    fell in a pause become ``missed`` rows with the reason, so they are reported and
    never drawn again. Returns how many rows were inserted.
    """
    settings = rt.settings
    policy = settings.policy
    horizon = now + timedelta(hours=policy.materialise_hours)
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
            rows = _slot_rows(rt, session, account, slots, now)
            inserted += _insert_slots(session, rows)
            _insert_media(session, rows, now)
            session.commit()
    return inserted


def _slot_rows(rt: Runtime, session: Any, account: AccountSettings, slots: list[SlotTime],
               now: datetime) -> list[dict[str, Any]]:
    """One row per slot, in time order: missed (late, or in a pause) or drawn."""
    policy = rt.settings.policy
    lib = rt.library
    catch_up = now - timedelta(minutes=policy.catch_up_minutes)
    approved = approved_tips(session, lib, policy)
    history = load_history(session, account.name, since=slots[0].at - timedelta(
        days=policy.cooldown_days))
    pauses = pause_intervals(session, account.name)
    rows: list[dict[str, Any]] = []
    drawn: list[tuple[SlotTime, dict[str, Any]]] = []
    for slot in slots:
        row: dict[str, Any] = {
            "account": account.name, "kind": PostKind.SLOT, "slot_key": slot.key,
            "scheduled_at": slot.at, "not_before": slot.at, "attempts": 0,
            "idempotency_key": new_key(), "created_at": now, "updated_at": now,
            "created_by": "planner", "text": "", "status": PostStatus.MISSED,
            "category": slot.label,
        }
        if slot.at < catch_up:
            row["last_error"] = (f"late: the daemon was not running within "
                                 f"{policy.catch_up_minutes} minutes of the slot")
        elif slot.at <= now and paused_at(pauses, slot.at):
            row["last_error"] = "paused"
        else:
            drawn.append((slot, row))
        rows.append(row)
    results = plan_slots([slot for slot, _ in drawn], account, lib, rt.client(account),
                         history, policy, approved)
    client = rt.client(account)
    for (_, row), (_, result) in zip(drawn, results, strict=True):
        if isinstance(result, Draw):
            row.update(status=PostStatus.QUEUED, tip_id=result.tip_id, variant=result.variant,
                       category=result.category, text=result.text)
            _with_pictures(rt, account, client, row)
        else:
            row["last_error"] = result.reason
    return rows


def _with_pictures(rt: Runtime, account: AccountSettings, client: Any,
                   row: dict[str, Any]) -> None:
    """The drawn tip's (variant's) pictures, prepared for the platform into the media store
    (once per file and limits) and kept on the row as ``_media`` until it is inserted. A
    picture that cannot go out makes the slot missed, with the reason."""
    lib = rt.library
    tip = row["tip_id"]
    if not lib.tips[tip].images_for(row["variant"]):
        return
    store = MediaStore(rt.settings.media_dir)
    try:
        row["_media"] = stored_tip_pictures(lib, store, lib.tips[tip], row["variant"],
                                            client.media_limits(), account.platform)
    except (ImageRejected, OSError) as exc:
        log.warning("slot %s: tip %s: %s", row["slot_key"], tip, exc)
        row.update(status=PostStatus.MISSED, text="", tip_id=None, variant=None,
                   last_error=f"tip {tip}: picture {exc}")


def _insert_media(session: Any, rows: list[dict[str, Any]], now: datetime) -> None:
    """The pictures of the slot posts just drawn, in the same transaction as the posts.
    A post another daemon inserted first got the same draw's pictures from it; the
    position key makes a second insert of them a no-op."""
    wanted = {r["slot_key"]: r for r in rows if r.get("_media")}
    if not wanted:
        return
    found = session.execute(select(col(Post.id), col(Post.slot_key), col(Post.tip_id),
                                   col(Post.variant))
                            .where(col(Post.slot_key).in_(list(wanted)))).all()
    media_rows = []
    for post_id, key, tip_id, variant in found:
        row = wanted[key]
        if (tip_id, variant) != (row["tip_id"], row["variant"]):
            continue  # drawn differently by whoever inserted it: its pictures are its own
        media_rows += [media_row(post_id, n, info, alt, now)
                       for n, (info, alt) in enumerate(row["_media"])]
    insert_ignore(session, SQLModel.metadata.tables["post_media"], media_rows,
                  ["post_id", "position"])


def follow_schedule_changes(session: Any, account: AccountSettings, policy: Policy,
                            now: datetime, start: datetime, slots: list[SlotTime],
                            lib: Library | None = None) -> list[SlotTime]:
    """Cancel the future posts of removed or changed slots (audited) and add the new slots
    that lie before ``start`` to ``slots`` (in time order), so a config change shows at
    once."""
    added, stale = schedule_changes(session, account, policy, now, start, lib)
    for row in stale:
        n = rowcount(session.execute(update(Post).where(
            col(Post.id) == row.id, col(Post.status) == row.status,
            col(Post.claimed_by).is_(None),
        ).values(status=PostStatus.CANCELLED, last_error=row.reason, slot_key=None,
                 updated_at=now)))
        if n == 1:  # the key is freed: a slot put back (or changed) is drawn again
            audit(session, now, "planner", "queue_cancel", account=account.name,
                  post_id=row.id, reason=row.reason, detail={"slot": row.slot_key})
    if stale:
        session.flush()
    if not added:
        return slots
    return sorted([*added, *slots], key=lambda s: s.at)


def _insert_slots(session: Any, rows: list[dict[str, Any]]) -> int:
    table = SQLModel.metadata.tables["posts"]
    blank: dict[str, Any] = {c.name: None for c in table.columns if c.name != "id"}
    blank.update(attempts=0, ambiguous=False, catch_up=False)
    return insert_ignore(session, table, [blank | {k: v for k, v in r.items() if k != "_media"}
                                          for r in rows], "slot_key")
