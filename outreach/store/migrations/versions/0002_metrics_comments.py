"""Metrics snapshots and the public's comments.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post_metrics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("reposts", sa.Integer, nullable=True),
        sa.Column("comments", sa.Integer, nullable=True),
        sa.Column("likes", sa.Integer, nullable=True),
    )
    op.create_index("ix_post_metrics_post_time", "post_metrics", ["post_id", "observed_at"])
    op.create_table(
        "account_metrics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("followers", sa.Integer, nullable=True),
        sa.Column("following", sa.Integer, nullable=True),
        sa.Column("statuses", sa.Integer, nullable=True),
    )
    op.create_index(
        "ix_account_metrics_account_time", "account_metrics", ["account", "observed_at"]
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.String(100), nullable=False),
        sa.Column("post_id", sa.Integer, nullable=True),
        sa.Column("in_reply_to_remote_id", sa.String(100), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("url", sa.String, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("fetched_at", TS, nullable=True),
        sa.Column("class", sa.String(32), nullable=True),
        sa.Column("labels", sa.Text, nullable=True),
        sa.Column("is_own", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("needs_reply", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("replied_at", TS, nullable=True),
        sa.Column("redacted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("account", "remote_id", name="uq_comments_account_remote"),
    )
    op.create_index("ix_comments_post", "comments", ["post_id"])
    op.create_index("ix_comments_created", "comments", ["created_at"])
