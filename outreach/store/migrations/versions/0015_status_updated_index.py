"""An index for posts by status and last change: the dashboard and ``status`` count the
posts that failed in the last 24 hours and those stuck publishing; without it both read
every failed or publishing post's row (tens of thousands after a year of a province).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_index("ix_posts_status_updated", "posts", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_status_updated", table_name="posts")
