"""Importing many posts at once from CSV or JSON Lines: every row is checked before any
is stored, and nothing is stored unless all of them pass."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.actions.media import ImageRequest, PrepareCache
from outreach.actions.posts import NewPost, insert_post, prepare_post
from outreach.errors import ContentError, InputError
from outreach.i18n import _
from outreach.media.store import MediaStore
from outreach.schedule.history import approved_tips
from outreach.store.audit import audit
from outreach.store.models import Post
from outreach.times import check_not_past, parse_when

if TYPE_CHECKING:
    from outreach.runtime import Runtime

MAX_IMPORT_BYTES = 20_000_000
MAX_CSV_IMAGES = 9
"""CSV: a picture is an ``image``/``alt`` pair of columns; more are ``image2``/``alt2`` …
(a separator inside one cell would collide with alt texts, which are prose)."""
IMAGE_COLUMNS = (("image", "alt"), *((f"image{n}", f"alt{n}")
                                     for n in range(2, MAX_CSV_IMAGES + 1)))
COLUMNS = frozenset({"account", "at", "text", "tip", "images",
                     *(c for pair in IMAGE_COLUMNS for c in pair)})


def import_posts(rt: Runtime, path: Path, *, by: str,
                 warnings: list[str] | None = None) -> list[Post]:
    """CSV or JSON Lines; every row is validated first and nothing is stored unless all are.
    What is allowed but probably not meant is added to ``warnings`` as ``FILE:ROW: …``."""
    rows = read_import_rows(path, warnings)
    now = rt.clock()
    errors: list[str] = []
    prepared: list[NewPost] = []
    pictures: PrepareCache = {}
    with rt.db.session() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy)
        for lineno, row in rows:
            where = f"{path}:{lineno}"
            try:
                unknown = set(row) - COLUMNS
                if unknown:
                    raise InputError(_("unknown column(s): {value}").format(
                        value=', '.join(sorted(unknown))))
                account = _cell(row, "account")
                if not account:
                    raise InputError(_("account is empty"))
                acc = rt.settings.account(account)
                at_text = _cell(row, "at")
                when = parse_when(at_text, acc.timezone, now, what="at") if at_text else now
                check_not_past(when, now, what="at", zone=acc.timezone)
                tip, text = _cell(row, "tip") or None, _cell(row, "text") or None
                images = _images(row, path.parent)
                prepared.append(prepare_post(rt, s, account, tip=tip, text=text, at=when,
                                             approved=approved, images=images,
                                             cache=pictures))
                if warnings is not None:
                    warnings.extend(f"{where}: {w}" for w in (*prepared[-1].warnings,
                                                              *prepared[-1].notes))
            except (InputError, ContentError) as exc:
                errors.append(f"{where}: {exc}")  # with the image file the error names
        if errors:
            more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
            raise InputError("\n".join(errors[:20]) + more + "\nnothing was imported")
        if not prepared:
            raise InputError(_("{path}: no rows to import").format(path=path))
        store = MediaStore(rt.settings.media_dir)
        posts = [insert_post(s, p, by=by, now=now, store=store) for p in prepared]
        audit(s, now, by, "queue_import", target=str(path)[-120:],
              detail={"rows": len(posts)})
        s.commit()
    return posts


def _images(row: dict[str, Any], base: Path) -> list[ImageRequest]:
    """A row's pictures: JSON ``images`` (a list of {file, alt}), or CSV ``image``/``alt``
    (``image2``/``alt2`` …); a relative file is read from the import file's folder."""
    out: list[ImageRequest] = []
    if "images" in row:
        value = row["images"]
        if not isinstance(value, list):
            raise InputError(_('images must be a list of {"file": …, "alt": …}'))
        for n, item in enumerate(value, 1):
            if not isinstance(item, dict) or not isinstance(item.get("file"), str):
                raise InputError(_("images[{n}] must be {{\"file\": …, \"alt\": …}}").format(n=n))
            unknown = set(item) - {"file", "alt"}
            if unknown:
                raise InputError(_("images[{n}]: unknown key(s): {value}").format(
                    n=n, value=', '.join(sorted(unknown))))
            alt = item.get("alt", "")
            if not isinstance(alt, str):
                raise InputError(_("images[{n}].alt must be text").format(n=n))
            out.append(_request(base, item["file"], alt, f"images[{n}]"))
    for image_col, alt_col in IMAGE_COLUMNS:
        file, alt = _cell(row, image_col), _cell(row, alt_col)
        if not file and alt:
            raise InputError(_("{alt_col} is given but {image_col} is empty").format(
                alt_col=alt_col, image_col=image_col))
        if file:
            out.append(_request(base, file, alt, image_col))
    return out


def _request(base: Path, file: str, alt: str, label: str) -> ImageRequest:
    if not file.strip():
        raise InputError(_("{label}: the file name is empty").format(label=label))
    return ImageRequest(base / file.strip(), alt, label)


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(_("{key} must be text, got {kind}").format(key=key, kind=type(value).__name__))
    return value.strip()


def read_import_rows(path: Path,
                     notes: list[str] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The rows of an import file with the line each starts on (CSV or JSON Lines)."""
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise InputError(_("file is over {value} MB").format(
                value=MAX_IMPORT_BYTES // 1_000_000), where=str(path))
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(_("file not found"), where=str(path)) from None
    except IsADirectoryError:
        raise InputError(_("is a folder, not a file"), where=str(path)) from None
    except OSError as exc:
        raise InputError(_("cannot read: {strerror}").format(
            strerror=exc.strerror), where=str(path)) from None
    if b"\x00" in raw:
        raise InputError(_("binary file (expected CSV or JSON Lines)"), where=str(path))
    text = decode_import(raw, path, notes)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith("{"):
        return _json_rows(text, path)
    return _csv_rows(text, path)


def _json_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(_("invalid JSON: {msg}").format(msg=exc.msg), where=f"{path}:{i}") from None
        except RecursionError:
            raise InputError(_("invalid JSON: nested too deeply"), where=f"{path}:{i}") from None
        if not isinstance(value, dict):
            raise InputError(_("each line must be a JSON object"), where=f"{path}:{i}")
        rows.append((i, value))
    return rows


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text), strict=True)
    row_start = 1
    try:
        if reader.fieldnames is None:
            raise InputError(_("empty file"), where=str(path))
        fields = [f.strip() for f in reader.fieldnames]
        if "account" not in fields:
            raise InputError(_("CSV header must name the columns: account, at, text or tip"),
                             where=f"{path}:1")
        reader.fieldnames = fields
        out: list[tuple[int, dict[str, Any]]] = []
        row_start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise InputError(_("more cells than header columns"),
                                 where=f"{path}:{reader.line_num}")
            out.append((row_start, {k: v for k, v in row.items() if v not in (None, "")}))
            row_start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a quote never closed, or a cell over the size limit
        raise InputError(_("invalid CSV in the row starting here: {exc}").format(exc=exc),
                         where=f"{path}:{row_start}") from None
    return out


def decode_import(raw: bytes, path: Path, notes: list[str] | None = None) -> str:
    """UTF-8 (with or without a BOM), else GB18030 — what Excel writes for "CSV" on Chinese
    Windows (a superset of GBK and GB2312) — saying so in ``notes``."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        utf8_error = InputError(_("not valid UTF-8, nor GB18030 (save it as \"CSV UTF-8\")"),
                                where=f"{path}:{bad_line}")
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise utf8_error from None
    if notes is not None:
        notes.append(_("{path}: read as GB18030 (GBK), Excel's encoding on Chinese Windows; the file is "
                       "not UTF-8").format(
            path=path))
    return text
