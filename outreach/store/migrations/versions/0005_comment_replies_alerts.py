"""Comments: reply_required apart from replied_at, owed alerts, owed comment fetches.

- ``comments.needs_reply`` becomes ``reply_required``: whether the comment's class wants an
  answer, kept once it is answered (``replied_at`` says when). Rows answered before this
  revision had the flag cleared; they get it back when their class is one that wants an
  answer (the shipped opinions.toml: emergency, help, tip, complaint, inquiry).
- ``labels`` held a JSON string of a JSON list; it now holds the list.
- ``alert_due_at``, ``alerted_at``, ``alert_attempts``, ``alert_lease_until``: emergency
  alerts are delivered after the sweep, once each. Emergencies stored before this revision
  were alerted when they were stored, so they count as delivered.
- ``posts.comments_due`` and ``posts.comments_cursor``: comments are owed per post until
  they are stored. A post of the last week whose latest comment count is above the
  comments stored for it is owed now (its comments were lost by a failed fetch); the
  cursor of the others is the account's old one.

Revision ID: 0005
Revises: 0004
"""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

TS = sa.DateTime(timezone=True)
REPLY_CLASSES = ("emergency", "help", "tip", "complaint", "inquiry")


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.alter_column("needs_reply", new_column_name="reply_required",
                           existing_type=sa.Boolean, existing_nullable=False,
                           existing_server_default=sa.false())
        batch.add_column(sa.Column("alert_due_at", TS, nullable=True))
        batch.add_column(sa.Column("alerted_at", TS, nullable=True))
        batch.add_column(sa.Column("alert_attempts", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("alert_lease_until", TS, nullable=True))
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("comments_due", sa.Integer, nullable=True))
        batch.add_column(sa.Column("comments_cursor", sa.String(100), nullable=True))

    conn = op.get_bind()
    comments = sa.table("comments", sa.column("id", sa.Integer), sa.column("labels", sa.Text),
                        sa.column("class", sa.String), sa.column("is_own", sa.Boolean),
                        sa.column("reply_required", sa.Boolean), sa.column("replied_at", TS),
                        sa.column("fetched_at", TS), sa.column("created_at", TS),
                        sa.column("alert_due_at", TS), sa.column("alerted_at", TS),
                        sa.column("post_id", sa.Integer), sa.column("account", sa.String))
    c = comments.c
    conn.execute(sa.update(comments).where(
        c.replied_at.is_not(None), c.is_own.is_(False), c["class"].in_(REPLY_CLASSES),
    ).values(reply_required=True))
    at = sa.func.coalesce(c.fetched_at, c.created_at)
    conn.execute(sa.update(comments).where(c["class"] == "emergency", c.is_own.is_(False))
                 .values(alert_due_at=at, alerted_at=at))

    fixed = []
    for row_id, raw in conn.execute(sa.select(c.id, c.labels).where(c.labels.like('"%'))):
        try:
            inner = json.loads(raw)
            value = json.loads(inner) if isinstance(inner, str) else inner
        except ValueError:
            continue
        if isinstance(value, list):
            fixed.append({"b_id": row_id,
                          "b_labels": json.dumps(value, ensure_ascii=False, sort_keys=True)})
    if fixed:
        conn.execute(sa.update(comments).where(c.id == sa.bindparam("b_id"))
                     .values(labels=sa.bindparam("b_labels")), fixed)

    posts = sa.table("posts", sa.column("id", sa.Integer), sa.column("account", sa.String),
                     sa.column("published_at", TS),
                     sa.column("comments_due", sa.Integer),
                     sa.column("comments_cursor", sa.String))
    accounts = sa.table("accounts", sa.column("name", sa.String),
                        sa.column("comments_since_id", sa.String))
    metrics = sa.table("post_metrics", sa.column("id", sa.Integer),
                       sa.column("post_id", sa.Integer), sa.column("comments", sa.Integer))
    p, a, m = posts.c, accounts.c, metrics.c
    conn.execute(sa.update(posts).values(comments_cursor=sa.select(a.comments_since_id).where(
        a.name == p.account).scalar_subquery()))
    latest = (sa.select(m.comments).where(m.post_id == p.id).order_by(m.id.desc()).limit(1)
              .scalar_subquery())
    stored = sa.select(sa.func.count()).where(c.post_id == p.id).scalar_subquery()
    # only posts of the last week (the comment sweep's window): reading every old post's
    # comments again would spend a platform's hourly budget for days
    cutoff = datetime.now(UTC) - timedelta(days=7)
    if conn.dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)
    conn.execute(sa.update(posts).where(p.published_at >= cutoff, latest > stored)
                 .values(comments_due=latest, comments_cursor=None))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("comments_cursor")
        batch.drop_column("comments_due")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("alert_lease_until")
        batch.drop_column("alert_attempts")
        batch.drop_column("alerted_at")
        batch.drop_column("alert_due_at")
        batch.alter_column("reply_required", new_column_name="needs_reply",
                           existing_type=sa.Boolean, existing_nullable=False,
                           existing_server_default=sa.false())
