"""Rate budgets shared by every process on one database: one row per app and hour
(``rate_budgets``), taken one call at a time by a conditional update, so any number of
daemons using the same Weibo app stay inside its hourly budget together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import SQLModel, col

from outreach.store.db import Database, insert_ignore, rowcount
from outreach.store.models import RateBudgetRow


class DatabaseBudget:
    """``SharedBudget`` (clients/weibo/budget.py) kept in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, app: str, window_end: datetime, limit: int) -> bool:
        """One more call of ``app`` in the hour ending at ``window_end``, unless ``limit``
        are counted already. The row is made if missing, then one ``UPDATE … WHERE used <
        limit``: the database serialises concurrent takers (SQLite's write lock,
        PostgreSQL's row lock), so two processes never both take the last call."""
        table = SQLModel.metadata.tables[RateBudgetRow.__tablename__]
        with self.db.session() as s:
            insert_ignore(s, table, [{"app": app, "window_end": window_end, "used": 0}],
                          ["app", "window_end"])
            taken = rowcount(s.execute(update(RateBudgetRow).where(
                col(RateBudgetRow.app) == app, col(RateBudgetRow.window_end) == window_end,
                col(RateBudgetRow.used) < limit,
            ).values(used=col(RateBudgetRow.used) + 1))) == 1
            s.commit()
        return taken
