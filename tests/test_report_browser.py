"""The HTML report as a person sees it: headless Chromium renders the charts with Chinese
labels, and the public's `<script>` stays text."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach.reports.build import build_report
from outreach.reports.formats.as_html import render_html
from tests.test_reports import CONFIG, NOW, add_comments, build_database

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
    add_comments(rt)
    report = build_report(rt, accounts=None, since=None, until=None, lang="zh")
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
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


# --- the demo's report, as a supervisor opens and prints it ----------------------------------

SHOTS = os.environ.get("OUTREACH_TEST_SCREENSHOTS")  # a folder to keep the screenshots in


@pytest.fixture
def demo_html(cli, workspace, tmp_path) -> tuple[Path, dict]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")

    demo = tmp_path / "demo"
    r = cli("demo", "--dir", str(demo), "--days", "10", "--json")
    assert r.code == 0, r.err
    since = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=9)).isoformat()
    args = ("--config", str(demo / "config.toml"), "report", "--since", since)
    r = cli(*args, "--format", "html", "-o", str(tmp_path / "demo.html"))
    assert r.code == 0, r.err
    r = cli(*args, "--json")
    assert r.code == 0, r.err
    return tmp_path / "demo.html", json.loads(r.out)


def test_the_demos_report_in_chromium(demo_html, tmp_path):
    html, data = demo_html
    shot = tmp_path / "demo.png"
    r = chromium(f"--screenshot={shot}", "--window-size=1280,1800", html.as_uri(),
                 profile=tmp_path / "profile")
    assert shot.exists(), r.stderr[-2000:]
    if SHOTS:  # kept for a person to look at
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / "report-demo.png").write_bytes(shot.read_bytes())
    width, channels, pixels = png_pixels(shot)
    assert width == 1280 and len({pixels[i:i + 3] for i in range(0, len(pixels), channels * 97)}) > 20
    dom = chromium("--dump-dom", html.as_uri(), profile=tmp_path / "profile2").stdout
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<head.*?</head>|<svg.*?</svg>",
                                                             " ", dom, flags=re.S)))
    # the header: the department, then the title with the period
    assert text.index("北京市公安局") < text.index(data["title"]) < text.index("一、总体")
    # display names, not config names; category names, not codes
    assert "平安北京（演示）" in text and "pingan-local" not in text.replace("(pingan-", "")
    codes = {c["code"] for c in data["categories"] if c["code"]}
    assert codes and not any(f" {code} " in text for code in codes)
    assert all(c["name"] in text for c in data["categories"])
    # one comment total per definition, each labelled with its definition
    cc = data["comment_counts"]
    for d in cc["definitions"]:
        assert d["definition"] in text
        shown = re.findall(re.escape(d["label"]) + r"[\s:：]*(\d+)", text)
        assert shown and set(shown) == {str(d["value"])}, d["label"]  # wherever it is named
    assert {int(n) for n in re.findall(r"网民评论\D{0,12}?(\d+)", text)} == {cc["received"]}
    # the Weibo and Mastodon accounts were never set up: listed once, apart, never alarmed
    for a in data["unconfigured_accounts"]:
        assert text.count(f"({a['name']},") == 1
    warnings = re.findall(r'<p class="warning">(.*?)</p>', dom, flags=re.S)
    assert not any("Safe Beijing" in w or "平安北京 " in w for w in warnings)
    assert [c["account"] for c in data["compliance"]["accounts"]] == ["pingan-local"]


def test_the_demos_report_prints_on_a4_with_a_page_per_section(demo_html, tmp_path):
    html, data = demo_html
    pdf = tmp_path / "demo.pdf"
    r = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.as_uri(),
                 profile=tmp_path / "profile")
    assert pdf.exists(), r.stderr[-2000:]
    body = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", body)
    assert boxes and all(abs(float(w) - 595.92) < 2 and abs(float(h) - 842.88) < 2
                         for w, h in boxes)  # A4 in points
    pages = len(re.findall(rb"/Type\s*/Page\b", body))
    assert pages >= len(data["sections"])  # each section starts a page
