"""Indexes that bound the reports' engagement query by its period.

A period's engagement counts the posts published in it and the older posts whose counts
changed in it (a snapshot taken in it). ``ix_posts_published`` finds the first and
``ix_post_metrics_observed`` the second, so a month's report of a thousand accounts reads
that month's posts and snapshots instead of every post of the accounts' history.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_index("ix_posts_published", "posts", ["published_at"])
    op.create_index("ix_post_metrics_observed", "post_metrics", ["observed_at", "post_id"])


def downgrade() -> None:
    op.drop_index("ix_post_metrics_observed", table_name="post_metrics")
    op.drop_index("ix_posts_published", table_name="posts")
