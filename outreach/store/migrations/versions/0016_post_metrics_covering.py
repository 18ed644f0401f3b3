"""A post's latest counts at an instant, read from the index alone: ``ix_post_metrics_post_latest``
(post, time, id) replaces ``ix_post_metrics_post_time`` (post, time) and, on PostgreSQL,
carries the three counts. A month's engagement looks up two snapshots for each post that
moved (≈190k a month for a province of 1000 accounts); each look-up read the snapshot's
row from the table as well, and sorted its ties by id.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_index("ix_post_metrics_post_latest", "post_metrics", ["post_id", "observed_at", "id"],
                    postgresql_include=["reposts", "comments", "likes"])
    op.drop_index("ix_post_metrics_post_time", table_name="post_metrics")


def downgrade() -> None:
    op.create_index("ix_post_metrics_post_time", "post_metrics", ["post_id", "observed_at"])
    op.drop_index("ix_post_metrics_post_latest", table_name="post_metrics")
