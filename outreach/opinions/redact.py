"""Personal data in the public's comments: find it and replace it with tokens.

Pure functions over text; nothing here touches the database or prints.

What is found: mainland mobiles (with or without +86/0086/86) and landlines with an area
code, 18-digit resident IDs (a valid check character, or a real region and birth date — a
typo in the check character still gives both away) and 15-digit old IDs, Luhn-valid 16–19
digit bank cards, and e-mail addresses (Unicode names and domains too: ``张三@example.com``,
``user@例子.中国``, ``user @ example.com``).

People write numbers to get past filters, so the text is normalised before it is matched:
NFKC (full-width, circled, superscript and mathematical digits become ASCII; other scripts'
decimal digits too), format characters (zero-width spaces, word joiners, soft hyphens, bidi
marks) and combining marks (keycaps) are dropped, and separators between digits — spaces of
any width, ``-``, ``.``, ``_``, ``/``, ``·`` — are matched both as written and as nothing.
Every match is mapped back to the characters of the original text, which keeps everything
else as it was written.

Short numbers (110, 96110, 12345), dates, times, prices, years, versions and order or
tracking numbers stay; ``tests/fixtures/redaction_corpus.jsonl`` holds the variants that must
go and the look-alikes that must stay.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

__all__ = ["has_personal_data", "id_check_ok", "luhn_ok", "personal_spans", "redact"]

_TOKENS = {
    "mobile": ("[手机号]", "[phone]"),
    "landline": ("[电话]", "[phone]"),
    "id": ("[身份证号]", "[id]"),
    "card": ("[银行卡号]", "[card]"),
    "email": ("[邮箱]", "[email]"),
}
_TOKEN_RE = re.compile(
    "|".join(re.escape(t) for pair in _TOKENS.values() for t in pair), re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]")

# --- normalising -------------------------------------------------------------------------

_SEPARATORS = frozenset("-._/·・･~")  # and white space and dashes (Pd)
_MAX_SEPARATOR_RUN = 3  # "139 - 1234", double spaces; longer gaps are two numbers
_DROPPED = frozenset({"Cf", "Mn", "Me"})  # format characters and combining marks
_PRIORITY = ("email", "id", "card", "mobile", "landline")
_EXTRA = {"\u3002": ".", "\uff61": "."}  # ideographic full stops, as in "qq。com"


def _is_separator(ch: str) -> bool:
    return ch in _SEPARATORS or ch.isspace() or unicodedata.category(ch) == "Pd"


class _Form:
    """A normalised text and, for each of its characters, the original character it came from."""

    __slots__ = ("text", "origin")

    def __init__(self, chars: list[str], origin: list[int]) -> None:
        self.text = "".join(chars)
        self.origin = origin

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def _forms(text: str) -> tuple[_Form, _Form, _Form]:
    """(as written, separators as spaces, separators between digits removed)."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if cat in _DROPPED:  # zero-width, joiners, soft hyphen, keycaps
            continue
        if cat == "Nd" and not ("0" <= ch <= "9"):
            folded = str(unicodedata.decimal(ch))
        else:
            folded = _EXTRA.get(ch) or unicodedata.normalize("NFKC", ch)
        for c in folded:
            chars.append(c)
            origin.append(i)
    written = _Form(chars, origin)
    spaced = _Form([" " if _is_separator(c) else c for c in chars], origin)
    joined_chars: list[str] = []
    joined_origin: list[int] = []
    i = 0
    n = len(chars)
    while i < n:
        c = chars[i]
        if _is_separator(c) and joined_chars and joined_chars[-1].isdigit():
            j = i
            while j < n and j - i < _MAX_SEPARATOR_RUN + 1 and _is_separator(chars[j]):
                j += 1
            if j - i <= _MAX_SEPARATOR_RUN and j < n and chars[j].isdigit():
                i = j  # a separator between digits: as if it were not there
                continue
        joined_chars.append(c)
        joined_origin.append(origin[i])
        i += 1
    return written, spaced, _Form(joined_chars, joined_origin)


# --- detectors ---------------------------------------------------------------------------

_IDN_TLDS = ("中国|中國|公司|网络|網絡|在线|在綫|网址|网店|网站|商城|商店|政务|公益|香港|台湾|台灣|澳門|"
             "集团|我爱你|手机|移动|信息|游戏|新加坡|企业|广东|佛山|时尚|微博|中文网|机构|组织机构")
_EMAIL = re.compile(
    r"(?<![\w.%+-])(?:[a-z0-9][a-z0-9._%+-]*|[\u3400-\u9fff\uf900-\ufaff]{1,4}[a-z0-9._%+-]*)"
    r"(?:[ \t]{1,2}@[ \t]{1,2}|@[ \t]{0,2})"  # "a @ b.cn", "a@ b.cn"; not "or @b.cn"
    r"(?:[\w-]+\.)+(?:[a-z]{2,63}(?![a-z0-9-])|(?:" + _IDN_TLDS + "))",
    re.IGNORECASE)
# with separators (as spaces or dashes) where people usually put them
_ID18 = re.compile(r"(?<![0-9])[1-9]\d{5}[ -]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                   r"[ -]?\d{3}[0-9x](?![0-9])", re.IGNORECASE | re.ASCII)
_ID15 = re.compile(r"(?<![0-9])[1-8]\d{5}[ -]?\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ -]?\d{3}"
                   r"(?![0-9x])", re.IGNORECASE | re.ASCII)
_CARD = re.compile(r"(?<![0-9])(?:\d{4}[ -]){3,4}\d{1,4}(?![0-9])|(?<![0-9])\d{6}[ -]\d{10,13}(?![0-9])"
                   r"|(?<![0-9])\d{16,19}(?![0-9])", re.ASCII)
_CARD_SHAPE = re.compile(r"\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,4})?|\d{6}[ -]\d{10,13}|\d{16,19}", re.ASCII)
_MOBILE = re.compile(r"(?<![0-9+])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9])", re.ASCII)
_LANDLINE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)[ -]?|0\d{2,3}[ -]?)\d{3,4}[ -]?\d{4}(?![0-9])",
                       re.ASCII)
_HANDLE = re.compile(r"@?[a-z0-9_][a-z0-9_.-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+",
                     re.IGNORECASE | re.ASCII)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# the first two digits of a resident ID: the province (and 9x for permanent residents)
_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
                        44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91})
_CARD_FIRST = frozenset("345689")  # Amex/JCB, Visa, Mastercard, UnionPay and old domestic


def id_check_ok(number: str) -> bool:
    """True if an 18-character resident ID has a valid ISO 7064 MOD 11-2 check character."""
    digits = number.upper()
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == digits[17]


def luhn_ok(number: str) -> bool:
    """True if a string of digits passes the Luhn check (bank cards)."""
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit() or ch in "xX")


def _real_day(yyyymmdd: str) -> bool:
    try:
        day = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2100


def _id18_ok(number: str) -> bool:
    """A resident ID: a valid check character, or (a typo in it) a real region and birth day."""
    if len(number) != 18 or not number[:17].isdigit() or not _real_day(number[6:14]):
        return False
    return id_check_ok(number) or int(number[:2]) in _PROVINCES


def _card_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The Luhn-valid 16–19-digit card in a match, dropping trailing groups if needed."""
    text = m[0]
    end = len(text)
    while True:
        digits = _digits(text[:end])
        if 16 <= len(digits) <= 19 and digits[0] in _CARD_FIRST and luhn_ok(digits):
            return m.start(), m.start() + end
        cut = max(text.rfind(" ", 0, end), text.rfind("-", 0, end))
        if cut <= 0 or len(_digits(text[:cut])) < 16:
            return None
        end = cut


def _inside_card_shape(text: str, start: int, end: int) -> bool:
    """True if [start, end) is part of a longer card-shaped number (e.g. a card failing Luhn)."""
    while start >= 2 and text[start - 1] in " -" and text[start - 2].isdigit() or (
            start >= 1 and text[start - 1].isdigit()):
        start -= 1
    while end + 1 < len(text) and text[end] in " -" and text[end + 1].isdigit() or (
            end < len(text) and text[end].isdigit()):
        end += 1
    run = text[start:end]
    return _CARD_SHAPE.fullmatch(run) is not None


def _numbers(form: _Form) -> list[tuple[int, int, str]]:
    text = form.text
    found: list[tuple[int, int, str]] = []
    for m in _ID18.finditer(text):
        if _id18_ok(_digits(m[0]).upper()):
            found.append((m.start(), m.end(), "id"))
    for m in _ID15.finditer(text):
        if int(m[0][:2]) in _PROVINCES and _real_day("19" + _digits(m[0])[6:12]):
            found.append((m.start(), m.end(), "id"))
    for m in _CARD.finditer(text):
        card = _card_span(m)
        if card:
            found.append((*card, "card"))
    for regex, kind in ((_MOBILE, "mobile"), (_LANDLINE, "landline")):
        for m in regex.finditer(text):
            if not _inside_card_shape(text, m.start(), m.end()):
                found.append((m.start(), m.end(), kind))
    return found


def personal_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) in ``text`` of every phone, ID, card and e-mail, without overlaps."""
    written, spaced, joined = _forms(text)
    found: list[tuple[int, int, str]] = []
    for form in (written, joined):
        found.extend((*form.span(s, e), "email") for s, e in
                     ((m.start(), m.end()) for m in _EMAIL.finditer(form.text)))
    for form in (spaced, joined):
        found.extend((*form.span(s, e), kind) for s, e, kind in _numbers(form))
    # the more specific kind wins an overlap (an ID's digits also look like a mobile), and
    # the overlap widens the kept span (nothing half-redacted)
    found.sort(key=lambda f: _PRIORITY.index(f[2]))
    kept: list[list[Any]] = []
    for start, end, kind in found:
        while end < len(text) and unicodedata.category(text[end]) in _DROPPED:
            end += 1  # a keycap's marks, a trailing zero-width space: part of the number

        for k in kept:
            if start < k[1] and k[0] < end:
                k[0], k[1] = min(k[0], start), max(k[1], end)
                break
        else:
            kept.append([start, end, kind])
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(kept):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
        else:
            merged.append((start, end, kind))
    return merged


_FEWEST_DIGITS = 7
"""Fewer digits than any number :func:`personal_spans` finds (a landline has ten at least)."""


def could_hold_personal_data(text: str) -> bool:
    """False when the text cannot hold a phone, ID, card or e-mail: no ``@`` and fewer than
    :data:`_FEWEST_DIGITS` digits once folded as :func:`_forms` folds it (full-width, circled
    and other digits count). Most comments have neither, and this says so at a glance."""
    folded = unicodedata.normalize("NFKC", text)
    if "@" in folded:
        return True
    return sum(ch.isdigit() for ch in folded) >= _FEWEST_DIGITS


def has_personal_data(text: str) -> bool:
    """True if the text holds a phone, ID, card or e-mail, or a token :func:`redact` left."""
    if _TOKEN_RE.search(text) is not None:
        return True
    return could_hold_personal_data(text) and bool(personal_spans(text))


def redact(text: str, author: bool = False) -> tuple[str, bool]:
    """Replace phones, resident IDs, bank cards and e-mail addresses with tokens.

    Tokens are Chinese (``[手机号]``) when the text has CJK characters, English (``[phone]``)
    otherwise. Returns the text and whether anything was replaced.

    ``author=True`` is for an author's name: a name that is wholly ``user@host`` is a
    fediverse handle (Mastodon's ``acct``, the public account an officer answers), not a
    mailbox, and stays; a phone number or an ID as a name still goes.
    """
    spans = personal_spans(text)
    if author:
        spans = [sp for sp in spans if not (sp[2] == "email" and _HANDLE.fullmatch(text))]
    if not spans:
        return text, False
    zh = 0 if _CJK.search(text) else 1
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(_TOKENS[kind][zh])
        pos = end
    out.append(text[pos:])
    return "".join(out), True
