"""The console's users (roles, Argon2 password hashes) and its login attempts, which the
throttle counts: kept in the database so a restart or a second web process sees them too.
An index finds the open emergencies of each account (the dashboard and `status`) without
reading every comment.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False, server_default="zh"),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("disabled_by", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=True),
        sa.Column("password_changed_at", TS, nullable=True),
        sa.Column("last_login_at", TS, nullable=True),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_index("ix_login_attempts_user", "login_attempts", ["username", "at"])
    op.create_index("ix_login_attempts_address", "login_attempts", ["address", "at"])
    op.create_index("ix_comments_class_replied", "comments", ["class", "replied_at", "account"])


def downgrade() -> None:
    op.drop_index("ix_comments_class_replied", table_name="comments")
    op.drop_index("ix_login_attempts_address", table_name="login_attempts")
    op.drop_index("ix_login_attempts_user", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("users")
