"""A post's pictures on their way out — exactly once, like its text.

For a platform that uploads first (``uploads_media``: Mastodon), each picture without an
upload id is uploaded and its id committed to its ``post_media`` row (``remote_id``,
``uploaded_at``) at once, before the next upload and before the status is created: every
retry, resend and reconciliation then names the same uploads, so a lost answer on the
status create never uploads a file twice. An upload whose answer is lost may leave one
unattached file on the server (it expires there); the post is simply tried again, since
no status was sent. When the server says it no longer knows an upload (``MediaExpired``),
the ids are cleared and the pictures uploaded again, a bounded number of times.

Other platforms (Weibo's multipart ``pic``, the local platform) get the bytes with the
status. The bytes come from the media store and are checked against their digest; a
picture missing there fails the post (``MediaMissing``): never published without it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlmodel import col

from outreach.clients.base import Attachment, Published
from outreach.errors import AmbiguousOutcome, MediaExpired, TransientError
from outreach.i18n import _
from outreach.media.store import MediaStore
from outreach.publish.leases import update
from outreach.store.db import rowcount
from outreach.store.models import PostMedia

if TYPE_CHECKING:
    from outreach.clients.base import MicroblogClient
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

REUPLOADS = 2  # after MediaExpired: upload again and retry at most this many times per send


@functools.cache
def _pictures_query() -> Any:
    """Built once: every send reads its post's pictures."""
    return (select(PostMedia).where(col(PostMedia.post_id) == bindparam("b_post"))
            .order_by(col(PostMedia.position)))


def pictures_of(rt: Runtime, post_id: int) -> list[PostMedia]:
    """The post's pictures, in the order they are shown."""
    with rt.db.reader() as s:
        return list(s.execute(_pictures_query(), {"b_post": post_id}).scalars())


class Pictures:
    """The pictures of one post being sent through one client."""

    def __init__(self, rt: Runtime, client: MicroblogClient, post_id: int) -> None:
        self.rt = rt
        self.client = client
        self.post_id = post_id
        self.rows = pictures_of(rt, post_id)
        self._store = MediaStore(rt.settings.media_dir)

    def _bytes(self, row: PostMedia) -> bytes:
        return self._store.get(row.sha256)  # MediaMissing when gone or changed

    def attachments(self) -> list[Attachment]:
        """What ``publish`` is given: the uploads' ids (uploading what has none first), or
        the bytes themselves."""
        if not self.client.uploads_media:
            return [Attachment(self._bytes(r), r.mime, r.alt) for r in self.rows]
        for row in self.rows:
            if row.remote_id is None:
                self._upload(row)
        return [Attachment(b"", r.mime, r.alt, remote_id=r.remote_id) for r in self.rows]

    def _upload(self, row: PostMedia) -> None:
        data = self._bytes(row)
        try:
            remote_id = self.client.upload_media(data, mime=row.mime, alt=row.alt)
        except AmbiguousOutcome as exc:  # no status was sent: the post is simply tried again
            raise TransientError(_("uploading picture {value}: {message} (no status was sent)").format(
                value=row.position + 1, message=exc.message)) from exc
        now = self.rt.clock()
        with self.rt.db.session() as s:
            stored = rowcount(s.execute(update(PostMedia).where(
                col(PostMedia.id) == row.id, col(PostMedia.remote_id).is_(None),
            ).values(remote_id=remote_id, uploaded_at=now)))
            s.commit()
        if stored:
            row.remote_id, row.uploaded_at = remote_id, now
            log.info("post %s: picture %s uploaded as %s", self.post_id, row.position + 1,
                     remote_id)
            return
        # another worker stored an upload of it first: use that one (ours stays unattached)
        [again] = [r for r in pictures_of(self.rt, self.post_id) if r.id == row.id]
        row.remote_id, row.uploaded_at = again.remote_id, again.uploaded_at
        if row.remote_id is None:
            self._upload(row)

    def forget_uploads(self) -> None:
        """The server no longer knows the uploads: clear their ids (committed)."""
        with self.rt.db.session() as s:
            s.execute(update(PostMedia).where(col(PostMedia.post_id) == self.post_id)
                      .values(remote_id=None, uploaded_at=None))
            s.commit()
        for row in self.rows:
            row.remote_id = row.uploaded_at = None

    def send(self, publish: Callable[[list[Attachment]], Published]) -> Published:
        """``publish`` with the attachments; uploads again when the server forgot them."""
        for attempt in range(REUPLOADS + 1):
            try:
                return publish(self.attachments())
            except MediaExpired as exc:
                if not self.client.uploads_media or attempt == REUPLOADS:
                    raise TransientError(_("{message}; the pictures were uploaded again {attempt} "
                                           "time(s)").format(
                        message=exc.message, attempt=attempt)) from exc
                log.warning("post %s: %s; uploading the pictures again", self.post_id,
                            exc.message)
                self.forget_uploads()
        raise AssertionError("unreachable")

