"""What an image is once checked: its type read from its bytes (never its name), its size,
and the limits a platform puts on pictures.

``prepare`` (checks, EXIF orientation applied then every EXIF/metadata block dropped,
re-encoding or scaling to fit a platform's limits, decompression bombs refused) lives here
too, so the queue, the library check and the publisher share one idea of a valid picture.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from outreach.errors import InputError
from outreach.i18n import _
from outreach.media.limits import FORMAT_BY_MIME, MIME_BY_FORMAT, MediaLimits
from outreach.media.store import digest

MAX_SOURCE_PIXELS = 50_000_000
"""The largest picture read at all (width × height, every frame of an animation counted):
a 50-megapixel photo decodes to about 150 MB. Checked on the header, before decoding, so a
small file claiming 30000×30000 pixels (a decompression bomb) is refused cheaply."""

MAX_SOURCE_BYTES = 60 * 1024 * 1024
"""The largest image file read (a camera's biggest JPEG is well under this)."""

MIN_SIDE = 320
"""Scaling to fit stops here: a picture shrunk below this to fit is refused instead."""


@dataclass(frozen=True)
class ImageInfo:
    """A checked image as stored: the bytes to publish and what they are."""

    sha256: str
    mime: str
    size: int  # bytes
    width: int
    height: int


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to store and publish: clean bytes (no metadata) and what they are."""

    data: bytes
    info: ImageInfo


class ImageRejected(InputError):
    """An image that is not one, is damaged, is a decompression bomb, or cannot fit."""


def mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _kind(fmt: str) -> str:
    return "WebP" if fmt == "WEBP" else fmt


def identify(data: bytes, *, name: str) -> tuple[str, int, int, int]:
    """The format, width, height and frame count an image's header declares, without
    decoding it; refuses what is not a JPEG/PNG/GIF/WebP and what is too large to read."""
    with _opened(data, name) as im:
        return im.format or "", im.width, im.height, getattr(im, "n_frames", 1)


def verify(data: bytes, *, name: str) -> None:
    """Decode the whole picture once (every frame): ``ImageRejected`` when it is not an
    image, a bomb, truncated or damaged."""
    with _opened(data, name) as im:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                for frame in ImageSequence.Iterator(im):
                    frame.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(_("refused as a decompression bomb"), where=name) from None
        except Exception as exc:  # noqa: BLE001  (truncated or corrupt data while decoding)
            raise ImageRejected(_("truncated or damaged image ({exc})").format(exc=_why(exc)),
                                where=name) from None


class _opened:
    """``Image.open`` of untrusted bytes: the type by content, Pillow's bomb warning and
    error turned into ``ImageRejected``, and our own pixel cap checked on the header."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name = data, name
        self.im: Any = None

    def __enter__(self) -> Any:
        name = self.name
        if not self.data:
            raise ImageRejected(_("empty file, not an image"), where=name)
        if len(self.data) > MAX_SOURCE_BYTES:
            raise ImageRejected(_("{value} is over the {MAX_SOURCE_BYTES} an image file may have").format(
                value=mb(len(self.data)), MAX_SOURCE_BYTES=mb(MAX_SOURCE_BYTES)), where=name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                self.im = Image.open(io.BytesIO(self.data), formats=list(MIME_BY_FORMAT))
                frames = getattr(self.im, "n_frames", 1)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(_("refused as a decompression bomb: its header declares more pixels than "
                                  "the {value} MP limit").format(
                value=MAX_SOURCE_PIXELS // 1_000_000),
                                where=name) from None
        except UnidentifiedImageError:
            raise ImageRejected(_("not a JPEG, PNG, GIF or WebP image (the type is read from the "
                                  "content, not the name)"), where=name) from None
        except Exception as exc:  # noqa: BLE001  (a damaged header: Pillow raises many kinds)
            raise ImageRejected(_("damaged image ({exc})").format(exc=_why(exc)), where=name) from None
        w, h = self.im.size
        if w <= 0 or h <= 0:
            raise ImageRejected(_("declares an empty size {w}×{h}").format(w=w, h=h), where=name)
        if w * h * frames > MAX_SOURCE_PIXELS:
            size = f"{w}×{h}" + (f" × {frames} frames" if frames > 1 else "")
            raise ImageRejected(_("refused as a decompression bomb: {size} is over the {value} MP "
                                  "limit").format(
                size=size, value=MAX_SOURCE_PIXELS // 1_000_000), where=name)
        return self.im

    def __exit__(self, *exc: object) -> None:
        if self.im is not None:
            self.im.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


def prepare(data: bytes, *, name: str, limits: MediaLimits,
            platform: str = "the platform") -> tuple[PreparedImage, list[str]]:
    """Check ``data`` and make the bytes a post on ``platform`` carries.

    The type is read from the content (JPEG, PNG, GIF, WebP); a decompression bomb is refused
    on its header; EXIF orientation is applied and then the picture is re-encoded from its
    pixels alone, so no EXIF (GPS included), XMP, ICC, comment or PNG text block survives. A
    type the platform does not take is converted; a picture over its pixel or byte limit is
    scaled down or re-encoded to fit, and ``notes`` say so. Raises ``ImageRejected`` (naming
    ``name``) when it is not an image, is damaged, or cannot fit.
    """
    with _opened(data, name) as im:
        fmt = im.format or ""
        notes: list[str] = []
        gps = _has_gps(im)
        try:
            if getattr(im, "n_frames", 1) > 1:
                out_fmt, out, size = _animated(im, name=name, fmt=fmt, limits=limits,
                                               platform=platform, src_bytes=len(data))
            else:
                out_fmt, out, size = _still(im, name=name, fmt=fmt, limits=limits,
                                            platform=platform, src_bytes=len(data),
                                            notes=notes)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(_("refused as a decompression bomb"), where=name) from None
        except Exception as exc:  # noqa: BLE001  (truncated or corrupt data while decoding)
            raise ImageRejected(_("truncated or damaged image ({exc})").format(exc=_why(exc)),
                                where=name) from None
    if gps:
        notes.append(f"{name}: " + _("removed its GPS position (EXIF); it is never published"))
    mime = MIME_BY_FORMAT[out_fmt]
    info = ImageInfo(sha256=digest(out), mime=mime, size=len(out), width=size[0],
                     height=size[1])
    return PreparedImage(out, info), notes


def _has_gps(im: Any) -> bool:
    try:
        return bool(im.getexif().get_ifd(0x8825))
    except Exception:  # noqa: BLE001  (unreadable EXIF is dropped anyway)
        return False


def _pixels_only(im: Any) -> Any:
    """A new image made of ``im``'s pixels alone, orientation applied: nothing of the
    original's metadata (EXIF, XMP, ICC, comments, text chunks) comes along."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im.load()
    upright = ImageOps.exif_transpose(im) or im
    upright = _to_srgb(upright)
    if upright.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    clean = Image.new(upright.mode, upright.size)
    if upright.mode == "P":
        clean.putpalette(upright.getpalette() or [])
        transparency = upright.info.get("transparency")
        if isinstance(transparency, int):  # the one metadata that is part of the picture
            clean.info["transparency"] = transparency
        elif isinstance(transparency, bytes):
            clean = upright.convert("RGBA")
            clean = Image.frombytes("RGBA", clean.size, clean.tobytes())
            return clean
    clean.frombytes(upright.tobytes())
    return clean


def _to_srgb(im: Any) -> Any:
    """Colours kept when the ICC profile is dropped: convert to sRGB first."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                         outputMode=mode) or im
    except Exception:  # noqa: BLE001  (a broken profile: the pixels as they are)
        return im


def _has_alpha(im: Any) -> bool:
    if im.mode in ("RGBA", "LA"):
        return bool(im.getchannel("A").getextrema()[0] < 255)
    return im.mode == "P" and "transparency" in im.info


def _encode(im: Any, fmt: str, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L"):
            im = _flatten(im)
        im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    elif fmt == "PNG":  # zlib's best only when it must be smaller: it is 8 times slower
        im.save(buf, "PNG", optimize=quality < 90)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=quality, method=4)
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def _flatten(im: Any) -> Any:
    """JPEG has no transparency: put the picture on white."""
    rgba = im.convert("RGBA")
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white


def _target_format(fmt: str, im: Any, limits: MediaLimits) -> str:
    if limits.allows(MIME_BY_FORMAT[fmt]):
        return fmt
    order = ("PNG", "JPEG") if _has_alpha(im) or fmt in ("PNG", "GIF") else ("JPEG", "PNG")
    for candidate in (*order, "WEBP", "GIF"):
        if limits.allows(MIME_BY_FORMAT[candidate]):
            return candidate
    raise ImageRejected(_("the platform takes no pictures"))


def _still(im: Any, *, name: str, fmt: str, limits: MediaLimits, platform: str,
           src_bytes: int, notes: list[str]) -> tuple[str, bytes, tuple[int, int]]:
    clean = _pixels_only(im)
    src_size = clean.size
    out_fmt = _target_format(fmt, clean, limits)
    w, h = clean.size
    if limits.max_pixels and w * h > limits.max_pixels:
        scale = math.sqrt(limits.max_pixels / (w * h))
        clean = _scaled(clean, scale)
    out = _encode(clean, out_fmt)
    if len(out) > limits.max_bytes and out_fmt == "PNG":
        out = _encode(clean, out_fmt, quality=89)
    if len(out) > limits.max_bytes and out_fmt != "JPEG" and limits.allows("image/jpeg"):
        out_fmt = "JPEG"  # a photo saved as PNG: JPEG is the way to a smaller file
        out = _encode(clean, out_fmt)
    quality = 90
    while len(out) > limits.max_bytes:
        if out_fmt in ("JPEG", "WEBP") and quality > 75:
            quality = 75
        else:
            shrink = min(0.9, math.sqrt(limits.max_bytes / len(out)) * 0.95)
            if min(clean.size) * shrink < MIN_SIDE:
                raise ImageRejected(
                    _("{src_bytes} {fmt} {value}×{value2} cannot fit {platform}'s {max_bytes} without "
                      "shrinking it below {MIN_SIDE} pixels").format(
                        src_bytes=mb(src_bytes), fmt=_kind(fmt), value=src_size[0], value2=src_size[1],
                        platform=platform, max_bytes=mb(limits.max_bytes), MIN_SIDE=MIN_SIDE), where=name)
            clean = _scaled(clean, shrink)
        out = _encode(clean, out_fmt, quality)
    if clean.size != src_size or out_fmt != fmt or quality < 90:
        why = []
        if limits.max_pixels and src_size[0] * src_size[1] > limits.max_pixels:
            why.append(f"{limits.max_pixels / 1_000_000:.1f} MP")
        if src_bytes > limits.max_bytes or quality < 90 or (clean.size != src_size
                                                            and not why):
            why.append(mb(limits.max_bytes))
        if out_fmt != fmt and not limits.allows(MIME_BY_FORMAT[fmt]):
            why.append(_("{kinds} only").format(
                kinds=", ".join(sorted(_kind(FORMAT_BY_MIME[m]) for m in limits.mimes))))
        note = (_("{name}: scaled {source} to {result} to fit {platform}'s {limits}")
                if clean.size != src_size else
                _("{name}: converted {source} to {result} to fit {platform}'s {limits}")
                if not limits.allows(MIME_BY_FORMAT[fmt]) else
                _("{name}: re-encoded {source} to {result} to fit {platform}'s {limits}"))
        notes.append(note.format(
            name=name, platform=platform, limits=_(" and ").join(why) or _("limits"),
            source=f"{mb(src_bytes)} {_kind(fmt)} {src_size[0]}×{src_size[1]}",
            result=f"{mb(len(out))} {_kind(out_fmt)} {clean.size[0]}×{clean.size[1]}"))
    return out_fmt, out, clean.size


def _scaled(im: Any, scale: float) -> Any:
    w, h = im.size
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    if im.mode == "P":
        im = im.convert("RGBA")
    return im.resize(size, Image.Resampling.LANCZOS)


def _animated(im: Any, *, name: str, fmt: str, limits: MediaLimits, platform: str,
              src_bytes: int) -> tuple[str, bytes, tuple[int, int]]:
    """An animation keeps its frames (re-encoded, so no metadata survives) when it fits
    as it is; scaling every frame would be a new animation, so it is refused instead."""
    w, h = im.size
    if limits.allows(MIME_BY_FORMAT[fmt]):
        out_fmt = fmt
    elif limits.allows("image/gif"):
        out_fmt = "GIF"
    else:
        raise ImageRejected(_("an animated {fmt}, and {platform} takes no animations of that type; "
                              "export one still picture instead").format(
            fmt=_kind(fmt), platform=platform), where=name)
    if limits.max_pixels and w * h > limits.max_pixels:
        raise ImageRejected(_("animated {fmt} {w}×{h} is over {platform}'s {value:.1f} MP; an animation "
                              "is not scaled: export it smaller").format(
            fmt=_kind(fmt), w=w, h=h, platform=platform, value=limits.max_pixels / 1_000_000), where=name)
    frames, durations = [], []
    for frame in _frames(im):
        durations.append(int(frame.info.get("duration", 100) or 100))
        frames.append(_pixels_only(frame.convert("RGBA")))
    buf = io.BytesIO()
    params: dict[str, Any] = {"save_all": True, "append_images": frames[1:],
                              "duration": durations, "loop": int(im.info.get("loop", 0) or 0)}
    if out_fmt == "GIF":
        params["disposal"] = 2
    elif out_fmt == "WEBP":
        params["quality"] = 90
    frames[0].save(buf, out_fmt, **params)
    out = buf.getvalue()
    if len(out) > limits.max_bytes:
        raise ImageRejected(_("animated {fmt} is {value} once cleaned, over {platform}'s {max_bytes}; an "
                              "animation is not scaled: export it shorter or smaller").format(
            fmt=_kind(fmt), value=mb(len(out)), platform=platform,
            max_bytes=mb(limits.max_bytes)), where=name)
    return out_fmt, out, (w, h)


def _frames(im: Any) -> list[Any]:
    return [frame.copy() for frame in ImageSequence.Iterator(im)]
