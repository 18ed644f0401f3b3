"""Metrics and followers: what the platforms say back.

Storage grows with change, not with time: a ``post_metrics`` row only when a
count changed, an ``account_metrics`` row when a figure changed plus one a day so
a flat line has points. The daemon polls each published post by age (the
``[metrics] poll`` tiers); ``outreach metrics collect`` sweeps every tracked post
now. Each client batches its own requests (Weibo: 100 ids a call; Mastodon:
pages of 40 of the account's own statuses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from outreach.clients.base import AccountCounts, Counts
from outreach.config import AccountSettings, MetricsSettings
from outreach.errors import AuthError, ClientError, ConfigError, RateLimited
from outreach.models import Account, AccountMetric, Post, PostMetric

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (account, done, total)


@dataclass
class CollectSummary:
    posts_checked: int = 0
    post_rows: int = 0
    account_rows: int = 0
    accounts: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def poll_interval(age: timedelta, metrics: MetricsSettings) -> timedelta | None:
    """How often a post of this age is polled; None once it is older than every tier."""
    hours = age.total_seconds() / 3600
    for tier in metrics.poll:
        if hours <= tier.age_hours:
            return timedelta(minutes=tier.every_minutes)
    return None


def tracked_posts(session: Any, account: str, now: datetime, metrics: MetricsSettings,
                  *, force: bool) -> list[tuple[int, str]]:
    """(post id, remote id) of the posts to poll now (all tracked ones when forced)."""
    oldest = max((t.age_hours for t in metrics.poll), default=720)
    rows = session.execute(select(col(Post.id), col(Post.remote_id), col(Post.published_at),
                                  col(Post.metrics_checked_at)).where(
        col(Post.account) == account, col(Post.status) == "published",
        col(Post.kind) != "reply", col(Post.remote_id).is_not(None),
        col(Post.published_at) >= now - timedelta(hours=oldest),
    ).order_by(col(Post.published_at))).all()
    due = []
    for post_id, remote_id, published_at, checked_at in rows:
        if force or checked_at is None:
            due.append((post_id, remote_id))
            continue
        every = poll_interval(now - published_at, metrics)
        if every is not None and now - checked_at >= every:
            due.append((post_id, remote_id))
    return due


def latest_counts(session: Any, post_ids: Iterable[int]) -> dict[int, tuple[Any, Any, Any]]:
    ids = list(post_ids)
    out: dict[int, tuple[Any, Any, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        last = (select(col(PostMetric.post_id), func.max(col(PostMetric.id)).label("mid"))
                .where(col(PostMetric.post_id).in_(chunk))
                .group_by(col(PostMetric.post_id)).subquery())
        rows = session.execute(select(col(PostMetric.post_id), col(PostMetric.reposts),
                                      col(PostMetric.comments), col(PostMetric.likes))
                               .join(last, col(PostMetric.id) == last.c.mid)).all()
        for post_id, r, c, likes in rows:
            out[post_id] = (r, c, likes)
    return out


def store_counts(session: Any, counts: dict[int, Counts], now: datetime) -> int:
    """Write a snapshot for each post whose counts changed; returns rows written."""
    previous = latest_counts(session, counts)
    rows = []
    for post_id, c in counts.items():
        figures = (c.reposts, c.comments, c.likes)
        if previous.get(post_id) != figures:
            rows.append(PostMetric(post_id=post_id, observed_at=now, reposts=c.reposts,
                                   comments=c.comments, likes=c.likes))
    session.add_all(rows)
    return len(rows)


def store_account(session: Any, account: str, figures: AccountCounts, zone: Any,
                  now: datetime) -> int:
    last = session.execute(select(AccountMetric).where(col(AccountMetric.account) == account)
                           .order_by(col(AccountMetric.observed_at).desc()).limit(1)
                           ).scalars().first()
    same = last is not None and (last.followers, last.following, last.statuses) == (
        figures.followers, figures.following, figures.statuses)
    if same and last.observed_at.astimezone(zone).date() == now.astimezone(zone).date():
        return 0
    session.add(AccountMetric(account=account, observed_at=now, followers=figures.followers,
                              following=figures.following, statuses=figures.statuses))
    return 1


def collect(rt: Any, *, accounts: Iterable[AccountSettings] | None = None, force: bool = False,
            progress: Progress | None = None) -> CollectSummary:
    """One metrics sweep over the given accounts (all configured ones by default)."""
    summary = CollectSummary()
    now = rt.clock()
    for account in accounts if accounts is not None else rt.settings.accounts.values():
        reason = _unavailable(rt, account)
        if reason:
            summary.skipped[account.name] = reason
            continue
        try:
            _collect_account(rt, account, now, force, summary, progress)
        except RateLimited as exc:
            summary.skipped[account.name] = f"rate limited until {exc.retry_at.isoformat()}"
        except AuthError as exc:
            with rt.db.session() as s:
                s.execute(update(Account).where(col(Account.name) == account.name)
                          .values(state="needs_reauth", last_error=f"auth: {exc.message}"))
                s.commit()
            summary.skipped[account.name] = f"needs re-authorisation: {exc.message}"
        except ClientError as exc:
            log.warning("metrics for %s failed: %s", account.name, exc.message)
            summary.skipped[account.name] = exc.message
    return summary


def _unavailable(rt: Any, account: AccountSettings) -> str | None:
    try:
        if not rt.configured(account):
            return "unconfigured: no token"
    except ConfigError as exc:
        return exc.message
    with rt.db.reader() as s:
        state = s.execute(select(col(Account.state)).where(col(Account.name) == account.name)).scalar()
    return "needs re-authorisation" if state == "needs_reauth" else None


def _collect_account(rt: Any, account: AccountSettings, now: datetime, force: bool,
                     summary: CollectSummary, progress: Progress | None) -> None:
    client = rt.client(account)
    with rt.db.reader() as s:
        posts = tracked_posts(s, account.name, now, rt.settings.metrics, force=force)
    by_remote = {remote: post_id for post_id, remote in posts}
    if progress:
        progress(account.name, 0, len(posts))
    fetched: dict[int, Counts] = {}
    if posts:
        for remote, counts in client.fetch_counts(list(by_remote)).items():
            if remote in by_remote:
                fetched[by_remote[remote]] = counts
    figures = client.fetch_account()
    with rt.db.session() as s:
        summary.post_rows += store_counts(s, fetched, now)
        if posts:
            s.execute(update(Post).where(col(Post.id).in_([p for p, _ in posts]))
                      .values(metrics_checked_at=now))
        summary.account_rows += store_account(s, account.name, figures, account.timezone, now)
        s.execute(update(Account).where(col(Account.name) == account.name)
                  .values(followers=figures.followers, last_success_at=now))
        s.commit()
    summary.posts_checked += len(posts)
    summary.accounts.append(account.name)
    if progress:
        progress(account.name, len(posts), len(posts))
