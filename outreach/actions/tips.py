"""Approving tips as they are now, and withdrawing approvals (four eyes: a tip's author
approves it only where the policy allows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from outreach.actions.users import Permission, require_by_name
from outreach.errors import ContentError, InputError, StateError
from outreach.i18n import _
from outreach.library.model import TipDef, category_matches
from outreach.library.texts import render_tip, text_problems
from outreach.schedule.history import approved_tips
from outreach.store.audit import audit
from outreach.store.models import Approval

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def check_category(rt: Runtime, category: str | None) -> None:
    """Refuse a category the library does not have, naming those it has."""
    known = rt.library.categories
    if category is not None and category not in known:
        raise InputError(_("unknown category {category!r} (known: {value})").format(
            category=category, value=', '.join(sorted(known))))


def render_problems(rt: Runtime, tip: TipDef) -> list[str]:
    """What stops a tip from going out on any account of its language, as it is now."""
    out = []
    for account in rt.settings.accounts.values():
        if account.lang != tip.lang:
            continue
        for variant in range(len(tip.texts)):
            try:
                text = render_tip(rt.library, tip, variant, account)
            except ContentError as exc:
                out.append(f"variant {variant}: {exc.message}")
                continue
            out.extend(f"{account.name}: {p}" for p in text_problems(text, rt.client(account),
                                                                    rt.library))
    return out


def _tip_problems(rt: Runtime, tip: TipDef) -> list[str]:
    """The library's own errors about the tip, then what stops it rendering anywhere."""
    return [str(p) for p in rt.library.errors if p.tip_id == tip.id] + render_problems(rt, tip)


def _self_approval(rt: Runtime, tip: TipDef, by: str) -> bool:
    return bool(tip.author and tip.author == by and not rt.settings.policy.allow_self_approval)


def approve_tips(rt: Runtime, tip_ids: list[str], *, by: str) -> list[Approval]:
    """Approve tips as they are now, in one transaction; re-approving is a no-op. A
    ``by`` naming a console user needs the approver role."""
    require_by_name(rt, by, Permission.APPROVE)
    lib = rt.library
    tips = [lib.tip(t) for t in tip_ids]
    for tip in tips:
        problems = _tip_problems(rt, tip)
        if problems:
            raise ContentError(_("tip {id!r} has errors and cannot be approved: {value}").format(
                id=tip.id, value=problems[0]))
        if _self_approval(rt, tip, by):
            raise StateError(_("tip {id!r} was written by {by}; another officer must approve it").format(
                id=tip.id, by=by))
    now = rt.clock()
    out = []
    with rt.db.session() as s:
        existing = {(a.tip_id, a.text_hash): a for a in s.execute(select(Approval).where(
            col(Approval.tip_id).in_(tip_ids))).scalars()}
        for tip in tips:
            approval = existing.get((tip.id, tip.text_hash))
            if approval is None:
                approval = Approval(tip_id=tip.id, text_hash=tip.text_hash, approved_by=by,
                                    approved_at=now)
                s.add(approval)
                existing[(tip.id, tip.text_hash)] = approval
                audit(s, now, by, "content_approve", target=tip.id,
                      detail={"hash": tip.text_hash[:16]})
            out.append(approval)
        s.commit()
    return out


def unapproved_tips(rt: Runtime, *, category: str | None,
                    by: str) -> tuple[list[TipDef], list[str]]:
    """The tips a bulk approval would approve (not approved as they are now; all of them,
    or those of ``category`` and its sub-codes), and why others are left out. Refused
    at once when ``by`` names a console user without the approver role."""
    require_by_name(rt, by, Permission.APPROVE)
    check_category(rt, category)
    lib = rt.library
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, rt.settings.policy) or set()
    chosen: list[TipDef] = []
    skipped: list[str] = []
    for tip in sorted(lib.tips.values(), key=lambda t: (t.category, t.lang, t.id)):
        if category is not None and not category_matches(category, tip.category):
            continue
        if tip.id in approved:
            continue
        problems = _tip_problems(rt, tip)
        if problems:
            skipped.append(_("{id}: has errors ({problem})").format(id=tip.id, problem=problems[0]))
        elif _self_approval(rt, tip, by):
            skipped.append(_("{id}: written by {by}; another officer must approve it").format(
                id=tip.id, by=by))
        else:
            chosen.append(tip)
    return chosen, skipped


def revoke_tips(rt: Runtime, tip_ids: list[str], *, by: str, reason: str | None) -> list[str]:
    """Withdraw the approval of tips (every approval of each, whatever text it was for),
    audited; a tip that is not approved is an error and nothing is changed. A ``by`` naming
    a console user needs the approver role."""
    require_by_name(rt, by, Permission.APPROVE)
    lib = rt.library
    tips = [lib.tip(t) for t in tip_ids]
    now = rt.clock()
    with rt.db.session() as s:
        rows = s.execute(select(Approval).where(
            col(Approval.tip_id).in_([t.id for t in tips]))).scalars().all()
        current = {a.tip_id for a in rows if a.text_hash == lib.tips[a.tip_id].text_hash}
        for tip in tips:
            if tip.id not in current:
                raise StateError(_("tip {id!r} is not approved; nothing was revoked").format(id=tip.id))
        for a in rows:
            s.delete(a)
        for tip in tips:
            audit(s, now, by, "content_revoke", target=tip.id, reason=reason,
                  detail={"hash": tip.text_hash[:16]})
        s.commit()
    return [t.id for t in tips]
