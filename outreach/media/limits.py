"""The limits a platform puts on pictures, and the picture types a post may carry.

Apart from the checks themselves (``media.images``, which loads Pillow), so that the
clients can say what they accept without loading an image library."""

from __future__ import annotations

from dataclasses import dataclass

MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                  "WEBP": "image/webp"}
"""The formats a post may carry, by Pillow's format name."""

FORMAT_BY_MIME = {mime: fmt for fmt, mime in MIME_BY_FORMAT.items()}


@dataclass(frozen=True)
class MediaLimits:
    """What one platform accepts on one post."""

    max_count: int
    max_bytes: int
    max_pixels: int | None
    mimes: frozenset[str]

    def allows(self, mime: str) -> bool:
        return mime in self.mimes

