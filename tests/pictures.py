"""Pictures for tests: small real images made with Pillow, and a post's pictures stored as
queueing stores them — the bytes ``put`` into the workspace's media store, one
``post_media`` row each (digest, type, size, dimensions, alt text; no upload id yet)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from outreach.media.limits import MIME_BY_FORMAT
from outreach.media.store import MediaStore
from outreach.runtime import Runtime
from outreach.store.models import PostMedia


def picture(colour: str = "red", size: tuple[int, int] = (120, 80), fmt: str = "PNG",
            exif: bytes | None = None) -> bytes:
    """A small image of one colour, in ``fmt`` (with ``exif`` when given, JPEG only)."""
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    if exif is not None:
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def attach(rt: Runtime, post_id: int, pictures: Sequence[tuple[bytes, str]]) -> list[PostMedia]:
    """Store ``(bytes, alt)`` pictures on a queued post, in order."""
    store = MediaStore(rt.settings.media_dir)
    rows = []
    now = rt.clock()
    with rt.db.session() as s:
        for position, (data, alt) in enumerate(pictures):
            with Image.open(io.BytesIO(data)) as image:
                mime = MIME_BY_FORMAT[str(image.format)]
                width, height = image.size
            row = PostMedia(post_id=post_id, position=position, sha256=store.put(data),
                            mime=mime, size=len(data), width=width, height=height, alt=alt,
                            created_at=now)
            s.add(row)
            rows.append(row)
        s.commit()
        for row in rows:
            s.refresh(row)
    return rows


def pictures_of(rt: Runtime, post_id: int) -> list[PostMedia]:
    from outreach.publish.media import pictures_of as read

    return read(rt, post_id)
