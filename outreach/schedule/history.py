"""What the database knows that the planner needs: which tips each account used and
when, which tips carry an approval, the pauses, where materialising resumes, and the
slot rows ahead that a changed schedule no longer has. Reads only."""

from __future__ import annotations

import functools
import itertools
import operator
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, array
from sqlmodel import col

from outreach.config.settings import AccountSettings, Policy
from outreach.library.model import Library, TipDef
from outreach.schedule.planner import USED_STATUSES, History, SlotTime, slot_instant, slot_times
from outreach.states import PostKind, PostStatus
from outreach.store.models import Account, Approval, Pause, Post
from outreach.store.sql import unindexed
from outreach.times import aware

MAX_LOOKBACK = timedelta(days=7)


def approved_tips(session: Any, lib: Library, policy: Policy) -> set[str] | None:
    """Tips whose current text carries an approval; None when approval is not required."""
    if not policy.require_approval:
        return None
    rows = session.execute(select(col(Approval.tip_id), col(Approval.text_hash))).all()
    hashes: dict[str, set[str]] = defaultdict(set)
    for tip_id, text_hash in rows:
        hashes[tip_id].add(text_hash)
    return {t.id for t in lib.tips.values() if t.text_hash in hashes.get(t.id, ())}


def tip_approved(session: Any, tip: TipDef, policy: Policy) -> bool:
    """Whether this tip's current text carries an approval (always, when approval is not
    required): the check before each send, by one seek of the tip's approvals."""
    if not policy.require_approval:
        return True
    return session.execute(_approval_query(), {"b_tip": tip.id, "b_hash": tip.text_hash}
                           ).first() is not None


@functools.cache
def _approval_query() -> Any:
    """Built once: it runs before every send of a tip."""
    return select(col(Approval.id)).where(col(Approval.tip_id) == bindparam("b_tip"),
                                          col(Approval.text_hash) == bindparam("b_hash")).limit(1)


def load_history(session: Any, account: str, since: datetime | None = None) -> History:
    """When each tip was used on the account, and with which variant.

    With ``since``: every use from then on and, per tip, only its latest use before it;
    that is all cooldown, ranking and variant rotation need for slots at or after
    ``since`` plus the cooldown (a year of history is then a few hundred rows, read from
    the covering index ``ix_posts_tip_uses``)."""
    if since is not None:
        return load_histories(session, [account], since)[account]
    used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
    rows = sorted(((tip_id, aware(at), variant) for tip_id, at, variant in
                   session.connection().execute(select(
                       col(Post.tip_id), used_at, func.coalesce(col(Post.variant), 0)).where(
                       col(Post.account) == account, col(Post.tip_id).is_not(None),
                       col(Post.status).in_(USED_STATUSES))).all()),
                  key=lambda r: (r[1], r[2]))
    history = History()
    for tip_id, at, variant in rows:  # in time order: appending keeps every list sorted
        history.uses[tip_id].append(at)
        history.variants[tip_id].append((at, variant))
    return history


def load_histories(session: Any, accounts: list[str],
                   since: datetime) -> dict[str, History]:
    """``load_history(session, name, since)`` for many accounts in one pass: every use from
    ``since`` on, and each (account, tip)'s latest use before it with the highest variant
    at that time (a province's year of history is ~600k such pairs)."""
    tip_id = col(Post.tip_id)
    account = col(Post.account)
    used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
    # the status is left out of the index choice on SQLite: the covering ix_posts_tip_uses,
    # read in (account, tip) order, groups without sorting
    used = and_(account.in_(accounts), tip_id.is_not(None),
                unindexed(col(Post.status)).in_(USED_STATUSES))
    histories = {name: History() for name in accounts}
    # one use per (account, tip) before ``since``: each tip's lists start with it
    for name, tips, times, variants in _latest_uses(session, used, used_at, since):
        history = histories[name]
        history.uses.update(zip(tips, ([at] for at in times), strict=True))
        history.variants.update(zip(tips, ([use] for use in zip(times, variants, strict=True)),
                                        strict=True))
    # every use from ``since`` on, in time order: appending keeps every list sorted
    for name, tips, times, variants in _recent_uses(session, accounts, since):
        at_times, with_variants = histories[name].uses, histories[name].variants
        for tip, at, v in zip(tips, times, variants, strict=True):
            at_times[tip].append(at)
            with_variants[tip].append((at, v))
    return histories


def _recent_uses(session: Any, accounts: list[str], since: datetime
                 ) -> Iterator[tuple[str, Sequence[str], Sequence[datetime], Sequence[int]]]:
    """Per account: every use from ``since`` on, in (time, variant) order, as three columns
    (tip, time, variant): the published ones by their time, the others by their scheduled
    one, both read from the covering ix_posts_tip_uses; on PostgreSQL one row of arrays
    per account, as ``_latest_uses``."""
    account = col(Post.account)
    variant = func.coalesce(col(Post.variant), 0)
    mine = and_(account.in_(accounts), col(Post.tip_id).is_not(None),
                col(Post.status).in_(USED_STATUSES))
    published = col(Post.published_at)
    uses = union_all(
        select(account.label("account"), col(Post.tip_id).label("tip"), published.label("at"),
               variant.label("variant")).where(mine, published >= since),
        select(account, col(Post.tip_id), col(Post.scheduled_at), variant).where(
            mine, published.is_(None), col(Post.scheduled_at) >= since)).subquery()
    if session.get_bind().dialect.name == "postgresql":
        def listed(column: Any, typ: Any) -> Any:
            return func.array_agg(aggregate_order_by(column, uses.c.at, uses.c.variant),
                                  type_=ARRAY(typ))

        yield from session.connection().execute(select(
            uses.c.account, listed(uses.c.tip, String),
            listed(uses.c.at, DateTime(timezone=True)), listed(uses.c.variant, Integer),
        ).group_by(uses.c.account)).all()
        return
    rows = session.connection().execute(select(uses).order_by(
        uses.c.account, uses.c.at, uses.c.variant)).all()
    for name, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        part = list(group)
        yield name, [r[1] for r in part], [r[2] for r in part], [r[3] for r in part]


_VARIANT_DIGITS = 9  # a variant's number, zero-padded after the stored time (SQLite)


def _latest_uses(session: Any, used: Any, used_at: Any, since: datetime
                 ) -> Iterator[tuple[str, Sequence[str], Sequence[datetime], Sequence[int]]]:
    """Per account: its tips, and for each the latest use before ``since`` and the highest
    variant used at that instant, as three columns of equal length. PostgreSQL: ``max()`` of
    the time, and of the pair (time as POSIX seconds, variant) for the variant, sent as one
    row of arrays per account (a row per tip costs the client more than the query). SQLite:
    one ``max()`` over the stored time (fixed-width text, so ordered as time) followed by
    the zero-padded variant."""
    tip_id = col(Post.tip_id)
    account = col(Post.account)
    variant = func.coalesce(col(Post.variant), 0)
    if session.get_bind().dialect.name == "postgresql":
        # grouped in the index's (account, tip) order, nothing sorted (DISTINCT ON sorted
        # every use of the chunk, on disk; each group's variants in time order cost a
        # fifth more). A double keeps a POSIX instant to well under a microsecond.
        pair = array((func.date_part("epoch", used_at), variant))
        last_variant = cast(func.max(pair, type_=ARRAY(Float))[2], Integer)
        per_tip = (select(account.label("account"), tip_id.label("tip"),
                          func.max(used_at).label("at"), last_variant.label("variant"))
                   .where(used, used_at < since).group_by(account, tip_id).subquery())
        # the arrays of one group list its rows in the same order; the driver gives aware
        # UTC (the session's TimeZone)
        yield from session.connection().execute(select(
            per_tip.c.account, func.array_agg(per_tip.c.tip, type_=ARRAY(String)),
            func.array_agg(per_tip.c.at, type_=ARRAY(DateTime(timezone=True))),
            func.array_agg(per_tip.c.variant, type_=ARRAY(Integer)),
        ).group_by(per_tip.c.account)).all()
        return
    key = func.max(type_coerce(used_at, String)
                   + func.printf(f"%0{_VARIANT_DIGITS}d", variant))
    q = select(account, tip_id, key).where(used, used_at < since).group_by(account, tip_id)
    q = q.order_by(account, tip_id)  # as grouped: no sort
    for name, rows in itertools.groupby(session.connection().execute(q).all(),
                                        key=operator.itemgetter(0)):
        keys = [(tip, k) for _, tip, k in rows]
        # the stored text is naive UTC: parsed as such in one call
        yield (name, [tip for tip, _ in keys],
               [datetime.fromisoformat(k[:-_VARIANT_DIGITS] + "+00:00") for _, k in keys],
               [int(k[-_VARIANT_DIGITS:]) for _, k in keys])


def all_pauses(session: Any) -> list[tuple[str | None, datetime, datetime | None]]:
    """Every pause (account None: all of them), for ``pauses_of``."""
    return [(r[0], r[1], r[2]) for r in session.execute(select(
        col(Pause.account), col(Pause.started_at), col(Pause.ended_at))).all()]


def pauses_of(pauses: list[tuple[str | None, datetime, datetime | None]],
              account: str) -> list[tuple[datetime, datetime | None]]:
    return [(start, end) for name, start, end in pauses if name is None or name == account]


def pause_intervals(session: Any, account: str) -> list[tuple[datetime, datetime | None]]:
    rows = session.execute(
        select(col(Pause.started_at), col(Pause.ended_at)).where(
            or_(col(Pause.account).is_(None), col(Pause.account) == account)
        )
    ).all()
    return [(r[0], r[1]) for r in rows]


def window_start(session: Any, account: str, now: datetime, policy: Policy) -> datetime:
    """Where materialising resumes: after the last slot row, or the catch-up window on a
    first run; never more than a week back, and never before the account first appeared in
    the config (its ``accounts`` row; an account without one appears now)."""
    appeared = session.execute(
        select(col(Account.created_at)).where(col(Account.name) == account)).scalar()
    appeared = aware(appeared) if appeared is not None else now
    last = session.execute(
        select(col(Post.scheduled_at)).where(
            col(Post.account) == account, col(Post.kind) == PostKind.SLOT,
            col(Post.slot_key).is_not(None),
        ).order_by(col(Post.scheduled_at).desc()).limit(1)  # ix_posts_account_kind
    ).scalar()
    if last is not None:
        start = last + timedelta(seconds=1)
    else:
        start = now - timedelta(minutes=policy.catch_up_minutes)
    return max(start, now - MAX_LOOKBACK, appeared)


def window_starts(session: Any, accounts: list[str], now: datetime,
                  policy: Policy) -> dict[str, datetime]:
    """``window_start`` for many accounts in two reads."""
    # each account's last slot row by a seek to the end of its ix_posts_account_kind range
    # (a GROUP BY would visit every slot row of a year's history)
    newest = (select(col(Post.scheduled_at)).where(
        col(Post.account) == col(Account.name), col(Post.kind) == PostKind.SLOT,
        col(Post.slot_key).is_not(None)).order_by(col(Post.scheduled_at).desc()).limit(1)
        .correlate(Account).scalar_subquery())
    appeared: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for name, created, end in session.execute(select(
            col(Account.name), col(Account.created_at), newest).where(
            col(Account.name).in_(accounts))).all():
        appeared[name] = created
        if end is not None:
            last[name] = end
    unknown = [name for name in accounts if name not in appeared]  # no accounts row yet
    if unknown:
        last.update(session.execute(select(col(Post.account), func.max(col(Post.scheduled_at)))
                                    .where(col(Post.account).in_(unknown),
                                           col(Post.kind) == PostKind.SLOT,
                                           col(Post.slot_key).is_not(None))
                                    .group_by(col(Post.account))).all())
    out = {}
    for name in accounts:
        seen = appeared.get(name)
        first = aware(seen) if seen is not None else now
        end = last.get(name)
        start = (aware(end) + timedelta(seconds=1) if end is not None
                 else now - timedelta(minutes=policy.catch_up_minutes))
        out[name] = max(start, now - MAX_LOOKBACK, first)
    return out


def slot_rows_ahead(session: Any, accounts: list[str], now: datetime) -> dict[str, list[Any]]:
    """The slot rows after ``now`` of many accounts (what ``schedule_changes`` compares with
    the config), in one read."""
    out: dict[str, list[Any]] = {name: [] for name in accounts}
    for row in session.execute(_ahead_query().where(col(Post.account).in_(accounts),
                                                    col(Post.scheduled_at) > now)).all():
        out[row.account].append(row)
    return out


def _ahead_query() -> Any:
    return select(col(Post.id), col(Post.slot_key), col(Post.status), col(Post.tip_id),
                  col(Post.scheduled_at), col(Post.variant), col(Post.claimed_by),
                  col(Post.category), col(Post.account)).where(
        col(Post.kind) == PostKind.SLOT, col(Post.slot_key).is_not(None))


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


def schedule_changes(session: Any, account: AccountSettings, policy: Policy, now: datetime,
                     start: datetime, lib: Library | None = None,
                     ahead: list[Any] | None = None,
                     ) -> tuple[list[SlotTime], list[StaleSlot]]:
    """What a change of an account's slots (cron lines, categories, zone, quiet hours,
    blackout dates) means for the rows already materialised ahead: the future rows, not yet
    claimed, of slots it no longer has (or whose categories no longer fit the row's draw,
    when ``lib`` is given), and the slots the config has now that lie before ``start``
    (where materialising resumes) with no live row. Both are empty while the config is
    unchanged; a slot post keeps its slot when rescheduled, so rows are matched by key.
    ``ahead``: the account's slot rows after ``now`` when already read (``slot_rows_ahead``)."""
    rows = ahead if ahead is not None else session.execute(_ahead_query().where(
        col(Post.account) == account.name, col(Post.scheduled_at) > now)).all()
    stale: list[StaleSlot] = []
    if rows:
        instants = [slot_instant(r.slot_key) for r in rows]
        expected = {s.key: s for s in slot_times(account, policy, min(min(instants), now),
                                                 max(instants) + timedelta(seconds=1))}
        for r in rows:
            if r.claimed_by is not None or r.status not in (PostStatus.QUEUED,
                                                            PostStatus.MISSED):
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
    if row.status == PostStatus.MISSED:  # found nothing for the slot as it was: try again
        return row.category == slot.label
    if row.tip_id is None:  # an officer's text replaced the draw: theirs to keep
        return True
    tip = lib.tips.get(row.tip_id)
    codes = lib.matching_categories(slot.categories)
    return codes is None or (tip.category if tip else row.category) in codes
