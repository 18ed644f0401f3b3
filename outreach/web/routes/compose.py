"""Compose: an account, a library tip or a text, a time; a live preview of the exact text
(``/compose/preview``, the checks the publisher runs)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import JSONResponse, Response

from outreach.actions.media import ImageRequest
from outreach.actions.posts import add_post
from outreach.actions.preview import preview_post
from outreach.actions.queries.library import content_rows
from outreach.actions.users import Permission
from outreach.errors import InputError
from outreach.i18n import _
from outreach.web.pages import Ctx, get, post

PICTURE_SLOTS = 4
"""Picture fields on the form (the most any platform takes on one post)."""


@get("/compose", Permission.COMPOSE)
def compose_form(ctx: Ctx) -> Response:
    accounts = list(ctx.rt.settings.accounts.values())
    tips = [r for r in content_rows(ctx.rt, category=None, lang=None) if r["approved"] and r["valid"]]
    return ctx.render("compose.html", accounts=accounts, tips=tips,
                      chosen=ctx.query.get("account") or (accounts[0].name if accounts else ""),
                      picture_slots=PICTURE_SLOTS)


@post("/compose", Permission.COMPOSE)
def compose(ctx: Ctx) -> Response:
    tip = ctx.form.get("tip") or None
    text = None if tip else ctx.form.get("text", "")
    if not tip and not (text or "").strip():
        ctx.flash(_("Write a text or choose a tip."), "error")
        return ctx.redirect("/compose")
    warnings: list[str] = []
    new = add_post(ctx.rt, ctx.form.get("account", ""), tip=tip, text=text,
                   at=(ctx.form.get("at") or "").strip() or None, by=ctx.user_name,
                   warnings=warnings, images=pictures(ctx))
    ctx.flash(_("Post {id} saved as {status}.").format(id=new.id, status=_(new.status)))
    for w in warnings:
        ctx.flash(w, "error")
    return ctx.redirect(f"/posts/{new.id}")


def pictures(ctx: Ctx) -> list[ImageRequest]:
    """The form's pictures, each file input paired with the alt text field beside it (an
    empty pair is skipped); the checks are the action's, as for ``queue add --image``."""
    files = [f for f in ctx.files if f.field == "image"]
    alts = ctx.lists.get("alt", [])
    out = []
    for i in range(max(len(files), len(alts))):
        upload = files[i] if i < len(files) else None
        alt = alts[i] if i < len(alts) else ""
        if upload is None or not (upload.filename or upload.data):
            if alt.strip():
                raise InputError(f"picture {i + 1} has alt text but no image file")
            continue
        name = upload_name(upload.filename) or f"picture-{i + 1}"
        out.append(ImageRequest(Path(name), alt, f"picture {i + 1}", data=upload.data))
    return out


def upload_name(filename: str) -> str:
    """The file name a browser sent, for messages only: its last part, printable, short."""
    last = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in last if c.isprintable())[:100]


@get("/compose/preview", Permission.COMPOSE)
def compose_preview(ctx: Ctx) -> Response:
    data = preview_post(ctx.rt, ctx.query.get("account", ""), tip=ctx.query.get("tip") or None,
                        text=ctx.query.get("text"), at=ctx.query.get("at") or None)
    return JSONResponse(data)


PAGES = [compose_form, compose, compose_preview]
