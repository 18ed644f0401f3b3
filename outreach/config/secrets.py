"""Secrets: a value that never prints, and the token files that hold them.

A token comes from the environment variable an account names (``token_env``) or from
its token file in the data directory, which must be a regular 0600 file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from outreach.errors import ConfigError
from outreach.i18n import _


class Secret:
    """A token. ``str``/``repr`` show only a mask; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # never pickled with its value by accident
        raise TypeError("Secret cannot be pickled")


def read_token(token_env: str | None, path: Path) -> Secret | None:
    """The token: ``token_env`` wins, else the file at ``path`` (None when neither has one).

    A token file readable by group or others is refused with a clear message.
    """
    if token_env:
        value = os.environ.get(token_env, "").strip()
        if value:
            return Secret(value)
    again = _("store the token again (`outreach auth`, or a 0600 file with the token on "
              "its first line)")
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(_("cannot read the token file {path}: {value}; {again}").format(
            path=path, value=exc.strerror or exc, again=again)) from None
    if not stat.S_ISREG(st.st_mode):
        kind = _("a directory") if stat.S_ISDIR(st.st_mode) else _("not a regular file")
        raise ConfigError(_("the token file {path} is {kind}; remove it and {again}").format(
            path=path, kind=kind, again=again))
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise ConfigError(
            _("token file is readable by others (mode {mode:o}); run: chmod 600 {path}").format(
                mode=mode, path=path),
            where=str(path),
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(_("the token file {path} is not UTF-8 text; {again}").format(
            path=path, again=again)) from None
    except OSError as exc:
        raise ConfigError(_("cannot read the token file {path}: {value}; {again}").format(
            path=path, value=exc.strerror or exc, again=again)) from None
    lines = text.strip().splitlines()
    if lines and lines[0].strip():
        return Secret(lines[0].strip())
    return None
