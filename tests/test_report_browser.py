"""The HTML report as a person sees it: headless Chromium renders the charts with Chinese
labels, and the public's `<script>` stays text."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from outreach import report_formats as fmt
from outreach.reports import build_report
from tests.test_reports import CONFIG, NOW, build_database

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture
def html_report(runtime_factory, clock, tmp_path) -> Path:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    clock.set(NOW)
    rt = runtime_factory(CONFIG)
    build_database(rt)
    report = build_report(rt, accounts=None, since=None, until=None, lang="zh")
    path = tmp_path / "report.html"
    path.write_text(fmt.render_html(report), encoding="utf-8")
    return path


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Decode a PNG (8-bit RGB/RGBA, no interlace) with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    channels = 4 if colour == 6 else 3
    stride = width * channels
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, channels, b"".join(rows)


def test_chromium_renders_charts_with_chinese_labels(html_report, tmp_path):
    shot = tmp_path / "report.png"
    r = chromium(f"--screenshot={shot}", "--window-size=1280,2400", html_report.as_uri(),
                 profile=tmp_path / "profile")
    assert shot.exists(), r.stderr[-2000:]
    width, channels, pixels = png_pixels(shot)
    colours = {pixels[i:i + 3] for i in range(0, len(pixels), channels * 97)}
    assert width == 1280 and len(colours) > 20  # charts and text, not a blank page
    dom = chromium("--dump-dom", html_report.as_uri(), profile=tmp_path / "profile2").stdout
    assert dom.count("<svg") >= 3
    svg_text = " ".join(part.split("</text>")[0] for part in dom.split("<text")[1:])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in svg_text), "Chinese labels are SVG text"
    assert "本月" in dom or "共发博文" in dom


def test_the_publics_script_stays_text(html_report, tmp_path):
    dom = chromium("--dump-dom", html_report.as_uri(), profile=tmp_path / "profile").stdout
    assert "救命 &lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script>alert(1)</script>" not in dom
