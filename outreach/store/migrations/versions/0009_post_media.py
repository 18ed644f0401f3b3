"""Pictures on posts: one row per image, in order, its bytes in the media store by SHA-256;
``remote_id`` keeps a platform's upload id so a retry never uploads the same file twice.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post_media",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("alt", sa.Text, nullable=False),
        sa.Column("remote_id", sa.String(100), nullable=True),
        sa.Column("uploaded_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=True),
        sa.UniqueConstraint("post_id", "position", name="uq_post_media_position"),
    )
    op.create_index("ix_post_media_post_id", "post_media", ["post_id"])


def downgrade() -> None:
    op.drop_index("ix_post_media_post_id", table_name="post_media")
    op.drop_table("post_media")
