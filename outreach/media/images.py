"""What an image is once checked: its type read from its bytes (never its name), its size,
and the limits a platform puts on pictures.

``prepare`` (checks, EXIF orientation applied then every EXIF/metadata block dropped,
re-encoding or scaling to fit a platform's limits, decompression bombs refused) lives here
too, so the queue, the library check and the publisher share one idea of a valid picture.
"""

from __future__ import annotations

from dataclasses import dataclass

MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                  "WEBP": "image/webp"}
"""The formats a post may carry, by Pillow's format name."""


@dataclass(frozen=True)
class MediaLimits:
    """What one platform accepts on one post."""

    max_count: int
    max_bytes: int
    max_pixels: int | None
    mimes: frozenset[str]

    def allows(self, mime: str) -> bool:
        return mime in self.mimes


NO_MEDIA = MediaLimits(max_count=0, max_bytes=0, max_pixels=None, mimes=frozenset())


@dataclass(frozen=True)
class ImageInfo:
    """A checked image as stored: the bytes to publish and what they are."""

    sha256: str
    mime: str
    size: int  # bytes
    width: int
    height: int
