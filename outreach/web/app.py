"""The console's ASGI app: every page of ``routes`` behind one dispatcher that loads the
session, sends a visitor without one to ``/login``, checks the page's permission, checks
the CSRF token of every POST before anything is read or written, runs the page (in a
thread: the actions are synchronous) and sets the security headers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from outreach.actions.users import Forbidden, SignedIn, require, session_user
from outreach.errors import NotFound, OutreachError
from outreach.i18n import _, use_language
from outreach.media.images import MAX_SOURCE_BYTES, mb
from outreach.web.i18n import pick_lang
from outreach.web.pages import HERE, Ctx, Page, Upload
from outreach.web.routes import PAGES
from outreach.web.session import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, Sessions

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

IDLE_MINUTES = 30
MAX_FORM_FIELD = 20_000
MAX_UPLOAD = MAX_SOURCE_BYTES
"""The most one form may carry, pictures included (checked on its declared length)."""
MAX_FILES = 16
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Console:
    """The pages with what they share: the runtime and the session signer."""

    def __init__(self, rt: Runtime, secret: str, *, idle_minutes: float = IDLE_MINUTES,
                 max_upload: int = MAX_UPLOAD) -> None:
        self.rt = rt
        self.max_upload = max_upload
        self.sessions = Sessions(secret, idle=idle_minutes * 60)

    def endpoint(self, page: Page) -> Any:
        async def run(request: Request) -> Response:
            return await self.dispatch(page, request)
        return run

    async def dispatch(self, page: Page, request: Request) -> Response:
        now = self.rt.clock().timestamp()
        session = self.sessions.load(request.cookies.get(COOKIE), now)
        user: SignedIn | None = None
        if session.user_id is not None:
            user = await run_in_threadpool(session_user, self.rt, session.user_id, session.stamp)
            if user is None:  # disabled, a new password, or gone: sign in again
                session = Session(seen=now)
        form: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        files: list[Upload] = []
        lang = pick_lang(request.query_params.get("lang"), session, user)
        if page.method == "POST":
            with use_language(lang):
                too_big = self._too_big(request)
            if too_big is not None:
                return self._finish(too_big, request, session)
            data = await request.form(max_files=MAX_FILES, max_fields=200,
                                      max_part_size=MAX_FORM_FIELD)
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            for key, value in data.multi_items():
                if isinstance(value, str):
                    lists.setdefault(key, []).append(value)
                else:  # within MAX_UPLOAD: the request's length was checked first
                    files.append(Upload(key, value.filename or "", await value.read()))
            await data.close()
            token = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not session.csrf_ok(token):
                with use_language(lang):
                    refused = _("the form's security token is missing or out of date; reload "
                                "the page and try again")
                return self._finish(PlainTextResponse("403: " + refused, status_code=403),
                                    request, session)
        address = request.client.host if request.client else "-"
        ctx = Ctx(self.rt, user, session, lang, request.url.path, request.query_params, form,
                  request.path_params, address, lists=lists, files=files)
        if page.permission is not None:
            if user is None:
                nxt = request.url.path if page.method == "GET" else "/"
                return self._finish(ctx.redirect("/login", next=nxt if nxt != "/" else None),
                                    request, session)
            try:
                require(user, page.permission)
            except Forbidden:
                with use_language(lang):
                    refused = _("Your role may not do this.")
                return self._finish(ctx.render("error.html", code=403, message=refused),
                                    request, session)
        try:
            response = await run_in_threadpool(_speaking, lang, page, ctx)
        except NotFound as exc:
            response = ctx.render("error.html", code=404, message=exc.message)
        except OutreachError as exc:
            if page.method != "POST":
                response = ctx.render("error.html", code=400, message=exc.message)
            else:  # the form's page again, saying what was wrong; nothing was written
                ctx.flash(str(exc), "error")
                response = ctx.back("/")
        return self._finish(response, request, ctx.session)

    def _too_big(self, request: Request) -> Response | None:
        """Refuse a body over ``max_upload`` bytes by its declared length, before reading
        it (a file upload must declare one)."""
        declared = request.headers.get("content-length")
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        if declared is None or not declared.isdigit():
            if multipart:
                return PlainTextResponse("411: " + _("an upload must give its length"),
                                         status_code=411)
            return None
        if int(declared) > self.max_upload:
            return PlainTextResponse("413: " + _("a form may carry at most {size} in all; nothing "
                                                 "was stored").format(size=mb(self.max_upload)),
                                     status_code=413)
        return None

    def _finish(self, response: Response, request: Request, session: Session) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.set_cookie(COOKIE, self.sessions.dump(session), httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
        return response


def _speaking(lang: str, page: Page, ctx: Ctx) -> Response:
    """Run ``page`` in ``lang``, in the worker thread: its words and the errors the actions
    raise below it are in the request's language."""
    with use_language(lang):
        return page.handler(ctx)


def create_app(rt: Runtime, secret: str, *, idle_minutes: float = IDLE_MINUTES,
               max_upload: int = MAX_UPLOAD) -> Starlette:
    """The console over ``rt`` (its settings, database and clock)."""
    console = Console(rt, secret, idle_minutes=idle_minutes, max_upload=max_upload)
    routes: list[Any] = [Route(p.path, console.endpoint(p), methods=[p.method],
                               name=f"{p.method} {p.path}") for p in PAGES]
    routes.append(Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"))

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("404: no such page", status_code=404, headers=HEADERS)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("405: method not allowed", status_code=405, headers=HEADERS)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.console = console
    return app
