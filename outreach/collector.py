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
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import SQLModel, col

from outreach import notify
from outreach.clients.base import AccountCounts, Counts
from outreach.config.settings import AccountSettings, MetricsSettings
from outreach.errors import (
    AuthError,
    ClientError,
    ConfigError,
    ContentError,
    RateLimited,
    RemoteError,
)
from outreach.store.models import Account, AccountMetric, Comment, Post, PostMetric

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


def _comment_rules(rt: Any, summary: CollectSummary) -> Any:
    """The classification rules, or None (noted once in the summary) when the file is
    broken: counts and followers are still swept, comments wait until it is fixed."""
    from outreach.opinions.rules import load_rules

    try:
        return load_rules(rt.settings.content_dir)
    except ContentError as exc:
        summary.rules_error = str(exc)
        log.error("comments are not fetched until the rules are fixed: %s", exc)
        return None


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
    with rt.db.session() as s:
        previous = latest_counts(s, fetched)
        summary.post_rows += store_counts(s, fetched, now)
        if posts:
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


# --- comments: the public's voice (民意) ---------------------------------------------------

COMMENTS_MAX_AGE = timedelta(days=7)  # the daemon's five-minute sweep covers posts this young


@dataclass(frozen=True)
class OwedPost:
    """A post whose comments are owed: the count they are owed for, and its cursor."""

    post_id: int
    remote_id: str
    due: int
    cursor: str | None


def fetch_owed_comments(rt: Any, account: AccountSettings, client: Any, rules: Any,
                        now: datetime, summary: CollectSummary) -> None:
    """Fetch and store the comments of every post of the account that owes them.

    Posts are fetched together when they share a cursor (the newest comment stored for
    each), so no post's comments are skipped because another post's are newer. A failed
    fetch leaves its posts owed for the next sweep (one the platform refuses for a single
    post is retried post by post, so that post holds no other); a rate limit or an auth
    error stops the account (the caller records it).
    """
    with rt.db.reader() as s:
        rows = s.execute(select(col(Post.id), col(Post.remote_id), col(Post.comments_due),
                                col(Post.comments_cursor)).where(
            col(Post.account) == account.name, col(Post.status) == "published",
            col(Post.kind) != "reply", col(Post.remote_id).is_not(None),
            col(Post.comments_due).is_not(None)).order_by(col(Post.id))).all()
    groups: dict[str | None, list[OwedPost]] = {}
    for post_id, remote_id, due, cursor in rows:
        groups.setdefault(cursor, []).append(OwedPost(post_id, remote_id, due, cursor))
    for cursor, owed in groups.items():
        _fetch_group(rt, account, client, rules, owed, cursor, now, summary)


def _fetch_group(rt: Any, account: AccountSettings, client: Any, rules: Any,
                 owed: list[OwedPost], cursor: str | None, now: datetime,
                 summary: CollectSummary) -> None:
    try:
        comments = client.fetch_comments([p.remote_id for p in owed], cursor)
    except (RateLimited, AuthError):
        raise
    except ClientError as exc:
        if isinstance(exc, RemoteError) and len(owed) > 1:
            # the platform refuses one of them (a status gone, hidden, …): that post must
            # not hold the others, so each is asked for on its own
            for one in owed:
                _fetch_group(rt, account, client, rules, [one], cursor, now, summary)
            return
        log.warning("comments for %s failed (they stay owed): %s", account.name, exc.message)
        summary.comment_errors[account.name] = exc.message
        return
    summary.comments_fetched += len(comments)
    store_comments(rt, account, comments, owed, now, summary, rules)


def store_comments(rt: Any, account: AccountSettings, comments: list[Any],
                   owed: list[OwedPost], now: datetime, summary: CollectSummary,
                   rules: Any) -> None:
    """Store fetched comments, and in the same transaction settle what was owed: each
    post's cursor moves on and it owes nothing more (unless its count changed meanwhile),
    and each new emergency owes an alert when ``alert_command`` is set."""
    from outreach.opinions.rules import classify, redact
    from outreach.store.db import insert_ignore

    posts = {p.remote_id: p.post_id for p in owed}
    alerting = bool(rt.settings.opinions.alert_command.strip())
    model = None
    if any(not c.is_own for c in comments):
        from outreach.opinions.model import load_model

        try:
            model = load_model(rt.settings.content_dir)
        except ContentError as exc:  # the rules still catch what they know: keep collecting
            log.warning("opinion model unusable (%s: %s): classifying by the rules alone",
                        exc.where, exc.message)
    rows = []
    originals: dict[str, str] = {}
    for c in comments:
        text, redacted = redact(c.text)
        fired, probability = None, None
        if c.is_own:
            klass, labels, reply_required = "chatter", ["own_reply"], False
        else:
            opinion = classify(c.text, rules, account.lang, model)
            klass, labels, reply_required = (opinion.klass, list(opinion.labels),
                                             opinion.needs_reply)
            fired, probability = opinion.fired, opinion.probability
        originals[c.remote_id] = c.text
        rows.append({
            "account": account.name, "remote_id": c.remote_id,
            "post_id": posts.get(c.post_remote_id), "in_reply_to_remote_id":
            c.in_reply_to_remote_id, "author": redact(c.author, True)[0][:200], "text": text,
            "url": c.url,
            "created_at": c.created_at, "fetched_at": now, "class": klass, "labels": labels,
            "is_own": c.is_own, "reply_required": reply_required, "replied_at": None,
            "redacted": redacted, "alert_attempts": 0,
            "alert_due_at": now if alerting and klass == "emergency" and not c.is_own else None,
            "fired": fired, "emergency_probability": probability,
        })
    newest: dict[str, str] = {}  # post remote id -> its newest comment here
    for c in comments:
        top = newest.get(c.post_remote_id)
        if top is None or _id_key(c.remote_id) > _id_key(top):
            newest[c.post_remote_id] = c.remote_id
    table = SQLModel.metadata.tables["comments"]
    emergencies: list[Comment] = []
    with rt.db.session() as s:
        if rows:
            existing = set(s.execute(select(col(Comment.remote_id)).where(
                col(Comment.account) == account.name,
                col(Comment.remote_id).in_([r["remote_id"] for r in rows]))).scalars())
            new = [r for r in rows if r["remote_id"] not in existing]
            summary.comments_stored += insert_ignore(s, table, new, ["account", "remote_id"])
            # a reply the account made on the platform itself answers the comment it replies to
            answered = [(r["in_reply_to_remote_id"], r["created_at"]) for r in rows
                        if r["is_own"] and r["in_reply_to_remote_id"]]
            for target, at in answered:
                n = s.execute(update(Comment).where(
                    col(Comment.account) == account.name, col(Comment.remote_id) == target,
                    col(Comment.replied_at).is_(None)).values(replied_at=at)).rowcount
                summary.replies_detected += int(n or 0)
            newest_all = max((r["remote_id"] for r in rows), key=_id_key)
            since = s.execute(select(col(Account.comments_since_id)).where(
                col(Account.name) == account.name)).scalar()
            if since is None or _id_key(newest_all) > _id_key(since):
                s.execute(update(Account).where(col(Account.name) == account.name)
                          .values(comments_since_id=newest_all))
            emergencies = list(s.execute(select(Comment).where(
                col(Comment.account) == account.name, col(Comment.opinion_class) == "emergency",
                col(Comment.remote_id).in_([r["remote_id"] for r in new]))).scalars().all())
            notify.emergencies(s, rt, emergencies, now)
        for p in owed:
            top = newest.get(p.remote_id)
            if top is not None and (p.cursor is None or _id_key(top) > _id_key(p.cursor)):
                s.execute(update(Post).where(col(Post.id) == p.post_id)
                          .values(comments_cursor=top))
            # settled, unless a sweep saw the count change again meanwhile: then still owed
            s.execute(update(Post).where(col(Post.id) == p.post_id,
                                         col(Post.comments_due) == p.due)
                      .values(comments_due=None))
        s.commit()
    for comment in emergencies:
        assert comment.id is not None
        summary.emergencies.append(comment.id)
        if comment.alert_due_at is not None:
            _remember_original(rt, comment.id, originals.get(comment.remote_id, ""))
        log.warning("EMERGENCY comment %s on %s (post %s): someone may be in danger; "
                    "see `outreach opinions --class emergency`", comment.id, account.name,
                    comment.post_id)


def _id_key(remote_id: str) -> tuple[int, str]:
    return (int(remote_id), "") if remote_id.isdigit() else (0, remote_id)


# --- emergency alerts: after the sweep, oldest first, each once ------------------------------

ALERT_TIMEOUT = 30  # seconds the alert command may take
ALERT_LEASE = timedelta(seconds=ALERT_TIMEOUT * 3)  # a claim outlives the command it covers
ALERT_MAX_ATTEMPTS = 5
_ORIGINALS_KEPT = 1000

# The original (unredacted) text of an emergency, kept in this process's memory only until
# its alert is delivered: a responder may need the phone number or the place, and it is
# never stored or logged. An alert delivered by another process (or after a restart) carries
# the redacted text instead.
_originals: OrderedDict[tuple[str, int], str] = OrderedDict()
_originals_lock = threading.Lock()


def _remember_original(rt: Any, comment_id: int, text: str) -> None:
    with _originals_lock:
        _originals[(rt.db.url, comment_id)] = text
        while len(_originals) > _ORIGINALS_KEPT:
            _originals.popitem(last=False)


def _take_original(rt: Any, comment_id: int, *, forget: bool) -> str | None:
    with _originals_lock:
        if forget:
            return _originals.pop((rt.db.url, comment_id), None)
        return _originals.get((rt.db.url, comment_id))


@dataclass
class AlertSummary:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def deliver_alerts(rt: Any, *, limit: int = 100) -> AlertSummary:
    """Run ``[opinions] alert_command`` for every owed emergency alert, oldest first.

    Each alert is claimed first with one conditional UPDATE (a lease, so two daemons never
    run the same one), the command runs, then the alert is marked delivered. Delivery is
    at least once: a process that dies after the command ran and before the mark leaves
    the claim to expire, and the alert is sent again — a duplicate page is better than a
    lost emergency; the payload's ``id`` lets a receiver drop the repeat. A command that
    fails is tried again on later passes, with backoff, ``ALERT_MAX_ATTEMPTS`` times.
    """
    summary = AlertSummary()
    command = rt.settings.opinions.alert_command.strip()
    if not command:
        return summary
    now = rt.clock()
    owed = (col(Comment.alert_due_at).is_not(None), col(Comment.alerted_at).is_(None),
            col(Comment.alert_attempts) < ALERT_MAX_ATTEMPTS)
    with rt.db.reader() as s:
        due = s.execute(select(col(Comment.id)).where(
            *owed, or_(col(Comment.alert_lease_until).is_(None),
                       col(Comment.alert_lease_until) < now))
            .order_by(col(Comment.alert_due_at), col(Comment.created_at), col(Comment.id))
            .limit(limit)).scalars().all()
    for comment_id in due:
        now = rt.clock()
        with rt.db.session() as s:
            claimed = s.execute(update(Comment).where(
                col(Comment.id) == comment_id, *owed,
                or_(col(Comment.alert_lease_until).is_(None),
                    col(Comment.alert_lease_until) < now))
                .values(alert_lease_until=now + ALERT_LEASE,
                        alert_attempts=col(Comment.alert_attempts) + 1)).rowcount
            comment = s.get(Comment, comment_id) if claimed == 1 else None
            s.commit()
        if comment is None:  # another process has it, or it was delivered meanwhile
            continue
        delivered = _run_alert(command, comment,
                               _take_original(rt, comment_id, forget=False))
        done = rt.clock()
        with rt.db.session() as s:
            if delivered:
                s.execute(update(Comment).where(col(Comment.id) == comment_id)
                          .values(alerted_at=done, alert_lease_until=None))
            else:
                wait = timedelta(seconds=min(30 * 2 ** (comment.alert_attempts - 1), 900))
                s.execute(update(Comment).where(col(Comment.id) == comment_id)
                          .values(alert_lease_until=done + wait))
            s.commit()
        if delivered:
            _take_original(rt, comment_id, forget=True)
            summary.sent.append(comment_id)
        else:
            summary.failed.append(comment_id)
            if comment.alert_attempts >= ALERT_MAX_ATTEMPTS:
                log.error("alert for comment %s gave up after %s attempts; see `outreach "
                          "opinions --class emergency`", comment_id, comment.alert_attempts)
    return summary


def _run_alert(command: str, comment: Comment, original_text: str | None) -> bool:
    """Run the alert command with the comment as JSON on stdin; True when it exited 0."""
    import shlex
    import subprocess

    payload = {
        "id": comment.id, "account": comment.account, "post_id": comment.post_id,
        "class": comment.opinion_class, "labels": comment.labels or [],
        "created_at": comment.created_at.isoformat() if comment.created_at else None,
        "author": comment.author, "url": comment.url,
        "text": original_text if original_text is not None else comment.text,
        "text_redacted": original_text is None and comment.redacted,
    }
    try:
        proc = subprocess.run(shlex.split(command), input=json.dumps(payload, ensure_ascii=False),
                              text=True, capture_output=True, timeout=ALERT_TIMEOUT, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        log.error("alert_command failed for comment %s: %s", comment.id, type(exc).__name__)
        return False
    if proc.returncode != 0:
        log.error("alert_command exited %s for comment %s", proc.returncode, comment.id)
        return False
    return True


def forget_old_texts(rt: Any, now: datetime) -> int:
    """``[opinions] keep_days``: old comment texts are deleted; the rows (and counts) stay."""
    cutoff = now - timedelta(days=rt.settings.opinions.keep_days)
    with rt.db.session() as s:
        n = s.execute(update(Comment).where(col(Comment.created_at) < cutoff,
                                            col(Comment.text).is_not(None))
                      .values(text=None)).rowcount
        s.commit()
    return int(n or 0)
