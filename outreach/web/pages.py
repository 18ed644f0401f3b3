"""What every page shares: the request context a handler gets (the user, the language, the
form, flash messages), rendering a template, and the declaration of a route with the
permission it needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from starlette.responses import HTMLResponse, RedirectResponse, Response

from outreach.actions.users import Permission, SignedIn
from outreach.i18n import use_language
from outreach.web.i18n import words
from outreach.web.session import CSRF_FIELD, Session

if TYPE_CHECKING:
    from outreach.runtime import Runtime

HERE = Path(__file__).resolve().parent


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["_"] = words  # the catalogue's words, in the language of the request
    return env


ENV = _environment()


@dataclass(frozen=True)
class Upload:
    """A file sent with a form, in the order the form gave it (an empty file input is one
    with no name and no bytes)."""

    field: str
    filename: str
    data: bytes


@dataclass
class Ctx:
    """One request as a handler sees it."""

    rt: Runtime
    user: SignedIn | None
    session: Session
    lang: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    params: Mapping[str, Any]
    address: str
    headers: dict[str, str] = field(default_factory=dict)
    lists: Mapping[str, list[str]] = field(default_factory=dict)  # every value of a field
    files: Sequence[Upload] = ()

    @property
    def user_name(self) -> str:
        """The signed-in user: the ``by`` of every action a page calls."""
        assert self.user is not None, "a page that acts needs a session"
        return self.user.name

    def flash(self, message: str, kind: str = "ok") -> None:
        self.session.flash.append((kind, message))

    def local(self, at: datetime | str | None, zone: ZoneInfo | None = None) -> str:
        """A time in the account's zone (the config's by default), to the minute."""
        if at is None or at == "":
            return "-"
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        return when.astimezone(zone or self.rt.settings.timezone).strftime("%Y-%m-%d %H:%M")

    def render(self, template: str, code: int = 200, **data: Any) -> HTMLResponse:
        flashes, self.session.flash = self.session.flash, []
        with use_language(self.lang):
            html = ENV.get_template(template).render(
                ctx=self, user=self.user, lang=self.lang, csrf=self.session.csrf,
                csrf_field=CSRF_FIELD, flashes=flashes, path=self.path, **data)
        return HTMLResponse(html, status_code=code)

    def redirect(self, to: str, **query: Any) -> RedirectResponse:
        clean = {k: v for k, v in query.items() if v not in (None, "")}
        return RedirectResponse(to + ("?" + urlencode(clean) if clean else ""), status_code=303)

    def back(self, default: str = "/") -> RedirectResponse:
        """After a form: to the page named in its ``next`` field (a path of ours), else
        ``default``."""
        return RedirectResponse(local_path(self.form.get("next"), default), status_code=303)


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirect: ``//host``
    and ``/\\host`` are other sites to a browser)."""
    if not value or not value.startswith("/") or value[1:2] in ("/", "\\") \
            or any(c in value for c in "\r\n"):
        return default
    return value


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Page:
    """A route: its path, method, the permission it needs (``None``: no session needed)
    and its handler."""

    path: str
    method: str
    permission: Permission | None
    handler: Handler


def get(path: str, permission: Permission | None = Permission.VIEW) -> Callable[[Handler], Page]:
    return lambda handler: Page(path, "GET", permission, handler)


def post(path: str, permission: Permission | None) -> Callable[[Handler], Page]:
    return lambda handler: Page(path, "POST", permission, handler)


def int_field(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
