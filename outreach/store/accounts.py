"""An account's state changes in one place: the row, its audit and its notification.

``set_account_state`` is the only writer of ``accounts.state`` for a platform's verdict
(``needs_reauth`` after an auth error, ``active`` again once a token works): it updates
the row, writes the audit entry and, on the way to ``needs_reauth``, queues the
notification (once per episode), all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from outreach.notify import outbox
from outreach.states import AccountState
from outreach.store.audit import audit
from outreach.store.models import Account

if TYPE_CHECKING:
    from outreach.runtime import Runtime

def set_account_state(session: Session, rt: Runtime, account: str, state: AccountState,
                      now: datetime, *, actor: str, reason: str | None = None,
                      **values: Any) -> None:
    """Put ``account`` in ``state`` (with any other columns in ``values``). Becoming
    ``needs_reauth`` notifies and is audited as done by ``actor`` for ``reason``, and so is
    coming back from it; both only on the change, not again while the state stays. Not
    committed: the caller's transaction holds the change."""
    was = session.execute(select(col(Account.state)).where(col(Account.name) == account)).scalar()
    if state == AccountState.NEEDS_REAUTH:  # reads the state before the UPDATE below
        outbox.needs_reauth(session, rt, account, reason or "", now)
    session.execute(update(Account).where(col(Account.name) == account)
                    .values(state=state, **values))
    if state == AccountState.NEEDS_REAUTH and was != AccountState.NEEDS_REAUTH:
        audit(session, now, actor, "account_needs_reauth", account=account, reason=reason)
    elif state == AccountState.ACTIVE and was == AccountState.NEEDS_REAUTH:
        audit(session, now, actor, "account_reauthorised", account=account, reason=reason)
