"""Writing events to the outbox, in the caller's transaction: one ``notifications`` row per
target that listens to the event, unique on (target, dedupe key), so an event seen twice is
stored once. An emergency's later targets are due ``escalate_after_minutes`` apart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, Update, func, select
from sqlmodel import Session, SQLModel, col

from outreach.config.settings import NOTIFY_EVENTS, NotifyTarget, Settings
from outreach.i18n import _
from outreach.states import AccountState, NotificationStatus, NotifyEvent, PostStatus
from outreach.store.db import insert_ignore
from outreach.store.models import Account, Comment, Notification, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime

TOKEN_WARNING = timedelta(days=3)
LARGEST_ID = 2**63 - 1  # SQLite's and PostgreSQL's largest integer


def updated(session: Session, statement: Update) -> int:
    """Run an UPDATE; the rows it changed."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def enqueue(session: Session, event: str, payload: dict[str, Any], *, dedupe_key: str,
            settings: Settings, now: datetime, account: str | None = None,
            comment_id: int | None = None) -> int:
    """Add the event to the outbox in ``session``'s transaction: one row per target that
    listens to it (an emergency's later targets due after the escalation minutes). A key
    already stored for a target is not stored again. Returns the rows added."""
    if event not in NOTIFY_EVENTS:
        raise ValueError(_("unknown event {event!r}").format(event=event))
    targets = settings.notify.for_event(event)
    step = timedelta(minutes=settings.notify.escalate_after_minutes)
    rows = [{
        "event": event, "target": t.name, "dedupe_key": dedupe_key[:200],
        "level": level if event == NotifyEvent.EMERGENCY else 0, "account": account,
        "comment_id": comment_id, "payload": payload,
        "status": NotificationStatus.PENDING, "attempts": 0,
        "next_attempt_at": now + step * level if event == NotifyEvent.EMERGENCY else now,
        "created_at": now, "updated_at": now,
    } for level, t in enumerate(targets)]
    if not rows:
        return 0
    table = SQLModel.metadata.tables["notifications"]
    return insert_ignore(session, table, rows, ["target", "dedupe_key"])


def post_failed(session: Session, rt: Runtime, post_id: int | None, account: str, error: str | None,
                now: datetime) -> None:
    """A post became ``failed`` in this transaction (only if this worker's update landed)."""
    row = session.execute(select(col(Post.status), col(Post.text)).where(
        col(Post.id) == post_id)).first()
    if row is None or row[0] != PostStatus.FAILED:
        return
    enqueue(session, NotifyEvent.POST_FAILED, {"post_id": post_id, "account": account,
                                     "error": (error or "")[:500], "text": row[1][:200]},
            dedupe_key=f"post_failed:{post_id}", settings=rt.settings, now=now, account=account)


def needs_reauth(session: Session, rt: Runtime, account: str, reason: str, now: datetime) -> None:
    """The account is about to become ``needs_reauth`` in this transaction (call before the
    UPDATE): notified once per episode, not again while it stays so."""
    state = session.execute(select(col(Account.state)).where(col(Account.name) == account)
                            .with_for_update()).scalar()
    if state == AccountState.NEEDS_REAUTH:
        return
    enqueue(session, NotifyEvent.NEEDS_REAUTH, {"account": account, "reason": reason[:500]},
            dedupe_key=f"needs_reauth:{account}:{now.isoformat()}", settings=rt.settings,
            now=now, account=account)


def emergencies(session: Session, rt: Runtime, comments: Iterable[Comment], now: datetime) -> None:
    """New emergency comments stored in this transaction (their redacted text only)."""
    for c in comments:
        enqueue(session, NotifyEvent.EMERGENCY, {
            "comment_id": c.id, "account": c.account, "post_id": c.post_id,
            "text": (c.text or "")[:500], "url": c.url, "labels": c.labels or [],
            "created_at": c.created_at.isoformat() if c.created_at else None,
        }, dedupe_key=f"emergency:{c.id}", settings=rt.settings, now=now, account=c.account,
            comment_id=c.id)


def tokens_expiring(rt: Runtime, now: datetime) -> int:
    """Tokens that expire within three days: one notification per token."""
    targets = rt.settings.notify.for_event(NotifyEvent.TOKEN_EXPIRING)
    if not targets:
        return 0
    with rt.db.reader() as s:  # the daemon asks every few seconds: write only what is new
        rows = [(name, expires) for name, expires in s.execute(
            select(col(Account.name), col(Account.token_expires_at)).where(
                col(Account.token_expires_at).is_not(None),
                col(Account.token_expires_at) < now + TOKEN_WARNING)).all()
            if name in rt.settings.accounts
            and not stored(s, targets, f"token_expiring:{name}:{expires.isoformat()}")]
    if not rows:
        return 0
    added = 0
    with rt.db.session() as s:
        for name, expires in rows:
            added += enqueue(s, NotifyEvent.TOKEN_EXPIRING, {"account": name,
                                                   "expires_at": expires.isoformat()},
                             dedupe_key=f"token_expiring:{name}:{expires.isoformat()}",
                             settings=rt.settings, now=now, account=name)
        s.commit()
    return added


def stored(session: Session, targets: Sequence[NotifyTarget], key: str) -> bool:
    """Whether every target already has the event (the unique index answers it)."""
    n = session.execute(select(func.count()).select_from(Notification).where(
        col(Notification.target).in_([t.name for t in targets]),
        col(Notification.dedupe_key) == key)).scalar()
    return bool(n and n >= len(targets))
