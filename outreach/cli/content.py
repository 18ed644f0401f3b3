"""`outreach content …`: check, list, show, approve, revoke and stale tips."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.actions.queries.library import TipChange, content_rows, queued_tip_changes, tip_detail
from outreach.actions.tips import approve_tips, check_category, revoke_tips, unapproved_tips
from outreach.cli import output
from outreach.cli.common import AccountOpt, ByOpt, JsonOpt, ReasonOpt, fail, runtime, who
from outreach.cli.lazy import sub_app
from outreach.cli.render import print_content_list, print_content_stats, print_stale, print_tip
from outreach.i18n import _
from outreach.library.checks import check_library, library_stats, stale_tips
from outreach.library.model import Problem
from outreach.runtime import Runtime
from outreach.text import shorten

app = sub_app("content", no_args_is_help=True)


@app.command("check")
def content_check(json_: JsonOpt = False) -> None:
    """Validate the library: every tip rendered for every account (file:line: id: problem)."""
    rt = runtime(migrate=False)
    problems = check_library(rt)
    problems += [_change_problem(rt, c) for c in queued_tip_changes(rt)]
    errors = [p for p in problems if p.severity == "error"]
    if json_:
        output.print_json([{"file": p.file, "line": p.line, "id": p.tip_id,
                            "severity": p.severity, "problem": p.message} for p in problems])
    else:
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            output.out.print(f"[{colour}]{output.safe(str(p))}[/]")
        output.message(_("{tips} tips, {errors} error(s), {warnings} warning(s)").format(
            tips=len(rt.library.tips), errors=len(errors), warnings=len(problems) - len(errors)))
    if errors:
        raise typer.Exit(1)


def _change_problem(rt: Runtime, change: TipChange) -> Problem:
    """A warning for a queued post whose tip changed since it was queued."""
    post, tip = change.post, change.tip
    zone = rt.settings.account(post.account).timezone
    return Problem(tip.file if tip else "config.toml", tip.line if tip else 0, post.tip_id or "",
                   _("post {id} on {account} ({when}) {what}").format(
                       id=post.id, account=post.account,
                       when=output.local(post.scheduled_at, zone), what=change.what), "warning")


@app.command("list")
def content_list(
    category: Annotated[str | None, typer.Option(help="Only this category (and its sub-codes).")] = None,
    lang: Annotated[str | None, typer.Option(help="Only zh or en.")] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Counts per category and language.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List tips with their approval state."""
    if lang is not None and lang not in ("zh", "en"):
        raise typer.BadParameter(_("must be zh or en"), param_hint="--lang")
    rt = runtime()
    check_category(rt, category)
    if stats:
        data = library_stats(rt.library)
        output.emit(data, json_, lambda: print_content_stats(data))
        return
    rows = content_rows(rt, category=category, lang=lang)
    output.emit(rows, json_, lambda: print_content_list(rows))


@app.command("show")
def content_show(
    tip_id: Annotated[str, typer.Argument(metavar="ID", help="Tip id.")],
    account: AccountOpt = None,
    variant: Annotated[int, typer.Option(min=0, help="Which variant (0 = the main text).")] = 0,
    json_: JsonOpt = False,
) -> None:
    """Show a tip, and with --account the exact text that would be posted."""
    rt = runtime(migrate=False)
    data = tip_detail(rt, tip_id, account=account, variant=variant)
    output.emit(data, json_, lambda: print_tip(data))


@app.command("approve")
def content_approve(
    tip_ids: Annotated[list[str] | None, typer.Argument(
        metavar="ID", help="Tip id(s), or choose with --category / --all.")] = None,
    category: Annotated[str | None, typer.Option(
        help="Every unapproved tip of this category (and its sub-codes).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every unapproved tip.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="With --category/--all: do not ask for confirmation.")] = False,
    by: ByOpt = None,
) -> None:
    """Approve tips as they are now (an edit to the text withdraws the approval)."""
    if sum((bool(tip_ids), category is not None, all_)) != 1:
        raise typer.BadParameter(_("give tip ids, --category C or --all (one of them)"))
    rt = runtime()
    actor = who(by)
    if tip_ids:
        for a in approve_tips(rt, tip_ids, by=actor):
            output.message(_("approved {id} by {who} (text {hash})").format(
                id=a.tip_id, who=a.approved_by, hash=a.text_hash[:12]))
        return
    chosen, skipped = unapproved_tips(rt, category=category, by=actor)
    for why in skipped:
        output.warn(_("skipped {why}").format(why=why))
    if not chosen:
        output.message((_("every tip of {category} is already approved").format(
            category=category) if category else _("every tip is already approved"))
            + (_(" (or skipped)") if skipped else ""))
        return
    for tip in chosen:
        output.out.print(f"  {tip.id}  [dim]{tip.category} {tip.lang}[/]  "
                         f"{output.safe(shorten(tip.title or tip.text, 50))}")
    if not yes:
        try:
            answer = typer.confirm(_("Approve these {n} tip(s) as {who}?").format(
                n=len(chosen), who=actor), default=False, err=True)
        except typer.Abort:  # no answer (end of input, Ctrl-C)
            answer = False
        if not answer:
            fail(_("nothing was approved"))
    approve_tips(rt, [t.id for t in chosen], by=actor)
    output.message(_("{n} tip(s) approved by {who}").format(n=len(chosen), who=actor))


@app.command("revoke")
def content_revoke(
    tip_ids: Annotated[list[str], typer.Argument(metavar="ID", help="Tip id(s).")],
    reason: ReasonOpt = None,
    by: ByOpt = None,
) -> None:
    """Withdraw tips' approval: they are no longer drawn or queued (a queued slot post of one
    draws another tip when due; `content check` lists the queued posts concerned)."""
    rt = runtime()
    for tip_id in revoke_tips(rt, tip_ids, by=who(by), reason=reason):
        output.message(_("revoked the approval of {id}").format(id=tip_id))


@app.command("stale")
def content_stale(
    days: Annotated[int, typer.Option(min=0, help="Also list tips due within N days.")] = 30,
    json_: JsonOpt = False,
) -> None:
    """List tips past (or near) their review_by date."""
    rt = runtime(migrate=False)
    rows = stale_tips(rt, within_days=days)
    output.emit(rows, json_, lambda: print_stale(rows))
