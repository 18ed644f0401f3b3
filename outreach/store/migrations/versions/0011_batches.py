"""Fan-out batches: one row per fan-out to a group, and the batch id on each of its posts,
so a batch is listed, approved and cancelled as one. Rate budgets: the calls a platform app
made in an hour, shared by every daemon on the database.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("accounts", sa.String(100), nullable=False),
        sa.Column("tip_id", sa.String(100), nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stagger_seconds", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "rate_budgets",
        sa.Column("app", sa.String(100), primary_key=True),
        sa.Column("window_end", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
    )
    # plain ADD COLUMN (no table copy on SQLite: posts may hold millions of rows)
    op.add_column("posts", sa.Column("batch_id", sa.Integer, nullable=True))
    op.create_index("ix_posts_batch_id", "posts", ["batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_index("ix_posts_batch_id")
        batch.drop_column("batch_id")
    op.drop_table("batches")
    op.drop_table("rate_budgets")
