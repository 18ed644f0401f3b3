"""The inbox's rows: one comment of the public by id (what answering, acknowledging and
escalating look up). Listing and answering comments are in ``outreach.actions``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.i18n import _
from outreach.store.models import Comment

MAX_ID = 2**63 - 1  # SQLite's and PostgreSQL's largest integer


def get_comment(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None
    if comment is None or comment.is_own:
        raise NotFound(_("no comment with id {comment_id}").format(comment_id=comment_id))
    return comment
