"""How officers handled a comment beside replying, and who has it in hand.

``handled_state`` is ``acknowledged``, ``handed_over`` (to ``handled_to``: 110, a station, a
unit) or ``closed`` (no action needed; the reason in ``handled_note``), set by
``handled_by`` at ``handled_at``; ``assigned_*`` say which officer the comment is assigned to.
All NULL for comments nobody has touched.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

TS = sa.DateTime(timezone=True)
COLUMNS = (
    ("handled_state", sa.String(16)), ("handled_to", sa.String(200)),
    ("handled_by", sa.String(100)), ("handled_at", TS), ("handled_note", sa.Text),
    ("assigned_to", sa.String(100)), ("assigned_by", sa.String(100)), ("assigned_at", TS),
)


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
