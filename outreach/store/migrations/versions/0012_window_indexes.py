"""Indexes that bound the reports' reads by their period.

A period's engagement counts the accounts' posts published in it and the older posts whose
counts changed in it (a snapshot taken in it); the matrix report also reads when each
account's posts went out and the comments of the period that wanted a reply. Each of these
reads is ``account IN (…)`` plus a time range: ``ix_posts_account_published`` and
``ix_comments_account_created`` seek each account's range, ``ix_post_metrics_observed`` the
period's snapshots, so a month's report of a thousand accounts reads that month's rows
instead of every row of the accounts' history.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_index("ix_posts_account_published", "posts", ["account", "status", "published_at"])
    op.create_index("ix_post_metrics_observed", "post_metrics", ["observed_at", "post_id"])
    op.create_index("ix_comments_account_created", "comments", ["account", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_comments_account_created", table_name="comments")
    op.drop_index("ix_post_metrics_observed", table_name="post_metrics")
    op.drop_index("ix_posts_account_published", table_name="posts")
