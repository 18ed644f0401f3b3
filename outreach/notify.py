"""Notifications: telling a person when something needs one.

An event (an emergency comment, a failed post, an account that needs re-authorisation, a
token about to expire, a stale daemon, the daily digest) becomes rows of the
``notifications`` outbox in the same transaction as the change that causes it: one row
per target that listens to the event, unique on (target, dedupe key), so an event that is
seen twice is stored once. The daemon's sender (and ``outreach watchdog`` for
``daemon_stale``) delivers the rows through apprise (WeCom, DingTalk, e-mail, Slack, Matrix,
``json://`` webhooks …) or a target's ``command``.

Delivery is claimed like a post: one conditional UPDATE sets ``sending``, the worker and a
lease, so two daemons never send the same row at the same time. Sent → ``sent``; a failure
is retried with backoff (``attempts``, ``next_attempt_at``, ``last_error``) and ends
``failed`` after ``MAX_ATTEMPTS``. The crash window: a worker that dies after the target
accepted a message but before it recorded ``sent`` leaves the row ``sending``; once the
lease expires another worker sends it again. Delivery is therefore at least once, with a
duplicate possible only in that window (the length of one send); every message carries
its notification id (``#12``) so a repeat is recognisable.

Emergencies escalate: the event's targets are listed in order; the first gets the row at
once, the next ``escalate_after_minutes`` later, and so on. A later row is cancelled when
the comment is acknowledged (``outreach opinions ack``) or answered before it is due.

Target URLs carry keys: they come from an environment variable or a 0600 file, never from
config.toml, and never reach output, logs, exceptions or the database (apprise's and
urllib3's log records pass through a filter that masks them).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shlex
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import SQLModel, col

from outreach.config.settings import NOTIFY_EVENTS, NotifyTarget, Settings
from outreach.errors import ConfigError, NotFound, OutreachError, StateError
from outreach.store.models import Account, AuditLog, Comment, DaemonHeartbeat, Notification, Post

log = logging.getLogger(__name__)

EVERY_SECONDS = 10  # the daemon's sender runs this often
MAX_ATTEMPTS = 10
BACKOFF_START = 10  # seconds, doubling per attempt
BACKOFF_CAP = 30 * 60
MIN_LEASE = timedelta(seconds=60)  # longer than one send (apprise: 4-15 s timeouts; a command: 20 s)
TOKEN_WARNING = timedelta(days=3)
STALE_MINUTES = 10
COMMAND_TIMEOUT = 20  # seconds; shorter than MIN_LEASE


class NotifyFailed(OutreachError):
    """A target did not take a message (the reason never shows the target's URL)."""


# --- writing events: in the caller's transaction ---------------------------------------------


def enqueue(session: Any, event: str, payload: dict[str, Any], *, dedupe_key: str,
            settings: Settings, now: datetime, account: str | None = None,
            comment_id: int | None = None) -> int:
    """Add the event to the outbox in ``session``'s transaction: one row per target that
    listens to it (an emergency's later targets due after the escalation minutes). A key
    already stored for a target is not stored again. Returns the rows added."""
    from outreach.store.db import insert_ignore

    if event not in NOTIFY_EVENTS:
        raise ValueError(f"unknown event {event!r}")
    targets = settings.notify.for_event(event)
    step = timedelta(minutes=settings.notify.escalate_after_minutes)
    rows = [{
        "event": event, "target": t.name, "dedupe_key": dedupe_key[:200],
        "level": level if event == "emergency" else 0, "account": account,
        "comment_id": comment_id, "payload": payload,
        "status": "pending", "attempts": 0,
        "next_attempt_at": now + step * level if event == "emergency" else now,
        "created_at": now, "updated_at": now,
    } for level, t in enumerate(targets)]
    if not rows:
        return 0
    table = SQLModel.metadata.tables["notifications"]
    return insert_ignore(session, table, rows, ["target", "dedupe_key"])


def post_failed(session: Any, rt: Any, post_id: int | None, account: str, error: str | None,
                now: datetime) -> None:
    """A post became ``failed`` in this transaction (only if this worker's update landed)."""
    row = session.execute(select(col(Post.status), col(Post.text)).where(
        col(Post.id) == post_id)).first()
    if row is None or row[0] != "failed":
        return
    enqueue(session, "post_failed", {"post_id": post_id, "account": account,
                                     "error": (error or "")[:500], "text": row[1][:200]},
            dedupe_key=f"post_failed:{post_id}", settings=rt.settings, now=now, account=account)


def needs_reauth(session: Any, rt: Any, account: str, reason: str, now: datetime) -> None:
    """The account is about to become ``needs_reauth`` in this transaction (call before the
    UPDATE): notified once per episode, not again while it stays so."""
    state = session.execute(select(col(Account.state)).where(col(Account.name) == account)
                            .with_for_update()).scalar()
    if state == "needs_reauth":
        return
    enqueue(session, "needs_reauth", {"account": account, "reason": reason[:500]},
            dedupe_key=f"needs_reauth:{account}:{now.isoformat()}", settings=rt.settings,
            now=now, account=account)


def emergencies(session: Any, rt: Any, comments: Iterable[Comment], now: datetime) -> None:
    """New emergency comments stored in this transaction (their redacted text only)."""
    for c in comments:
        enqueue(session, "emergency", {
            "comment_id": c.id, "account": c.account, "post_id": c.post_id,
            "text": (c.text or "")[:500], "url": c.url, "labels": c.labels or [],
            "created_at": c.created_at.isoformat() if c.created_at else None,
        }, dedupe_key=f"emergency:{c.id}", settings=rt.settings, now=now, account=c.account,
            comment_id=c.id)


def tokens_expiring(rt: Any, now: datetime) -> int:
    """Tokens that expire within three days: one notification per token."""
    targets = rt.settings.notify.for_event("token_expiring")
    if not targets:
        return 0
    with rt.db.reader() as s:  # the daemon asks every few seconds: write only what is new
        rows = [(name, expires) for name, expires in s.execute(
            select(col(Account.name), col(Account.token_expires_at)).where(
                col(Account.token_expires_at).is_not(None),
                col(Account.token_expires_at) < now + TOKEN_WARNING)).all()
            if name in rt.settings.accounts
            and not _stored(s, targets, f"token_expiring:{name}:{expires.isoformat()}")]
    if not rows:
        return 0
    added = 0
    with rt.db.session() as s:
        for name, expires in rows:
            added += enqueue(s, "token_expiring", {"account": name,
                                                   "expires_at": expires.isoformat()},
                             dedupe_key=f"token_expiring:{name}:{expires.isoformat()}",
                             settings=rt.settings, now=now, account=name)
        s.commit()
    return added


def daily_digest(rt: Any, now: datetime) -> int:
    """Once a day, from ``[notify] digest_at`` in the config's zone: yesterday in figures."""
    settings = rt.settings
    targets = settings.notify.for_event("daily_digest")
    if not targets:
        return 0
    zone = settings.timezone
    local = now.astimezone(zone)
    if local.time() < settings.notify.digest_at:
        return 0
    key = f"daily_digest:{local.date().isoformat()}"
    with rt.db.reader() as s:
        if _stored(s, targets, key):
            return 0
    payload = digest(rt, local.date() - timedelta(days=1), now)
    with rt.db.session() as s:
        added = enqueue(s, "daily_digest", payload, dedupe_key=key, settings=settings, now=now)
        s.commit()
    return added


def _stored(session: Any, targets: Sequence[NotifyTarget], key: str) -> bool:
    """Whether every target already has the event (the unique index answers it)."""
    n = session.execute(select(func.count()).select_from(Notification).where(
        col(Notification.target).in_([t.name for t in targets]),
        col(Notification.dedupe_key) == key)).scalar()
    return bool(n and n >= len(targets))


def digest(rt: Any, day: date, now: datetime) -> dict[str, Any]:
    """A day's posts and engagement, comments by class, the reply backlog and the oldest
    unanswered emergency (the config's zone)."""
    from outreach.collector import latest_counts

    zone = rt.settings.timezone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    with rt.db.reader() as s:
        posts = s.execute(select(col(Post.id), col(Post.account)).where(
            col(Post.status) == "published", col(Post.published_at) >= start,
            col(Post.published_at) < end, col(Post.kind) != "reply")).all()
        counts = latest_counts(s, [p for p, _ in posts])
        failed = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == "failed", col(Post.updated_at) >= start,
            col(Post.updated_at) < end)).scalar()
        classes = dict(s.execute(select(col(Comment.opinion_class), func.count()).where(
            col(Comment.is_own).is_(False), col(Comment.created_at) >= start,
            col(Comment.created_at) < end).group_by(col(Comment.opinion_class))).all())
        backlog = s.execute(select(func.count()).select_from(Comment).where(
            col(Comment.is_own).is_(False), col(Comment.reply_required).is_(True),
            col(Comment.replied_at).is_(None))).scalar()
        oldest = s.execute(select(col(Comment.id), col(Comment.account), col(Comment.created_at))
                           .where(col(Comment.opinion_class) == "emergency",
                                  col(Comment.is_own).is_(False),
                                  col(Comment.replied_at).is_(None))
                           .order_by(col(Comment.created_at), col(Comment.id)).limit(1)).first()
    per_account: dict[str, int] = {}
    for _, account in posts:
        per_account[account] = per_account.get(account, 0) + 1

    def total(i: int) -> int:
        return sum((c[i] or 0) for c in counts.values())

    return {
        "day": day.isoformat(), "posts": len(posts), "posts_by_account": per_account,
        "failed": int(failed or 0), "reposts": total(0), "comments": total(1), "likes": total(2),
        "comments_by_class": {k: int(v) for k, v in sorted(classes.items())},
        "backlog": int(backlog or 0),
        "oldest_emergency": None if oldest is None else {
            "comment_id": oldest[0], "account": oldest[1], "created_at": oldest[2].isoformat()},
    }


# --- acknowledging an emergency --------------------------------------------------------------


def acknowledge(rt: Any, comment_id: int, *, by: str) -> int:
    """Someone has an emergency comment in hand: audited, and its later escalations are
    cancelled in the same transaction. Returns the notifications cancelled."""
    from outreach.opinions.inbox import get_comment
    from outreach.store.audit import audit

    now = rt.clock()
    with rt.db.session() as s:
        comment = get_comment(s, comment_id)
        if _acknowledged(s, comment_id):
            raise StateError(f"comment {comment_id} was already acknowledged")
        audit(s, now, by, "opinion_ack", account=comment.account, target=f"comment {comment_id}")
        n = s.execute(update(Notification).where(
            col(Notification.comment_id) == comment_id, col(Notification.event) == "emergency",
            col(Notification.status) == "pending").values(
            status="cancelled", last_error=f"acknowledged by {by}", updated_at=now)).rowcount
        s.commit()
    return int(n or 0)


def _acknowledged(session: Any, comment_id: int) -> bool:
    return bool(session.execute(select(func.count()).select_from(AuditLog).where(
        col(AuditLog.action) == "opinion_ack",
        col(AuditLog.target) == f"comment {comment_id}")).scalar())


def _handled(session: Any, comment_id: int | None) -> str | None:
    """Why an emergency needs no further escalation (acknowledged, answered), if it does not."""
    if comment_id is None:
        return None
    if _acknowledged(session, comment_id):
        return "acknowledged"
    replied = session.execute(select(col(Comment.replied_at)).where(
        col(Comment.id) == comment_id)).scalar()
    return "answered" if replied is not None else None


# --- delivering ------------------------------------------------------------------------------


@dataclass
class DeliverySummary:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def backoff(attempts: int) -> timedelta:
    """10 s doubling per attempt, capped at 30 min, with ±20 % jitter."""
    base = min(BACKOFF_START * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return timedelta(seconds=min(base * random.uniform(0.8, 1.2), BACKOFF_CAP))


def lease(rt: Any) -> timedelta:
    return max(MIN_LEASE, timedelta(seconds=rt.settings.policy.lease_seconds))


def _due(now: datetime) -> Any:
    return or_((col(Notification.status) == "pending") & (col(Notification.next_attempt_at) <= now),
               (col(Notification.status) == "sending") & (col(Notification.lease_until) < now))


def deliver_due(rt: Any, *, worker: str | None = None, events: Sequence[str] | None = None,
                exclude: Sequence[str] = (), limit: int = 200,
                stop: Callable[[], bool] | None = None) -> DeliverySummary:
    """Claim and send every due row (of ``events``, all but ``exclude``); what happened."""
    worker = worker or worker_id()
    summary = DeliverySummary()
    seen: set[int] = set()
    while len(seen) < limit and not (stop and stop()):
        now = rt.clock()
        q = select(col(Notification.id)).where(_due(now))
        if events is not None:
            q = q.where(col(Notification.event).in_(list(events)))
        if exclude:
            q = q.where(col(Notification.event).not_in(list(exclude)))
        if seen:
            q = q.where(col(Notification.id).not_in(list(seen)))
        with rt.db.reader() as s:
            ids = list(s.execute(q.order_by(col(Notification.next_attempt_at),
                                            col(Notification.id)).limit(20)).scalars())
        if not ids:
            break
        for nid in ids:
            seen.add(nid)
            row = _claim(rt, nid, worker)
            if row is not None:
                _process(rt, row, worker, summary)
    return summary


def _claim(rt: Any, nid: int, worker: str) -> Notification | None:
    now = rt.clock()
    with rt.db.session() as s:
        before = s.execute(select(col(Notification.status)).where(
            col(Notification.id) == nid)).scalar()
        n = s.execute(update(Notification).where(col(Notification.id) == nid, _due(now)).values(
            status="sending", claimed_by=worker, lease_until=now + lease(rt),
            attempts=col(Notification.attempts) + 1, updated_at=now)).rowcount
        row = s.get(Notification, nid) if n == 1 else None
        s.commit()
    if row is not None and before == "sending":
        log.warning("notification %s: its last sender stopped before recording the outcome; "
                    "sending again (it may arrive twice)", nid)
    return row


def _owned(nid: int | None, worker: str) -> Any:
    return update(Notification).where(col(Notification.id) == nid,
                                      col(Notification.claimed_by) == worker,
                                      col(Notification.status) == "sending")


def _process(rt: Any, row: Notification, worker: str, summary: DeliverySummary) -> None:
    assert row.id is not None
    settings = rt.settings
    if row.event == "emergency" and row.level > 0:
        with rt.db.reader() as s:
            why = _handled(s, row.comment_id)
        if why:
            _finish(rt, row, worker, status="cancelled", error=why)
            summary.cancelled.append(row.id)
            return
    target = next((t for t in settings.notify.targets if t.name == row.target), None)
    try:
        if target is None:
            raise NotifyFailed(f"target {row.target!r} is no longer configured")
        title, body = message(row, settings, target.lang or settings.notify.lang)
        send(target, title, body, _envelope(row))
    except (NotifyFailed, ConfigError) as exc:
        error = scrub(exc.message)[:500]
        final = target is None or row.attempts >= MAX_ATTEMPTS
        if final:
            _finish(rt, row, worker, status="failed", error=error)
            summary.failed.append(row.id)
            log.error("notification %s to %s failed for good: %s", row.id, row.target, error)
        else:
            _finish(rt, row, worker, status="pending", error=error,
                    next_attempt_at=rt.clock() + backoff(row.attempts))
            summary.retrying.append(row.id)
            log.warning("notification %s to %s: %s (retrying)", row.id, row.target, error)
        return
    _finish(rt, row, worker, status="sent", error=None, sent_at=rt.clock())
    summary.sent.append(row.id)
    log.info("notification %s (%s) sent to %s", row.id, row.event, row.target)


def _finish(rt: Any, row: Notification, worker: str, *, status: str, error: str | None,
            **values: Any) -> None:
    with rt.db.session() as s:
        n = s.execute(_owned(row.id, worker).values(
            status=status, last_error=error, claimed_by=None, lease_until=None,
            updated_at=rt.clock(), **values)).rowcount
        s.commit()
    if n != 1:
        log.warning("notification %s: the claim was lost before its outcome (%s) was recorded",
                    row.id, status)


def _envelope(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "event": row.event, "target": row.target, "level": row.level,
            "account": row.account, "created_at": row.created_at.isoformat()
            if row.created_at else None, "payload": row.payload or {}}


def retry(rt: Any, ids: Sequence[int]) -> list[int]:
    """Failed rows back to pending, due now; the ids changed (NotFound for an unknown id,
    StateError for one that is not failed)."""
    now = rt.clock()
    with rt.db.session() as s:
        for nid in ids:
            row = s.get(Notification, nid) if 0 < nid < 2**63 else None
            if row is None:
                raise NotFound(f"no notification with id {nid}")
            if row.status != "failed":
                raise StateError(f"notification {nid} is {row.status}, not failed")
        s.execute(update(Notification).where(col(Notification.id).in_(list(ids))).values(
            status="pending", attempts=0, next_attempt_at=now, updated_at=now))
        s.commit()
    return list(ids)


def list_notifications(rt: Any, *, status: str | None = None, limit: int = 1000
                       ) -> list[dict[str, Any]]:
    q = select(Notification).order_by(col(Notification.id).desc())
    if status is not None:
        q = q.where(col(Notification.status) == status)
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        rows = s.execute(q).scalars().all()
    return [notification_json(r) for r in rows]


def notification_json(r: Notification) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {"id": r.id, "event": r.event, "target": r.target, "status": r.status,
            "level": r.level, "account": r.account, "comment_id": r.comment_id,
            "attempts": r.attempts, "next_attempt_at": iso(r.next_attempt_at),
            "created_at": iso(r.created_at), "sent_at": iso(r.sent_at),
            "last_error": r.last_error, "dedupe_key": r.dedupe_key, "payload": r.payload}


def health_warnings(rt: Any, now: datetime) -> list[str]:
    """For ``outreach status``: notifications that never reached their target, and ones
    long overdue (is a sender running?)."""
    with rt.db.reader() as s:
        failed = s.execute(select(func.count()).select_from(Notification).where(
            col(Notification.status) == "failed")).scalar() or 0
        late = s.execute(select(func.count()).select_from(Notification).where(
            col(Notification.status) == "pending", col(Notification.event) != "daemon_stale",
            col(Notification.next_attempt_at) < now - timedelta(minutes=10))).scalar() or 0
    out = []
    if failed:
        out.append(f"{failed} notification(s) failed: outreach notify list --status failed")
    if late:
        out.append(f"{late} notification(s) overdue by more than 10 minutes")
    return out


# --- the daemon's job and the watchdog -----------------------------------------------------------


def daemon_job(rt: Any, worker: str, stopping: Callable[[], bool]) -> Callable[[], None]:
    """The daemon's sender: periodic events (tokens, digest), then every due row except
    ``daemon_stale`` (the watchdog's). Never raises."""

    def job() -> None:
        if stopping():
            return
        try:
            run_once(rt, worker=worker, stop=stopping)
        except Exception:
            log.exception("notification sender failed")

    return job


def run_once(rt: Any, *, worker: str | None = None,
             stop: Callable[[], bool] | None = None) -> DeliverySummary:
    now = rt.clock()
    tokens_expiring(rt, now)
    daily_digest(rt, now)
    forget_old_payloads(rt, now)
    return deliver_due(rt, worker=worker, exclude=("daemon_stale",), stop=stop)


_forgotten_at: dict[str, datetime] = {}


def forget_old_payloads(rt: Any, now: datetime) -> int:
    """``[opinions] keep_days`` holds here too: a finished notification older than that
    loses its payload (an emergency's comment text); the row stays. At most hourly."""
    last = _forgotten_at.get(rt.settings.database_url)
    if last is not None and timedelta(0) <= now - last < timedelta(hours=1):
        return 0
    _forgotten_at[rt.settings.database_url] = now
    cutoff = now - timedelta(days=rt.settings.opinions.keep_days)
    with rt.db.session() as s:
        n = s.execute(update(Notification).where(
            col(Notification.created_at) < cutoff, col(Notification.payload).is_not(None),
            col(Notification.status).in_(("sent", "failed", "cancelled"))).values(
            payload=None)).rowcount
        s.commit()
    return int(n or 0)


@dataclass
class WatchdogResult:
    stale: bool
    last_heartbeat: datetime | None
    delivery: DeliverySummary


def watchdog(rt: Any, stale_minutes: int = STALE_MINUTES) -> WatchdogResult:
    """Is the newest daemon heartbeat older than ``stale_minutes``? Then ``daemon_stale``,
    sent from here (the daemon is what stopped), once per outage: the outage is named by
    its last heartbeat, so a new one after the daemon came back notifies again."""
    now = rt.clock()
    with rt.db.reader() as s:
        newest = s.execute(select(func.max(col(DaemonHeartbeat.heartbeat_at)))).scalar()
    stale = newest is None or now - newest > timedelta(minutes=stale_minutes)
    if not stale:
        with rt.db.session() as s:  # an outage that ended before it was told is news no more
            s.execute(update(Notification).where(
                col(Notification.event) == "daemon_stale",
                col(Notification.status) == "pending").values(
                status="cancelled", last_error="the daemon is running again", updated_at=now))
            s.commit()
        return WatchdogResult(False, newest, DeliverySummary())
    with rt.db.session() as s:
        enqueue(s, "daemon_stale", {
            "last_heartbeat": newest.isoformat() if newest else None,
            "minutes": int((now - newest).total_seconds() // 60) if newest else None,
            "stale_minutes": stale_minutes},
            dedupe_key=f"daemon_stale:{newest.isoformat() if newest else 'never'}",
            settings=rt.settings, now=now)
        s.commit()
    return WatchdogResult(True, newest, deliver_due(rt, events=("daemon_stale",)))


# --- messages ------------------------------------------------------------------------------------

_TITLES = {
    "zh": {"emergency": "【紧急】{account} 有紧急求助评论",
           "post_failed": "发布失败：{account} 帖子 {post_id}",
           "needs_reauth": "{account} 需要重新授权", "token_expiring": "{account} 的令牌即将过期",
           "daemon_stale": "outreach 守护进程已停止", "daily_digest": "outreach 日报 {day}",
           "test": "outreach 测试通知"},
    "en": {"emergency": "EMERGENCY comment on {account}", "post_failed":
           "Post {post_id} on {account} failed", "needs_reauth": "{account} needs re-authorisation",
           "token_expiring": "The token of {account} expires soon",
           "daemon_stale": "The outreach daemon has stopped", "daily_digest":
           "outreach daily digest {day}", "test": "outreach test notification"},
}


def _when(value: str | None, settings: Settings) -> str:
    if not value:
        return "-"
    at = datetime.fromisoformat(value).astimezone(settings.timezone)
    return at.strftime("%Y-%m-%d %H:%M ") + settings.timezone.key


def message(row: Notification, settings: Settings, lang: str) -> tuple[str, str]:
    """Title and body of a notification in ``lang`` (zh or en)."""
    p: dict[str, Any] = dict(row.payload or {})
    zh = lang == "zh"
    title = _TITLES[lang][row.event].format_map(_Blank(p))
    lines: list[str] = []
    if row.event == "emergency":
        if row.level:
            minutes = row.level * settings.notify.escalate_after_minutes
            lines.append(f"升级：{minutes} 分钟内无人确认。" if zh else
                         f"Escalated: nobody acknowledged it within {minutes} minutes.")
        lines += [p.get("text") or "", p.get("url") or "",
                  (f"评论 {p.get('comment_id')}，时间 {_when(p.get('created_at'), settings)}。"
                   f"确认：outreach opinions ack {p.get('comment_id')}") if zh else
                  (f"Comment {p.get('comment_id')} at {_when(p.get('created_at'), settings)}. "
                   f"Acknowledge: outreach opinions ack {p.get('comment_id')}")]
    elif row.event == "post_failed":
        lines += [p.get("error") or "", p.get("text") or "",
                  f"查看：outreach queue show {p.get('post_id')}" if zh else
                  f"See: outreach queue show {p.get('post_id')}"]
    elif row.event == "needs_reauth":
        lines += [p.get("reason") or "", "该账号的帖子暂停发布，更新令牌后运行 outreach accounts check。"
                  if zh else "Its posts wait; renew the token, then run: outreach accounts check"]
    elif row.event == "token_expiring":
        when = _when(p.get("expires_at"), settings)
        lines.append(f"过期时间：{when}。请尽快重新授权（outreach auth）。" if zh else
                     f"Expires {when}. Authorise again before then (outreach auth).")
    elif row.event == "daemon_stale":
        when = _when(p.get("last_heartbeat"), settings)
        lines.append(f"最后心跳：{when}（超过 {p.get('stale_minutes')} 分钟）。"
                     "请检查服务器上的 outreach run。"
                     if zh else f"Last heartbeat: {when} (over {p.get('stale_minutes')} minutes "
                                "ago). Check `outreach run` on the server.")
    elif row.event == "daily_digest":
        lines += _digest_lines(p, settings, zh)
    elif row.event == "test":
        lines.append("这是一条测试通知。" if zh else "This is a test notification.")
    if row.id is not None:  # a repeat (see the crash window above) is recognisable by it
        lines.append(f"（通知 #{row.id}）" if zh else f"(notification #{row.id})")
    return title, "\n".join(line for line in lines if line)


def _digest_lines(p: dict[str, Any], settings: Settings, zh: bool) -> list[str]:
    classes = p.get("comments_by_class") or {}
    by_class = "、".join(f"{k} {v}" for k, v in classes.items()) if zh else \
        ", ".join(f"{k} {v}" for k, v in classes.items())
    oldest = p.get("oldest_emergency")
    per = p.get("posts_by_account") or {}
    accounts = ("、" if zh else ", ").join(f"{k} {v}" for k, v in sorted(per.items()))
    if zh:
        lines = [f"发布 {p.get('posts', 0)} 条，失败 {p.get('failed', 0)} 条；转发 {p.get('reposts', 0)}，"
                 f"评论 {p.get('comments', 0)}，点赞 {p.get('likes', 0)}。",
                 f"各账号：{accounts}。" if len(per) > 1 else "",
                 f"评论分类：{by_class or '无'}。", f"待回复：{p.get('backlog', 0)} 条。"]
        lines.append(f"最早未回复的紧急评论：{oldest['comment_id']}（{oldest['account']}，"
                     f"{_when(oldest['created_at'], settings)}）" if oldest else "没有未回复的紧急评论。")
    else:
        lines = [f"Published {p.get('posts', 0)}, failed {p.get('failed', 0)}; reposts "
                 f"{p.get('reposts', 0)}, comments {p.get('comments', 0)}, likes {p.get('likes', 0)}.",
                 f"By account: {accounts}." if len(per) > 1 else "",
                 f"Comments by class: {by_class or 'none'}.",
                 f"Awaiting a reply: {p.get('backlog', 0)}."]
        lines.append(f"Oldest unanswered emergency: comment {oldest['comment_id']} "
                     f"({oldest['account']}, {_when(oldest['created_at'], settings)})" if oldest
                     else "No unanswered emergency.")
    return lines


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


# --- sending -------------------------------------------------------------------------------------


def send(target: NotifyTarget, title: str, body: str, envelope: dict[str, Any]) -> None:
    """One message to one target; NotifyFailed (without the URL) when it was not taken."""
    if target.command:
        _run_command(target, title, body, envelope)
        return
    url = target.url().reveal()
    _remember(url)
    import apprise

    _route_library_logs()
    obj = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))  # in this thread
    if not obj.add(url):
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise NotifyFailed(f"target {target.name!r}: not a URL apprise can use "
                           f"(scheme {scheme[:20]!r})")
    with _capture() as problems:
        try:
            ok = bool(obj.notify(title=title, body=body))
        except Exception as exc:  # a plugin's own bug must not stop the sender
            raise NotifyFailed(f"target {target.name!r}: {type(exc).__name__}") from None
    if not ok:
        reason = "; ".join(problems[-2:]) or "not delivered"
        raise NotifyFailed(f"target {target.name!r}: {reason}")


def _run_command(target: NotifyTarget, title: str, body: str, envelope: dict[str, Any]) -> None:
    assert target.command is not None
    data = json.dumps(dict(envelope, title=title, body=body), ensure_ascii=False)
    try:
        proc = subprocess.run(shlex.split(target.command), input=data, text=True,
                              capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise NotifyFailed(f"target {target.name!r}: command failed: {type(exc).__name__}") from None
    if proc.returncode != 0:
        raise NotifyFailed(f"target {target.name!r}: command exited {proc.returncode}")


def send_test(rt: Any, name: str | None = None) -> list[tuple[str, str | None]]:
    """Send a test message to every target (or the one named); (name, error or None)."""
    settings = rt.settings
    targets = settings.notify.targets
    if name is not None:
        targets = tuple(t for t in targets if t.name == name)
        if not targets:
            known = ", ".join(t.name for t in settings.notify.targets) or "none"
            raise NotFound(f"unknown notify target {name!r} (configured: {known})")
    if not targets:
        raise ConfigError("no [notify] targets are configured", where=str(settings.path))
    now = rt.clock()
    out: list[tuple[str, str | None]] = []
    for t in targets:
        row = Notification(event="test", target=t.name, dedupe_key="test", payload={},
                           created_at=now, next_attempt_at=now)
        title, body = message(row, settings, t.lang or settings.notify.lang)
        try:
            send(t, title, body, _envelope(row))
        except (NotifyFailed, ConfigError) as exc:
            out.append((t.name, scrub(exc.message)))
            continue
        out.append((t.name, None))
    return out


# --- keeping URLs out of logs ------------------------------------------------------------------

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_SEND_LOCK = threading.Lock()
_problems: list[str] | None = None
_routed = False


def _remember(url: str) -> None:
    """Every piece of a target URL that could be a key is masked wherever we write text."""
    pieces = {url}
    pieces.update(p for p in re.split(r"[/:@?&=#+,;]+", url.split("://", 1)[-1]) if len(p) >= 6)
    with _SECRETS_LOCK:
        _SECRETS.update(pieces)


def scrub(text: str) -> str:
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for s in secrets:
        text = text.replace(s, "***")
    return text


class _Forward(logging.Handler):
    """apprise's and urllib3's records: masked, collected for ``last_error``, and passed on
    to our log at WARNING and above (their DEBUG lines print whole URLs)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = scrub(record.getMessage())
        except Exception:
            return
        if _problems is not None and record.levelno >= logging.WARNING:
            _problems.append(text[:300])
        if record.levelno >= logging.WARNING:
            log.log(record.levelno, "%s: %s", record.name, text)


def _route_library_logs() -> None:
    global _routed
    if _routed:
        return
    handler = _Forward(level=logging.DEBUG)
    for name in ("apprise", "urllib3", "requests"):
        lib = logging.getLogger(name)
        lib.handlers = [handler]
        lib.propagate = False
        lib.setLevel(logging.WARNING)
    _routed = True


@contextmanager
def _capture() -> Iterator[list[str]]:
    """What apprise warns about during one send (sends are one at a time in a process)."""
    global _problems
    with _SEND_LOCK:
        _problems = []
        try:
            yield _problems
        finally:
            _problems = None
