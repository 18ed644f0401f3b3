"""A period's posts read from the index alone: ``ix_posts_account_published`` (account,
status, time) now carries each post's kind and category, and on PostgreSQL its id (SQLite's
indexes carry the row id anyway). The report counts the posts an account published in a
period from it (≈177k a month for a province of 1000 accounts); each was a look-up of the
post's row in the table.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.drop_index("ix_posts_account_published", table_name="posts")
    op.create_index("ix_posts_account_published", "posts",
                    ["account", "status", "published_at", "kind", "category"],
                    postgresql_include=["id"])


def downgrade() -> None:
    op.drop_index("ix_posts_account_published", table_name="posts")
    op.create_index("ix_posts_account_published", "posts", ["account", "status", "published_at"])
