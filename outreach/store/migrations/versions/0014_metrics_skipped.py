"""What a rate limit left a metrics sweep to skip, noted on the account for `outreach
status` until a later sweep gets through.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    # plain ADD COLUMN (no table copy on SQLite)
    op.add_column("accounts", sa.Column("metrics_skipped", sa.Integer, nullable=True))
    op.add_column("accounts", sa.Column("metrics_skipped_reason", sa.String, nullable=True))
    op.add_column("accounts", sa.Column("metrics_skipped_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("accounts", sa.Column("metrics_resume_at", sa.DateTime(timezone=True),
                                        nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("metrics_resume_at")
        batch.drop_column("metrics_skipped_at")
        batch.drop_column("metrics_skipped_reason")
        batch.drop_column("metrics_skipped")
