"""The media store: image bytes kept by their SHA-256, so a queued post's picture cannot
change when the officer's original file is edited or deleted.

The store is a directory (beside a SQLite database, or ``[outreach] media_dir``); a file is
``<root>/<sha[:2]>/<sha>``, written to a temporary name and renamed into place, so a reader
never sees half a file and two writers of the same bytes agree. Reading checks the digest:
a file changed on disk is an error, never a different picture published.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from outreach.errors import OutreachError
from outreach.i18n import _


class MediaMissing(OutreachError):
    """A stored image is gone or its bytes no longer match their digest."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise MediaMissing(_("not a SHA-256 digest: {value!r}").format(value=sha256[:80]))
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Keep ``data``; return its digest. Idempotent."""
        sha = digest(data)
        target = self.path(sha)
        if target.is_file() and target.stat().st_size == len(data):
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except OSError as e:
            raise MediaMissing(_("image {value} is missing from the media store ({target}): "
                                 "{value2}").format(
                value=sha256[:12], target=target, value2=e.strerror or e)) from None
        if digest(data) != sha256:
            raise MediaMissing(_("image {value} in the media store ({target}) was changed on disk; its "
                                 "digest no longer matches").format(
                value=sha256[:12], target=target))
        return data
