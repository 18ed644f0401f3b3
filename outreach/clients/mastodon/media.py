"""Pictures on Mastodon: the upload, the wait for processing, and the check that a
status carries every picture it was given.

``POST /api/v2/media`` (multipart: ``file``, ``description`` = the alt text) answers 200
with the attachment once processed, or 202 with ``url: null`` while the server still
processes it; then ``GET /api/v1/media/:id`` is asked (206 while processing) until
``url`` is set, within the request deadline (``[outreach] request_deadline_seconds``)
counted from the upload — a picture still unprocessed then is a transient failure.

Unattached uploads expire. Mastodon ≥ 4.3 refuses a status naming an unknown id (422
"Media … not found or already attached to another post": ``MediaExpired``, see
``errors.py``); older servers and the test peer silently leave it out, so ``publish``
compares the attachments of the status it got back with what it sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from outreach.clients.base import Attachment, Clock
from outreach.clients.mastodon.parse import seg, str_id
from outreach.errors import ContentRejected, TransientError
from outreach.i18n import _

if TYPE_CHECKING:
    from outreach.clients.mastodon.api import Api

log = logging.getLogger(__name__)

MEDIA_UPLOAD = "/api/v2/media"
MEDIA = "/api/v1/media"
MAX_DESCRIPTION = 1500  # Mastodon's MediaAttachment::MAX_DESCRIPTION_LENGTH
FIRST_POLL = 0.5  # seconds; doubles up to POLL_CAP while the server processes
POLL_CAP = 5.0
_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}

Sleep = Callable[[float], None]


def upload(api: Api, data: bytes, *, mime: str, alt: str, deadline: float, clock: Clock,
           sleep: Sleep) -> str:
    """Upload one picture and wait until it is processed; its media id."""
    if not alt.strip():
        raise ContentRejected(_("a picture needs alt text (its description)"))
    if len(alt) > MAX_DESCRIPTION:
        raise ContentRejected(_("the alt text is {alt} characters; Mastodon takes {MAX_DESCRIPTION}").format(
            alt=len(alt), MAX_DESCRIPTION=MAX_DESCRIPTION))
    started = clock()
    name = f"picture.{_EXTENSION.get(mime, 'bin')}"
    body = api.call_json("POST", MEDIA_UPLOAD, files={"file": (name, data, mime)},
                         data={"description": alt}, write=True)
    media_id = str_id(body.get("id")) if isinstance(body, dict) else None
    if media_id is None:
        raise api.unreadable("POST", MEDIA_UPLOAD, "the answer has no media id", write=True)
    wait = FIRST_POLL
    while not _processed(body):
        left = deadline - (clock() - started).total_seconds()
        if left <= 0:
            raise TransientError(_("mastodon: picture {media_id} is still being processed after "
                                   "{deadline:g} s; try again later").format(
                media_id=media_id, deadline=deadline))
        sleep(min(wait, left))
        wait = min(wait * 2, POLL_CAP)
        body = api.get_json(f"{MEDIA}/{seg(media_id)}")
    log.info("mastodon %s: uploaded picture %s (%s bytes)", api.account_name, media_id,
             len(data))
    return media_id


def _processed(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("url"), str) and bool(body["url"])


def status_key(idempotency_key: str, media: Sequence[Attachment]) -> str:
    """The ``Idempotency-Key`` of a status: the post's own key, plus — for a status with
    pictures — a digest of their upload ids. Every retry with the same uploads sends the
    same key; after the server forgot an upload and the pictures were uploaded again, the
    new request (new ids) is not answered with the status of the old one."""
    ids = [m.remote_id or "" for m in media]
    if not ids:
        return idempotency_key
    digest = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
    return f"{idempotency_key}-m{digest}"


def attached(body: dict[str, Any]) -> set[str]:
    """The media ids a status answer carries."""
    found = body.get("media_attachments")
    return {i for a in (found if isinstance(found, list) else [])
            if isinstance(a, dict) and (i := str_id(a.get("id"))) is not None}
