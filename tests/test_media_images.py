"""Pictures checked and prepared with Pillow: type by content, bombs refused on the header,
orientation applied and every metadata block dropped, converted and scaled to fit."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from outreach.media.images import ImageRejected, identify, prepare
from outreach.media.limits import MediaLimits

WEIBO = MediaLimits(max_count=1, max_bytes=5 * 1024 * 1024 - 1, max_pixels=None,
                    mimes=frozenset({"image/jpeg", "image/gif", "image/png"}))
MASTODON = MediaLimits(max_count=4, max_bytes=16 * 1024 * 1024, max_pixels=8_294_400,
                       mimes=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}))


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def gps_jpeg(size: tuple[int, int] = (200, 100), orientation: int = 6) -> bytes:
    """A photo 'taken at a scene': GPS position and a camera orientation in its EXIF."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SceneCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)})
    im = Image.new("RGB", size, (200, 30, 30))
    im.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue
    return encode(im, "JPEG", exif=exif, quality=95)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header declaring width×height pixels, with no pixel data to speak of."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def open_bytes(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_gps_exif_is_gone_and_orientation_applied() -> None:
    data = gps_jpeg()
    assert open_bytes(data).getexif().get_ifd(0x8825)  # the input really has GPS
    prepared, notes = prepare(data, name="scene.jpg", limits=WEIBO, platform="weibo")
    out = open_bytes(prepared.data)
    assert out.size == (100, 200)  # orientation 6: turned upright, then the tag dropped
    assert prepared.info.width == 100 and prepared.info.height == 200
    assert not out.getexif() and "exif" not in out.info
    assert b"Exif" not in prepared.data and b"SceneCam" not in prepared.data
    # the blue half, on the left before, is on top once turned 90° clockwise
    top = out.convert("RGB").getpixel((50, 20))
    assert isinstance(top, tuple) and top[2] > 150
    assert prepared.info.mime == "image/jpeg" and prepared.info.size == len(prepared.data)
    assert any("GPS" in n for n in notes)


def test_png_text_chunks_xmp_and_icc_are_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Officer Wang")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-place</x:xmpmeta>")
    data = encode(Image.new("RGBA", (64, 64), (0, 128, 0, 255)), "PNG", pnginfo=info)
    prepared, notes = prepare(data, name="card.png", limits=WEIBO)
    assert b"Officer Wang" not in prepared.data and b"secret-place" not in prepared.data
    assert b"tEXt" not in prepared.data and b"iTXt" not in prepared.data
    assert prepared.info.mime == "image/png" and notes == []


def test_webp_metadata_dropped() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (1.0, 2.0, 3.0)})
    data = encode(Image.new("RGB", (80, 60), "white"), "WEBP", exif=exif.tobytes(),
                  xmp=b"<x:xmpmeta>where</x:xmpmeta>")
    prepared, _ = prepare(data, name="a.webp", limits=MASTODON)
    assert prepared.info.mime == "image/webp"
    assert b"EXIF" not in prepared.data and b"XMP" not in prepared.data
    assert b"where" not in prepared.data


def test_type_is_read_from_the_content_not_the_name() -> None:
    with pytest.raises(ImageRejected, match=r"poster\.png: not a JPEG, PNG, GIF or WebP"):
        prepare("这是一段文字，不是图片\n".encode(), name="poster.png", limits=WEIBO)
    jpeg_named_png = gps_jpeg()
    prepared, _ = prepare(jpeg_named_png, name="photo.png", limits=WEIBO)
    assert prepared.info.mime == "image/jpeg"


def test_truncated_jpeg_is_one_clear_error() -> None:
    noise = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    data = encode(noise, "JPEG")
    with pytest.raises(ImageRejected) as e:
        prepare(data[: len(data) // 2], name="cut.jpg", limits=WEIBO)
    assert str(e.value).startswith("cut.jpg: truncated or damaged image")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (10000, 6000)])
def test_decompression_bombs_refused_on_the_header(width: int, height: int) -> None:
    data = bomb_png(width, height)
    assert len(data) < 200
    with pytest.raises(ImageRejected, match=r"bomb.png: refused as a decompression bomb"):
        prepare(data, name="bomb.png", limits=MASTODON)
    with pytest.raises(ImageRejected, match="decompression bomb"):
        identify(data, name="bomb.png")


def test_empty_and_unsupported_types() -> None:
    with pytest.raises(ImageRejected, match="empty file"):
        prepare(b"", name="e.png", limits=WEIBO)
    bmp = encode(Image.new("RGB", (10, 10)), "BMP")
    with pytest.raises(ImageRejected, match="not a JPEG, PNG, GIF or WebP"):
        prepare(bmp, name="x.bmp", limits=WEIBO)


def test_webp_converted_for_weibo() -> None:
    data = encode(Image.new("RGB", (120, 90), (10, 200, 10)), "WEBP")
    prepared, notes = prepare(data, name="w.webp", limits=WEIBO, platform="weibo")
    assert prepared.info.mime in ("image/jpeg", "image/png")
    assert open_bytes(prepared.data).format in ("JPEG", "PNG")
    assert notes and "converted" in notes[0] and "weibo" in notes[0]


def test_transparent_webp_becomes_png() -> None:
    data = encode(Image.new("RGBA", (50, 50), (10, 200, 10, 0)), "WEBP", lossless=True)
    prepared, _ = prepare(data, name="t.webp", limits=WEIBO)
    assert prepared.info.mime == "image/png"


def test_big_png_scaled_or_recoded_to_fit_weibo_and_says_so() -> None:
    noise = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))
    data = encode(noise, "PNG")
    assert len(data) > 11 * 1024 * 1024
    prepared, notes = prepare(data, name="big.png", limits=WEIBO, platform="weibo")
    assert prepared.info.size < 5 * 1024 * 1024
    assert prepared.info.size == len(prepared.data)
    assert len(notes) == 1
    assert notes[0].startswith("big.png: ") and "PNG 2000×2000 to" in notes[0]
    assert "JPEG" in notes[0] and "to fit weibo's 5.0 MB" in notes[0]


def test_over_the_pixel_limit_is_scaled() -> None:
    data = encode(Image.new("RGB", (4000, 3000), (90, 90, 90)), "JPEG")
    prepared, notes = prepare(data, name="wide.jpg", limits=MASTODON, platform="mastodon")
    assert prepared.info.width * prepared.info.height <= MASTODON.max_pixels  # type: ignore[operator]
    assert abs(prepared.info.width / prepared.info.height - 4 / 3) < 0.01
    assert "scaled" in notes[0] and "8.3 MP" in notes[0]


def test_refused_only_when_it_cannot_fit() -> None:
    tiny = MediaLimits(max_count=1, max_bytes=2_000, max_pixels=None,
                       mimes=frozenset({"image/jpeg"}))
    noise = Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3))
    with pytest.raises(ImageRejected, match=r"n.png: .*cannot fit x's 0.0 MB"):
        prepare(encode(noise, "PNG"), name="n.png", limits=tiny, platform="x")


def animated_gif(frames: int = 3, size: tuple[int, int] = (60, 40)) -> bytes:
    images = [Image.new("RGB", size, (i * 80, 40, 200 - i * 60)) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=200,
                  loop=0, comment=b"made at the scene")


def test_animated_gif_keeps_its_frames() -> None:
    prepared, notes = prepare(animated_gif(), name="a.gif", limits=WEIBO)
    out = open_bytes(prepared.data)
    assert out.format == "GIF" and getattr(out, "n_frames", 1) == 3
    assert b"made at the scene" not in prepared.data
    assert notes == []


def test_animated_gif_over_the_limit_is_refused_with_a_reason() -> None:
    small = MediaLimits(max_count=1, max_bytes=5 * 1024 * 1024, max_pixels=1_000,
                        mimes=frozenset({"image/gif"}))
    with pytest.raises(ImageRejected, match=r"a.gif: animated GIF 60×40 is over .* not scaled"):
        prepare(animated_gif(), name="a.gif", limits=small, platform="x")


def test_icc_profile_and_jpeg_comment_dropped_colours_kept() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (64, 64), (200, 100, 50)), "JPEG", icc_profile=srgb,
                  comment=b"Officer Li, Chaoyang station", quality=95)
    assert open_bytes(data).info.get("icc_profile")
    prepared, _ = prepare(data, name="c.jpg", limits=WEIBO)
    out = open_bytes(prepared.data)
    assert "icc_profile" not in out.info and "comment" not in out.info
    assert b"Chaoyang" not in prepared.data
    pixel = out.convert("RGB").getpixel((32, 32))
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= 6 for a, b in zip(pixel, (200, 100, 50), strict=True))


def test_a_jpeg_recompressed_to_fit_says_so() -> None:
    noise = Image.frombytes("RGB", (900, 900), os.urandom(900 * 900 * 3))
    data = encode(noise, "JPEG", quality=98)
    ours = len(encode(noise, "JPEG", quality=90, optimize=True, progressive=True))
    limits = MediaLimits(max_count=1, max_bytes=int(ours * 0.9), max_pixels=None,
                         mimes=frozenset({"image/jpeg"}))
    prepared, notes = prepare(data, name="n.jpg", limits=limits, platform="x")
    assert prepared.info.size <= limits.max_bytes
    assert len(notes) == 1 and "n.jpg: re-encoded" in notes[0] and "to fit x's" in notes[0]
