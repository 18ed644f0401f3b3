"""The words people read, in their language: one gettext catalogue for the CLI and the console.

Message ids are the English text; ``outreach/locale/<lang>/LC_MESSAGES/outreach.po`` holds a
translation, managed with Babel (``pybabel extract`` with ``babel.cfg``, then ``pybabel update``).
The ``.po`` is the source of truth. Its compiled ``.mo`` sits beside it and is rebuilt when it is
missing or older than the ``.po`` — in memory when the package folder cannot be written — so no
build step stands between an edited translation and the next run.

The language is per context: the CLI sets it once for the process (``set_language``), the console
for each request (``use_language``). Only words change: JSON keys and values, statuses, exit codes
and the ``file:line: key:`` prefix of errors are never translated.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
import struct
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LANGS = ("zh", "en")
"""The languages outreach speaks; English is the message ids themselves."""

DEFAULT_LANG = "en"
DOMAIN = "outreach"
LOCALE_DIR = Path(__file__).parent / "locale"

_context_lang: ContextVar[str | None] = ContextVar("outreach_lang", default=None)
_process_lang = DEFAULT_LANG


def parse_lang(value: str) -> str:
    """``zh``, ``zh_CN``, ``zh-Hans``, ``zh_CN.UTF-8`` → ``zh``; ``en``, ``en_US`` → ``en``.

    Raises ``ValueError`` naming the languages outreach speaks for anything else."""
    code = value.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    if code in LANGS:
        return code
    raise ValueError(f"{value!r} is not a language outreach speaks ({', '.join(LANGS)})")


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``OUTREACH_LANG`` (must be a language outreach speaks), else the POSIX locale — the first
    of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set decides: ``zh_*`` → zh, anything else
    (``C``, ``POSIX``, ``fr_FR``) → en."""
    env = os.environ if environ is None else environ
    explicit = env.get("OUTREACH_LANG", "").strip()
    if explicit:
        try:
            return parse_lang(explicit)
        except ValueError as exc:
            raise ValueError(f"OUTREACH_LANG: {exc}") from None
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "").strip()
        if value:
            return "zh" if value.lower().startswith("zh") else DEFAULT_LANG
    return DEFAULT_LANG


def set_language(lang: str) -> None:
    """The language of this process (the CLI's choice), for every context that sets none."""
    global _process_lang
    _process_lang = parse_lang(lang)


def current_language() -> str:
    return _context_lang.get() or _process_lang


@contextmanager
def use_language(lang: str) -> Iterator[str]:
    """Speak ``lang`` inside the block (one console request), whatever the process speaks."""
    token = _context_lang.set(parse_lang(lang))
    try:
        yield current_language()
    finally:
        _context_lang.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language (itself when it has no translation)."""
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language."""
    return _translations(current_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue where it is defined; translate it where it is shown."""
    return message


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(lang: str) -> _gettext.NullTranslations:
    if lang == DEFAULT_LANG:
        return _gettext.NullTranslations()
    po = po_path(lang)
    if not po.is_file():
        return _gettext.NullTranslations()
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            return _gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    except (OSError, ValueError, struct.error):
        pass  # missing, unreadable or damaged: compile it again
    data = compile_po(po)
    _write_quietly(mo, data)
    return _gettext.GNUTranslations(io.BytesIO(data))


def compile_po(po: Path) -> bytes:
    """The ``.mo`` bytes of ``po`` (fuzzy entries left out, as ``pybabel compile`` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalogue = read_po(handle, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalogue, use_fuzzy=False)
    return out.getvalue()


def _write_quietly(path: Path, data: bytes) -> None:
    """Keep the compiled catalogue for the next run when the folder can be written."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".outreach-", suffix=".mo")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # readable by every user of a shared install, as the .po is
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def reset_cache() -> None:
    """Forget loaded catalogues (after the ``.po`` changed in this process)."""
    _translations.cache_clear()
