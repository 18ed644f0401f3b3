"""Compose: an account (or ``@group``: one post per account as one batch, each a
``stagger`` after the one before, all or nothing — ``queue add --account @group``), a
library tip or a text, a time; a live preview of the exact text (``/compose/preview``, the
checks the publisher runs; for a group, its first account's)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import JSONResponse, Response

from outreach.actions.batches import fan_out
from outreach.actions.media import ImageRequest
from outreach.actions.posts import add_post
from outreach.actions.preview import preview_post
from outreach.actions.queries.library import content_rows
from outreach.actions.users import Permission
from outreach.config.groups import is_fan_out
from outreach.errors import InputError
from outreach.i18n import _
from outreach.web.pages import Ctx, get, post

PICTURE_SLOTS = 4
"""Picture fields on the form (the most any platform takes on one post)."""


@get("/compose", Permission.COMPOSE)
def compose_form(ctx: Ctx) -> Response:
    accounts = list(ctx.rt.settings.accounts.values())
    tips = [r for r in content_rows(ctx.rt, category=None, lang=None) if r["approved"] and r["valid"]]
    groups = {name: len(members) for name, members in ctx.rt.settings.groups.items()}
    return ctx.render("compose.html", accounts=accounts, tips=tips, groups=groups,
                      chosen=ctx.query.get("account") or (accounts[0].name if accounts else ""),
                      picture_slots=PICTURE_SLOTS)


@post("/compose", Permission.COMPOSE)
def compose(ctx: Ctx) -> Response:
    tip = ctx.form.get("tip") or None
    text = None if tip else ctx.form.get("text", "")
    if not tip and not (text or "").strip():
        ctx.flash(_("Write a text or choose a tip."), "error")
        return ctx.redirect("/compose")
    account = ctx.form.get("account", "")
    stagger = (ctx.form.get("stagger") or "").strip() or None
    if is_fan_out(account):
        return _fan_out(ctx, account, tip, text, stagger)
    if stagger is not None:
        raise InputError("a stagger is for a group: choose an @group as the account")
    warnings: list[str] = []
    new = add_post(ctx.rt, account, tip=tip, text=text,
                   at=(ctx.form.get("at") or "").strip() or None, by=ctx.user_name,
                   warnings=warnings, images=pictures(ctx))
    ctx.flash(_("Post {id} saved as {status}.").format(id=new.id, status=_(new.status)))
    for w in warnings:
        ctx.flash(w, "error")
    return ctx.redirect(f"/posts/{new.id}")


SHOWN_WARNINGS = 10


def _fan_out(ctx: Ctx, accounts: str, tip: str | None, text: str | None,
             stagger: str | None) -> Response:
    """One post per account of the group, as one batch (the action checks every account
    first): a refusal lists every problem on the form's page, one line each, and stores
    nothing; a batch stored is shown on the queue page."""
    try:
        done = fan_out(ctx.rt, accounts, tip=tip, text=text,
                       at=(ctx.form.get("at") or "").strip() or None, stagger=stagger,
                       by=ctx.user_name, images=pictures(ctx))
    except InputError as exc:
        for line in str(exc).splitlines():
            ctx.flash(line, "error")
        return ctx.back("/compose")
    ctx.flash(_("Batch {id}: {n} posts saved as {status}.").format(
        id=done.batch_id, n=len(done.posts), status=_(done.posts[0].status)))
    for w in done.warnings[:SHOWN_WARNINGS]:
        ctx.flash(w, "error")
    if len(done.warnings) > SHOWN_WARNINGS:
        ctx.flash(_("… and {n} more warnings.").format(n=len(done.warnings) - SHOWN_WARNINGS),
                  "error")
    return ctx.redirect("/queue", batch=done.batch_id)


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
    account = ctx.query.get("account", "")
    names = ctx.rt.settings.select(account) if is_fan_out(account) else None
    data = preview_post(ctx.rt, names[0] if names else account,
                        tip=ctx.query.get("tip") or None, text=ctx.query.get("text"),
                        at=ctx.query.get("at") or None)
    if names:  # a group: its first account's text; every account's is checked on submit
        data["warnings"] = [_("Preview for {name}, the first of {n} accounts; every "
                              "account's text is checked when you submit.").format(
                                  name=names[0], n=len(names)), *data["warnings"]]
    return JSONResponse(data)


PAGES = [compose_form, compose, compose_preview]
