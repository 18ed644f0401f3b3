"""Metrics and followers: what the platforms say back.

Storage grows with change, not with time: a ``post_metrics`` row only when a
count changed, an ``account_metrics`` row when a figure changed plus one a day so
a flat line has points. The daemon polls each published post by age (the
``[metrics] poll`` tiers); ``outreach metrics collect`` sweeps every tracked post
now. Each client batches its own requests (Weibo: 100 ids a call; Mastodon:
pages of 40 of the account's own statuses).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import SQLModel, col

from outreach import notify
from outreach.clients.base import AccountCounts, Counts
from outreach.config import AccountSettings, MetricsSettings
from outreach.errors import AuthError, ClientError, ConfigError, RateLimited
from outreach.models import Account, AccountMetric, Comment, Post, PostMetric

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
        col(Post.account) == account, col(Post.status) == "published",
        col(Post.kind) != "reply", col(Post.remote_id).is_not(None),
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


def collect(rt: Any, *, accounts: Iterable[AccountSettings] | None = None, force: bool = False,
            progress: Progress | None = None, young: timedelta | None = None,
            figures: bool = True) -> CollectSummary:
    """One sweep over the given accounts (all configured ones by default).

    Which posts: those due by the ``[metrics] poll`` tiers; every tracked post when
    ``force``; only posts published within ``young`` when given (the daemon's comment
    sweep). For each: counts (one batched call per client), then the comments of every
    post whose comment count changed, then (with ``figures``) the account's followers.
    """
    summary = CollectSummary()
    now = rt.clock()
    for account in accounts if accounts is not None else rt.settings.accounts.values():
        reason = _unavailable(rt, account)
        if reason:
            summary.skipped[account.name] = reason
            continue
        try:
            _collect_account(rt, account, now, force, young, figures, summary, progress)
        except RateLimited as exc:
            summary.skipped[account.name] = f"rate limited until {exc.retry_at.isoformat()}"
        except AuthError as exc:
            with rt.db.session() as s:
                notify.needs_reauth(s, rt, account.name, exc.message, now)
                s.execute(update(Account).where(col(Account.name) == account.name)
                          .values(state="needs_reauth", last_error=f"auth: {exc.message}"))
                s.commit()
            summary.skipped[account.name] = f"needs re-authorisation: {exc.message}"
        except ClientError as exc:
            log.warning("metrics for %s failed: %s", account.name, exc.message)
            summary.skipped[account.name] = exc.message
    forget_old_texts(rt, now)
    return summary


def collect_comments(rt: Any, *, accounts: Iterable[AccountSettings] | None = None
                     ) -> CollectSummary:
    """The daemon's five-minute sweep: posts younger than a week, counts and new comments."""
    return collect(rt, accounts=accounts, force=True, young=COMMENTS_MAX_AGE, figures=False)


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
                     young: timedelta | None, figures: bool, summary: CollectSummary,
                     progress: Progress | None) -> None:
    client = rt.client(account)
    with rt.db.reader() as s:
        posts = tracked_posts(s, account.name, now, rt.settings.metrics, force=force,
                              young=young)
        since = s.execute(select(col(Account.comments_since_id)).where(
            col(Account.name) == account.name)).scalar()
    by_remote = {remote: post_id for post_id, remote in posts}
    if progress:
        progress(account.name, 0, len(posts))
    fetched: dict[int, Counts] = {}
    if posts:
        for remote, counts in client.fetch_counts(list(by_remote)).items():
            if remote in by_remote:
                fetched[by_remote[remote]] = counts
    with rt.db.session() as s:
        previous = latest_counts(s, fetched)
        summary.post_rows += store_counts(s, fetched, now)
        if posts:
            s.execute(update(Post).where(col(Post.id).in_([p for p, _ in posts]))
                      .values(metrics_checked_at=now))
        s.commit()
    changed = [remote for remote, post_id in by_remote.items()
               if post_id in fetched and fetched[post_id].comments
               and (previous.get(post_id) or (None, None, None))[1] != fetched[post_id].comments]
    if changed:
        comments = client.fetch_comments(changed, since)
        summary.comments_fetched += len(comments)
        store_comments(rt, account, comments, by_remote, now, summary)
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


# --- comments: the public's voice (民意) ---------------------------------------------------

COMMENTS_MAX_AGE = timedelta(days=7)  # the daemon's five-minute sweep covers posts this young


def store_comments(rt: Any, account: AccountSettings, comments: list[Any],
                   posts: dict[str, int], now: datetime, summary: CollectSummary) -> None:
    from outreach.db import insert_ignore
    from outreach.opinions import classify, load_rules, redact

    if not comments:
        return
    rules = load_rules(rt.settings.content_dir)
    rows = []
    originals: dict[str, str] = {}
    for c in comments:
        text, redacted = redact(c.text)
        if c.is_own:
            klass, labels, needs_reply = "chatter", ["own_reply"], False
        else:
            opinion = classify(c.text, rules, account.lang)
            klass, labels, needs_reply = opinion.klass, list(opinion.labels), opinion.needs_reply
        originals[c.remote_id] = c.text
        rows.append({
            "account": account.name, "remote_id": c.remote_id,
            "post_id": posts.get(c.post_remote_id), "in_reply_to_remote_id":
            c.in_reply_to_remote_id, "author": c.author[:200], "text": text, "url": c.url,
            "created_at": c.created_at, "fetched_at": now, "class": klass, "labels": labels,
            "is_own": c.is_own, "needs_reply": needs_reply, "replied_at": None,
            "redacted": redacted,
        })
    table = SQLModel.metadata.tables["comments"]
    with rt.db.session() as s:
        existing = set(s.execute(select(col(Comment.remote_id)).where(
            col(Comment.account) == account.name,
            col(Comment.remote_id).in_([r["remote_id"] for r in rows]))).scalars())
        new = [r for r in rows if r["remote_id"] not in existing]
        for r in new:  # JSON column: the core insert needs text
            r["labels"] = json.dumps(r["labels"], ensure_ascii=False)
        summary.comments_stored += insert_ignore(s, table, new, ["account", "remote_id"])
        # a reply the account made on the platform itself answers the comment it replies to
        answered = [(r["in_reply_to_remote_id"], r["created_at"]) for r in rows
                    if r["is_own"] and r["in_reply_to_remote_id"]]
        for target, at in answered:
            n = s.execute(update(Comment).where(
                col(Comment.account) == account.name, col(Comment.remote_id) == target,
                col(Comment.replied_at).is_(None)).values(replied_at=at, needs_reply=False)
            ).rowcount
            summary.replies_detected += int(n or 0)
        newest = max((r["remote_id"] for r in rows), key=_id_key)
        since = s.execute(select(col(Account.comments_since_id)).where(
            col(Account.name) == account.name)).scalar()
        if since is None or _id_key(newest) > _id_key(since):
            s.execute(update(Account).where(col(Account.name) == account.name)
                      .values(comments_since_id=newest))
        emergencies = s.execute(select(Comment).where(
            col(Comment.account) == account.name, col(Comment.opinion_class) == "emergency",
            col(Comment.remote_id).in_([r["remote_id"] for r in new]))).scalars().all()
        notify.emergencies(s, rt, emergencies, now)
        s.commit()
    for comment in emergencies:
        assert comment.id is not None
        summary.emergencies.append(comment.id)
        log.warning("EMERGENCY comment %s on %s (post %s): someone may be in danger; "
                    "see `outreach opinions --class emergency`", comment.id, account.name,
                    comment.post_id)
        raise_alert(rt, comment, originals.get(comment.remote_id, comment.text or ""))


def _id_key(remote_id: str) -> tuple[int, str]:
    return (int(remote_id), "") if remote_id.isdigit() else (0, remote_id)


def raise_alert(rt: Any, comment: Comment, original_text: str) -> None:
    """Run ``[opinions] alert_command`` with the comment as JSON on stdin.

    The text there is the original, unredacted one — a responder may need the phone
    number or the place; it is never stored or logged.
    """
    import shlex
    import subprocess

    command = rt.settings.opinions.alert_command.strip()
    if not command:
        return
    payload = {
        "id": comment.id, "account": comment.account, "post_id": comment.post_id,
        "class": comment.opinion_class, "labels": comment.labels or [],
        "created_at": comment.created_at.isoformat() if comment.created_at else None,
        "author": comment.author, "url": comment.url, "text": original_text,
    }
    try:
        proc = subprocess.run(shlex.split(command), input=json.dumps(payload, ensure_ascii=False),
                              text=True, capture_output=True, timeout=30, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        log.error("alert_command failed for comment %s: %s", comment.id, type(exc).__name__)
        return
    if proc.returncode != 0:
        log.error("alert_command exited %s for comment %s", proc.returncode, comment.id)


def forget_old_texts(rt: Any, now: datetime) -> int:
    """``[opinions] keep_days``: old comment texts are deleted; the rows (and counts) stay."""
    cutoff = now - timedelta(days=rt.settings.opinions.keep_days)
    with rt.db.session() as s:
        n = s.execute(update(Comment).where(col(Comment.created_at) < cutoff,
                                            col(Comment.text).is_not(None))
                      .values(text=None)).rowcount
        s.commit()
    return int(n or 0)
