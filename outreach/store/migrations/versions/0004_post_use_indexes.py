"""Indexes the planner reads tip uses and an account's last slot from.

``ix_posts_tip_uses`` covers the history of tip uses, so a year of it is read without
touching post rows (it replaces ``ix_posts_account_tip``, its prefix); ``ix_posts_account_kind``
finds an account's last slot row at once. ``ix_posts_account_status`` stays narrow: the
reports scan it.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("ix_posts_account_tip", table_name="posts")
    op.create_index("ix_posts_tip_uses", "posts",
                    ["account", "tip_id", "status", "published_at", "scheduled_at", "variant"])
    op.create_index("ix_posts_account_kind", "posts", ["account", "kind", "scheduled_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_account_kind", table_name="posts")
    op.drop_index("ix_posts_tip_uses", table_name="posts")
    op.create_index("ix_posts_account_tip", "posts", ["account", "tip_id", "published_at"])
