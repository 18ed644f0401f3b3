"""What officers do to accounts as a whole: pause and resume posting (incident mode),
and the account rows every configured account needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlmodel import SQLModel, col

from outreach.actions.users import Permission, require_by_name
from outreach.errors import InputError
from outreach.i18n import _
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


def pause(rt: Runtime, account: str | None, *, reason: str, by: str) -> list[Pause]:
    """Stop automatic posting now, audited: on one account, on each account of a group
    (``@name``), or (``None``) on all. A ``by`` naming a console user needs the approver
    role."""
    require_by_name(rt, by, Permission.PAUSE)
    names: tuple[str | None, ...] = rt.settings.select(account) or (None,)
    if not reason.strip():
        raise InputError(_("--reason must not be empty"))
    now = rt.clock()
    with rt.db.session() as s:
        made = [Pause(account=name, reason=reason.strip(), paused_by=by, started_at=now)
                for name in names]
        s.add_all(made)
        for name in names:
            audit(s, now, by, "pause", account=name, reason=reason.strip(),
                  target=account if account != name else None)
        s.commit()
        return made


def resume(rt: Runtime, account: str | None, *, by: str) -> int:
    """End open pauses (of one account, of each account of a group, or the global ones);
    returns how many ended. A ``by`` naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.PAUSE)
    names = rt.settings.select(account)
    now = rt.clock()
    with rt.db.session() as s:
        cond = (col(Pause.account).is_(None) if names is None
                else col(Pause.account).in_(names))
        ended = s.execute(select(col(Pause.account)).where(
            cond, col(Pause.ended_at).is_(None))).scalars().all()
        n = s.execute(update(Pause).where(cond, col(Pause.ended_at).is_(None))
                      .values(ended_at=now, ended_by=by)).rowcount  # type: ignore[attr-defined]
        for name in dict.fromkeys(ended):
            audit(s, now, by, "resume", account=name,
                  target=account if account not in (None, name) else None)
        s.commit()
        return int(n or 0)
