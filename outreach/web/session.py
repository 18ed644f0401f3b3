"""The console's session: one signed cookie (HttpOnly, SameSite=Lax, Secure over https)
holding the user id, a stamp of their password hash (a new password ends old sessions),
the CSRF token and the last time it was used (the idle timeout). Nothing secret is in it:
it is signed, not encrypted, and the user is read from the database on every request.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "outreach_session"
SECRET_ENV = "OUTREACH_WEB_SECRET"
SECRET_FILE = "web-secret"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def load_secret(data_dir: Path) -> str:
    """The key cookies are signed with: ``$OUTREACH_WEB_SECRET``, else ``DATA_DIR/web-secret``
    (made once, mode 0600), so every web process on the same data folder shares it."""
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value
    path = data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="ascii").strip()


@dataclass
class Session:
    """What the cookie carries."""

    user_id: int | None = None
    stamp: str = ""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seen: float = 0.0
    lang: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")

    def as_dict(self) -> dict[str, Any]:
        return {"u": self.user_id, "s": self.stamp, "c": self.csrf, "t": self.seen,
                "l": self.lang, "f": self.flash}


class Sessions:
    """Signing and reading the cookie; ``idle`` seconds without a request end a session."""

    def __init__(self, secret: str, *, idle: float) -> None:
        self._signer = URLSafeSerializer(secret, salt="outreach-console-session")
        self.idle = idle

    def load(self, cookie: str | None, now: float) -> Session:
        """The cookie's session, or a new anonymous one (bad signature, expired, none)."""
        if not cookie:
            return Session(seen=now)
        try:
            data = self._signer.loads(cookie)
        except BadSignature:
            return Session(seen=now)
        if not isinstance(data, dict) or not isinstance(data.get("t"), int | float) \
                or now - data["t"] > self.idle or data["t"] > now + 60:
            return Session(seen=now)
        flash = [(str(k), str(m)) for k, m in data.get("f") or []][:10]
        return Session(user_id=data.get("u") if isinstance(data.get("u"), int) else None,
                       stamp=str(data.get("s") or ""), csrf=str(data.get("c") or "")
                       or secrets.token_urlsafe(32), seen=now,
                       lang=data.get("l") if data.get("l") in ("zh", "en") else None,
                       flash=flash)

    def dump(self, session: Session) -> str:
        return self._signer.dumps(session.as_dict())
