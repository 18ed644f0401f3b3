"""The report's SQL: every figure the report shows is read by one of these queries.

Every query is set-based (aggregates and correlated index look-ups; no per-post query loops).
Engagement is the change of ``post_metrics`` snapshots over a window (or the latest totals
with ``lifetime``); followers at an instant are the latest ``account_metrics`` row at or
before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Table,
    and_,
    any_,
    case,
    exists,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from outreach.states import OpinionClass, OpinionState, PostKind, PostStatus
from outreach.store.models import (
    AccountMetric,
    AuditLog,
    Comment,
    Post,
    PostMedia,
    PostMetric,
    UTCDateTime,
)
from outreach.store.sql import unindexed

FIELDS = ("reposts", "comments", "likes")
COUNTED_STATUSES = (PostStatus.PUBLISHED, PostStatus.RETRACTED)  # posts that went out
TOP_POSTS = 10
EMERGENCY_ITEMS = 20
_LITERAL_ROWS = 400  # SQLite allows 500 terms in one compound SELECT

_TABLES = SQLModel.metadata.tables
_P: Table = _TABLES[Post.__tablename__]
_PM: Table = _TABLES[PostMetric.__tablename__]
_AM: Table = _TABLES[AccountMetric.__tablename__]
_C: Table = _TABLES[Comment.__tablename__]
_AUDIT: Table = _TABLES[AuditLog.__tablename__]
_MEDIA: Table = _TABLES[PostMedia.__tablename__]


def _pictured() -> ColumnElement[bool]:
    """Whether the post carries a picture (correlated to posts)."""
    return exists(select(_MEDIA.c.id).where(_MEDIA.c.post_id == _P.c.id).correlate(_P))


@dataclass(frozen=True)
class Window:
    """What a period's engagement query needs: bounds and the lifetime switch."""

    start: datetime
    end: datetime
    now: datetime
    lifetime: bool

    def published_inside(self) -> ColumnElement[bool]:
        return and_(_P.c.published_at >= self.start, _P.c.published_at < self.end)


def _latest_snapshot_id(at: datetime) -> Any:
    """The id of a post's latest snapshot at or before ``at`` (correlated to posts)."""
    m = _PM.alias()
    return (select(m.c.id)
            .where(m.c.post_id == _P.c.id, m.c.observed_at <= at)
            .order_by(m.c.observed_at.desc(), m.c.id.desc())
            .limit(1).correlate(_P).scalar_subquery())


def _snapshot(at: datetime, name: str, lateral: bool) -> tuple[Any, ColumnElement[bool]]:
    """A post's latest snapshot at or before ``at``: a FROM item named ``name`` and the ON
    clause that joins it to posts. PostgreSQL: a ``LATERAL`` look-up per post, read from
    ``ix_post_metrics_post_latest`` alone (as a correlated id its planner hashes all of
    ``post_metrics`` instead, twice, spilling to disk). SQLite: the snapshot's row joined
    on the correlated id (SQLite has no LATERAL and seeks the id per post)."""
    if lateral:
        m = _PM.alias()
        return (select(m).where(m.c.post_id == _P.c.id, m.c.observed_at <= at)
                .order_by(m.c.observed_at.desc(), m.c.id.desc()).limit(1).lateral(name)), true()
    row = _PM.alias(name)
    return row, row.c.id == _latest_snapshot_id(at)


@dataclass(frozen=True)
class _Branch:
    """One of the disjoint sets of posts a window counts, with what each post adds: its
    FROM clause (the post and its snapshots), WHERE clause and per-field deltas."""

    frm: Any
    where: ColumnElement[bool]
    deltas: dict[str, Any]
    end_s: Any


def _engagement(names: Sequence[str], w: Window, s: Session) -> list[_Branch]:
    """The posts a window counts, as disjoint branches (a query over them is the UNION ALL
    of one query per branch), so the cost follows the window's posts and snapshots, never
    the years of history before it:

    - the accounts' posts published in the window, read from ``ix_posts_account_published``
      alone (it carries kind, category and id); nothing before the window to subtract;
    - without ``lifetime``, the posts published before it whose counts moved in it (a
      snapshot taken in it, on ``ix_post_metrics_observed``), looked up by id (PostgreSQL:
      as ``= ANY(ARRAY(…))``, on the primary key; an IN it hashed against every post), each
      counted from its latest snapshot before the window.
    """
    lateral = s.get_bind().dialect.name == "postgresql"
    published = _P.c.published_at
    inside = and_(_P.c.account.in_(list(names)), _P.c.status.in_(COUNTED_STATUSES),
                  w.published_inside(), _P.c.kind != PostKind.REPLY)
    end_s, on_end = _snapshot(w.now if w.lifetime else w.end, "end_s", lateral)
    branches = [_Branch(_P.outerjoin(end_s, on_end), inside, {f: end_s.c[f] for f in FIELDS},
                        end_s)]
    if w.lifetime:
        return branches
    m = _PM.alias("moved")
    moved = (select(m.c.post_id).where(m.c.observed_at > w.start, m.c.observed_at <= w.end,
                                       m.c.post_id.not_in(select(_P.c.id).where(inside)))
             .distinct())
    ids = (_P.c.id == any_(func.array(moved.scalar_subquery())) if lateral
           else _P.c.id.in_(moved))
    end_s, on_end = _snapshot(w.end, "end_s", lateral)
    base_s, on_base = _snapshot(w.start, "base_s", lateral)
    branches.append(_Branch(
        _P.outerjoin(end_s, on_end).outerjoin(base_s, on_base),
        and_(ids, unindexed(_P.c.account).in_(list(names)),
             unindexed(_P.c.status).in_(COUNTED_STATUSES), _P.c.kind != PostKind.REPLY,
             published < w.start),
        {f: end_s.c[f] - func.coalesce(base_s.c[f], 0) for f in FIELDS}, end_s))
    return branches


def aggregate(s: Session, names: Sequence[str], w: Window) -> list[dict[str, Any]]:
    """Per (account, category, with pictures or not): posts in the period, summed deltas,
    snapshot coverage."""
    per_post = union_all(*(
        select(_P.c.account, _P.c.category, case((_pictured(), 1), else_=0).label("pictured"),
               case((w.published_inside(), 1), else_=0).label("inside"),
               b.end_s.c.id.label("snap"),
               *[b.deltas[f].label(f) for f in FIELDS],
               *[b.end_s.c[f].label(f"end_{f}") for f in FIELDS])
        .select_from(b.frm).where(b.where) for b in _engagement(names, w, s))).subquery()
    c = per_post.c
    cols = [c.account, c.category, c.pictured, func.sum(c.inside).label("posts"),
            func.count(c.snap).label("snaps")]
    for f in FIELDS:
        cols.append(func.sum(c[f]).label(f))
        cols.append(func.count(c[f"end_{f}"]).label(f"known_{f}"))
    q = select(*cols).group_by(c.account, c.category, c.pictured)
    return [dict(r._mapping) for r in s.execute(q)]


def pictures(s: Session, post_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """The pictures of these posts, in order: (post_id, sha256, mime, alt) each."""
    out: dict[int, list[Row[Any]]] = defaultdict(list)
    if post_ids:
        q = (select(_MEDIA.c.post_id, _MEDIA.c.sha256, _MEDIA.c.mime, _MEDIA.c.alt)
             .where(_MEDIA.c.post_id.in_(list(post_ids)))
             .order_by(_MEDIA.c.post_id, _MEDIA.c.position))
        for row in s.execute(q):
            out[int(row.post_id)].append(row)
    return out


def coverage_ever(s: Session, names: Sequence[str], now: datetime) -> dict[str, dict[str, int]]:
    """For accounts without snapshots in the period: which counts their platform ever gave."""
    if not names:
        return {}
    cols = [_P.c.account, func.count(_PM.c.id).label("snaps")]
    cols += [func.count(_PM.c[f]).label(f"known_{f}") for f in FIELDS]
    q = (select(*cols).select_from(_PM.join(_P, _P.c.id == _PM.c.post_id))
         .where(_P.c.account.in_(list(names)), _PM.c.observed_at <= now)
         .group_by(_P.c.account))
    return {r.account: dict(r._mapping) for r in s.execute(q)}


def _literal_table(columns: Sequence[tuple[str, Any]], rows: Sequence[Sequence[Any]]) -> Any:
    """A small derived table of literal rows (portable: UNION ALL of SELECTs)."""
    selects = [select(*[literal(v, typ).label(name) if typ is not None else literal(v).label(name)
                        for (name, typ), v in zip(columns, row, strict=True)])
               for row in rows]
    if len(selects) == 1:
        return selects[0].subquery()
    return union_all(*selects).subquery()


def followers_at(s: Session, names: Sequence[str],
                 instants: Sequence[datetime]) -> dict[tuple[str, int], int | None]:
    """Followers of each account at each instant: the latest row at or before it."""
    out: dict[tuple[str, int], int | None] = {}
    if not names or not instants:
        return out
    for i0 in range(0, len(instants), _LITERAL_ROWS):
        chunk = list(enumerate(instants))[i0:i0 + _LITERAL_ROWS]
        for n0 in range(0, len(names), _LITERAL_ROWS):
            accs = _literal_table([("name", None)], [(n,) for n in names[n0:n0 + _LITERAL_ROWS]])
            pts = _literal_table([("i", None), ("t", UTCDateTime)], chunk)
            m = _AM.alias()
            latest = (select(m.c.followers)
                      .where(m.c.account == accs.c.name, m.c.observed_at <= pts.c.t,
                             m.c.followers.is_not(None))
                      .order_by(m.c.observed_at.desc(), m.c.id.desc())
                      .limit(1).correlate(accs, pts).scalar_subquery())
            q = select(accs.c.name, pts.c.i, latest.label("followers")).select_from(
                accs.join(pts, true()))
            for name, i, followers in s.execute(q):
                out[(name, int(i))] = followers
    return out


def top_posts(s: Session, names: Sequence[str], w: Window) -> list[Row[Any]]:
    """The period's most engaging posts (reposts + comments + likes), at most ``TOP_POSTS``."""
    rows = union_all(*(
        select(_P.c.id, _P.c.account, _P.c.published_at, _P.c.category, _P.c.tip_id,
               _P.c.text, _P.c.remote_url, _P.c.status, *[b.deltas[f].label(f) for f in FIELDS],
               sum((func.coalesce(b.deltas[f], 0) for f in FIELDS), literal(0))
               .label("engagement"))
        .select_from(b.frm).where(b.where) for b in _engagement(names, w, s))).subquery()
    q = select(rows).order_by(rows.c.engagement.desc(), rows.c.id).limit(TOP_POSTS)
    return list(s.execute(q))


def posts_in_period(s: Session, names: Sequence[str], w: Window) -> list[Row[Any]]:
    """(account, published_at, reposts, comments, likes) of each post published in the period."""
    inside = _engagement(names, w, s)[0]  # the posts published in the window
    q = (select(_P.c.account, _P.c.published_at, *[inside.deltas[f].label(f) for f in FIELDS])
         .select_from(inside.frm).where(inside.where)
         .order_by(_P.c.account, _P.c.published_at))
    return list(s.execute(q))


@dataclass(frozen=True)
class CommentRows:
    """The public's comments of a period: counts per class, those wanting a reply, the
    latest emergencies."""

    counts: dict[str, int]
    # (class, created_at, replied_at, settled_at): settled_at is when it was handed over or
    # closed (None: neither)
    wanted: list[tuple[str, datetime, datetime | None, datetime | None]]
    emergencies: list[Row[Any]]


def comments(s: Session, names: Sequence[str], start: datetime, end: datetime) -> CommentRows:
    cls = _C.c["class"]
    # ``account || ''`` keeps the planner on the created_at index: a period's comments are few,
    # an account's are many (SQLite would otherwise pick the (account, remote_id) index).
    where = and_(_C.c.account.concat("").in_(list(names)), _C.c.created_at >= start,
                 _C.c.created_at < end, _C.c.is_own.is_(False))
    counts = {r[0]: int(r[1]) for r in s.execute(
        select(cls, func.count()).where(where).group_by(cls))}
    settled = _C.c.handled_state.in_((OpinionState.HANDED_OVER, OpinionState.CLOSED))
    wanted = [(r[0], r[1], r[2], r[3] if r[4] else None) for r in s.execute(
        select(cls, _C.c.created_at, _C.c.replied_at, _C.c.handled_at, settled)
        .where(where, _C.c.reply_required.is_(True)))]
    items = list(s.execute(
        select(_C.c.id, _C.c.account, _C.c.post_id, _C.c.created_at, _C.c.text, _C.c.url,
               _C.c.replied_at)
        .where(where, cls == OpinionClass.EMERGENCY)
        .order_by(_C.c.created_at.desc(), _C.c.id.desc())
        .limit(EMERGENCY_ITEMS)))
    return CommentRows(counts, wanted, items)


def comment_texts(s: Session, names: Sequence[str], start: datetime,
                  end: datetime) -> list[tuple[int, str, datetime, str]]:
    """(id, class, created_at, text) of the public's comments made in the window that still
    have a text (redacted when stored), newest first."""
    cls = _C.c["class"]
    where = and_(_C.c.account.concat("").in_(list(names)), _C.c.created_at >= start,
                 _C.c.created_at < end, _C.c.is_own.is_(False), _C.c.text.is_not(None))
    return [(int(r[0]), r[1], r[2], r[3]) for r in s.execute(
        select(_C.c.id, cls, _C.c.created_at, _C.c.text).where(where)
        .order_by(_C.c.created_at.desc(), _C.c.id.desc()))]


@dataclass(frozen=True)
class ComplianceRows:
    """Per account: posts scheduled in the period that failed or were missed, retractions in
    the period, drafts waiting for review now."""

    by_status: defaultdict[tuple[str, str], int]
    retracted: defaultdict[str, int]
    drafts: defaultdict[str, int]


def compliance_counts(s: Session, names: Sequence[str], start: datetime,
                      end: datetime) -> ComplianceRows:
    sched = and_(_P.c.account.in_(names), _P.c.scheduled_at >= start, _P.c.scheduled_at < end)
    by_status = defaultdict(int, {(r[0], r[1]): int(r[2]) for r in s.execute(
        select(_P.c.account, _P.c.status, func.count())
        .where(sched, _P.c.status.in_((PostStatus.FAILED, PostStatus.MISSED)))
        .group_by(_P.c.account, _P.c.status))})
    retracted = defaultdict(int, {r[0]: int(r[1]) for r in s.execute(
        select(_AUDIT.c.account, func.count()).where(
            _AUDIT.c.action == "queue_retract", _AUDIT.c.account.in_(names),
            _AUDIT.c.at >= start, _AUDIT.c.at < end).group_by(_AUDIT.c.account))})
    drafts = defaultdict(int, {r[0]: int(r[1]) for r in s.execute(
        select(_P.c.account, func.count())
        .where(_P.c.account.in_(names), _P.c.status == PostStatus.DRAFT)
        .group_by(_P.c.account))})
    return ComplianceRows(by_status, retracted, drafts)


def ever_published(s: Session, names: Sequence[str]) -> set[str]:
    """The accounts among ``names`` that have published at least once."""
    return set(s.execute(select(_P.c.account).where(
        _P.c.account.in_(list(names)), _P.c.published_at.is_not(None)).distinct()).scalars())
