"""Rich tables and JSON rows for the CLI's listings (reports have their own renderers)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text

from outreach.cli import output
from outreach.cli.output import PlainTable as Table
from outreach.cli.output import local, markup, plain, safe
from outreach.cli.words import name
from outreach.i18n import N_, _
from outreach.states import AccountState, OpinionClass, OpinionState, PostStatus
from outreach.text import shorten

if TYPE_CHECKING:
    from outreach.actions.queries.library import ContentRow
    from outreach.actions.queries.opinions import OpinionRow, Thread
    from outreach.actions.queries.posts import PostDetail, PostRow
    from outreach.runtime import Runtime

STATUS_STYLE: dict[str, str] = {
    PostStatus.DRAFT: "magenta", PostStatus.QUEUED: "cyan", PostStatus.PUBLISHING: "yellow",
    PostStatus.UNCONFIRMED: "bold yellow", PostStatus.PUBLISHED: "green",
    PostStatus.FAILED: "bold red", PostStatus.CANCELLED: "dim", PostStatus.MISSED: "red",
    PostStatus.RETRACTED: "dim red",
    # what `plan` shows of a slot not yet drawn into a post
    "planned": "cyan", "paused": "yellow", "held": "yellow",
}
ACCOUNT_STYLE: dict[str, str] = {
    AccountState.ACTIVE: "green", AccountState.PAUSED: "yellow", AccountState.NEEDS_REAUTH: "red",
    AccountState.UNCONFIGURED: "dim",
}


def _status(s: str) -> Text:
    return Text(name(s), style=STATUS_STYLE.get(s, "white"))


def _headers(*msgids: str) -> tuple[str, ...]:
    return tuple(_(m) for m in msgids)


def _table(columns: Sequence[str], *, wrap: str) -> Table:
    """A table whose ``wrap`` column folds long text; the others stay on one line."""
    t = Table(header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold" if column == wrap else "ellipsis",
                     no_wrap=column != wrap)
    return t


def _zone(rt: Runtime, account: str) -> ZoneInfo:
    acc = rt.settings.accounts.get(account)
    return acc.timezone if acc else rt.settings.timezone


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def print_posts(rt: Runtime, rows: Sequence[PostRow]) -> None:
    if not rows:
        output.message(_("no posts"))
        return
    header = _headers(N_("id"), N_("account"), N_("status"), N_("scheduled"), N_("tip id"),
                      N_("text"), N_("note"))
    styles = {name(s): style for s, style in STATUS_STYLE.items()}
    output.grid(header, [
        (str(r["id"]), r["account"], name(r["status"]),
         local(_parse(r["scheduled_at"]), _zone(rt, r["account"])), r["tip_id"] or "-",
         shorten(output.plain(r["text"]), 48), shorten(output.plain(r["last_error"] or ""), 40))
        for r in rows], styles={2: lambda status: styles.get(status, "white")},
        shrink=(5, 6, 4))
    output.message(_("{n} post(s)").format(n=len(rows)))


def print_post_detail(rt: Runtime, d: PostDetail) -> None:
    zone = _zone(rt, d["account"])
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row(_("post"), _("{id} on {account} ({kind})").format(
        id=d["id"], account=d["account"], kind=d["kind"]))
    t.add_row(_("status"), Text.assemble(_status(d["status"]),
                                         f"  {plain(d['last_error'])}" if d["last_error"] else ""))
    t.add_row(_("scheduled"), local(_parse(d["scheduled_at"]), zone))
    if d["published_at"]:
        t.add_row(_("published"), f"{local(_parse(d['published_at']), zone)}  "
                                  f"{d['remote_url'] or d['remote_id']}")
    t.add_row(_("tip id"), d["tip_id"] or _("(ad-hoc text)"))
    t.add_row(_("text"), d["text"])
    t.add_row(_("attempts"), str(d["attempts"]))
    counts = [f"{label} {value if value is not None else '?'}" for label, value in (
        (_("reposts"), d["reposts"]), (_("comments"), d["comments"]), (_("likes"), d["likes"]))]
    t.add_row(_("engagement"), _(", ").join(counts))
    output.out.print(t)
    if d["audit"]:
        a = Table(title=_("audit trail"), header_style="bold")
        for column in _headers(N_("at"), N_("who"), N_("what"), N_("why")):
            a.add_column(column)
        for e in d["audit"]:
            a.add_row(local(_parse(e["at"]), zone), e["actor"], e["action"], e["reason"] or "")
        output.out.print(a)


def print_content_list(rows: Sequence[ContentRow]) -> None:
    t = Table(header_style="bold")
    for i, column in enumerate(_headers(N_("id"), N_("category"), N_("lang"), N_("title"),
                                        N_("approved"), N_("review by"), N_("source"))):
        t.add_column(column, no_wrap=i < 2)
    for r in rows:
        t.add_row(r["id"], r["category"], r["lang"], r["title"],
                  Text(_("yes"), style="green") if r["approved"]
                  else Text(_("no"), style="yellow"),
                  str(r["review_by"] or "-"), shorten(r["source"], 30))
    output.out.print(t)
    output.message(_("{n} tip(s)").format(n=len(rows)))


def print_content_stats(data: dict[str, Any]) -> None:
    t = Table(title=_("tips per category"), header_style="bold")
    for column in (_("code"), "名称", "name", "zh", "en"):
        t.add_column(column, justify="right" if column in ("zh", "en") else "left")
    for c in data["categories"]:
        style = "red" if c["zh"] + c["en"] == 0 else ""
        t.add_row(c["code"], c["zh_name"], c["en_name"], str(c["zh"]), str(c["en"]), style=style)
    t.add_row(Text(_("total"), style="bold"), "", "", str(data["totals"]["zh"]),
              str(data["totals"]["en"]))
    output.out.print(t)
    m = Table(title=_("campaigns by month"), header_style="bold")
    m.add_column(_("month"), justify="right")
    m.add_column(_("campaigns"))
    for month, ids in data["campaign_months"].items():
        m.add_row(month, ", ".join(ids) if ids else markup("[dim]-[/]"))
    output.out.print(m)
    output.message(_("{n} variant text(s)").format(n=data["variants"]))


def print_tip(d: dict[str, Any]) -> None:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    posted_on = _("posted on {account}").format(account=d.get("account"))
    labels = [_("variant {n}").format(n=99), _("approved")] + (
        [posted_on] if "rendered" in d else [])
    width = max(output.out.width - max(cell_len(x) for x in labels) - 2, 20)

    def text(value: str) -> str:  # wrapped here, so a {{ mark }} is never split
        return "\n".join(plain(line) for line in wrap_keeping_marks(value, width))

    for key, label in (("id", N_("id")), ("category", N_("category")), ("lang", N_("lang")),
                       ("title", N_("title")), ("source", N_("source")),
                       ("review_by", N_("review_by")), ("valid_until", N_("valid_until")),
                       ("file", N_("file"))):
        if d.get(key):
            t.add_row(_(label), str(d[key]))
    if "approved" in d:
        yes = Text(_("yes"), style="green")
        t.add_row(_("approved"), Text.assemble(yes, _(", not required"))
                  if not d["approval_required"]
                  else Text.assemble(yes, _(", approved by {who} {day}").format(
                      who=plain(d["approved_by"]), day=f"{d['approved_at']:%Y-%m-%d}"))
                  if d["approved"]
                  else Text.assemble((_("not approved"), "yellow"),
                                     _(" (outreach content approve ID)")))
    t.add_row(_("text"), text(d["text"]))
    for i, v in enumerate(d["variants"], 1):
        t.add_row(_("variant {n}").format(n=i), text(v))
    if "rendered" in d:
        t.add_row(posted_on, text(d["rendered"]))
        colour = "green" if d["length"] <= d["max_length"] else "red"
        t.add_row(_("length"), Text.assemble(
            (str(d["length"]), colour), _(" of {max}").format(max=d["max_length"])))
        for p in d["problems"]:
            t.add_row(Text(_("problem"), style="red"), p)
    output.out.print(t)


_WRAP_TOKENS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|[ \t]+|[\x21-\x7e]+|.", re.S)


_NO_LINE_START = frozenset("，。、；：？！）》」』”’…,.;:?!)")


def wrap_keeping_marks(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` cells, broken at spaces (or between CJK characters), never
    inside a template mark ({{ … }}, {% … %}) unless the mark alone is wider."""
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
        output.message(_("no tips are due for review"))
        return
    t = Table(header_style="bold")
    for column in _headers(N_("id"), N_("review by"), N_("days"), N_("source"), N_("file")):
        t.add_column(column)
    for r in rows:
        days = Text(str(r["days_left"]), style="red" if r["overdue"] else "")
        t.add_row(r["id"], str(r["review_by"]), days, shorten(r["source"], 30), r["file"])
    output.out.print(t)
    output.message(_("{n} tip(s) due for review").format(n=len(rows)))


def print_plan(rt: Runtime, rows: list[dict[str, Any]]) -> None:
    if not rows:
        output.message(_("nothing planned (no slots, or no accounts)"))
        return
    t = _table(_headers(N_("when"), N_("account"), N_("status"), N_("tip id"), N_("category"),
                        N_("text")), wrap=_("text"))
    for r in rows:
        zone = _zone(rt, r["account"])
        text = r["text"] or r["reason"] or ""
        t.add_row(local(_parse(r["scheduled_at"]), zone), r["account"], _status(r["status"]),
                  r["tip_id"] or "-", r["category"] or "-", shorten(text, 56))
    output.out.print(t)
    missed = sum(r["status"] == PostStatus.MISSED for r in rows)
    output.message(_("{n} slot(s)").format(n=len(rows))
                   + (_(", {n} missed").format(n=missed) if missed else ""))


def print_accounts(rt: Runtime, rows: list[dict[str, Any]], *, pauses: bool = True) -> None:
    t = Table(header_style="bold")
    for column in _headers(N_("name"), N_("platform"), N_("state"), N_("followers"),
                           N_("next slot"), N_("last success"), N_("token expires"), N_("note")):
        t.add_column(column)
    for r in rows:
        zone = rt.settings.account(r["name"]).timezone
        style = ACCOUNT_STYLE.get(r["state"], "white")
        note = r["last_error"] or r["state_reason"] or ""
        if r.get("paused_by"):
            note = (_("paused by {who}").format(who=r["paused_by"]) + "; " + note).strip("; ")
        if r["simulated"]:
            note = (_("simulated audience") + "; " + note).strip("; ")
        shown = Text(plain(shorten(note, 50)))
        if r["open_emergencies"]:
            shown = Text.assemble((_("{n} emergency").format(n=r["open_emergencies"]),
                                   "bold red"), " ", shown)
        expires = local(r["token_expires_at"], zone) if r["token_expires_at"] else "-"
        state = Text(name(r["state"]), style=style)
        if r.get("check_failed"):
            state.append(_(" (check failed)"), style="red")
        t.add_row(r["name"], r["platform"], state,
                  str(r["followers"]) if r["followers"] is not None else "-",
                  local(r["next_slot_at"], zone), local(r["last_success_at"], zone),
                  Text(expires, style="red" if r["token_expiring"] else ""),
                  shown)
    output.out.print(t)
    for r in rows if pauses else ():
        for p in r.get("placeholders", ()):
            output.out.print(output.styled(_("placeholder:"), "yellow") + f" {safe(p)}")
        if r.get("paused_by"):
            zone = rt.settings.account(r["name"]).timezone
            output.out.print(output.styled(_("paused:"), "yellow") + " " + safe(
                _("{account} by {who} since {when}: {why}").format(
                    account=r["name"], who=r["paused_by"], when=local(r["paused_at"], zone),
                    why=r["paused_reason"])))


def print_status(rt: Runtime, d: dict[str, Any]) -> None:
    daemon = d["daemon"]
    if daemon and daemon["running"]:
        output.out.print(safe(_("daemon {state} {id} (heartbeat {ago})")).format(
            state=output.styled(_("running"), "green"), id=safe(daemon["id"]),
            ago=output.ago(daemon["age_seconds"])))
    elif daemon:
        output.out.print(safe(_("daemon {state} (last heartbeat {when})")).format(
            state=output.styled(_("not running"), "red"),
            when=local(daemon["heartbeat_at"], rt.settings.timezone)))
    else:
        output.out.print(safe(_("daemon {state} on this database")).format(
            state=output.styled(_("never ran"), "red")))
    q = d["queue"]
    output.out.print(Text(_(
        "queue: {queued} queued ({due} due, {overdue} overdue), {drafts} draft(s), "
        "{publishing} publishing, {unconfirmed} unconfirmed, {failed_today} failed in 24 h, "
        "{published} published, {missed} missed").format(**q)))
    print_accounts(rt, d["accounts"], pauses=False)  # the warnings below say it
    for p in d["problems"]:
        output.out.print(output.styled(_("problem:"), "bold red") + f" {safe(p)}")
    for w in d["warnings"]:
        output.out.print(output.styled(_("warning:"), "yellow") + f" {safe(w)}")
    output.out.print(Text(_("healthy"), style="green") if d["healthy"]
                     else Text(_("unhealthy"), style="bold red"))


def print_demo(r: dict[str, Any]) -> None:
    t = Table(title=_("outreach demo — {days} simulated days on the local platform "
                      "(SIMULATED audience)").format(days=r["days"]), header_style="bold")
    t.add_column(_("figure"))
    t.add_column(_("value"), justify="right")
    t.add_row(_("posts published"), str(r["published"]))
    t.add_row(_("reposts"), str(r["reposts"]))
    t.add_row(_("comments"), str(r["comments"]))
    t.add_row(_("likes"), str(r["likes"]))
    t.add_row(_("followers"), f"{r['followers_start']} → {r['followers_end']}")
    t.add_row(_("slots missed"), str(r["missed"]))
    t.add_row(_("failed"), str(r["failed"]))
    output.out.print(t)
    output.out.print(f"[bold]{safe(r['headline_zh'])}[/]")
    output.out.print(safe(r["headline_en"]))
    if r.get("top"):
        top = Table(title=_("most reposted"), header_style="bold")
        for i, column in enumerate(_headers(N_("tip id"), N_("reposts"), N_("comments"),
                                            N_("text"))):
            top.add_column(column, overflow="fold" if i == 3 else "ellipsis")
        for p in r["top"]:
            top.add_row(p["tip_id"] or "-", str(p["reposts"]), str(p["comments"]),
                        shorten(p["text"], 50))
        output.out.print(top)
    output.out.print(safe(_("workspace: {path}  (try: outreach --config {path}/config.toml "
                            "queue list)").format(path=r["workspace"])))
    output.out.print(Text.assemble((_("simulated"), "yellow"), _(
        ": the local platform's audience is simulated, not real")))


CLASS_STYLE: dict[str, str] = {
    OpinionClass.EMERGENCY: "bold white on red", OpinionClass.HELP: "bold yellow",
    OpinionClass.TIP: "cyan", OpinionClass.COMPLAINT: "magenta", OpinionClass.INQUIRY: "blue",
    OpinionClass.SUGGESTION: "green", OpinionClass.PRAISE: "green", OpinionClass.NEGATIVE: "red",
    OpinionClass.PRIVACY: "yellow", OpinionClass.SPAM_ABUSE: "dim", OpinionClass.CHATTER: "dim",
}


def print_opinions(rt: Runtime, rows: Sequence[OpinionRow], names: Mapping[str, str]) -> None:
    """The inbox as a table; ``names``: each class's name to show beside its code."""
    t = _table(_headers(N_("id"), N_("when"), N_("account"), N_("class"), N_("comment"),
                        N_("reply")), wrap=_("comment"))
    for r in rows:
        zone = _zone(rt, r["account"])
        style = CLASS_STYLE.get(r["class"], "white")
        label = Text(f"{r['class']} {plain(names.get(r['class'], ''))}", style=style)
        if "unmatched" in r["labels"]:  # neither rules nor model knew it: a person should read it
            label = Text.assemble((_("? unread"), "bold yellow"), f" ({r['class']})")
        if r["state"] in (OpinionState.HANDED_OVER, OpinionState.CLOSED):
            to = f" → {plain(r['handled_to'])}" if r["handled_to"] else ""
            shown_state = name(r["state"]).replace("_", " ")
            reply = Text(f"{shown_state}{to}", style="green")
        elif r["replied_at"]:
            reply = Text(_("answered"), style="green")
        elif r["overdue"]:
            reply = Text(_("overdue"), style="bold red")
        elif r["needs_reply"]:
            reply = Text(_("waiting"), style="yellow")
        else:
            reply = Text("-")
        if r["assigned_to"]:
            reply.append(f" @{plain(r['assigned_to'])}", style="cyan")
        t.add_row(str(r["id"]), local(_parse(r["created_at"]), zone), r["account"], label,
                  shorten(r["text"] or _("(text deleted after keep_days)"), 70), reply)
    output.out.print(t)
    output.message(_("{n} comment(s)").format(n=len(rows)))


def print_thread(rt: Runtime, th: Thread, names: Mapping[str, str]) -> None:
    """One comment in its thread: our post, the comment (redacted), its class and state, our
    replies with their status, then the audit trail. Labels in both languages."""
    c = th["comment"]
    zone = _zone(rt, c["account"])
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    post = th["post"]
    if post is None:
        t.add_row("博文 post", _("(not under one of our posts)"))
    else:
        t.add_row("博文 post", Text.assemble(f"{post['id']} ", _status(post["status"]),
                                            f"  {local(_parse(post['published_at']), zone)}"))
        t.add_row("", Text(post["text"]))
    t.add_row("评论 comment", _("{id} on {account}, {when} by {author}").format(
        id=c["id"], account=c["account"], when=local(_parse(c["created_at"]), zone),
        author=plain(c["author"])))
    t.add_row("", Text(c["text"] or _("(text deleted after keep_days)")))
    t.add_row("类别 class", Text(f"{c['class']} {names.get(c['class'], '')}",
                                 style=CLASS_STYLE.get(c["class"], "white")))
    state = name(c["state"]) + (f" → {plain(c['handled_to'])}" if c["handled_to"] else "")
    if c["handled_by"]:
        state += f" ({plain(c['handled_by'])}, {local(_parse(c['handled_at']), zone)})"
    if c["handled_note"]:
        state += f": {plain(c['handled_note'])}"
    t.add_row("状态 state", Text(state))
    if c["assigned_to"]:
        t.add_row("分派 assigned", Text(_("{who} (by {by})").format(who=c["assigned_to"],
                                                                  by=c["assigned_by"])))
    for r in th["replies"]:
        when = local(_parse(r["published_at"] or r["scheduled_at"]), zone)
        note = f"  {plain(r['last_error'])}" if r["last_error"] else ""
        t.add_row("回复 reply", Text.assemble(
            _("post {id}").format(id=r["id"]) + " ", _status(r["status"]),
            "  " + _("{when} by {who}").format(when=when, who=plain(r["created_by"])) + note))
        t.add_row("", Text(r["text"]))
    for o in th["platform_replies"]:
        t.add_row("回复 reply", Text(_("on the platform, {when}: {text}").format(
            when=local(_parse(o["created_at"]), zone), text=plain(o["text"]))))
    if not th["replies"] and not th["platform_replies"]:
        t.add_row("回复 reply", "-")
    output.out.print(t)
    for e in th["audit"]:
        output.out.print(Text(f"  {local(_parse(e['at']), zone)}  {e['actor']}  {e['action']}"
                              + (f"  {plain(e['reason'])}" if e["reason"] else "")))
