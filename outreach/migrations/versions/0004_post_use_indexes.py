"""Indexes the planner reads tip uses and an account's last slot from.

``ix_posts_account_use`` extends ``(account, status)`` to cover the history of tip uses,
so a year of it is read without touching post rows; ``ix_posts_account_kind`` finds the
last slot row at once.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("ix_posts_account_tip", table_name="posts")
    op.drop_index("ix_posts_account_status", table_name="posts")
    op.create_index("ix_posts_account_use", "posts",
                    ["account", "status", "tip_id", "published_at", "scheduled_at", "variant"])
    op.create_index("ix_posts_account_kind", "posts", ["account", "kind", "scheduled_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_account_kind", table_name="posts")
    op.drop_index("ix_posts_account_use", table_name="posts")
    op.create_index("ix_posts_account_status", "posts", ["account", "status"])
    op.create_index("ix_posts_account_tip", "posts", ["account", "tip_id", "published_at"])
