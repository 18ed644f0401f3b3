"""Metrics and followers: what the platforms say back.

Storage grows with change, not with time: a ``post_metrics`` row only when a
count changed, an ``account_metrics`` row when a figure changed plus one a day so
a flat line has points. The daemon polls each published post by age (the
``[metrics] poll`` tiers); ``outreach metrics collect`` sweeps every tracked post
now. Each client batches its own requests (Weibo: 100 ids a call; Mastodon:
pages of 40 of the account's own statuses). A post whose comment count changed owes
its comments, fetched in the same sweep (``comments``); emergency alerts are sent
after it (``alerts``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlmodel import col

from outreach.clients.base import AccountCounts, Counts
from outreach.collect.comments import COMMENTS_MAX_AGE, fetch_owed_comments, forget_old_texts
from outreach.config.settings import AccountSettings, MetricsSettings
from outreach.errors import AuthError, ClientError, ConfigError, ContentError, RateLimited
from outreach.opinions.rules import load_rules
from outreach.states import AccountState, PostKind, PostStatus
from outreach.store.accounts import set_account_state
from outreach.store.models import Account, AccountMetric, Post, PostMetric

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (account, done, total)


@dataclass
class CollectSummary:
    posts_checked: int = 0
    post_rows: int = 0
    account_rows: int = 0
    comments_fetched: int = 0
    comments_stored: int = 0
    replies_detected: int = 0
    emergencies: list[int] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    comment_errors: dict[str, str] = field(default_factory=dict)
    """Accounts whose comments could not be fetched this time (they stay owed)."""
    rules_error: str | None = None
    """``content/opinions.toml`` is broken: no comments were fetched (they stay owed)."""


def poll_interval(age: timedelta, metrics: MetricsSettings) -> timedelta | None:
    """How often a post of this age is polled; None once it is older than every tier."""
    hours = age.total_seconds() / 3600
    for tier in metrics.poll:
        if hours <= tier.age_hours:
            return timedelta(minutes=tier.every_minutes)
    return None


def tracked_posts(session: Any, account: str, now: datetime, metrics: MetricsSettings,
                  *, force: bool, young: timedelta | None = None) -> list[tuple[int, str]]:
    """(post id, remote id) of the posts to poll now (all tracked ones when forced; only
    those published within ``young`` when given)."""
    oldest = max((t.age_hours for t in metrics.poll), default=720)
    window = timedelta(hours=oldest) if young is None else min(young, timedelta(hours=oldest))
    rows = session.execute(select(col(Post.id), col(Post.remote_id), col(Post.published_at),
                                  col(Post.metrics_checked_at)).where(
        col(Post.account) == account, col(Post.status) == PostStatus.PUBLISHED,
        col(Post.kind) != PostKind.REPLY, col(Post.remote_id).is_not(None),
        col(Post.published_at) >= now - window,
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


def collect(rt: Runtime, *, accounts: Iterable[AccountSettings] | None = None, force: bool = False,
            progress: Progress | None = None, young: timedelta | None = None,
            figures: bool = True) -> CollectSummary:
    """One sweep over the given accounts (all configured ones by default).

    Which posts: those due by the ``[metrics] poll`` tiers; every tracked post when
    ``force``; only posts published within ``young`` when given (the daemon's comment
    sweep). For each: counts (one batched call per client); a post whose comment count
    changed then owes its comments, and every owed post's comments are fetched and stored
    (a post stays owed until they are, whatever this sweep polls); then (with
    ``figures``) the account's followers. Emergency alerts are not run here: the sweep
    records them as owed, and :func:`deliver_alerts` sends them afterwards.
    """
    summary = CollectSummary()
    now = rt.clock()
    rules = _comment_rules(rt, summary)
    for account in accounts if accounts is not None else rt.settings.accounts.values():
        reason = _unavailable(rt, account)
        if reason:
            summary.skipped[account.name] = reason
            continue
        try:
            _collect_account(rt, account, now, force, young, figures, summary, progress, rules)
        except RateLimited as exc:
            summary.skipped[account.name] = f"rate limited until {exc.retry_at.isoformat()}"
        except AuthError as exc:
            with rt.db.session() as s:
                set_account_state(s, rt, account.name, AccountState.NEEDS_REAUTH, now,
                                  actor="collector", reason=exc.message,
                                  last_error=f"auth: {exc.message}")
                s.commit()
            summary.skipped[account.name] = f"needs re-authorisation: {exc.message}"
        except ClientError as exc:
            log.warning("metrics for %s failed: %s", account.name, exc.message)
            summary.skipped[account.name] = exc.message
    forget_old_texts(rt, now)
    return summary


def collect_comments(rt: Runtime, *, accounts: Iterable[AccountSettings] | None = None
                     ) -> CollectSummary:
    """The daemon's five-minute sweep: posts younger than a week, counts and new comments."""
    return collect(rt, accounts=accounts, force=True, young=COMMENTS_MAX_AGE, figures=False)


def _comment_rules(rt: Runtime, summary: CollectSummary) -> Any:
    """The classification rules, or None (noted once in the summary) when the file is
    broken: counts and followers are still swept, comments wait until it is fixed."""
    try:
        return load_rules(rt.settings.content_dir)
    except ContentError as exc:
        summary.rules_error = str(exc)
        log.error("comments are not fetched until the rules are fixed: %s", exc)
        return None


def _unavailable(rt: Runtime, account: AccountSettings) -> str | None:
    try:
        if not rt.configured(account):
            return "unconfigured: no token"
    except ConfigError as exc:
        return exc.message
    with rt.db.reader() as s:
        state = s.execute(select(col(Account.state)).where(col(Account.name) == account.name)).scalar()
    return "needs re-authorisation" if state == AccountState.NEEDS_REAUTH else None


def _collect_account(rt: Runtime, account: AccountSettings, now: datetime, force: bool,
                     young: timedelta | None, figures: bool, summary: CollectSummary,
                     progress: Progress | None, rules: Any) -> None:
    client = rt.client(account)
    with rt.db.reader() as s:
        posts = tracked_posts(s, account.name, now, rt.settings.metrics, force=force,
                              young=young)
    by_remote = {remote: post_id for post_id, remote in posts}
    if progress:
        progress(account.name, 0, len(posts))
    fetched: dict[int, Counts] = {}
    if posts:
        for remote, counts in client.fetch_counts(list(by_remote)).items():
            if remote in by_remote:
                fetched[by_remote[remote]] = counts
    if posts:  # nothing polled (an idle account): no write transaction
        with rt.db.session() as s:
            previous = latest_counts(s, fetched)
            summary.post_rows += store_counts(s, fetched, now)
            s.execute(update(Post).where(col(Post.id).in_([p for p, _ in posts]))
                      .values(metrics_checked_at=now))
            # a changed comment count owes the post's comments until they are stored
            for post_id, counts in fetched.items():
                if counts.comments and (previous.get(post_id) or (None, None, None))[1] != \
                        counts.comments:
                    s.execute(update(Post).where(col(Post.id) == post_id)
                              .values(comments_due=counts.comments))
            gone = [post_id for post_id in by_remote.values() if post_id not in fetched]
            if gone:  # deleted on the platform: nothing left to fetch
                s.execute(update(Post).where(col(Post.id).in_(gone),
                                             col(Post.comments_due).is_not(None))
                          .values(comments_due=None))
            s.commit()
    if rules is not None:
        fetch_owed_comments(rt, account, client, rules, now, summary)
    if figures:
        account_figures = client.fetch_account()
        with rt.db.session() as s:
            summary.account_rows += store_account(s, account.name, account_figures,
                                                  account.timezone, now)
            s.execute(update(Account).where(col(Account.name) == account.name)
                      .values(followers=account_figures.followers, last_success_at=now))
            s.commit()
    summary.posts_checked += len(posts)
    summary.accounts.append(account.name)
    if progress:
        progress(account.name, len(posts), len(posts))
