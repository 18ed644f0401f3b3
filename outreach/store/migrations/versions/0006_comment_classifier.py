"""Which classifier recognised a comment, and the model's emergency probability.

``fired`` is ``rules``, ``model``, ``both`` or empty (neither recognised it: unread);
``emergency_probability`` is the learned model's probability that the comment is an
emergency. Both are NULL for comments classified before the model existed and for the
account's own replies.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("fired", sa.String(8), nullable=True))
        batch.add_column(sa.Column("emergency_probability", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("emergency_probability")
        batch.drop_column("fired")
