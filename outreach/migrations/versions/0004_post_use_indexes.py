"""Indexes the planner reads tip uses and the last slot from without touching post rows.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("ix_posts_account_tip", table_name="posts")
    op.create_index("ix_posts_tip_uses", "posts",
                    ["account", "tip_id", "status", "published_at", "scheduled_at", "variant"])
    op.create_index("ix_posts_account_slots", "posts", ["account", "scheduled_at"],
                    sqlite_where=sa.text("slot_key IS NOT NULL"),
                    postgresql_where=sa.text("slot_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_posts_account_slots", table_name="posts")
    op.drop_index("ix_posts_tip_uses", table_name="posts")
    op.create_index("ix_posts_account_tip", "posts", ["account", "tip_id", "published_at"])
