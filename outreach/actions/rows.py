"""Rows by id, for the actions and the queries alike: ``NotFound`` when there is none.

Kept apart from the actions that write, so that a read (``queue list``, a post's page)
loads no more of the program than it uses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from outreach.errors import NotFound
from outreach.i18n import _
from outreach.opinions.inbox import MAX_ID
from outreach.store.models import Batch, Post, PostMedia


def get_post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id) if 0 < post_id <= MAX_ID else None
    if post is None:
        raise NotFound(_("no post with id {post_id}").format(post_id=post_id))
    return post


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id) if 0 < batch_id <= MAX_ID else None
    if batch is None:
        raise NotFound(_("no batch with id {batch_id}").format(batch_id=batch_id))
    return batch


def post_media(session: Session, post_ids: Sequence[int]) -> dict[int, list[PostMedia]]:
    """The pictures of these posts, in order, by post id."""
    out: dict[int, list[PostMedia]] = {}
    if not post_ids:
        return out
    rows = session.execute(select(PostMedia).where(col(PostMedia.post_id).in_(post_ids))
                           .order_by(col(PostMedia.post_id), col(PostMedia.position))).scalars()
    for row in rows:
        out.setdefault(row.post_id, []).append(row)
    return out
