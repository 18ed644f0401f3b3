"""The starter workspace (`outreach init`): config.toml and the content library.

The shipped files are the repository's own ``config.toml`` and ``content/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from outreach.errors import InputError
from outreach.i18n import _

_ROOT = Path(__file__).resolve().parents[2]


def starter_root() -> Path:
    for root in (_ROOT, Path(__file__).resolve().parent / "_starter"):
        if (root / "config.toml").is_file() and (root / "content").is_dir():
            return root
    raise InputError(_("the starter files are not installed with this copy of outreach (install from a "
                       "source checkout: pip install -e .)"))


def write_starter(directory: Path) -> tuple[list[Path], list[Path]]:
    """Copy the starter files into ``directory``; existing files are kept as they are."""
    src = starter_root()
    directory.mkdir(parents=True, exist_ok=True)
    if directory.resolve() == src.resolve():
        return [], [directory / "config.toml", directory / "content"]
    written: list[Path] = []
    kept: list[Path] = []
    files = [src / "config.toml"] + sorted(
        p for p in (src / "content").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        target = directory / path.relative_to(src)
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written, kept
