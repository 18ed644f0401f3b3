"""Engagement and public-opinion reports: queries → one typed ``Report``.

The monthly report mirrors the origin article: "本月共发博文N篇,被转发M条次,网民评论K条,
粉丝增至F人". Renderers (JSON, CSV, Markdown, HTML, xlsx) live in ``reports.formats``.

How a figure is counted:

- **posts** (N): the account's own posts (not replies to the public) published in the period,
  ``published`` or later ``retracted`` (they went out; compliance counts the retractions).
- **engagement** (reposts M, comments K, likes L) is the change of counts over the period,
  read from ``post_metrics`` snapshots: for each post, the latest snapshot at or before the
  period's end minus the latest snapshot at or before its start (0 for a post published inside
  the period). "At or before" on both sides, so consecutive periods add up exactly. With
  ``lifetime=True`` it is instead the latest known totals of the posts published in the period.
- A count the platform does not provide stays ``None`` (every snapshot lacks it); a count some
  snapshots lack is the sum of the known ones, and ``notes`` says so. The BCI counts an unknown
  L as 0, and ``notes`` says that too.
- **followers** at an instant: the latest ``account_metrics`` row at or before it.
- **comments** come as three figures, each named and defined in every format
  (``COMMENT_FIGURES``): ``received`` (the in-period change of the platform's counts: the
  headline's K), ``on_period_posts`` (the lifetime counts of the period's posts) and
  ``collected`` (the public's comments made in the period that were read and classified: the
  public-opinion section's total). They differ, and the report says why.
- An account with no token that never published is not counted and not checked for
  compliance; it is listed once, in ``unconfigured_accounts``.

The queries are in ``reports.query`` (every one set-based: aggregates and correlated index
look-ups, no per-post query loops), the figures in ``reports.figures``, section 3 in
``reports.replies`` (its 民意分析 in ``reports.analysis``), section 5 in
``reports.compliance``, the words in ``reports.wording``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlmodel import Session

from outreach.config.settings import AccountSettings
from outreach.errors import InputError, OutreachError
from outreach.i18n import _
from outreach.media.store import MediaStore
from outreach.opinions.rules import load_rules
from outreach.reports import figures as fg
from outreach.reports import query
from outreach.reports.analysis import load_lexicon
from outreach.reports.compliance import compliance
from outreach.reports.figures import Acc, Figures, bci, instant
from outreach.reports.model import (
    Account,
    CommentCounts,
    CommentDefinition,
    Previous,
    PreviousAccount,
    Report,
    UnconfiguredAccount,
)
from outreach.reports.periods import PERIODS, Period, period_bounds, period_label
from outreach.reports.query import Window
from outreach.reports.replies import opinions
from outreach.reports.thumbnails import thumbnail
from outreach.reports.wording import COMMENT_FIGURES, LANGS, headline, language, sections, t
from outreach.text import listing

if TYPE_CHECKING:
    from outreach.runtime import Runtime

__all__ = ["LANGS", "PERIODS", "Report", "bci", "build_report", "period_bounds"]


def build_report(rt: Runtime, *, accounts: list[str] | None, since: date | None,
                 until: date | None, period: str = "month", lang: str = "zh",
                 lifetime: bool = False) -> Report:
    """The engagement and public-opinion report (see the module doc)."""
    lang_ = language(lang)
    settings = rt.settings
    if accounts:
        chosen = [settings.account(n) for n in dict.fromkeys(accounts)]
    else:
        chosen = list(settings.accounts.values())
    if not chosen:
        raise InputError(_("no accounts configured to report on"))
    with rt.db.reader() as s:
        idle = _never_set_up(rt, s, chosen)
    accs = [Acc(a.name, a.platform, a.timezone, rt.simulated(a), a.display_name)
            for a in chosen if a not in idle]
    zone = chosen[0].timezone if len(chosen) == 1 else settings.timezone
    now = rt.clock()
    p = period_bounds(period, since, until, zone, now)
    prev = p.previous()
    names = [a.name for a in accs]
    notes: list[str] = []
    w = Window(p.start, p.end, now, lifetime)
    cat_names = fg.category_names(rt)
    with rt.db.reader() as s:
        this = fg.accounts_and_totals(s, accs, p, now, lifetime, lang, notes)
        # the comment figure of the other kind (lifetime or in-period): one aggregate query
        other = fg.figures(query.aggregate(s, names, Window(p.start, p.end, now, not lifetime)),
                           None)[0]["comments"]
        before = fg.accounts_and_totals(s, accs, prev, now, lifetime, lang, [])
        top_rows = query.top_posts(s, names, w)
        store = MediaStore(settings.media_dir)
        top = fg.top_posts(top_rows, cat_names, lang,
                           query.pictures(s, [int(r.id) for r in top_rows]),
                           lambda sha: thumbnail(store, sha))
        in_period = query.posts_in_period(s, names, w)
        hours, best = fg.hours(accs, in_period)
        trend = fg.trend(s, accs, p)
        said = opinions(s, names, p, now, lang, load_rules(settings.content_dir),
                        load_lexicon(settings.content_dir))
        checks = compliance(s, accs, p, now, in_period, lang)
    totals = this.totals
    simulated = any(a.simulated for a in accs)
    if totals.likes is not None and any(a["likes"] is None for a in this.accounts):
        notes.append(t(lang, "合计点赞数不含未提供点赞数的平台",
                       "total likes leave out platforms that give no like counts"))
    if simulated:
        sim = listing([a.shown for a in accs if a.simulated])
        notes.insert(0, t(lang, f"{sim}：本地平台，受众为模拟数据，并非真实网民",
                          f"{sim}: the local platform; its audience is simulated, not real"))
    if lifetime:
        notes.append(t(lang, "互动数为本期所发博文的累计数（截至生成时）",
                       "engagement: lifetime totals of the posts published in the period "
                       "(as of now)"))
    else:
        notes.append(t(lang, "互动数为本期内的增量（按快照计算），含往期博文在本期获得的互动",
                       "engagement: the change of counts over the period (from snapshots), "
                       "including what earlier posts gained in it"))
    received, on_posts = (other, totals.comments) if lifetime else (totals.comments, other)
    return Report(
        title=_title(rt, p, lang),
        department=_department(rt, lang),
        lang=lang_,
        generated_at=instant(now),
        period=fg.period_model(p, lang),
        simulated=simulated,
        simulated_accounts=[a.name for a in accs if a.simulated],
        lifetime=lifetime,
        accounts=[Account.model_validate({**a, "best_times": best.get(a["name"], [])})
                  for a in this.accounts],
        totals=totals,
        previous=_previous(prev, before, lang),
        top_posts=top,
        categories=fg.categories(cat_names, this.rows, lang),
        hours=hours,
        followers=trend,
        opinions=said,
        compliance=checks,
        headline=headline(p, totals, simulated, lifetime),
        comment_counts=_comment_counts(lang, lifetime, received, on_posts, said.total),
        unconfigured_accounts=[UnconfiguredAccount(name=a.name, display_name=a.label,
                                                   platform=a.platform) for a in idle],
        sections=sections(lang),
        notes=notes,
    )


def _title(rt: Runtime, p: Period, lang: str) -> str:
    """``[report] title`` after the period's label, else the report's own title."""
    cfg = rt.settings.report
    label = period_label(p, lang)
    own_title = (cfg.title_en or cfg.title) if lang == "en" else cfg.title
    if own_title:
        return f"{label} {own_title}"
    kind_zh = {"month": "月报", "week": "周报", "day": "日报"}.get(p.kind, "报告")
    return (f"{label} 民意与宣传{kind_zh}" if lang == "zh"
            else f"Engagement and public-opinion report, {label}")


def _department(rt: Runtime, lang: str) -> str:
    cfg = rt.settings.report
    return (cfg.department_en or cfg.department) if lang == "en" else cfg.department


def _previous(prev: Period, before: Figures, lang: str) -> Previous:
    return Previous(period=fg.period_model(prev, lang),
                    accounts=[PreviousAccount.model_validate(a) for a in before.accounts],
                    totals=before.totals)


def _comment_counts(lang: str, lifetime: bool, received: int | None, on_posts: int | None,
                    collected: int) -> CommentCounts:
    values = {"received": received, "on_period_posts": on_posts, "collected": collected}
    shown = "on_period_posts" if lifetime else "received"
    return CommentCounts(
        received=received, on_period_posts=on_posts, collected=collected,
        definitions=[CommentDefinition.model_validate(
            {"key": k, "label": t(lang, *label), "definition": t(lang, *definition),
             "value": values[k], "headline": k == shown})
            for k, (label, definition) in COMMENT_FIGURES.items()])


def _never_set_up(rt: Runtime, s: Session,
                  chosen: Sequence[AccountSettings]) -> list[AccountSettings]:
    """The accounts with no token that never published: nothing to count, nothing to alarm."""
    published = query.ever_published(s, [a.name for a in chosen])
    idle = []
    for a in chosen:
        try:
            configured = rt.configured(a)
        except OutreachError:
            configured = True  # a token is there but unreadable: it was set up
        if not configured and a.name not in published:
            idle.append(a)
    return idle
