"""Pictures on a post as officers give them: each file read, checked and prepared for the
account's platform (``outreach.media.images.prepare``), then kept in the media store and
written as ``post_media`` rows in the same transaction as the post.

Nothing is written while a request is checked: the bytes are kept in memory until every
picture (and, for an import, every row) has passed, then written to the store just before
the rows are committed — an orphan file in the store is harmless, a row without its file is
not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from outreach.config.settings import AccountSettings
from outreach.errors import ConfigError, InputError
from outreach.i18n import _
from outreach.library.media import prepare_tip_image
from outreach.library.model import TipDef
from outreach.library.texts import control_character
from outreach.media.images import (
    MAX_SOURCE_BYTES,
    ImageInfo,
    ImageRejected,
    MediaLimits,
    PreparedImage,
    mb,
    prepare,
)
from outreach.media.store import MediaStore, digest
from outreach.store.models import PostMedia

if TYPE_CHECKING:
    from outreach.runtime import Runtime

MAX_ALT = 1_500
"""The longest alt text (Mastodon's limit on a media description)."""


@dataclass(frozen=True)
class ImageRequest:
    """A picture an officer names: a file and its alt text; ``label`` says where it was
    named (``--image 2``, an import row), for messages."""

    path: Path
    alt: str
    label: str = ""
    data: bytes | None = None  # the file's bytes when they came without a file (an upload)


@dataclass(frozen=True)
class PreparedMedia:
    """A checked picture ready to store: clean bytes, what they are, its alt text."""

    data: bytes
    info: ImageInfo
    alt: str


def pair_images(images: Sequence[Path], alts: Sequence[str]) -> list[ImageRequest]:
    """``--image`` and ``--alt`` paired in the order given; a missing alt stays blank (the
    check names it), an ``--alt`` with no ``--image`` is an error."""
    if len(alts) > len(images):
        raise InputError(_("{alts} --alt for {images} --image: give one --alt after each --image, in the "
                           "same order").format(
            alts=len(alts), images=len(images)))
    return [ImageRequest(path, alts[i] if i < len(alts) else "", f"--image {i + 1}")
            for i, path in enumerate(images)]


def check_alt(alt: str, name: str) -> str:
    """The alt text of one picture, required (screen readers read it), one line of text."""
    text = alt.strip()
    if not text:
        raise InputError(_("{name} has no alt text (describe the picture for people who cannot see "
                           "it)").format(
            name=name))
    if len(text) > MAX_ALT:
        raise InputError(_("{name}: alt text is {text} characters; the limit is {MAX_ALT}").format(
            name=name, text=len(text), MAX_ALT=MAX_ALT))
    control = control_character(text)
    if control:
        raise InputError(_("{name}: alt text has a {control}").format(name=name, control=control))
    return text


def read_image(path: Path) -> bytes:
    """The bytes of an officer's image file, or one clear error naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise ImageRejected(_("{size} is over the {MAX_SOURCE_BYTES} an image file may have").format(
                size=mb(size), MAX_SOURCE_BYTES=mb(MAX_SOURCE_BYTES)), where=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(_("image file not found"), where=str(path)) from None
    except IsADirectoryError:
        raise InputError(_("is a folder, not an image file"), where=str(path)) from None
    except OSError as exc:
        raise InputError(_("cannot read image: {value}").format(
            value=exc.strerror or exc), where=str(path)) from None


PrepareCache = dict[tuple[str, MediaLimits, str], tuple[PreparedImage, list[str]]]
"""Pictures already prepared in one request (an import naming one poster on many rows
prepares it once), by the source bytes' digest, the limits and the platform."""


def prepare_images(rt: Runtime, account: AccountSettings, requests: Sequence[ImageRequest],
                   notes: list[str] | None = None,
                   cache: PrepareCache | None = None) -> tuple[PreparedMedia, ...]:
    """Check each picture for the account's platform: count, alt text, type by content,
    bombs, EXIF stripped, converted or scaled to fit (said in ``notes``)."""
    if not requests:
        return ()
    limits = rt.client(account).media_limits()
    if len(requests) > limits.max_count:
        takes = (_("takes at most {n} picture(s) a post").format(n=limits.max_count)
                 if limits.max_count else _("takes no pictures"))
        raise InputError(_("{requests} pictures for account {name!r}: {platform} {takes}").format(
            requests=len(requests), name=account.name, platform=account.platform, takes=takes))
    out = []
    for req in requests:
        name = str(req.path)
        alt = check_alt(req.alt, f"{req.label} ({name})" if req.label else name)
        data = req.data if req.data is not None else read_image(req.path)
        key = (digest(data), limits, f"{account.platform}\x1f{name}")
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            hit = prepare(data, name=name, limits=limits, platform=account.platform)
            if cache is not None:
                cache[key] = hit
        prepared, said = hit
        if notes is not None:
            notes.extend(said)
        out.append(PreparedMedia(prepared.data, prepared.info, alt))
    return tuple(out)


def tip_pictures(rt: Runtime, account: AccountSettings, tip: TipDef,
                 variant: int) -> tuple[PreparedMedia, ...]:
    """A tip's (variant's) pictures from the library, prepared for the account's platform."""
    images = tip.images_for(variant)
    if not images:
        return ()
    limits = rt.client(account).media_limits()
    if len(images) > limits.max_count:
        raise InputError(_("tip {id!r} has {images} pictures; {platform} takes at most {max_count} a "
                           "post").format(
            id=tip.id, images=len(images), platform=account.platform, max_count=limits.max_count))
    out = []
    for image in images:
        prepared = prepare_tip_image(rt.library.root, image, limits, account.platform)
        out.append(PreparedMedia(prepared.data, prepared.info, image.alt))
    return tuple(out)


def store_media(store: MediaStore, session: Session, post_id: int,
                media: Sequence[PreparedMedia], now: datetime) -> list[PostMedia]:
    """Write the pictures to the media store, then their rows (in the caller's transaction;
    the caller commits)."""
    rows = []
    for position, m in enumerate(media):
        try:
            sha = store.put(m.data)
        except OSError as exc:  # the post is not committed: nothing is queued
            raise ConfigError(_("cannot write a picture to the media store: {value} (see [outreach] "
                                "media_dir)").format(
                value=exc.strerror or exc),
                              where=str(store.root)) from None
        row = PostMedia(post_id=post_id, position=position, sha256=sha, mime=m.info.mime,
                        size=m.info.size, width=m.info.width, height=m.info.height, alt=m.alt,
                        created_at=now)
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
    return rows
