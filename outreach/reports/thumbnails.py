"""Small pictures for the HTML report: a top post's first picture as a JPEG thumbnail,
embedded as a ``data:`` URI so the report stays one self-contained file (nothing fetched,
no ``src`` that leaves the file)."""

from __future__ import annotations

import base64
import io
import logging
import warnings

from outreach.media.store import MediaMissing, MediaStore

log = logging.getLogger(__name__)

THUMBNAIL_PIXELS = 160  # the longer side
QUALITY = 70


def thumbnail(store: MediaStore, sha256: str) -> str | None:
    """The stored picture as a small JPEG ``data:`` URI; None when it cannot be read (the
    report is still made, without it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        data = store.get(sha256)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode small
                small = image.convert("RGBA") if image.mode in ("P", "LA") else image
                small = small.copy()
        small.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
        if small.mode != "RGB":  # transparency over white, as a page shows it
            flat = Image.new("RGB", small.size, "white")
            flat.paste(small, mask=small.getchannel("A") if "A" in small.getbands() else None)
            small = flat
        out = io.BytesIO()
        small.save(out, "JPEG", quality=QUALITY, optimize=True)
    except (MediaMissing, UnidentifiedImageError, OSError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        log.warning("report: no thumbnail for image %s: %s", sha256[:12], exc)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
