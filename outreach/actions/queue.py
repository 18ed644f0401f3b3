"""What officers do to the queue: add, import, approve, cancel, reschedule, retract,
approve tips, pause and resume. Every change by a person is written to ``audit_log``
in the same transaction as the change itself.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import SQLModel, col

from outreach.config.settings import AccountSettings
from outreach.errors import ContentError, InputError, NotFound, StateError
from outreach.library.texts import control_character, render_tip, text_problems, wrap_text
from outreach.schedule.history import approved_tips, load_history
from outreach.schedule.planner import new_key
from outreach.store.audit import audit
from outreach.store.models import Account, Approval, Pause, Post
from outreach.times import check_not_past, parse_when

MAX_IMPORT_BYTES = 20_000_000
MAX_TEXT = 5_000


def sync_accounts(rt: Any) -> None:
    """Make sure every configured account has its row."""
    from outreach.store.db import insert_ignore

    now = rt.clock()
    with rt.db.session() as s:
        existing = set(s.execute(select(col(Account.name))).scalars())
        missing = [
            {"name": a.name, "platform": a.platform, "state": "active", "counts_fallback": False,
             "created_at": now}
            for a in rt.settings.accounts.values() if a.name not in existing
        ]
        if missing:
            insert_ignore(s, SQLModel.metadata.tables["accounts"], missing, "name")
        s.commit()


MAX_ID = 2**63 - 1  # SQLite's and PostgreSQL's largest integer


def get_post(session: Any, post_id: int) -> Post:
    post = session.get(Post, post_id) if 0 < post_id <= MAX_ID else None
    if post is None:
        raise NotFound(f"no post with id {post_id}")
    return post


@dataclass(frozen=True)
class NewPost:
    """A validated post, ready to insert."""

    account: AccountSettings
    at: datetime
    text: str
    tip_id: str | None
    variant: int | None
    category: str | None
    status: str
    warnings: tuple[str, ...] = ()


def prepare_post(rt: Any, session: Any, account_name: str, *, tip: str | None, text: str | None,
                 at: datetime, approved: set[str] | None) -> NewPost:
    """Validate one post request (the same checks for `queue add` and every import row)."""
    account = rt.settings.account(account_name)
    lib = rt.library
    if (tip is None) == (text is None):
        raise InputError("give exactly one of a tip id or a text")
    client = rt.client(account)
    if tip is not None:
        tipdef = lib.tip(tip)
        if tipdef.id in lib.broken_tips:
            raise ContentError(f"tip {tip!r} has errors; run `outreach content check`")
        if tipdef.lang != account.lang:
            raise InputError(f"tip {tip!r} is in {tipdef.lang}; account {account.name!r} posts "
                             f"in {account.lang}")
        if approved is not None and tip not in approved:
            raise InputError(f"tip {tip!r} is not approved (run `outreach content approve {tip}"
                             " --by NAME`)")
        history = load_history(session, account.name)
        variant = history.next_variant(tip, at, len(tipdef.texts))
        body = render_tip(lib, tipdef, variant, account)
        status = "queued"
        category: str | None = tipdef.category
    else:
        assert text is not None
        if not text.strip():
            raise InputError("text is blank")
        if len(text) > MAX_TEXT:
            raise InputError(f"text is over {MAX_TEXT} characters")
        control = control_character(text)
        if control:  # named where the officer wrote it, before the platform template wraps it
            raise InputError(f"text has a {control}")
        body = wrap_text(lib, account, text.strip())
        variant = None
        category = None
        status = "draft" if rt.settings.policy.require_approval else "queued"
    problems = text_problems(body, client, lib)
    if problems:
        raise InputError("; ".join(problems))
    warnings = post_warnings(rt, session, account, at, tip=tip, text=text)
    return NewPost(account, at, body, tip, variant, category, status, tuple(warnings))


def post_warnings(rt: Any, session: Any, account: AccountSettings, at: datetime, *,
                  tip: str | None, text: str | None) -> list[str]:
    """What is allowed but probably not meant: a tip already used on the account within
    ``cooldown_days``, a time in quiet hours or on a blackout date, template marks in a
    literal text."""
    from outreach.schedule.planner import USED_STATUSES, in_quiet_hours
    from outreach.times import show_local

    policy = rt.settings.policy
    out = []
    if tip is not None and policy.cooldown_days > 0:
        cooldown = timedelta(days=policy.cooldown_days)
        used_at = func.coalesce(col(Post.published_at), col(Post.scheduled_at))
        near = session.execute(select(col(Post.id), col(Post.status), used_at).where(
            col(Post.account) == account.name, col(Post.tip_id) == tip,
            col(Post.status).in_(USED_STATUSES),
            used_at > at - cooldown, used_at < at + cooldown,
        ).order_by(used_at).limit(3)).all()
        for post_id, status, when in near:
            out.append(f"tip {tip} is already {status} on {account.name} as post {post_id} "
                       f"({show_local(when, account.timezone)}), within cooldown_days "
                       f"({policy.cooldown_days})")
    local = at.astimezone(account.timezone)
    if local.date() in policy.blackout_dates:
        out.append(f"{show_local(at, account.timezone)} is on a blackout date "
                   f"({local.date()}, policy.blackout_dates): slots stay silent that day")
    if policy.quiet_hours is not None and in_quiet_hours(local.time(), policy.quiet_hours):
        start, end = policy.quiet_hours
        out.append(f"{show_local(at, account.timezone)} is in quiet hours "
                   f"({start:%H:%M}-{end:%H:%M}, policy.quiet_hours)")
    if text is not None and ("{{" in text or "{%" in text):
        out.append("the text contains template marks ({{ … }}); it is not a template and is "
                   "posted literally, marks and all")
    return out


def insert_post(session: Any, new: NewPost, *, by: str, now: datetime) -> Post:
    post = Post(account=new.account.name, kind="adhoc", status=new.status, scheduled_at=new.at,
                not_before=new.at, tip_id=new.tip_id, variant=new.variant, category=new.category,
                text=new.text, idempotency_key=new_key(), created_by=by, created_at=now,
                updated_at=now, attempts=0, ambiguous=False, catch_up=False)
    if new.status == "queued" and new.tip_id is None:
        post.approved_by, post.approved_at = by, now
    session.add(post)
    session.flush()
    audit(session, now, by, "queue_add", account=post.account, post_id=post.id,
          target=new.tip_id, detail={"status": new.status, "at": new.at.isoformat()})
    return post


def add_post(rt: Any, account: str, *, tip: str | None, text: str | None, at: str | None,
             by: str, strict: bool = False, warnings: list[str] | None = None) -> Post:
    """Queue one post. What is allowed but probably not meant is added to ``warnings``;
    with ``strict`` it is refused instead."""
    now = rt.clock()
    acc = rt.settings.account(account)
    when = parse_when(at, acc.timezone, now) if at is not None else now
    check_not_past(when, now, zone=acc.timezone)
    with rt.db.session() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy) if tip else None
        new = prepare_post(rt, s, account, tip=tip, text=text, at=when, approved=approved)
        if strict and new.warnings:
            raise InputError("; ".join(new.warnings) + " (--strict: nothing was queued)")
        if warnings is not None:
            warnings.extend(new.warnings)
        post = insert_post(s, new, by=by, now=now)
        s.commit()
        return post


def import_posts(rt: Any, path: Path, *, by: str,
                 warnings: list[str] | None = None) -> list[Post]:
    """CSV or JSON Lines; every row is validated first and nothing is stored unless all are.
    What is allowed but probably not meant is added to ``warnings`` as ``FILE:ROW: …``."""
    rows = read_import_rows(path, warnings)
    now = rt.clock()
    errors: list[str] = []
    prepared: list[NewPost] = []
    with rt.db.session() as s:
        approved = approved_tips(s, rt.library, rt.settings.policy)
        for lineno, row in rows:
            where = f"{path}:{lineno}"
            try:
                unknown = set(row) - {"account", "at", "text", "tip"}
                if unknown:
                    raise InputError(f"unknown column(s): {', '.join(sorted(unknown))}")
                account = _cell(row, "account")
                if not account:
                    raise InputError("account is empty")
                acc = rt.settings.account(account)
                at_text = _cell(row, "at")
                when = parse_when(at_text, acc.timezone, now, what="at") if at_text else now
                check_not_past(when, now, what="at", zone=acc.timezone)
                tip, text = _cell(row, "tip") or None, _cell(row, "text") or None
                prepared.append(prepare_post(rt, s, account, tip=tip, text=text, at=when,
                                             approved=approved))
                if warnings is not None:
                    warnings.extend(f"{where}: {w}" for w in prepared[-1].warnings)
            except (InputError, ContentError) as exc:
                errors.append(f"{where}: {exc.message}")
        if errors:
            more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
            raise InputError("\n".join(errors[:20]) + more + "\nnothing was imported")
        if not prepared:
            raise InputError(f"{path}: no rows to import")
        posts = [insert_post(s, p, by=by, now=now) for p in prepared]
        audit(s, now, by, "queue_import", target=str(path)[-120:],
              detail={"rows": len(posts)})
        s.commit()
    return posts


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{key} must be text, got {type(value).__name__}")
    return value.strip()


def read_import_rows(path: Path,
                     notes: list[str] | None = None) -> list[tuple[int, dict[str, Any]]]:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise InputError(f"file is over {MAX_IMPORT_BYTES // 1_000_000} MB", where=str(path))
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", where=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", where=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    if b"\x00" in raw:
        raise InputError("binary file (expected CSV or JSON Lines)", where=str(path))
    text = decode_import(raw, path, notes)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith("{"):
        rows = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", where=f"{path}:{i}") from None
            except RecursionError:
                raise InputError("invalid JSON: nested too deeply", where=f"{path}:{i}") from None
            if not isinstance(value, dict):
                raise InputError("each line must be a JSON object", where=f"{path}:{i}")
            rows.append((i, value))
        return rows
    reader = csv.DictReader(io.StringIO(text), strict=True)
    row_start = 1
    try:
        if reader.fieldnames is None:
            raise InputError("empty file", where=str(path))
        fields = [f.strip() for f in reader.fieldnames]
        if "account" not in fields:
            raise InputError("CSV header must name the columns: account, at, text or tip",
                             where=f"{path}:1")
        reader.fieldnames = fields
        out = []
        row_start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise InputError("more cells than header columns",
                                 where=f"{path}:{reader.line_num}")
            out.append((row_start, {k: v for k, v in row.items() if v not in (None, "")}))
            row_start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a quote never closed, or a cell over the size limit
        raise InputError(f"invalid CSV in the row starting here: {exc}",
                         where=f"{path}:{row_start}") from None
    return out


def decode_import(raw: bytes, path: Path, notes: list[str] | None = None) -> str:
    """UTF-8 (with or without a BOM), else GB18030 — what Excel writes for "CSV" on Chinese
    Windows (a superset of GBK and GB2312) — saying so in ``notes``."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        utf8_error = InputError("not valid UTF-8, nor GB18030 (save it as \"CSV UTF-8\")",
                                where=f"{path}:{bad_line}")
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise utf8_error from None
    if notes is not None:
        notes.append(f"{path}: read as GB18030 (GBK), Excel's encoding on Chinese Windows; "
                     "the file is not UTF-8")
    return text


def approve_post(rt: Any, post_id: int, *, by: str) -> Post:
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status != "draft":
            raise StateError(f"post {post_id} is {post.status}; only drafts are approved")
        if text_author(s, post) == by and not rt.settings.policy.allow_self_approval:
            raise StateError(f"post {post_id} was written by {by}; another officer must approve "
                             "it (or set policy.allow_self_approval = true)")
        post.status, post.approved_by, post.approved_at, post.updated_at = "queued", by, now, now
        audit(s, now, by, "queue_approve", account=post.account, post_id=post.id)
        s.commit()
        return post


def cancel_post(rt: Any, post_id: int, *, by: str, reason: str | None) -> Post:
    """Cancel a draft or queued post. One whose outcome is unknown (``unconfirmed``, or
    ``publishing`` after its worker died) is reconciled first: if it had landed it is
    retracted (status ``retracted``), otherwise cancelled."""
    now = rt.clock()
    with rt.db.reader() as s:
        status = get_post(s, post_id).status
    if status in ("unconfirmed", "publishing"):
        from outreach.publish.publisher import Publisher, worker_id

        return Publisher(rt, worker=f"cancel:{worker_id()}").withdraw(post_id, by=by,
                                                                      reason=reason)
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in ("draft", "queued"):
            hint = " (retract it instead)" if post.status == "published" else ""
            raise StateError(f"post {post_id} is {post.status}; only drafts, queued and "
                             f"unconfirmed posts can be cancelled{hint}")
        n = s.execute(update(Post).where(col(Post.id) == post_id,
                                         col(Post.status) == post.status)
                      .values(status="cancelled", updated_at=now)).rowcount
        if n != 1:
            raise StateError(f"post {post_id} changed while cancelling; try again")
        audit(s, now, by, "queue_cancel", account=post.account, post_id=post_id, reason=reason)
        s.commit()
        s.refresh(post)
        return post


def reschedule_post(rt: Any, post_id: int, at: str, *, by: str,
                    warnings: list[str] | None = None) -> Post:
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in ("draft", "queued"):
            raise StateError(f"post {post_id} is {post.status}; only drafts and queued posts "
                             "can be rescheduled")
        acc = rt.settings.account(post.account)
        when = parse_when(at, acc.timezone, now)
        check_not_past(when, now, zone=acc.timezone)
        old = post.scheduled_at
        n = s.execute(update(Post).where(col(Post.id) == post_id,
                                         col(Post.status) == post.status)
                      .values(scheduled_at=when, not_before=when, updated_at=now)).rowcount
        if n != 1:
            raise StateError(f"post {post_id} changed while rescheduling; try again")
        audit(s, now, by, "queue_reschedule", account=post.account, post_id=post_id,
              detail={"from": old.isoformat() if old else None, "to": when.isoformat()})
        s.commit()
        if warnings is not None:
            warnings.extend(post_warnings(rt, s, acc, when, tip=None, text=None))
        s.refresh(post)
        return post


def edit_post(rt: Any, post_id: int, *, text: str | None, at: str | None, by: str,
              warnings: list[str] | None = None) -> Post:
    """Change a draft's or a queued post's text and/or time, audited. A new text passes the
    checks of `queue add` and needs approval again (four eyes: not by its editor); a new
    time alone keeps the approval, as a reschedule does."""
    if text is None and at is None:
        raise InputError("give --text or --at (or both)")
    now = rt.clock()
    with rt.db.session() as s:
        post = get_post(s, post_id)
        if post.status not in ("draft", "queued") or post.claimed_by is not None:
            raise StateError(f"post {post_id} is {post.status}; only drafts and queued posts "
                             "can be edited")
        acc = rt.settings.account(post.account)
        values: dict[str, Any] = {"updated_at": now}
        detail: dict[str, Any] = {}
        if at is not None:
            when = parse_when(at, acc.timezone, now)
            check_not_past(when, now, zone=acc.timezone)
            values.update(scheduled_at=when, not_before=when)
            detail.update(at_from=post.scheduled_at.isoformat() if post.scheduled_at else None,
                          at_to=when.isoformat())
        when = values.get("scheduled_at") or post.scheduled_at or now
        notes = post_warnings(rt, s, acc, when, tip=None, text=None) if at is not None else []
        if text is not None:
            new = prepare_post(rt, s, post.account, tip=None, text=text, at=when,
                               approved=None)
            notes = list(new.warnings)
            if new.text != post.text:
                values.update(text=new.text, tip_id=None, variant=None, status=new.status,
                              approved_by=None, approved_at=None)
                if new.status == "queued":  # approval not required: the editor's word stands
                    values.update(approved_by=by, approved_at=now)
                detail.update(text_from=post.text, text_to=new.text, tip_from=post.tip_id)
        if not detail:
            return post
        n = s.execute(update(Post).where(col(Post.id) == post_id,
                                         col(Post.status) == post.status,
                                         col(Post.claimed_by).is_(None))
                      .values(**values)).rowcount
        if n != 1:
            raise StateError(f"post {post_id} changed while editing; try again")
        audit(s, now, by, "queue_edit", account=post.account, post_id=post_id, detail=detail)
        s.commit()
        if warnings is not None:
            warnings.extend(notes)
        s.refresh(post)
        return post


def text_author(session: Any, post: Post) -> str | None:
    """Who wrote the post's current text: its last editor, else its author."""
    from outreach.store.models import AuditLog

    rows = session.execute(select(col(AuditLog.actor), col(AuditLog.detail)).where(
        col(AuditLog.post_id) == post.id, col(AuditLog.action) == "queue_edit",
    ).order_by(col(AuditLog.id).desc())).all()
    for actor, detail in rows:
        if isinstance(detail, dict) and "text_to" in detail:
            return str(actor)
    return post.created_by


def retract_post(rt: Any, post_id: int, *, by: str, reason: str) -> Post:
    now = rt.clock()
    if not reason.strip():
        raise InputError("--reason must not be empty")
    with rt.db.reader() as s:
        post = get_post(s, post_id)
    if post.status != "published" or not post.remote_id:
        raise StateError(f"post {post_id} is {post.status}; only published posts can be retracted")
    client = rt.client(post.account)
    client.delete(post.remote_id)  # a platform failure propagates: nothing is changed here
    with rt.db.session() as s:
        s.execute(update(Post).where(col(Post.id) == post_id)
                  .values(status="retracted", updated_at=now))
        audit(s, now, by, "queue_retract", account=post.account, post_id=post_id, reason=reason,
              target=post.remote_id)
        s.commit()
        return get_post(s, post_id)


def render_problems(rt: Any, tip: Any) -> list[str]:
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


def approve_tips(rt: Any, tip_ids: list[str], *, by: str) -> list[Approval]:
    """Approve tips as they are now, in one transaction; re-approving is a no-op."""
    lib = rt.library
    policy = rt.settings.policy
    tips = [lib.tip(t) for t in tip_ids]
    for tip in tips:
        problems = [str(p) for p in lib.errors if p.tip_id == tip.id]
        problems += render_problems(rt, tip)
        if problems:
            raise ContentError(f"tip {tip.id!r} has errors and cannot be approved: {problems[0]}")
        if tip.author and tip.author == by and not policy.allow_self_approval:
            raise StateError(f"tip {tip.id!r} was written by {by}; another officer must approve it")
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


def unapproved_tips(rt: Any, *, category: str | None, by: str) -> tuple[list[Any], list[str]]:
    """The tips a bulk approval would approve (not approved as they are now; all of them,
    or those of ``category`` and its sub-codes), and why others are left out."""
    from outreach.library.content import category_matches

    lib = rt.library
    policy = rt.settings.policy
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, policy) or set()
    chosen: list[Any] = []
    skipped: list[str] = []
    for tip in sorted(lib.tips.values(), key=lambda t: (t.category, t.lang, t.id)):
        if category is not None and not category_matches(category, tip.category):
            continue
        if tip.id in approved:
            continue
        problems = [str(p) for p in lib.errors if p.tip_id == tip.id]
        problems += render_problems(rt, tip)
        if problems:
            skipped.append(f"{tip.id}: has errors ({problems[0]})")
        elif tip.author and tip.author == by and not policy.allow_self_approval:
            skipped.append(f"{tip.id}: written by {by}; another officer must approve it")
        else:
            chosen.append(tip)
    return chosen, skipped


def revoke_tips(rt: Any, tip_ids: list[str], *, by: str, reason: str | None) -> list[str]:
    """Withdraw the approval of tips (every approval of each, whatever text it was for),
    audited; a tip that is not approved is an error and nothing is changed."""
    lib = rt.library
    tips = [lib.tip(t) for t in tip_ids]
    now = rt.clock()
    with rt.db.session() as s:
        rows = s.execute(select(Approval).where(
            col(Approval.tip_id).in_([t.id for t in tips]))).scalars().all()
        current = {a.tip_id for a in rows if a.text_hash == lib.tips[a.tip_id].text_hash}
        for tip in tips:
            if tip.id not in current:
                raise StateError(f"tip {tip.id!r} is not approved; nothing was revoked")
        for a in rows:
            s.delete(a)
        for tip in tips:
            audit(s, now, by, "content_revoke", target=tip.id, reason=reason,
                  detail={"hash": tip.text_hash[:16]})
        s.commit()
    return [t.id for t in tips]


def approve_tip(rt: Any, tip_id: str, *, by: str) -> Approval:
    return approve_tips(rt, [tip_id], by=by)[0]


def pause(rt: Any, account: str | None, *, reason: str, by: str) -> Pause:
    if account is not None:
        rt.settings.account(account)
    if not reason.strip():
        raise InputError("--reason must not be empty")
    now = rt.clock()
    with rt.db.session() as s:
        p = Pause(account=account, reason=reason.strip(), paused_by=by, started_at=now)
        s.add(p)
        audit(s, now, by, "pause", account=account, reason=reason.strip())
        s.commit()
        return p


def resume(rt: Any, account: str | None, *, by: str) -> int:
    """End open pauses (of one account, or the global ones); returns how many ended."""
    if account is not None:
        rt.settings.account(account)
    now = rt.clock()
    with rt.db.session() as s:
        cond = col(Pause.account).is_(None) if account is None else col(Pause.account) == account
        n = s.execute(update(Pause).where(cond, col(Pause.ended_at).is_(None))
                      .values(ended_at=now, ended_by=by)).rowcount
        if n:
            audit(s, now, by, "resume", account=account)
        s.commit()
        return int(n or 0)
