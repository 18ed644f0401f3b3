"""The audit log: who did what, when and why — written in the same transaction as the change."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from outreach.store.models import AuditLog


@functools.cache
def _audit_insert() -> Any:
    return insert(AuditLog.__table__)  # type: ignore[attr-defined]


def audit(session: Session, now: datetime, actor: str, action: str, *, account: str | None = None,
          post_id: int | None = None, target: str | None = None, reason: str | None = None,
          detail: dict[str, Any] | None = None) -> None:
    """One audit row for a change made in ``session`` (not committed here)."""
    session.execute(_audit_insert(), {
        "at": now, "actor": actor, "action": action, "account": account, "post_id": post_id,
        "target": target, "reason": reason, "detail": detail})
