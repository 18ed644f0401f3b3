"""The pictures tips name (``images = [{ file = "media/x.png", alt = "…" }]``, paths relative
to ``content/``): read and identified when the library is loaded, and checked against every
configured platform's limits by ``content check`` (:class:`ImageChecker`), and prepared
into the media store for the posts that carry them (:func:`store_tip_image`)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from outreach.config.toml import NonBlank, Shape
from outreach.i18n import _
from outreach.library.model import Library, TipDef, TipImage
from outreach.media.images import (
    MAX_SOURCE_BYTES,
    MIME_BY_FORMAT,
    ImageInfo,
    ImageRejected,
    MediaLimits,
    PreparedImage,
    identify,
    mb,
    prepare,
    verify,
)
from outreach.media.store import MediaStore


class ImageShape(Shape):
    file: NonBlank = Field(description="the picture's file, relative to content/")
    alt: NonBlank = Field(description="alt text: what the picture shows, for people who "
                                      "cannot see it")


class VariantShape(Shape):
    text: NonBlank
    images: list[Any] | None = Field(default=None, description="this variant's pictures "
                                                                "(instead of the tip's)")


def read_tip_image(root: Path, file: str) -> tuple[str, bytes]:
    """The bytes of a tip's picture and their SHA-256; ``ImageRejected`` (naming the file as
    written) when it is outside ``content/``, missing, unreadable or not an image."""
    rel = Path(file)
    path = (root / rel).resolve()
    try:
        path.relative_to(root.resolve())
    except ValueError:
        raise ImageRejected(_("must be a file inside the content folder"), where=file) from None
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise ImageRejected(_("over the {MAX_SOURCE_BYTES} an image file may have").format(
                MAX_SOURCE_BYTES=mb(MAX_SOURCE_BYTES)),
                                where=file)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageRejected(_("file not found"), where=file) from None
    except IsADirectoryError:
        raise ImageRejected(_("is a folder, not an image file"), where=file) from None
    except OSError as exc:
        raise ImageRejected(_("cannot read: {value}").format(
            value=exc.strerror or exc), where=file) from None
    identify(data, name=file)  # the type by content and the size on the header: cheap
    return hashlib.sha256(data).hexdigest(), data


def fits_as_is(data: bytes, name: str, limits: MediaLimits) -> bool:
    """Whether the header alone says the picture needs no converting or scaling."""
    fmt, width, height, _fmt_name = identify(data, name=name)
    return (limits.allows(MIME_BY_FORMAT.get(fmt, "")) and len(data) <= limits.max_bytes
            and (limits.max_pixels is None or width * height <= limits.max_pixels))


def image_problem(data: bytes, name: str, limits: MediaLimits, platform: str) -> str | None:
    """Why the picture cannot go to this platform (None: it can, possibly fitted)."""
    try:
        prepare(data, name=name, limits=limits, platform=platform)
    except ImageRejected as exc:
        return exc.message
    return None


class ImageChecker:
    """``content check`` of tip pictures: each file decoded once, and prepared for a
    platform only when its header says it needs converting or scaling (once per file and
    set of limits)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, tuple[str, bytes] | str] = {}
        self._fits: dict[tuple[str, MediaLimits, str], str | None] = {}

    def read(self, image: TipImage) -> tuple[bytes | None, str | None]:
        """The picture's bytes, or the problem with its file (named as written)."""
        got = self._files.get(image.file)
        if got is None:
            try:
                sha, data = read_tip_image(self.root, image.file)
                verify(data, name=image.file)
                got = (sha, data)
            except ImageRejected as exc:
                got = str(exc)
            self._files[image.file] = got
        if isinstance(got, str):
            return None, got
        sha, data = got
        if sha != image.sha256:
            return None, f"{image.file}: changed since the library was loaded"
        return data, None

    def problem(self, image: TipImage, limits: MediaLimits, platform: str) -> str | None:
        data, problem = self.read(image)
        if data is None:
            return problem
        key = (image.sha256, limits, platform)
        if key not in self._fits:
            self._fits[key] = (None if fits_as_is(data, image.file, limits)
                               else image_problem(data, image.file, limits, platform))
        return self._fits[key]


def prepare_tip_image(root: Path, image: TipImage, limits: MediaLimits,
                      platform: str) -> PreparedImage:
    """A tip's picture prepared for a platform. Its bytes must still be those the library
    was loaded (and approved) with: a file changed since is refused, never published."""
    sha, data = read_tip_image(root, image.file)
    if sha != image.sha256:
        raise ImageRejected(_("changed since the library was loaded (its approval is for the old "
                              "picture)"), where=image.file)
    prepared, _notes = prepare(data, name=image.file, limits=limits, platform=platform)
    return prepared


def store_tip_image(lib: Library, store: MediaStore, image: TipImage, limits: MediaLimits,
                    platform: str) -> ImageInfo:
    """A tip's picture prepared for a platform and kept in the media store, prepared once
    per file digest and limits for as long as the library is loaded (a month of slots
    re-encodes each poster once, not once a slot)."""
    key = (str(store.root), image.sha256, limits, platform)
    info = lib.prepared_images.get(key)
    if info is not None and store.path(info.sha256).is_file():
        return info
    prepared = prepare_tip_image(lib.root, image, limits, platform)
    store.put(prepared.data)
    lib.prepared_images[key] = prepared.info
    return prepared.info


def stored_tip_pictures(lib: Library, store: MediaStore, tip: TipDef, variant: int,
                        limits: MediaLimits, platform: str) -> list[tuple[ImageInfo, str]]:
    """The pictures a post drawn from ``tip`` (variant ``variant``) carries, each prepared
    for the platform and kept in the media store, with its alt text, in order. For every
    writer of a drawn post: the daemon's slots, and a slot redrawn at publish time (whose
    ``post_media`` rows are then replaced by these)."""
    return [(store_tip_image(lib, store, image, limits, platform), image.alt)
            for image in tip.images_for(variant)]


def media_row(post_id: int, position: int, info: ImageInfo, alt: str,
              now: datetime) -> dict[str, Any]:
    """One ``post_media`` row's values."""
    return {"post_id": post_id, "position": position, "sha256": info.sha256,
            "mime": info.mime, "size": info.size, "width": info.width,
            "height": info.height, "alt": alt, "remote_id": None, "uploaded_at": None,
            "created_at": now}
