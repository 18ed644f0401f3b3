"""The command line: every command, the only place that prints or catches OutreachError.

Exit codes: 0 the command did its job; 1 an error the user must act on; 2 a
malformed command line.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from outreach.errors import OutreachError

if TYPE_CHECKING:
    from outreach.runtime import Runtime
    from outreach.store.models import Post

def _plain_argument_help() -> None:
    """Help names an argument by its metavar alone (ID, FILE), not also its Python type."""
    from typer import core

    argument = getattr(core, "TyperArgument", None)
    shown = getattr(argument, "display_type_rich", None)
    if argument is None or shown is None:
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.metavar is not None else shown(self, ctx)

    argument.display_type_rich = display_type_rich


_plain_argument_help()

app = typer.Typer(
    help="outreach — public-safety tips on Weibo-style microblogs: a library, a schedule that "
         "publishes exactly once, and engagement and public-opinion reports.",
    no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
content_app = typer.Typer(help="The tip library: check, list, show, approve, revoke, stale.",
                          no_args_is_help=True)
queue_app = typer.Typer(help="The post queue: add, import, list, show, approve, cancel, "
                             "reschedule, edit, retract.", no_args_is_help=True)
accounts_app = typer.Typer(help="Configured accounts: list, check.", no_args_is_help=True)
metrics_app = typer.Typer(help="Engagement metrics: collect.", no_args_is_help=True)
db_app = typer.Typer(help="The database: upgrade, backup.", no_args_is_help=True)
app.add_typer(content_app, name="content")
app.add_typer(queue_app, name="queue")
app.add_typer(accounts_app, name="accounts")
app.add_typer(metrics_app, name="metrics")
app.add_typer(db_app, name="db")

_state: dict[str, Any] = {"config": None}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a", help="Account name.")]
ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Who does this (default: $OUTREACH_USER, then the OS user).")]


@app.callback()
def _main(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="config.toml (default: $OUTREACH_CONFIG, then ./config.toml).",
        dir_okay=False)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    _state["config"] = config
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def runtime(*, migrate: bool = True) -> Runtime:
    from outreach.config.settings import load_settings
    from outreach.runtime import Runtime

    rt = Runtime(load_settings(_state["config"]), migrate=migrate)
    _state.setdefault("runtimes", []).append(rt)
    return rt


def who(by: str | None) -> str:
    name = by or os.environ.get("OUTREACH_USER") or _os_user()
    if not name.strip():
        raise typer.BadParameter("--by must not be empty")
    return name.strip()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def fail(message: str) -> NoReturn:
    from outreach.cli import output

    output.error(message)
    raise typer.Exit(1)


# --- init / demo ---------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(
        metavar="DIR", help="Where to write (default: here).")] = Path("."),
) -> None:
    """Write a starter config.toml and content/ library (never overwrites)."""
    from outreach.cli import output
    from outreach.library.starter import write_starter

    written, kept = write_starter(directory)
    for path in written:
        output.message(f"wrote {path}")
    for path in kept:
        output.message(f"kept existing {path}")
    import shlex

    here = Path.cwd().resolve() == directory.resolve()
    go = "" if here else f"cd {shlex.quote(str(directory))} && "
    output.message(f"next: {go}outreach content check, then outreach demo or outreach run")


@app.command()
def demo(
    days: Annotated[int, typer.Option("--days", min=1, max=365,
                                      help="Simulated days to run.")] = 30,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Workspace to use (default: a new temporary folder).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Run the whole pipeline on the local platform through N simulated days."""
    from outreach.cli import output
    from outreach.demo import run_demo

    result = run_demo(days=days, directory=directory,
                      progress=None if json_ else output.message)
    if json_:
        output.print_json(result)
        return
    from outreach.cli.render import print_demo

    print_demo(result)


# --- content -------------------------------------------------------------------------


@content_app.command("check")
def content_check(json_: JsonOpt = False) -> None:
    """Validate the library: every tip rendered for every account (file:line: id: problem)."""
    from outreach.cli import output
    from outreach.library.checks import check_library

    rt = runtime(migrate=False)
    problems = check_library(rt)
    problems += _queued_tip_changes(rt)
    errors = [p for p in problems if p.severity == "error"]
    if json_:
        output.print_json([{"file": p.file, "line": p.line, "id": p.tip_id,
                            "severity": p.severity, "problem": p.message} for p in problems])
    else:
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            output.out.print(f"[{colour}]{output.safe(str(p))}[/]")
        lib = rt.library
        output.message(f"{len(lib.tips)} tips, {len(errors)} error(s), "
                       f"{len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


def _queued_tip_changes(rt: Runtime) -> list[Any]:
    """Warnings for queued posts whose tip changed since (none before the database exists)."""
    from outreach.cli import output
    from outreach.library.content import Problem
    from outreach.schedule.plan import changed_tip_posts
    from outreach.store.db import HEAD, sqlite_path

    path = sqlite_path(rt.settings.database_url)
    if (path is not None and not path.exists()) or rt.db.current_revision() != HEAD:
        return []
    out = []
    for post, what in changed_tip_posts(rt):
        tip = rt.library.tips.get(post.tip_id or "")
        zone = rt.settings.account(post.account).timezone
        out.append(Problem(tip.file if tip else "config.toml", tip.line if tip else 0,
                           post.tip_id or "", f"post {post.id} on {post.account} "
                           f"({output.local(post.scheduled_at, zone)}) {what}", "warning"))
    return out


@content_app.command("list")
def content_list(
    category: Annotated[str | None, typer.Option(help="Only this category (and its sub-codes).")] = None,
    lang: Annotated[str | None, typer.Option(help="Only zh or en.")] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Counts per category and language.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List tips with their approval state."""
    from outreach.cli import output
    from outreach.cli.render import content_rows, print_content_list, print_content_stats

    if lang is not None and lang not in ("zh", "en"):
        raise typer.BadParameter("must be zh or en", param_hint="--lang")
    rt = runtime()
    if category is not None and category not in rt.library.categories:
        fail(f"unknown category {category!r} (known: {', '.join(sorted(rt.library.categories))})")
    if stats:
        from outreach.library.checks import library_stats

        data = library_stats(rt.library)
        if json_:
            output.print_json(data)
        else:
            print_content_stats(data)
        return
    rows = content_rows(rt, category=category, lang=lang)
    if json_:
        output.print_json(rows)
    else:
        print_content_list(rows)


@content_app.command("show")
def content_show(
    tip_id: Annotated[str, typer.Argument(metavar="ID", help="Tip id.")],
    account: AccountOpt = None,
    variant: Annotated[int, typer.Option(min=0, help="Which variant (0 = the main text).")] = 0,
    json_: JsonOpt = False,
) -> None:
    """Show a tip, and with --account the exact text that would be posted."""
    from outreach.cli import output

    rt = runtime(migrate=False)
    tip = rt.library.tip(tip_id)
    data: dict[str, Any] = {
        "id": tip.id, "category": tip.category, "lang": tip.lang, "title": tip.title,
        "text": tip.text, "variants": list(tip.variants), "tags": list(tip.tags),
        "months": list(tip.months), "valid_until": tip.valid_until, "review_by": tip.review_by,
        "source": tip.source, "file": f"{tip.file}:{tip.line}", "text_hash": tip.text_hash,
    }
    data.update(_tip_approval(rt, tip))
    if account is not None:
        acc = rt.settings.account(account)
        text = rt.render(tip_id, acc, variant)
        client = rt.client(acc)
        from outreach.library.texts import text_problems

        problems = text_problems(text, client, rt.library)
        if tip.lang != acc.lang:
            problems.insert(0, f"the tip is in {tip.lang}; {acc.name} posts in {acc.lang}, so "
                               "it is never drawn or queued there")
        data.update(account=acc.name, rendered=text, length=client.text_length(text),
                    max_length=client.max_length, problems=problems)
    if json_:
        output.print_json(data)
        return
    from outreach.cli.render import print_tip

    print_tip(data)


def _tip_approval(rt: Runtime, tip: Any) -> dict[str, Any]:
    """Whether the tip is approved as it is now, by whom and when (read-only: no database
    yet means nothing is approved)."""
    from sqlalchemy import select

    from outreach.store.db import HEAD, sqlite_path
    from outreach.store.models import Approval

    if not rt.settings.policy.require_approval:
        return {"approved": True, "approval_required": False, "approved_by": None,
                "approved_at": None}
    row = None
    path = sqlite_path(rt.settings.database_url)
    if (path is None or path.exists()) and rt.db.current_revision() == HEAD:
        with rt.db.reader() as s:
            row = s.execute(select(Approval).where(
                Approval.tip_id == tip.id, Approval.text_hash == tip.text_hash,
            ).limit(1)).scalars().first()
    return {"approved": row is not None, "approval_required": True,
            "approved_by": row.approved_by if row else None,
            "approved_at": row.approved_at if row else None}


@content_app.command("approve")
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
    from outreach.actions.queue import approve_tips, unapproved_tips
    from outreach.cli import output

    if sum((bool(tip_ids), category is not None, all_)) != 1:
        raise typer.BadParameter("give tip ids, --category C or --all (one of them)")
    rt = runtime()
    actor = who(by)
    if tip_ids:
        for a in approve_tips(rt, tip_ids, by=actor):
            output.message(f"approved {a.tip_id} by {a.approved_by} (text {a.text_hash[:12]})")
        return
    if category is not None and category not in rt.library.categories:
        fail(f"unknown category {category!r} (known: {', '.join(sorted(rt.library.categories))})")
    chosen, skipped = unapproved_tips(rt, category=category, by=actor)
    for why in skipped:
        output.warn(f"skipped {why}")
    if not chosen:
        output.message(f"every tip{f' of {category}' if category else ''} is already approved"
                       + (" (or skipped)" if skipped else ""))
        return
    for tip in chosen:
        output.out.print(f"  {tip.id}  [dim]{tip.category} {tip.lang}[/]  "
                         f"{output.safe(output.shorten(tip.title or tip.text, 50))}")
    if not yes:
        try:
            answer = typer.confirm(f"Approve these {len(chosen)} tip(s) as {actor}?",
                                   default=False, err=True)
        except typer.Abort:  # no answer (end of input, Ctrl-C)
            answer = False
        if not answer:
            fail("nothing was approved")
    approve_tips(rt, [t.id for t in chosen], by=actor)
    output.message(f"{len(chosen)} tip(s) approved by {actor}")


@content_app.command("revoke")
def content_revoke(
    tip_ids: Annotated[list[str], typer.Argument(metavar="ID", help="Tip id(s).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    by: ByOpt = None,
) -> None:
    """Withdraw tips' approval: they are no longer drawn or queued (a queued slot post of one
    draws another tip when due; `content check` lists the queued posts concerned)."""
    from outreach.actions.queue import revoke_tips
    from outreach.cli import output

    rt = runtime()
    for tip_id in revoke_tips(rt, tip_ids, by=who(by), reason=reason):
        output.message(f"revoked the approval of {tip_id}")


@content_app.command("stale")
def content_stale(
    days: Annotated[int, typer.Option(min=0, help="Also list tips due within N days.")] = 30,
    json_: JsonOpt = False,
) -> None:
    """List tips past (or near) their review_by date."""
    from outreach.cli import output
    from outreach.library.checks import stale_tips

    rt = runtime(migrate=False)
    rows = stale_tips(rt, within_days=days)
    if json_:
        output.print_json(rows)
        return
    from outreach.cli.render import print_stale

    print_stale(rows)


# --- queue ---------------------------------------------------------------------------


@queue_app.command("add")
def queue_add(
    account: Annotated[str, typer.Option("--account", "-a", help="Account name.")],
    tip: Annotated[str | None, typer.Option(help="A tip id from the library.")] = None,
    text: Annotated[str | None, typer.Option(help="Literal text (never a template).")] = None,
    at: Annotated[str | None, typer.Option(
        help="When: ISO 8601, now, +2h, 'tomorrow 08:00' (account's zone). Default: now.")] = None,
    by: ByOpt = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse instead of warning (a tip within cooldown_days, quiet hours, "
                         "a blackout date, template marks in a text).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Queue a tip or a text (ad-hoc texts start as drafts awaiting approval)."""
    from outreach.actions.queue import add_post
    from outreach.cli import output

    if (tip is None) == (text is None):
        raise typer.BadParameter("give exactly one of --tip or --text")
    rt = runtime()
    warnings: list[str] = []
    post = add_post(rt, account, tip=tip, text=text, at=at, by=who(by), strict=strict,
                    warnings=warnings)
    for w in warnings:
        output.warn(output.safe(w))
    _print_post_result(rt, post, json_)


def _print_post_result(rt: Runtime, post: Post, json_: bool) -> None:
    from outreach.cli import output
    from outreach.cli.render import post_json

    if json_:
        output.print_json(post_json(post))
        return
    zone = rt.settings.account(post.account).timezone
    output.message(f"post {post.id} {post.status} on {post.account} for "
                   f"{output.local(post.scheduled_at, zone)}")


@queue_app.command("import")
def queue_import(
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                          help="CSV (account,at,text|tip) or JSON Lines.")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import many posts at once: all rows are checked first; nothing is stored unless all are valid."""
    from outreach.actions.queue import import_posts
    from outreach.cli import output
    from outreach.cli.render import post_json

    rt = runtime()
    warnings: list[str] = []
    posts = import_posts(rt, file, by=who(by), warnings=warnings)
    for w in warnings:
        output.warn(output.safe(w))
    if json_:
        output.print_json([post_json(p) for p in posts])
    else:
        drafts = sum(p.status == "draft" for p in posts)
        output.message(f"imported {len(posts)} post(s) from {file}"
                       + (f"; {drafts} draft(s) await approval" if drafts else ""))


@queue_app.command("list")
def queue_list(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    account: AccountOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    json_: JsonOpt = False,
) -> None:
    """List posts, oldest scheduled first (every status by default)."""
    from outreach.cli import output
    from outreach.cli.render import list_posts, print_posts
    from outreach.store.models import POST_STATUSES

    if status is not None and status not in POST_STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(POST_STATUSES)}",
                                 param_hint="--status")
    rt = runtime()
    if account is not None:
        rt.settings.account(account)
    rows = list_posts(rt, status=status, account=account, limit=limit)
    if json_:
        output.print_json(rows)
    else:
        print_posts(rt, rows)


@queue_app.command("show")
def queue_show(post_id: Annotated[int, typer.Argument(metavar="ID", help="Post id.")],
               json_: JsonOpt = False) -> None:
    """One post with its latest counts and its audit trail."""
    from outreach.cli import output
    from outreach.cli.render import post_detail, print_post_detail

    rt = runtime()
    data = post_detail(rt, post_id)
    if json_:
        output.print_json(data)
    else:
        print_post_detail(rt, data)


@queue_app.command("approve")
def queue_approve(post_ids: Annotated[list[int], typer.Argument(metavar="ID",
                                                                help="Draft post id(s).")],
                  by: ByOpt = None) -> None:
    """Approve drafts (four eyes: not the author, unless policy allows)."""
    from outreach.actions.queue import approve_post
    from outreach.cli import output

    rt = runtime()
    for post_id in post_ids:
        post = approve_post(rt, post_id, by=who(by))
        output.message(f"post {post.id} approved by {post.approved_by}; queued")


@queue_app.command("cancel")
def queue_cancel(
    post_ids: Annotated[list[int], typer.Argument(metavar="ID", help="Post id(s).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    by: ByOpt = None,
) -> None:
    """Cancel drafts, queued or unconfirmed posts (an unconfirmed one is reconciled first)."""
    from outreach.actions.queue import cancel_post
    from outreach.cli import output

    rt = runtime()
    for post_id in post_ids:
        post = cancel_post(rt, post_id, by=who(by), reason=reason)
        if post.status == "retracted":
            output.message(f"post {post_id} had already been published as {post.remote_id}; "
                           "it was retracted")
        else:
            output.message(f"post {post_id} cancelled")


@queue_app.command("reschedule")
def queue_reschedule(
    post_id: Annotated[int, typer.Argument(metavar="ID", help="Post id.")],
    at: Annotated[str, typer.Option(help="New time (ISO 8601, +2h, 'tomorrow 08:00').")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move a queued post (a slot post keeps its slot; the slot is not drawn again)."""
    from outreach.actions.queue import reschedule_post
    from outreach.cli import output

    rt = runtime()
    warnings: list[str] = []
    post = reschedule_post(rt, post_id, at, by=who(by), warnings=warnings)
    for w in warnings:
        output.warn(output.safe(w))
    _print_post_result(rt, post, json_)


@queue_app.command("edit")
def queue_edit(
    post_id: Annotated[int, typer.Argument(metavar="ID", help="Post id (a draft or queued post).")],
    text: Annotated[str | None, typer.Option(
        help="New literal text (never a template); it needs approval again.")] = None,
    at: Annotated[str | None, typer.Option(
        help="New time (ISO 8601, +2h, 'tomorrow 08:00'; account's zone).")] = None,
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Edit a draft or queued post: a new text is checked like queue add and needs approval
    again (four eyes: not by its editor); a new time alone keeps the approval."""
    from outreach.actions.queue import edit_post
    from outreach.cli import output

    rt = runtime()
    warnings: list[str] = []
    post = edit_post(rt, post_id, text=text, at=at, by=who(by), warnings=warnings)
    for w in warnings:
        output.warn(output.safe(w))
    _print_post_result(rt, post, json_)


@queue_app.command("retract")
def queue_retract(
    post_id: Annotated[int, typer.Argument(metavar="ID", help="Post id.")],
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    by: ByOpt = None,
) -> None:
    """Delete a published post on its platform and mark it retracted."""
    from outreach.actions.queue import retract_post
    from outreach.cli import output

    rt = runtime()
    post = retract_post(rt, post_id, by=who(by), reason=reason)
    output.message(f"post {post.id} retracted from {post.account}")


# --- plan / pause / resume / run / status -----------------------------------------


@app.command()
def plan(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days ahead.")] = 7,
    account: AccountOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Preview what will be published: the same draw the daemon makes."""
    from outreach.cli import output
    from outreach.schedule.plan import plan_rows

    rt = runtime()
    if account is not None:
        rt.settings.account(account)
    rows = plan_rows(rt, days=days, account=account)
    from outreach.library.checks import dead_slots

    for acc in rt.settings.accounts.values():
        for warning in dead_slots(acc) if account in (None, acc.name) else ():
            output.warn(warning)
    if json_:
        output.print_json(rows)
        return
    from outreach.cli.render import print_plan

    print_plan(rt, rows)


@app.command()
def pause(
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    account: AccountOpt = None,
    by: ByOpt = None,
) -> None:
    """Incident mode: stop automatic posting now (one account, or all)."""
    from outreach.actions.queue import pause as do_pause
    from outreach.cli import output

    rt = runtime()
    do_pause(rt, account, reason=reason, by=who(by))
    output.message(f"paused {account or 'all accounts'}: {reason}. Slots that pass during the "
                   "pause are missed; held posts go out after resume, spaced.")


@app.command()
def resume(account: AccountOpt = None, by: ByOpt = None) -> None:
    """End a pause (never bursts: missed slots stay missed, held posts are spaced)."""
    from outreach.actions.queue import resume as do_resume
    from outreach.cli import output

    rt = runtime()
    n = do_resume(rt, account, by=who(by))
    if n == 0:
        output.warn(f"no open pause for {account or 'all accounts'}")
    else:
        output.message(f"resumed {account or 'all accounts'}")


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Do everything due now, then exit.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due; change nothing.")] = False,
) -> None:
    """The daemon: materialise slots, publish exactly once, collect metrics."""
    from outreach.daemon import run_daemon, stop_on_signals

    # first, so a SIGTERM during start-up (migrations, loading the library) still exits 0
    stop = stop_on_signals() if not (once or dry_run) else None
    rt = runtime()
    code = run_daemon(rt, once=once, dry_run=dry_run, stop=stop)
    raise typer.Exit(code)


@app.command()
def status(json_: JsonOpt = False) -> None:
    """Daemon heartbeat, accounts and queue health (exit 1 when unhealthy)."""
    from outreach.cli import output
    from outreach.health import health

    rt = runtime()
    data = health(rt)
    if json_:
        output.print_json(data)
    else:
        from outreach.cli.render import print_status

        print_status(rt, data)
    if not data["healthy"]:
        raise typer.Exit(1)


REPORT_FORMATS = ("table", "json", "csv", "md", "html", "xlsx")


@app.command()
def report(
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account name; repeat for several (default: every account).")] = None,
    since: Annotated[str | None, typer.Option(
        help="First day, inclusive (YYYY-MM-DD, today, yesterday); alone, one --period "
        "from it, never past today.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, inclusive.")] = None,
    period: Annotated[str, typer.Option(
        help="Calendar period: day, week or month (default: the last full month).")] = "month",
    lang: Annotated[str, typer.Option(help="Language of the report: zh or en.")] = "zh",
    lifetime: Annotated[bool, typer.Option(
        "--lifetime", help="Engagement as the lifetime totals of the period's posts.")] = False,
    format_: Annotated[str, typer.Option(
        "--format", "-f", help="table, json, csv, md, html or xlsx.")] = "table",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write to this file; csv: a directory (existing, or ending in /) "
        "gets one file per table; xlsx needs FILE.xlsx.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Engagement and public-opinion report (本月共发博文N篇，被转发M条次，网民评论K条，粉丝增至F人)."""
    from outreach.cli import output as out
    from outreach.errors import InputError
    from outreach.reports.build import LANGS, PERIODS, build_report
    from outreach.times import parse_day

    fmt = "json" if json_ else format_
    if fmt not in REPORT_FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(REPORT_FORMATS)}", param_hint="--format")
    if period not in PERIODS:
        raise typer.BadParameter(f"must be one of {', '.join(PERIODS)}", param_hint="--period")
    if lang not in LANGS:
        raise typer.BadParameter(f"must be one of {', '.join(LANGS)}", param_hint="--lang")
    if fmt == "xlsx" and (output is None or not output.lower().endswith(".xlsx")):
        raise typer.BadParameter("--format xlsx writes a spreadsheet: give -o FILE.xlsx",
                                 param_hint="--output")
    output_path = Path(output) if output is not None else None
    rt = runtime()
    names = list(dict.fromkeys(account or []))
    for name in names:
        rt.settings.account(name)  # NotFound names the configured accounts
    # days are read in the account's zone, the config's zone when several accounts apply
    zone = rt.settings.account(names[0]).timezone if len(names) == 1 else rt.settings.timezone
    now = rt.clock()
    first = parse_day(since, zone, now, what="--since") if since else None
    last = parse_day(until, zone, now, what="--until") if until else None
    data = build_report(rt, accounts=names or None, since=first, until=last, period=period,
                        lang=lang, lifetime=lifetime)
    from outreach.reports import formats as rf

    if fmt == "csv" and output is not None and output_path is not None and (
            output.endswith(("/", os.sep)) or output_path.is_dir()):
        if output_path.exists() and not output_path.is_dir():
            raise InputError("--output: a file is there, not a directory", where=str(output_path))
        try:
            written = rf.write_csv_dir(data, output_path)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", where=str(output_path)) from None
        out.message(f"wrote {len(written)} CSV file(s) to {output_path}")
    elif fmt in ("csv", "xlsx") and output_path is not None:
        write = rf.write_csv_file if fmt == "csv" else rf.write_xlsx
        try:
            write(data, output_path)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", where=str(output_path)) from None
        out.message(f"wrote {output_path}")
    elif fmt == "table" and output_path is None:
        rf.render_table(data, out.out)
    else:
        if fmt == "table":
            import io

            from rich.console import Console

            sink = io.StringIO()
            rf.render_table(data, Console(file=sink, width=160, color_system=None, highlight=False))
            text = sink.getvalue()
        else:
            text = {"json": rf.render_json, "csv": rf.render_csv, "md": rf.render_markdown,
                    "html": rf.render_html}[fmt](data)
        if output_path is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            if output_path.is_dir():
                raise InputError("--output: is a directory; give a file name", where=str(output_path))
            try:
                output_path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror}", where=str(output_path)) from None
            out.message(f"wrote {output_path}")
    if data["simulated"] and fmt != "table":
        out.warn(f"simulated audience (local platform): {', '.join(data['simulated_accounts'])}")


# --- metrics / accounts / db ------------------------------------------------------------


@metrics_app.command("collect")
def metrics_collect(account: AccountOpt = None, json_: JsonOpt = False) -> None:
    """Sweep every tracked post and the accounts' followers now."""
    from outreach.actions.queue import sync_accounts
    from outreach.cli import output
    from outreach.collector import collect, deliver_alerts

    rt = runtime()
    accounts = [rt.settings.account(account)] if account else None
    sync_accounts(rt)
    from outreach.cli.render import progress_bar

    with progress_bar(enabled=not json_) as progress:
        summary = collect(rt, accounts=accounts, force=True, progress=progress)
    alerts = deliver_alerts(rt)
    data = {"accounts": summary.accounts, "posts_checked": summary.posts_checked,
            "post_rows": summary.post_rows, "account_rows": summary.account_rows,
            "comments_stored": summary.comments_stored, "emergencies": summary.emergencies,
            "skipped": summary.skipped, "comment_errors": summary.comment_errors,
            "rules_error": summary.rules_error, "alerts_sent": alerts.sent,
            "alerts_failed": alerts.failed}
    if json_:
        output.print_json(data)
    else:
        output.message(f"checked {summary.posts_checked} post(s) on "
                       f"{len(summary.accounts)} account(s); {summary.post_rows} changed; "
                       f"{summary.comments_stored} new comment(s)")
        if summary.emergencies:
            output.error(f"{len(summary.emergencies)} EMERGENCY comment(s): "
                         "outreach opinions --class emergency")
        for name, why in summary.skipped.items():
            output.warn(f"{name}: skipped ({why})")
        for name, why in summary.comment_errors.items():
            output.warn(f"{name}: comments not fetched, tried again next sweep ({why})")
    if summary.rules_error is not None:
        output.error(f"{summary.rules_error} (comments are fetched once it is fixed)")
        raise typer.Exit(1)
    if account is not None and account in summary.skipped:
        raise typer.Exit(1)


@accounts_app.command("list")
def accounts_list(json_: JsonOpt = False) -> None:
    """Accounts with their state, followers, next slot and token expiry."""
    from outreach.cli import output
    from outreach.health import account_rows

    rt = runtime()
    rows = account_rows(rt)
    if json_:
        output.print_json(rows)
    else:
        from outreach.cli.render import print_accounts

        print_accounts(rt, rows)


@accounts_app.command("check")
def accounts_check(account: AccountOpt = None, json_: JsonOpt = False) -> None:
    """Call each platform (verify) and record what it says; exit 1 if any account fails."""
    from outreach.cli import output
    from outreach.health import check_accounts

    rt = runtime()
    results = check_accounts(rt, only=account)
    if json_:
        output.print_json(results)
    else:
        for r in results:
            mark = "[green]ok[/]" if r["ok"] else "[red]FAILED[/]"
            output.out.print(f"{mark} {r['name']} ({r['platform']}): {output.safe(r['detail'])}")
            for p in r.get("placeholders", ()):
                output.out.print(f"   [yellow]placeholder:[/] {output.safe(p)}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (commands also do this when needed)."""
    from outreach.cli import output
    from outreach.store.db import HEAD

    rt = runtime(migrate=False)
    before = rt.db.current_revision()
    rt.db.ensure_schema()
    output.message(f"database at revision {HEAD}" + ("" if before == HEAD else
                                                    f" (was {before or 'empty'})"))


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(metavar="FILE",
                                                   help="Where to write the copy.")]) -> None:
    """An online copy of the SQLite database (safe while the daemon runs)."""
    from outreach.cli import output

    rt = runtime()
    rt.db.backup(file)
    output.message(f"backed up to {file}")


# --- opinions (民意) ---------------------------------------------------------------------

opinions_app = typer.Typer(help="The public's comments (民意): list them (the default), reply, "
                                "mark-replied, train.")
app.add_typer(opinions_app, name="opinions")


@opinions_app.callback(invoke_without_command=True)
def opinions(
    ctx: typer.Context,
    account: AccountOpt = None,
    klass: Annotated[str | None, typer.Option("--class", help="Only this class (emergency, help, "
                                              "tip, complaint, inquiry, …).")] = None,
    unanswered: Annotated[bool, typer.Option("--unanswered",
                                             help="Only comments awaiting a reply.")] = False,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD, inclusive).")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    json_: JsonOpt = False,
) -> None:
    """The public-opinion inbox: newest first, open emergencies at the top."""
    if ctx.invoked_subcommand is not None:
        return
    from outreach.cli import output
    from outreach.opinions.inbox import list_opinions
    from outreach.times import day_bounds, parse_day

    rt = runtime()
    zone = rt.settings.account(account).timezone if account else rt.settings.timezone
    start = None
    if since is not None:
        start = day_bounds(parse_day(since, zone, rt.clock(), what="--since"), zone)[0]
    rows = list_opinions(rt, account=account, klass=klass, unanswered=unanswered, since=start,
                         limit=limit)
    from outreach.errors import ContentError
    from outreach.opinions.rules import load_rules

    try:
        load_rules(rt.settings.content_dir)
    except ContentError as exc:
        if not json_:
            raise
        output.warn(f"{exc} (no reply deadlines until it is fixed)")
    if json_:
        output.print_json(rows)
        return
    from outreach.cli.render import print_opinions

    print_opinions(rt, rows)


@opinions_app.command("reply")
def opinions_reply(
    comment_id: Annotated[int, typer.Argument(metavar="ID",
                                              help="Comment id (from `outreach opinions`).")],
    text: Annotated[str, typer.Option(help="The answer, as it will be posted.")],
    by: ByOpt = None,
    again: Annotated[bool, typer.Option(
        "--again", help="Send another reply to a comment that already has one.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Answer a comment on its platform (exactly once, like a post; a comment that already
    has a reply published or in flight refuses another unless --again)."""
    from outreach.cli import output
    from outreach.cli.render import post_json
    from outreach.opinions.inbox import reply

    rt = runtime()
    post = reply(rt, comment_id, text, by=who(by), again=again)
    if json_:
        output.print_json(post_json(post))
    elif post.status == "published":
        output.message(f"replied to comment {comment_id} (post {post.id}, {post.remote_id})")
    else:
        output.warn(f"reply post {post.id} is {post.status}: {post.last_error or ''} "
                    "(the daemon finishes it; see `outreach queue show`)")
    if post.status == "failed":
        raise typer.Exit(1)


@opinions_app.command("mark-replied")
def opinions_mark_replied(
    comment_ids: Annotated[list[int], typer.Argument(metavar="ID", help="Comment id(s).")],
    by: ByOpt = None,
) -> None:
    """Record that comments were answered another way (phone, in person, on the platform)."""
    from outreach.cli import output
    from outreach.opinions.inbox import mark_replied

    rt = runtime()
    for comment_id in comment_ids:
        mark_replied(rt, comment_id, by=who(by))
        output.message(f"comment {comment_id} marked as answered")


@opinions_app.command("train")
def opinions_train(
    corpus: Annotated[Path | None, typer.Option(
        help="The labelled comments, JSON Lines (default: CONTENT/opinions/corpus.jsonl).",
        dir_okay=False)] = None,
    output_path: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the model (default: the one shipped in the "
                               "package; CONTENT/opinions/model.skops is used instead of it when "
                               "present).", dir_okay=False)] = None,
    json_: JsonOpt = False,
) -> None:
    """Rebuild the opinion model from the labelled corpus (the same corpus gives the same file)."""
    from outreach.cli import output
    from outreach.config.settings import load_settings
    from outreach.opinions.model import CORPUS_FILE, SHIPPED_MODEL, load_model, train, write_model
    from outreach.opinions.rules import normalise

    if corpus is None:
        corpus = load_settings(_state["config"]).content_dir / CORPUS_FILE
    target = output_path or SHIPPED_MODEL
    output.message(f"training on {corpus} (five folds, then the whole corpus) …")
    data = train(corpus, normalise)
    write_model(data, target)
    model = load_model(path=target)
    cv = model.meta["cv"]
    if json_:
        output.print_json({"model": str(target), "corpus": str(corpus), "rows": model.meta["rows"],
                           "threshold": model.threshold, "cross_validation": cv})
        return
    em = cv["emergency"]
    output.message(f"wrote {target}: {model.meta['rows']} comments, emergency threshold "
                   f"{model.threshold:.4f}; five-fold cross-validation: emergency recall "
                   f"{em['recall']:.3f}, precision {em['precision']:.3f}, accuracy "
                   f"{cv['overall']['accuracy']:.3f}")
@opinions_app.command("ack")
def opinions_ack(
    comment_ids: Annotated[list[int], typer.Argument(help="Comment id(s).")],
    by: ByOpt = None,
) -> None:
    """Acknowledge comments (someone has them in hand): an emergency stops escalating."""
    from outreach.cli import output
    from outreach.notify import acknowledge

    rt = runtime()
    for comment_id in comment_ids:
        cancelled = acknowledge(rt, comment_id, by=who(by))
        extra = f"; {cancelled} pending notification(s) cancelled" if cancelled else ""
        output.message(f"comment {comment_id} acknowledged{extra}")


# --- auth ------------------------------------------------------------------------------

auth_app = typer.Typer(help="Authorise accounts on their platforms (tokens stay outside "
                            "config.toml).", no_args_is_help=True)
app.add_typer(auth_app, name="auth")

APP_SECRET_ENV = "OUTREACH_WEIBO_APP_SECRET"


@auth_app.command("weibo")
def auth_weibo(
    account: Annotated[str, typer.Option("--account", "-a", help="The Weibo account to authorise.")],
    app_key: Annotated[str | None, typer.Option(
        "--app-key", envvar="OUTREACH_WEIBO_APP_KEY",
        help="The app's App Key (default: $OUTREACH_WEIBO_APP_KEY). The App Secret is read "
             f"from ${APP_SECRET_ENV} only, never from the command line.")] = None,
    redirect_uri: Annotated[str, typer.Option(
        "--redirect-uri", envvar="OUTREACH_WEIBO_REDIRECT_URI",
        help="The app's registered callback (default: $OUTREACH_WEIBO_REDIRECT_URI, else "
             "Weibo's own page).")] = "https://api.weibo.com/oauth2/default.html",
    code: Annotated[str | None, typer.Option(
        "--code", help="The code, or the whole address Weibo redirected to (default: print the "
                       "authorisation page and ask for it).")] = None,
    by: ByOpt = None,
) -> None:
    """OAuth2 for a Weibo account: stores the token in a 0600 file in the data folder."""
    import secrets
    from urllib.parse import parse_qs, urlsplit

    from outreach.actions.auth import complete_weibo_auth, weibo_authorize_url
    from outreach.cli import output
    from outreach.config.secrets import Secret
    from outreach.health import TOKEN_WARNING

    actor = who(by)
    app_secret = os.environ.get(APP_SECRET_ENV, "").strip()
    if not app_secret:
        fail(f"set ${APP_SECRET_ENV} to the app's App Secret (it is never taken from the "
             "command line, where `ps` would show it)")
    rt = runtime()
    if code is None:
        state = secrets.token_urlsafe(12)
        url = weibo_authorize_url(rt, account, app_key=app_key or "", redirect_uri=redirect_uri,
                                  state=state)
        output.message(f"Open this page logged in to Weibo as the user {account} posts as, "
                       "and allow access:")
        output.err.print(f"\n  {output.safe(url)}\n", soft_wrap=True)  # one line: copyable
        output.err.print("Paste the address Weibo sent you to (or just the code): ", end="")
        code = sys.stdin.readline().strip()
        if not code:
            fail("no code given; nothing was changed")
        pasted_state = parse_qs(urlsplit(code).query).get("state") if "?" in code else None
        if pasted_state and pasted_state[0] != state:
            fail("that address belongs to another authorisation attempt (its state does not "
                 "match); open the page above again")
    result = complete_weibo_auth(rt, account, app_key=app_key or "",
                                 app_secret=Secret(app_secret), redirect_uri=redirect_uri,
                                 code_or_url=code, by=actor)
    zone = rt.settings.account(result.account).timezone
    expires = (output.local(result.expires_at, zone) if result.expires_at is not None
               else "at an unknown time")
    output.message(f"authorised {result.account} as Weibo user {result.uid}; the token is in "
                   f"{output.safe(str(result.token_file))} (mode 0600) and expires {expires}")
    if result.env_overrides:
        env = rt.settings.account(result.account).token_env
        output.warn(f"${env} is set and wins over the stored token: unset it to use the new one")
    if result.expires_at is not None and result.expires_at - rt.clock() < TOKEN_WARNING:
        output.warn("the token expires within 3 days: Weibo gives this app short-lived tokens; "
                    "authorise again before then")

# --- notifications -----------------------------------------------------------------------

notify_app = typer.Typer(help="The notification outbox: list, test, retry.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("list")
def notify_list(
    status: Annotated[str | None, typer.Option(help="Only this status (pending, sending, sent, "
                                               "failed, cancelled).")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    json_: JsonOpt = False,
) -> None:
    """Notifications, newest first: event, target, status, attempts, last error."""
    from outreach.cli import output
    from outreach.notify import list_notifications
    from outreach.store.models import NOTIFICATION_STATUSES

    if status is not None and status not in NOTIFICATION_STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(NOTIFICATION_STATUSES)}",
                                 param_hint="--status")
    rt = runtime()
    rows = list_notifications(rt, status=status, limit=limit)
    if json_:
        output.print_json(rows)
        return
    if not rows:
        output.message("no notifications")
        return
    from datetime import datetime

    zone = rt.settings.timezone
    output.grid(["id", "event", "target", "status", "tries", "due / sent", "account", "error"], [
        [str(r["id"]), r["event"], r["target"], r["status"], str(r["attempts"]),
         output.local(datetime.fromisoformat(r["sent_at"] or r["next_attempt_at"]), zone),
         r["account"] or "-", output.plain(output.shorten(r["last_error"] or "", 50))]
        for r in rows])


@notify_app.command("test")
def notify_test(
    target: Annotated[str | None, typer.Option(help="Only this target (by name).")] = None,
) -> None:
    """Send a test message to every target (exit 1 if any fails)."""
    from outreach.cli import output
    from outreach.notify import send_test

    rt = runtime()
    failed = 0
    for name, error in send_test(rt, target):
        if error is None:
            output.message(f"{name}: sent")
        else:
            failed += 1
            output.error(f"{name}: {output.safe(error)}")
    if failed:
        raise typer.Exit(1)


@notify_app.command("retry")
def notify_retry(
    ids: Annotated[list[int], typer.Argument(help="Notification id(s) that failed.")],
) -> None:
    """Send failed notifications again (failed → pending, due now)."""
    from outreach.cli import output
    from outreach.notify import retry

    rt = runtime()
    for nid in retry(rt, ids):
        output.message(f"notification {nid} is pending again")


@app.command()
def watchdog(
    stale_minutes: Annotated[int, typer.Option(
        "--stale-minutes", min=1, max=7 * 24 * 60,
        help="A heartbeat older than this is stale.")] = 10,
) -> None:
    """For a systemd timer or cron: notify (daemon_stale) when the daemon's heartbeat is stale,
    once per outage; exit 1 while it is stale."""
    from outreach.cli import output
    from outreach.notify import watchdog as check

    rt = runtime()
    result = check(rt, stale_minutes)
    zone = rt.settings.timezone
    if not result.stale:
        output.message(f"daemon alive: last heartbeat {output.local(result.last_heartbeat, zone)}")
        return
    last = output.local(result.last_heartbeat, zone) if result.last_heartbeat else "never"
    output.error(f"daemon stale: last heartbeat {last}")
    if not rt.settings.notify.for_event("daemon_stale"):
        output.warn("no [notify] target listens to daemon_stale: nobody was told")
    d = result.delivery
    if d.sent:
        output.message(f"daemon_stale sent ({len(d.sent)} target(s))")
    if d.retrying or d.failed:
        output.warn(f"daemon_stale not delivered to {len(d.retrying) + len(d.failed)} "
                    "target(s): see `outreach notify list`")
    raise typer.Exit(1)


def main() -> NoReturn:
    """Console entry point: run the command, then leave without tearing the interpreter down.

    Every runtime is closed and the streams are flushed first; what is skipped is freeing
    each module object one by one, which costs a short command a fifth of its time.
    """
    import gc

    gc.set_threshold(20_000, 20, 20)  # start-up allocates ~10^5 objects that all live on
    code = run_cli()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the reader went away
            code = code or 1
    os._exit(code)


def run_cli() -> int:
    """Run the command line; user errors are one red line and exit 1, never a traceback.
    Returns the exit code (the tests call this in-process)."""
    code = 0
    try:
        app()  # standalone: usage errors exit 2, typer.Exit carries its code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OutreachError as exc:
        _report(str(exc))
        code = 1
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        # sqlalchemy is imported only when a database error happened (--help stays fast)
        if type(exc).__module__.startswith("sqlalchemy"):
            orig = getattr(exc, "orig", None)
            detail = str(orig).splitlines()[0] if orig is not None else type(exc).__name__
            _report(f"database error: {detail}")
            code = 1
        elif os.environ.get("OUTREACH_DEBUG"):  # a bug: say so briefly; details when asked
            _close_runtimes()
            raise
        else:
            _report(f"internal error: {type(exc).__name__}: {exc} (set OUTREACH_DEBUG=1 for details)")
            code = 70
    _close_runtimes()
    return code


def _close_runtimes() -> None:
    for rt in _state.pop("runtimes", []):
        rt.close()


def _report(message: str) -> None:
    from outreach.cli import output

    output.error(message)
