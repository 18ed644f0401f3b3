"""Reading the tip library: tips with their approvals, one tip as it would be posted, and
queued posts whose tip changed since."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from sqlalchemy import select
from sqlmodel import col

from outreach.actions.tips import check_category
from outreach.library.model import TipDef, TipImage, category_matches
from outreach.library.texts import text_problems
from outreach.schedule.history import approved_tips
from outreach.schedule.plan import changed_tip_posts
from outreach.store.db import HEAD, sqlite_path
from outreach.store.models import Approval, Post

if TYPE_CHECKING:
    from outreach.runtime import Runtime


class ContentRow(TypedDict):
    id: str
    category: str
    lang: str
    title: str
    source: str
    months: list[int]
    valid_until: date | None
    review_by: date | None
    variants: int
    approved: bool
    valid: bool


def content_rows(rt: Runtime, *, category: str | None, lang: str | None) -> list[ContentRow]:
    """The library's tips with their approval state, by category, language and id."""
    check_category(rt, category)
    lib = rt.library
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, rt.settings.policy)
    rows: list[ContentRow] = []
    for tip in sorted(lib.tips.values(), key=lambda t: (t.category, t.lang, t.id)):
        if category and not category_matches(category, tip.category):
            continue
        if lang and tip.lang != lang:
            continue
        rows.append({
            "id": tip.id, "category": tip.category, "lang": tip.lang, "title": tip.title,
            "source": tip.source, "months": list(tip.months), "valid_until": tip.valid_until,
            "review_by": tip.review_by, "variants": len(tip.variants),
            "approved": True if approved is None else tip.id in approved,
            "valid": tip.id not in lib.broken_tips,
        })
    return rows


def _schema_current(rt: Runtime) -> bool:
    """Whether the database exists at the current revision (read-only commands never
    create or migrate it)."""
    path = sqlite_path(rt.settings.database_url)
    return (path is None or path.exists()) and rt.db.current_revision() == HEAD


def tip_approval(rt: Runtime, tip: TipDef) -> dict[str, Any]:
    """Whether the tip is approved as it is now, by whom and when (read-only: no database
    yet means nothing is approved)."""
    if not rt.settings.policy.require_approval:
        return {"approved": True, "approval_required": False, "approved_by": None,
                "approved_at": None}
    row = None
    if _schema_current(rt):
        with rt.db.reader() as s:
            row = s.execute(select(Approval).where(
                col(Approval.tip_id) == tip.id, col(Approval.text_hash) == tip.text_hash,
            ).limit(1)).scalars().first()
    return {"approved": row is not None, "approval_required": True,
            "approved_by": row.approved_by if row else None,
            "approved_at": row.approved_at if row else None}


def tip_detail(rt: Runtime, tip_id: str, *, account: str | None = None,
               variant: int = 0) -> dict[str, Any]:
    """A tip with its approval, and with ``account`` the exact text that would be posted
    there, its length and what is wrong with it."""
    tip = rt.library.tip(tip_id)
    data: dict[str, Any] = {
        "id": tip.id, "category": tip.category, "lang": tip.lang, "title": tip.title,
        "text": tip.text, "variants": list(tip.variants), "tags": list(tip.tags),
        "months": list(tip.months), "valid_until": tip.valid_until, "review_by": tip.review_by,
        "source": tip.source, "file": f"{tip.file}:{tip.line}", "text_hash": tip.text_hash,
        "images": [_image(i) for i in tip.images],
        "variant_images": [None if own is None else [_image(i) for i in own]
                           for own in tip.variant_images],
    }
    data.update(tip_approval(rt, tip))
    if account is not None:
        acc = rt.settings.account(account)
        text = rt.render(tip_id, acc, variant)
        client = rt.client(acc)
        problems = text_problems(text, client, rt.library)
        if tip.lang != acc.lang:
            problems.insert(0, f"the tip is in {tip.lang}; {acc.name} posts in {acc.lang}, so "
                               "it is never drawn or queued there")
        data.update(account=acc.name, rendered=text, length=client.text_length(text),
                    max_length=client.max_length, problems=problems)
    return data


def _image(image: TipImage) -> dict[str, str]:
    return {"file": image.file, "alt": image.alt, "sha256": image.sha256}


class TipChange(NamedTuple):
    """A queued post whose tip changed since it was queued, and what will become of it."""

    post: Post
    tip: TipDef | None
    what: str


def queued_tip_changes(rt: Runtime) -> list[TipChange]:
    """Queued posts whose tip changed since (none before the database exists)."""
    if not _schema_current(rt):
        return []
    return [TipChange(post, rt.library.tips.get(post.tip_id or ""), what)
            for post, what in changed_tip_posts(rt)]
