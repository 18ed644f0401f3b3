"""What officers do to accounts as a whole: pause and resume posting (incident mode),
and the account rows every configured account needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlmodel import SQLModel, col

from outreach.actions.users import Permission, require_by_name
from outreach.errors import InputError
from outreach.states import AccountState
from outreach.store.audit import audit
from outreach.store.db import insert_ignore
from outreach.store.models import Account, Pause

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def sync_accounts(rt: Runtime) -> None:
    """Make sure every configured account has its row."""
    now = rt.clock()
    with rt.db.session() as s:
        existing = set(s.execute(select(col(Account.name))).scalars())
        missing = [
            {"name": a.name, "platform": a.platform, "state": AccountState.ACTIVE,
             "counts_fallback": False, "created_at": now}
            for a in rt.settings.accounts.values() if a.name not in existing
        ]
        if missing:
            insert_ignore(s, SQLModel.metadata.tables["accounts"], missing, "name")
        s.commit()


def pause(rt: Runtime, account: str | None, *, reason: str, by: str) -> Pause:
    """Stop automatic posting now, on one account or (``None``) on all, audited. A ``by``
    naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.PAUSE)
    if account is not None:
        rt.settings.account(account)
    if not reason.strip():
        raise InputError("--reason must not be empty")
    now = rt.clock()
    with rt.db.session() as s:
        p = Pause(account=account, reason=reason.strip(), paused_by=by, started_at=now)
        s.add(p)
        audit(s, now, by, "pause", account=account, reason=reason.strip())
        s.commit()
        return p


def resume(rt: Runtime, account: str | None, *, by: str) -> int:
    """End open pauses (of one account, or the global ones); returns how many ended.
    A ``by`` naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.PAUSE)
    if account is not None:
        rt.settings.account(account)
    now = rt.clock()
    with rt.db.session() as s:
        cond = col(Pause.account).is_(None) if account is None else col(Pause.account) == account
        n = s.execute(update(Pause).where(cond, col(Pause.ended_at).is_(None))
                      .values(ended_at=now, ended_by=by)).rowcount  # type: ignore[attr-defined]
        if n:
            audit(s, now, by, "resume", account=account)
        s.commit()
        return int(n or 0)
