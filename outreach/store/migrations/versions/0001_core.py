"""Core tables: accounts, tips, approvals, posts, audit_log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String, nullable=True),
        sa.Column("handle", sa.String, nullable=True),
        sa.Column("followers", sa.Integer, nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("token_expires_at", TS, nullable=True),
        sa.Column("comments_since_id", sa.String, nullable=True),
        sa.Column("counts_fallback", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=True),
    )
    op.create_table(
        "tips",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("category", sa.String(64), nullable=False, index=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("file", sa.String, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=True),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tip_id", sa.String(100), nullable=False, index=True),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=False),
        sa.Column("approved_at", TS, nullable=False),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("slot_key", sa.String(120), nullable=True, unique=True),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("tip_id", sa.String(100), nullable=True),
        sa.Column("variant", sa.Integer, nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("reply_to_comment_id", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("remote_id", sa.String(100), nullable=True),
        sa.Column("remote_url", sa.String, nullable=True),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ambiguous", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("catch_up", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("first_attempt_at", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("metrics_checked_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=True),
    )
    op.create_index("ix_posts_due", "posts", ["status", "not_before"])
    op.create_index("ix_posts_account_status", "posts", ["account", "status"])
    op.create_index("ix_posts_scheduled", "posts", ["scheduled_at"])
    op.create_index("ix_posts_account_tip", "posts", ["account", "tip_id", "published_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("post_id", sa.Integer, nullable=True, index=True),
        sa.Column("target", sa.String(120), nullable=True),
        sa.Column("reason", sa.String, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
