"""Rich tables and JSON rows for the CLI's listings (reports have their own renderers)."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any

from rich.text import Text
from sqlalchemy import select
from sqlmodel import col

from outreach.cli import output
from outreach.cli.output import PlainTable as Table
from outreach.cli.output import local, markup, plain, safe, shorten
from outreach.store.models import AuditLog, Post, PostMetric

STATUS_STYLE = {
    "draft": "magenta", "queued": "cyan", "publishing": "yellow", "unconfirmed": "bold yellow",
    "published": "green", "failed": "bold red", "cancelled": "dim", "missed": "red",
    "retracted": "dim red", "planned": "cyan", "paused": "yellow", "held": "yellow",
}


def _status(s: str) -> Text:
    return Text(s, style=STATUS_STYLE.get(s, "white"))


def post_json(p: Post) -> dict[str, Any]:
    return {
        "id": p.id, "account": p.account, "status": p.status, "kind": p.kind,
        "scheduled_at": output.iso(p.scheduled_at), "not_before": output.iso(p.not_before),
        "tip_id": p.tip_id, "variant": p.variant, "category": p.category, "text": p.text,
        "remote_id": p.remote_id, "remote_url": p.remote_url,
        "published_at": output.iso(p.published_at), "attempts": p.attempts,
        "last_error": p.last_error, "created_by": p.created_by, "approved_by": p.approved_by,
        "slot_key": p.slot_key,
    }


def list_posts(rt: Any, *, status: str | None, account: str | None,
               limit: int) -> list[dict[str, Any]]:
    q = select(Post).order_by(col(Post.scheduled_at), col(Post.id))
    if status:
        q = q.where(col(Post.status) == status)
    if account:
        q = q.where(col(Post.account) == account)
    if limit:
        q = q.limit(limit)
    with rt.db.reader() as s:
        return [post_json(p) for p in s.execute(q).scalars()]


def _zone(rt: Any, account: str) -> Any:
    acc = rt.settings.accounts.get(account)
    return acc.timezone if acc else rt.settings.timezone


def _parse(value: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def print_posts(rt: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        output.message("no posts")
        return
    header = ("id", "account", "status", "scheduled", "tip", "text", "note")
    output.grid(header, [
        (str(r["id"]), r["account"], r["status"],
         local(_parse(r["scheduled_at"]), _zone(rt, r["account"])), r["tip_id"] or "-",
         shorten(output.plain(r["text"]), 48), shorten(output.plain(r["last_error"] or ""), 40))
        for r in rows], styles={2: lambda status: STATUS_STYLE.get(status, "white")},
        shrink=(5, 6, 4))
    output.message(f"{len(rows)} post(s)")


def post_detail(rt: Any, post_id: int) -> dict[str, Any]:
    from outreach.actions.queue import get_post

    with rt.db.reader() as s:
        post = get_post(s, post_id)
        data = post_json(post)
        m = s.execute(select(PostMetric).where(col(PostMetric.post_id) == post_id)
                      .order_by(col(PostMetric.observed_at).desc(), col(PostMetric.id).desc())
                      .limit(1)).scalars().first()
        data.update(reposts=m.reposts if m else None, comments=m.comments if m else None,
                    likes=m.likes if m else None,
                    counts_observed_at=output.iso(m.observed_at) if m else None)
        trail = s.execute(select(AuditLog).where(col(AuditLog.post_id) == post_id)
                          .order_by(col(AuditLog.at), col(AuditLog.id))).scalars().all()
        data["audit"] = [{"at": output.iso(a.at), "actor": a.actor, "action": a.action,
                          "reason": a.reason, "detail": a.detail} for a in trail]
    return data


def print_post_detail(rt: Any, d: dict[str, Any]) -> None:
    zone = _zone(rt, d["account"])
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("post", f"{d['id']} on {d['account']} ({d['kind']})")
    t.add_row("status", Text.assemble(_status(d["status"]),
                                      f"  {plain(d['last_error'])}" if d["last_error"] else ""))
    t.add_row("scheduled", local(_parse(d["scheduled_at"]), zone))
    if d["published_at"]:
        t.add_row("published", f"{local(_parse(d['published_at']), zone)}  "
                               f"{d['remote_url'] or d['remote_id']}")
    t.add_row("tip", d["tip_id"] or "(ad-hoc text)")
    t.add_row("text", d["text"])
    t.add_row("attempts", str(d["attempts"]))
    counts = [f"{k} {d[k] if d[k] is not None else '?'}" for k in ("reposts", "comments", "likes")]
    t.add_row("engagement", ", ".join(counts))
    output.out.print(t)
    if d["audit"]:
        a = Table(title="audit trail", header_style="bold")
        for name in ("at", "who", "what", "why"):
            a.add_column(name)
        for e in d["audit"]:
            a.add_row(local(_parse(e["at"]), zone), e["actor"], e["action"], e["reason"] or "")
        output.out.print(a)


def content_rows(rt: Any, *, category: str | None, lang: str | None) -> list[dict[str, Any]]:
    from outreach.library.content import category_matches
    from outreach.schedule.history import approved_tips

    lib = rt.library
    with rt.db.reader() as s:
        approved = approved_tips(s, lib, rt.settings.policy)
    rows = []
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


def print_content_list(rows: list[dict[str, Any]]) -> None:
    t = Table(header_style="bold")
    for name in ("id", "category", "lang", "title", "approved", "review by", "source"):
        t.add_column(name, no_wrap=name in ("id", "category"))
    for r in rows:
        t.add_row(r["id"], r["category"], r["lang"], r["title"],
                  markup("[green]yes[/]" if r["approved"] else "[yellow]no[/]"),
                  str(r["review_by"] or "-"), shorten(r["source"], 30))
    output.out.print(t)
    output.message(f"{len(rows)} tip(s)")


def print_content_stats(data: dict[str, Any]) -> None:
    t = Table(title="tips per category", header_style="bold")
    for name in ("code", "名称", "name", "zh", "en"):
        t.add_column(name, justify="right" if name in ("zh", "en") else "left")
    for c in data["categories"]:
        style = "red" if c["zh"] + c["en"] == 0 else ""
        t.add_row(c["code"], c["zh_name"], c["en_name"], str(c["zh"]), str(c["en"]), style=style)
    t.add_row(markup("[bold]total[/]"), "", "", str(data["totals"]["zh"]), str(data["totals"]["en"]))
    output.out.print(t)
    m = Table(title="campaigns by month", header_style="bold")
    m.add_column("month", justify="right")
    m.add_column("campaigns")
    for month, ids in data["campaign_months"].items():
        m.add_row(month, ", ".join(ids) if ids else markup("[dim]-[/]"))
    output.out.print(m)
    output.message(f"{data['variants']} variant text(s)")


def print_tip(d: dict[str, Any]) -> None:
    from rich.cells import cell_len

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    labels = ["variant 99", "approved"] + ([f"posted on {d['account']}"] if "rendered" in d
                                           else [])
    width = max(output.out.width - max(cell_len(x) for x in labels) - 2, 20)

    def text(value: str) -> str:  # wrapped here, so a {{ mark }} is never split
        return "\n".join(plain(line) for line in wrap_keeping_marks(value, width))

    for key in ("id", "category", "lang", "title", "source", "review_by", "valid_until", "file"):
        if d.get(key):
            t.add_row(key, str(d[key]))
    if "approved" in d:
        t.add_row("approved", markup(
            "[green]yes[/], not required" if not d["approval_required"]
            else f"[green]yes[/], approved by {safe(d['approved_by'])} "
                 f"{d['approved_at']:%Y-%m-%d}" if d["approved"]
            else "[yellow]not approved[/] (outreach content approve ID)"))
    t.add_row("text", text(d["text"]))
    for i, v in enumerate(d["variants"], 1):
        t.add_row(f"variant {i}", text(v))
    if "rendered" in d:
        t.add_row(f"posted on {d['account']}", text(d["rendered"]))
        colour = "green" if d["length"] <= d["max_length"] else "red"
        t.add_row("length", markup(f"[{colour}]{d['length']}[/] of {d['max_length']}"))
        for p in d["problems"]:
            t.add_row(markup("[red]problem[/]"), p)
    output.out.print(t)


_WRAP_TOKENS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|[ \t]+|[\x21-\x7e]+|.", re.S)


_NO_LINE_START = frozenset("，。、；：？！）》」』”’…,.;:?!)")


def wrap_keeping_marks(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` cells, broken at spaces (or between CJK characters), never
    inside a template mark ({{ … }}, {% … %}) unless the mark alone is wider."""
    from rich.cells import cell_len

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _WRAP_TOKENS.findall(paragraph):
            if cell_len(line + token) <= width:
                line += token
                continue
            carry = ""
            if token in _NO_LINE_START and len(line) > 1 and not line[-1].isspace():
                line, carry = line[:-1], line[-1]  # "。" never starts a line: take one along
            if line.strip():
                lines.append(line.rstrip())
            line = "" if token.isspace() else carry + token
            while cell_len(line) > width:  # one token wider than a line: fold it
                cut = width
                while cell_len(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines


def print_stale(rows: list[dict[str, Any]]) -> None:
    if not rows:
        output.message("no tips are due for review")
        return
    t = Table(header_style="bold")
    for name in ("id", "review by", "days", "source", "file"):
        t.add_column(name)
    for r in rows:
        days = Text(str(r["days_left"]), style="red" if r["overdue"] else "")
        t.add_row(r["id"], str(r["review_by"]), days, shorten(r["source"], 30), r["file"])
    output.out.print(t)
    output.message(f"{len(rows)} tip(s) due for review")


def print_plan(rt: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        output.message("nothing planned (no slots, or no accounts)")
        return
    t = Table(header_style="bold")
    for name in ("when", "account", "status", "tip", "category", "text"):
        t.add_column(name, overflow="fold" if name == "text" else "ellipsis",
                     no_wrap=name != "text")
    for r in rows:
        zone = _zone(rt, r["account"])
        text = r["text"] or r["reason"] or ""
        t.add_row(local(_parse(r["scheduled_at"]), zone), r["account"], _status(r["status"]),
                  r["tip_id"] or "-", r["category"] or "-", shorten(text, 56))
    output.out.print(t)
    missed = sum(r["status"] == "missed" for r in rows)
    output.message(f"{len(rows)} slot(s)" + (f", {missed} missed" if missed else ""))


def print_accounts(rt: Any, rows: list[dict[str, Any]], *, pauses: bool = True) -> None:
    t = Table(header_style="bold")
    for name in ("name", "platform", "state", "followers", "next slot", "last success",
                "token expires", "note"):
        t.add_column(name)
    for r in rows:
        zone = rt.settings.account(r["name"]).timezone
        style = {"active": "green", "paused": "yellow", "needs_reauth": "red",
                 "unconfigured": "dim"}.get(r["state"], "white")
        note = r["last_error"] or r["state_reason"] or ""
        if r.get("paused_by"):
            note = (f"paused by {r['paused_by']}; " + note).strip("; ")
        if r["simulated"]:
            note = ("simulated audience; " + note).strip("; ")
        shown = Text(plain(shorten(note, 50)))
        if r["open_emergencies"]:
            shown = Text.assemble((f"{r['open_emergencies']} emergency", "bold red"), " ", shown)
        expires = local(r["token_expires_at"], zone) if r["token_expires_at"] else "-"
        state = Text(r["state"], style=style)
        if r.get("check_failed"):
            state.append(" (check failed)", style="red")
        t.add_row(r["name"], r["platform"], state,
                  str(r["followers"]) if r["followers"] is not None else "-",
                  local(r["next_slot_at"], zone), local(r["last_success_at"], zone),
                  Text(expires, style="red" if r["token_expiring"] else ""),
                  shown)
    output.out.print(t)
    for r in rows if pauses else ():
        for p in r.get("placeholders", ()):
            output.out.print(f"[yellow]placeholder:[/] {safe(p)}")
        if r.get("paused_by"):
            zone = rt.settings.account(r["name"]).timezone
            output.out.print(f"[yellow]paused:[/] {r['name']} by {safe(r['paused_by'])} since "
                             f"{local(r['paused_at'], zone)}: {safe(r['paused_reason'])}")


def print_status(rt: Any, d: dict[str, Any]) -> None:
    daemon = d["daemon"]
    if daemon and daemon["running"]:
        output.out.print(f"daemon [green]running[/] {safe(daemon['id'])} "
                         f"(heartbeat {daemon['age_seconds']} s ago)")
    elif daemon:
        output.out.print(f"daemon [red]not running[/] (last heartbeat "
                         f"{local(daemon['heartbeat_at'], rt.settings.timezone)})")
    else:
        output.out.print("daemon [red]never ran[/] on this database")
    q = d["queue"]
    output.out.print(
        f"queue: {q['queued']} queued ({q['due']} due, {q['overdue']} overdue), "
        f"{q['drafts']} draft(s), {q['publishing']} publishing, {q['unconfirmed']} unconfirmed, "
        f"{q['failed_today']} failed in 24 h, {q['published']} published, {q['missed']} missed")
    print_accounts(rt, d["accounts"], pauses=False)  # the warnings below say it
    for p in d["problems"]:
        output.out.print(f"[bold red]problem:[/] {safe(p)}")
    for w in d["warnings"]:
        output.out.print(f"[yellow]warning:[/] {safe(w)}")
    output.out.print("[green]healthy[/]" if d["healthy"] else "[bold red]unhealthy[/]")


@contextlib.contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Any]:
    """A Rich progress bar on a terminal; a no-op callback elsewhere."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=output.err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(account: str, done: int, total: int) -> None:
            if account not in tasks:
                tasks[account] = bar.add_task(account, total=max(total, 1))
            bar.update(tasks[account], completed=done if total else 1)

        yield update


def print_demo(r: dict[str, Any]) -> None:
    t = Table(title=f"outreach demo — {r['days']} simulated days on the local platform "
                    "(SIMULATED audience)", header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("posts published", str(r["published"]))
    t.add_row("reposts", str(r["reposts"]))
    t.add_row("comments", str(r["comments"]))
    t.add_row("likes", str(r["likes"]))
    t.add_row("followers", f"{r['followers_start']} → {r['followers_end']}")
    t.add_row("slots missed", str(r["missed"]))
    t.add_row("failed", str(r["failed"]))
    output.out.print(t)
    output.out.print(f"[bold]{safe(r['headline_zh'])}[/]")
    output.out.print(safe(r["headline_en"]))
    if r.get("top"):
        top = Table(title="most reposted", header_style="bold")
        for name in ("tip", "reposts", "comments", "text"):
            top.add_column(name, overflow="fold" if name == "text" else "ellipsis")
        for p in r["top"]:
            top.add_row(p["tip_id"] or "-", str(p["reposts"]), str(p["comments"]),
                        shorten(p["text"], 50))
        output.out.print(top)
    output.out.print(f"workspace: {safe(r['workspace'])}  (try: outreach --config "
                     f"{safe(r['workspace'])}/config.toml queue list)")
    output.out.print("[yellow]simulated[/]: the local platform's audience is simulated, not real")


CLASS_STYLE = {"emergency": "bold white on red", "help": "bold yellow", "tip": "cyan",
               "complaint": "magenta", "inquiry": "blue", "suggestion": "green",
               "praise": "green", "negative": "red", "privacy": "yellow", "spam_abuse": "dim",
               "chatter": "dim"}


def print_opinions(rt: Any, rows: list[dict[str, Any]]) -> None:
    from outreach.opinions.rules import load_rules

    if not rows:
        output.message("no comments")
        return
    names = load_rules(rt.settings.content_dir).class_names("zh")
    t = Table(header_style="bold")
    for name in ("id", "when", "account", "class", "comment", "reply"):
        t.add_column(name, overflow="fold" if name == "comment" else "ellipsis",
                     no_wrap=name != "comment")
    for r in rows:
        zone = _zone(rt, r["account"])
        style = CLASS_STYLE.get(r["class"], "white")
        label = Text(f"{r['class']} {plain(names.get(r['class'], ''))}", style=style)
        if "unmatched" in r["labels"]:  # neither rules nor model knew it: a person should read it
            label = Text.assemble(("? unread", "bold yellow"), f" ({r['class']})")
        if r["replied_at"]:
            reply = Text("answered", style="green")
        elif r["overdue"]:
            reply = Text("overdue", style="bold red")
        elif r["needs_reply"]:
            reply = Text("waiting", style="yellow")
        else:
            reply = Text("-")
        t.add_row(str(r["id"]), local(_parse(r["created_at"]), zone), r["account"], label,
                  shorten(r["text"] or "(text deleted after keep_days)", 70), reply)
    output.out.print(t)
    output.message(f"{len(rows)} comment(s)")
