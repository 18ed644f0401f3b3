"""The order of a sweep's work when a rate budget is short, and what it skipped.

Counts are fetched a call at a time (``Unit``: one account's posts as one client call
takes them), every account's units together, newest post first: a post of the first
``[metrics] poll`` tier (the last day) before one of the second (the week), before older
ones; within a tier the one counted longest ago (or never) first, so what a short budget
skipped is first in the next window, then the newest. So when an app's hourly budget shared by many
accounts cannot cover the sweep, it is spent on the posts whose figures still move, and
what waits is the old posts'. A unit that holds the newest uncounted post takes the older
ones the same call can carry: ordering never costs an extra call.

What a rate limit left undone is noted on the account (``accounts.metrics_skipped*``), for
``outreach status``, until a later sweep gets through; the posts are not marked checked,
so that sweep (in the next window) collects them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlmodel import col

from outreach.config.settings import AccountSettings, MetricsSettings
from outreach.errors import RateLimited
from outreach.store.models import Account
from outreach.times import show_local

if TYPE_CHECKING:
    from outreach.runtime import Runtime

Tracked = tuple[int, str, datetime, datetime | None]  # (post id, remote id, published, checked)
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(eq=False)
class Work:
    """One account's part of a sweep, and how far it got."""

    account: AccountSettings
    order: int  # the account's place in the sweep (config or group order)
    client: Any = None
    posts: list[Tracked] = field(default_factory=list)
    counted: int = 0
    deferred: int = 0  # posts whose counts were skipped
    stopped: bool = False
    limited: RateLimited | None = None  # the rate limit that stopped it, if one did


@dataclass(frozen=True)
class Unit:
    """Posts of one account counted by one client call (as far as the budget sees it)."""

    work: Work
    tier: int
    checked: datetime  # when its stalest post was last counted (NEVER: not yet)
    newest: datetime
    posts: tuple[Tracked, ...]


def tier_of(age: timedelta, metrics: MetricsSettings) -> int:
    """The ``[metrics] poll`` tier a post of this age is in (past every tier: the last+1)."""
    hours = age.total_seconds() / 3600
    for i, tier in enumerate(metrics.poll):
        if hours <= tier.age_hours:
            return i
    return len(metrics.poll)


def by_value(work: Iterable[Work], metrics: MetricsSettings, now: datetime) -> list[Unit]:
    """Every account's counts as units, in the order they are worth fetching. A client
    whose calls count against a budget shared with other accounts (``shares_rate_budget``)
    gets one unit per call's worth of posts (``counts_per_call``, else ``counts_batch_size``),
    newest first, so a rate limit never falls inside a unit and leaves counts half-fetched;
    another client takes all of an account's posts at once, as it pages through them
    itself."""
    units: list[Unit] = []
    for job in work:
        # by tier; within one, the post counted longest ago first (so a post a short budget
        # skipped is not starved by newer ones of its tier), then the newest
        posts = sorted(job.posts, key=lambda p: (tier_of(now - p[2], metrics), p[3] or NEVER,
                                                 -p[2].timestamp()))
        if not posts:
            continue
        size = len(posts)
        if getattr(type(job.client), "shares_rate_budget", False):
            per_call = getattr(job.client, "counts_per_call", None) or getattr(
                job.client, "counts_batch_size", size)
            size = max(1, int(per_call or size))
        for i in range(0, len(posts), size):
            chunk = tuple(posts[i:i + size])
            units.append(Unit(job, tier_of(now - chunk[0][2], metrics), chunk[0][3] or NEVER,
                              chunk[0][2], chunk))
    return sorted(units, key=lambda u: (u.tier, u.checked, -u.newest.timestamp(),
                                        u.work.order))


def describe_deferred(deferred: Mapping[str, int], skipped: Mapping[str, str]) -> str:
    """One line: how many posts of which accounts were skipped, and why."""
    parts = [f"{n} post(s) of {name} ({skipped.get(name, 'rate limited')})"
             for name, n in deferred.items()]
    return ("counts skipped this sweep, newest posts collected first; the rest wait for "
            "the next window: " + "; ".join(parts))


def note_skips(rt: Runtime, work: Sequence[Work], now: datetime, *, clear: bool) -> None:
    """Note on each account a rate limit stopped what it skipped; with ``clear``, forget the
    note of each account this sweep got through (the comments sweep, which looks only at
    young posts, never clears a note the metrics sweep left)."""
    limited = [w for w in work if w.limited is not None]
    done = [w.account.name for w in work if not w.stopped] if clear else []
    if not limited and not done:
        return
    with rt.db.session() as s:
        for w in limited:
            assert w.limited is not None
            s.execute(update(Account).where(col(Account.name) == w.account.name).values(
                metrics_skipped=w.deferred, metrics_skipped_at=now,
                metrics_skipped_reason=w.limited.message[:500],
                metrics_resume_at=w.limited.retry_at))
        if done:
            s.execute(update(Account).where(col(Account.name).in_(done),
                                            col(Account.metrics_skipped_at).is_not(None))
                      .values(metrics_skipped=None, metrics_skipped_at=None,
                              metrics_skipped_reason=None, metrics_resume_at=None))
        s.commit()


def skipped_collection(rt: Runtime) -> list[dict[str, Any]]:
    """For ``outreach status``: each account whose last sweep a rate limit cut short —
    posts skipped, why, when, and when collection resumes."""
    with rt.db.reader() as s:
        rows = s.execute(select(col(Account.name), col(Account.metrics_skipped),
                                col(Account.metrics_skipped_reason),
                                col(Account.metrics_skipped_at),
                                col(Account.metrics_resume_at)).where(
            col(Account.metrics_skipped_at).is_not(None)).order_by(col(Account.name))).all()
    return [{"account": name, "posts": posts or 0, "reason": reason, "skipped_at": at,
             "resumes_at": resume} for name, posts, reason, at, resume in rows
            if name in rt.settings.accounts]


def skip_warnings(rt: Runtime, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The lines ``outreach status`` prints for :func:`skipped_collection`."""
    out = []
    for r in rows:
        zone = rt.settings.account(r["account"]).timezone
        what = (f"counts of {r['posts']} post(s)" if r["posts"]
                else "comments or followers")
        out.append(f"account {r['account']}: {what} skipped at "
                   f"{show_local(r['skipped_at'], zone)} ({r['reason']}); collected again "
                   f"from {show_local(r['resumes_at'], zone)}, newest first")
    return out
