"""Emergency alerts: after the sweep, oldest first, each once.

``[opinions] alert_command`` runs for every emergency comment that owes an alert, with
the comment as JSON on stdin; a lease keeps two daemons from running the same one.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlmodel import col

from outreach.store.db import rowcount
from outreach.store.models import Comment

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

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


def remember_original(rt: Runtime, comment_id: int, text: str) -> None:
    with _originals_lock:
        _originals[(rt.db.url, comment_id)] = text
        while len(_originals) > _ORIGINALS_KEPT:
            _originals.popitem(last=False)


def _take_original(rt: Runtime, comment_id: int, *, forget: bool) -> str | None:
    with _originals_lock:
        if forget:
            return _originals.pop((rt.db.url, comment_id), None)
        return _originals.get((rt.db.url, comment_id))


@dataclass
class AlertSummary:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def deliver_alerts(rt: Runtime, *, limit: int = 100) -> AlertSummary:
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
            claimed = rowcount(s.execute(update(Comment).where(
                col(Comment.id) == comment_id, *owed,
                or_(col(Comment.alert_lease_until).is_(None),
                    col(Comment.alert_lease_until) < now))
                .values(alert_lease_until=now + ALERT_LEASE,
                        alert_attempts=col(Comment.alert_attempts) + 1)))
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
