"""Draw the starter posters from the tips' own text (run from the repository root):

    python content/media/draw_posters.py

Each poster is 1080×1350 (the 4:5 portrait both Weibo and Mastodon show whole), flat
colours, the tip's title, text and source, Chinese set in Noto Sans CJK (``fc-list
:lang=zh``; Debian: fonts-noto-cjk). The PNGs are committed, so nobody needs the font to use
them; run this again after changing one of these tips' texts, then re-approve the tip.
The tips name their poster with ``images = [{ file = "media/<id>.png", alt = "…" }]``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import jinja2
from PIL import Image, ImageDraw, ImageFont

CONTENT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, MARGIN = 1080, 1350, 80

# the national numbers, as the starter config fills them (the posters carry no city)
VARS = {"hotline": {"police": "110", "fraud": "96110", "fire": "119", "traffic": "122",
                    "medical": "120"}}

# tip id → background colour (flat, one per subject, dark enough for white text)
POSTERS = {
    "fraud-antifraud-app-zh": "#1f4e9e",
    "fraud-verification-code-zh": "#183f80",
    "fraud-take-a-moment-en": "#1f4e9e",
    "drowning-six-nos-zh": "#0b6e78",
    "drowning-float-to-live-en": "#0b6e78",
    "fire-ebike-charging-zh": "#b3261e",
    "fire-smoke-alarms-en": "#b3261e",
    "traffic-drink-driving-zh": "#a8470a",
    "theft-lock-up-zh": "#5b3a8c",
    "cyber-qr-codes-zh": "#2d3f73",
    "cyber-two-step-en": "#2d3f73",
    "elderly-pension-projects-zh": "#6d4c2f",
    "drugs-just-once-zh": "#2f6b3a",
    "campus-strangers-zh": "#2e7d5b",
}
CARD, INK, PALE = "#fff8e7", "#1c1c1c", "#ffffff"
# the number that fits the subject, by category and language
FOOTERS = {("fraud", "zh"): "报警求助 110 · 反诈专线 96110", ("fire", "zh"): "火警 119 · 报警 110",
           ("traffic", "zh"): "交通事故 122 · 报警 110", ("fire", "en"): "Fire? Call 119",
           ("fraud", "en"): "Scammed? Call 110 or the anti-fraud line 96110"}
DEFAULT_FOOTER = {"zh": "报警求助 110", "en": "Emergency? Call 110"}


def footer(tip: dict[str, object]) -> str:
    code, lang = str(tip["category"]).split(".")[0], str(tip["lang"])
    return FOOTERS.get((code, lang), DEFAULT_FOOTER[lang])


def cjk_font(style: str) -> Path:
    """The Noto Sans CJK file of a style (Regular, Bold), found with fontconfig."""
    out = subprocess.run(["fc-list", ":lang=zh", "file", "style"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        path = line.split(":")[0]
        if "NotoSansCJK" in path and path.endswith(f"-{style}.ttc"):
            return Path(path)
    sys.exit(f"Noto Sans CJK {style} not found (install fonts-noto-cjk)")


def font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """The Simplified Chinese face of a CJK collection at ``size``."""
    for index in range(10):
        face = ImageFont.truetype(str(path), size, index=index)
        if face.getname()[0].endswith(" SC"):
            return face
    return ImageFont.truetype(str(path), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines no wider than ``width``: Chinese breaks anywhere (not before closing
    punctuation), other text between words."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            trial = line + token
            if line and face.getlength(trial.rstrip()) > width and token not in "，。、；：！？”）》":
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = trial
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) < 0x2E80:  # Latin, digits, spaces: keep words whole
            word += ch
            if ch == " ":
                out.append(word)
                word = ""
        else:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
    if word:
        out.append(word)
    return out


def draw(tip: dict[str, object], colour: str, category: str, bold: Path,
         regular: Path) -> Image.Image:
    lang = str(tip["lang"])
    text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        str(tip["text"])).render(VARS)
    im = Image.new("RGB", (WIDTH, HEIGHT), colour)
    d = ImageDraw.Draw(im)
    label = font(bold, 34)
    d.rounded_rectangle((MARGIN, 70, MARGIN + label.getlength(category) + 48, 130), 30,
                        fill=PALE)
    d.text((MARGIN + 24, 100), category, font=label, fill=colour, anchor="lm")
    y = 190
    title_size = 92 if lang == "zh" else 72
    title = font(bold, title_size)
    for line in wrap(str(tip["title"]), title, WIDTH - 2 * MARGIN):
        d.text((MARGIN, y), line, font=title, fill=PALE)
        y += int(title_size * 1.3)
    y += 30
    d.rectangle((MARGIN, y, MARGIN + 120, y + 10), fill=PALE)
    y += 60
    body_size = 50 if lang == "zh" else 44
    body = font(regular, body_size)
    lines = wrap(text, body, WIDTH - 2 * MARGIN - 80)
    card_bottom = y + 60 + len(lines) * int(body_size * 1.6) + 20
    d.rounded_rectangle((MARGIN, y, WIDTH - MARGIN, card_bottom), 36, fill=CARD)
    ty = y + 50
    for line in lines:
        d.text((MARGIN + 40, ty), line, font=body, fill=INK)
        ty += int(body_size * 1.6)
    small = font(regular, 30)
    source = ("来源：" if lang == "zh" else "Source: ") + str(tip["source"])
    sy = HEIGHT - 170
    for line in wrap(source, small, WIDTH - 2 * MARGIN)[:2]:
        d.text((MARGIN, sy), line, font=small, fill=PALE)
        sy += 42
    d.text((MARGIN, HEIGHT - 80), footer(tip), font=font(bold, 38), fill=PALE, anchor="lm")
    if card_bottom > HEIGHT - 190:
        sys.exit(f"{tip['id']}: the text does not fit the poster")
    return im


def alt_text(tip: dict[str, object], text: str) -> str:
    """What the poster shows, in the tip's language, for people who cannot see it."""
    if tip["lang"] == "zh":
        return f"安全提示海报，标题“{tip['title']}”。正文：{text} 底部：{footer(tip)}。"
    return (f"Safety poster titled \u201c{tip['title']}\u201d. It reads: {text} "
            f"At the bottom: {footer(tip)}.")


def main() -> None:
    bold, regular = cjk_font("Bold"), cjk_font("Regular")
    categories = {c["code"]: c for c in tomllib.loads(
        (CONTENT / "categories.toml").read_text("utf-8"))["category"]}
    tips = {}
    for path in sorted((CONTENT / "tips").glob("*.toml")):
        for tip in tomllib.loads(path.read_text("utf-8")).get("tip", []):
            tips[tip["id"]] = tip
    for tip_id, colour in POSTERS.items():
        tip = tips[tip_id]
        code = str(tip["category"]).split(".")[0]
        name = categories[code][str(tip["lang"])]
        im = draw(tip, colour, name, bold, regular)
        # a few flat colours: a small palette PNG that still reads sharply
        im = im.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = CONTENT / "media" / f"{tip_id}.png"
        im.save(out, optimize=True)
        text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
            str(tip["text"])).render(VARS)
        print(f"{out.relative_to(CONTENT)}  {out.stat().st_size // 1024} KB")
        print(f"  alt = {alt_text(tip, text)!r}")


if __name__ == "__main__":
    main()
