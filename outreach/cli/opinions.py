"""`outreach opinions …`: the public-opinion inbox (listed by default), reply, mark-replied,
train, ack, hand-over, close, assign, show, stock."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.actions.opinions import (
    ack,
    assign,
    close,
    hand_over,
    mark_replied,
    reply,
    reply_stock,
)
from outreach.actions.queries.opinions import (
    comment_row,
    comment_thread,
    list_opinions,
    stock_replies,
)
from outreach.actions.queries.posts import post_row
from outreach.cli import output
from outreach.cli.app import State
from outreach.cli.common import AccountOpt, ByOpt, JsonOpt, runtime, who
from outreach.cli.lazy import sub_app
from outreach.cli.output import plain
from outreach.cli.render import print_opinions, print_thread
from outreach.cli.words import name
from outreach.config.load import load_settings
from outreach.errors import ContentError
from outreach.i18n import N_, _
from outreach.opinions.classify import normalise
from outreach.opinions.model import CORPUS_FILE, SHIPPED_MODEL, load_model
from outreach.opinions.rules import load_rules
from outreach.states import PostStatus
from outreach.text import shorten
from outreach.times import day_bounds, parse_day

app = sub_app("opinions")

IdsArg = Annotated[list[int], typer.Argument(metavar="ID", help="Comment id(s).")]


@app.callback(invoke_without_command=True)
def opinions(
    ctx: typer.Context,
    account: AccountOpt = None,
    klass: Annotated[str | None, typer.Option("--class", help="Only this class (emergency, help, "
                                              "tip, complaint, inquiry, …).")] = None,
    unanswered: Annotated[bool, typer.Option("--unanswered",
                                             help="Only comments awaiting a reply.")] = False,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD, inclusive).")] = None,
    mine: Annotated[bool, typer.Option(
        "--mine", help="Only the comments assigned to me (--by, else $OUTREACH_USER, else the "
                       "OS user).")] = False,
    by: ByOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N rows (0 = no limit).")] = 1000,
    json_: JsonOpt = False,
) -> None:
    """The public-opinion inbox: newest first, open emergencies at the top (unassigned ones
    first)."""
    if ctx.invoked_subcommand is not None:
        return
    rt = runtime()
    zone = rt.settings.zone_of(account)
    start = None
    if since is not None:
        start = day_bounds(parse_day(since, zone, rt.clock(), what="--since"), zone)[0]
    rows = list_opinions(rt, account=account, klass=klass, unanswered=unanswered, since=start,
                         mine=who(by) if mine else None, limit=limit)
    try:
        rules = load_rules(rt.settings.content_dir)
    except ContentError as exc:
        if not json_:
            raise
        output.warn(_("{error} (no reply deadlines until it is fixed)").format(error=exc))
    if json_:
        output.print_json(rows)
    elif not rows:
        output.message(_("no comments"))
    else:
        print_opinions(rt, rows, rules.class_names("zh"))


@app.command("reply")
def opinions_reply(
    comment_id: Annotated[int, typer.Argument(metavar="ID",
                                              help="Comment id (from `outreach opinions`).")],
    text: Annotated[str | None, typer.Option(help="The answer, as it will be posted.")] = None,
    stock: Annotated[str | None, typer.Option(
        help="A stock reply's name (content/replies.toml), in the comment's language.")] = None,
    by: ByOpt = None,
    again: Annotated[bool, typer.Option(
        "--again", help="Send another reply to a comment that already has one.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Answer a comment on its platform (exactly once, like a post; a comment that already
    has a reply published or in flight refuses another unless --again). Give --text, or
    --stock NAME for a stock reply."""
    if (text is None) == (stock is None):
        raise typer.BadParameter(_("give either --text or --stock NAME"))
    rt = runtime()
    if stock is not None:
        post = reply_stock(rt, comment_id, stock, by=who(by), again=again)
    else:
        post = reply(rt, comment_id, text or "", by=who(by), again=again)
    if json_:
        output.print_json(post_row(post))
    elif post.status == PostStatus.PUBLISHED:
        output.message(_("replied to comment {id} (post {post}, {remote})").format(
            id=comment_id, post=post.id, remote=post.remote_id))
    else:
        output.warn(_("reply post {id} is {status}: {error} (the daemon finishes it; see "
                      "`outreach queue show`)").format(id=post.id, status=name(post.status),
                                                        error=post.last_error or ""))
    if post.status == PostStatus.FAILED:
        raise typer.Exit(1)


@app.command("mark-replied")
def opinions_mark_replied(comment_ids: IdsArg, by: ByOpt = None) -> None:
    """Record that comments were answered another way (phone, in person, on the platform)."""
    rt = runtime()
    for comment_id in comment_ids:
        mark_replied(rt, comment_id, by=who(by))
        output.message(_("comment {id} marked as answered").format(id=comment_id))


@app.command("train")
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
    if corpus is None:
        corpus = load_settings(State.config).content_dir / CORPUS_FILE
    target = output_path or SHIPPED_MODEL
    output.message(_("training on {corpus} (five folds, then the whole corpus) …")
                   .format(corpus=corpus))
    # scikit-learn takes seconds to import: only training loads it, not the inbox's listing
    from outreach.opinions.train import train, write_model

    data = train(corpus, normalise)
    write_model(data, target)
    model = load_model(path=target)
    cv = model.meta["cv"]
    if json_:
        output.print_json({"model": str(target), "corpus": str(corpus), "rows": model.meta["rows"],
                           "threshold": model.threshold, "cross_validation": cv})
        return
    em = cv["emergency"]
    output.message(_("wrote {target}: {rows} comments, emergency threshold {threshold}; "
                     "five-fold cross-validation: emergency recall {recall}, precision "
                     "{precision}, accuracy {accuracy}").format(
        target=target, rows=model.meta["rows"], threshold=f"{model.threshold:.4f}",
        recall=f"{em['recall']:.3f}", precision=f"{em['precision']:.3f}",
        accuracy=f"{cv['overall']['accuracy']:.3f}"))


@app.command("ack")
def opinions_ack(
    comment_ids: Annotated[list[int], typer.Argument(help="Comment id(s).")],
    by: ByOpt = None,
) -> None:
    """Acknowledge comments (someone has them in hand): an emergency stops escalating."""
    rt = runtime()
    for comment_id in comment_ids:
        cancelled = ack(rt, comment_id, by=who(by))
        output.message(_("comment {id} acknowledged").format(id=comment_id)
                       + _cancelled(cancelled))


@app.command("hand-over")
def opinions_hand_over(
    comment_id: Annotated[int, typer.Argument(metavar="ID", help="Comment id.")],
    to: Annotated[str, typer.Option("--to", help='Who takes it on: "110", a station, a unit.')],
    note: Annotated[str | None, typer.Option(help="What was passed on, case number, …")] = None,
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record that a comment was handed over to whoever acts on it (an emergency handed over
    stops escalating, like ack)."""
    rt = runtime()
    comment, cancelled = hand_over(rt, comment_id, to=to, by=who(by), note=note)
    if json_:
        output.print_json(comment_row(comment, None, rt.clock()))
        return
    output.message(_("comment {id} handed over to {to} (评论已转交)").format(
        id=comment_id, to=comment.handled_to) + _cancelled(cancelled))


@app.command("close")
def opinions_close(
    comment_id: Annotated[int, typer.Argument(metavar="ID", help="Comment id.")],
    reason: Annotated[str, typer.Option(help="Why no action is needed (kept and audited).")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Close a comment that needs no action, with a reason."""
    rt = runtime()
    comment, cancelled = close(rt, comment_id, reason=reason, by=who(by))
    if json_:
        output.print_json(comment_row(comment, None, rt.clock()))
        return
    output.message(_("comment {id} closed (评论已关闭)").format(id=comment_id)
                   + _cancelled(cancelled))


@app.command("assign")
def opinions_assign(
    comment_id: Annotated[int, typer.Argument(metavar="ID", help="Comment id.")],
    to: Annotated[str, typer.Option("--to", help="The officer who takes it (their --by name).")],
    by: ByOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Assign a comment to an officer (`outreach opinions --mine` lists theirs)."""
    rt = runtime()
    comment = assign(rt, comment_id, to=to, by=who(by))
    if json_:
        output.print_json(comment_row(comment, None, rt.clock()))
        return
    output.message(_("comment {id} assigned to {to} (评论已分派)").format(
        id=comment_id, to=comment.assigned_to))


@app.command("show")
def opinions_show(
    comment_id: Annotated[int, typer.Argument(metavar="ID", help="Comment id.")],
    json_: JsonOpt = False,
) -> None:
    """One comment in its thread: our post, the comment (redacted), its class and state, and
    our replies so far with their status."""
    rt = runtime()
    thread = comment_thread(rt, comment_id)
    if json_:
        output.print_json(thread)
        return
    try:
        names = load_rules(rt.settings.content_dir).class_names("zh")
    except ContentError:
        names = {}
    print_thread(rt, thread, names)


@app.command("stock")
def opinions_stock(
    klass: Annotated[str | None, typer.Option("--class", help="Only this class's.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The stock replies (标准答复) of content/replies.toml: what `reply --stock NAME` sends."""
    rt = runtime(migrate=False)
    rows = stock_replies(rt, klass=klass)
    if json_:
        output.print_json(rows)
    elif not rows:
        output.message(_("no stock replies (无标准答复)"))
    else:
        output.grid([_(m) for m in (N_("name"), N_("class"), N_("langs"), N_("text"))], [
            (r["name"], r["class"], ",".join(r["langs"]),
             shorten(plain(next(iter(r["texts"].values()))), 60)) for r in rows])
        output.message(_("{n} stock reply(ies) (标准答复)").format(n=len(rows)))


def _cancelled(n: int) -> str:
    return _("; {n} pending notification(s) cancelled").format(n=n) if n else ""
