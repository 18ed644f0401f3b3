"""An index for the queued slot posts by time: the daemon's tick asks every second
whether one of them has passed its catch-up window, and the publisher which ones to
expire; without it both read every queued post (thousands, with a thousand accounts).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.create_index("ix_posts_status_kind_scheduled", "posts", ["status", "kind", "scheduled_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_status_kind_scheduled", table_name="posts")
