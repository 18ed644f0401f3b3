"""The report as Markdown: one document, the same sections and tables as every format.
Text from the public or officers is one line per cell, with HTML and Markdown specials
escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from outreach.reports.formats.common import (
    CLASS_KEYS,
    COMPLIANCE_KEYS,
    CONCERN_KEYS,
    EXAMPLE_KEYS,
    PLACE_KEYS,
    RATE_KEYS,
    TOP_POST_KEYS,
    View,
    num,
)
from outreach.reports.model import Report

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")


def md_escape(text: object) -> str:
    """Text for a Markdown table cell: one line, HTML and Markdown specials escaped."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")
    return out


def _labels(v: View, keys: Iterable[str]) -> list[str]:
    return [v.label(k) for k in keys]


def render_markdown(report: Report) -> str:
    v = View(report)
    r = v.r
    L, S = v.label, v.section
    lines = []
    if r.department:
        lines += [f"**{md_escape(r.department)}**", ""]
    lines += [f"# {md_escape(r.title)}", "", f"{L('period')}: {v.period_text()}", ""]
    if r.simulated:
        lines += [f"> **{L('simulated')}** (simulated: true — "
                  f"{md_escape(v.simulated_names())})", ""]
    if r.lifetime:
        lines += [f"> {L('lifetime')}", ""]
    lines += [f"**{md_escape(r.headline.zh)}**", "", md_escape(r.headline.en), ""]

    # 一、总体
    lines += [f"## {S('overview')}", ""]
    lines += _md_table(v.overview_header(),
                       [*v.overview_rows(md_escape), v.overview_total(f"**{L('total')}**")])
    lines += [f"### {L('comment_counts')}", ""]
    lines += _md_table(_labels(v, ("figure", "count", "definition")),
                       [[md_escape(d.label), num(d.value, v.na), md_escape(d.definition)]
                        for d in r.comment_counts.definitions])
    if r.unconfigured_accounts:
        lines += [f"{L('unconfigured')}: {md_escape(v.unconfigured_text())}", ""]

    # 二、传播与互动
    lines += [f"## {S('interaction')}", ""]
    lines += _md_table(_labels(v, ("account", *RATE_KEYS)), v.rate_rows(md_escape))
    lines += [f"### {L('previous')} ({md_escape(r.previous.period.label)})", ""]
    lines += _md_table(_labels(v, ("figure", "this_period", "prev_period", "change")),
                       v.comparison_rows())
    lines += [f"### {L('followers')}", ""]
    lines += _md_table(v.follower_header(), v.follower_rows(md_escape))

    # 三、回应情况与民意分类
    o = r.opinions
    f = [f"{name}: {figure}" for name, figure in v.opinion_figures()]
    lines += [f"## {S('opinions')}", "", f"- {f[0]}", f"- {f[1]}", f"- {', '.join(f[2:5])}",
              f"- {f[5]}", f"- {', '.join(f[6:8])}", f"- {', '.join(f[8:])}", ""]
    if o.by_class:
        lines += _md_table(_labels(v, ("class", *CLASS_KEYS)), v.class_rows(md_escape, CLASS_KEYS))
    if o.emergency_items:
        lines += [f"### {L('emergencies')}", ""]
        lines += _md_table(_labels(v, ("created", "account", "text")),
                           [[v.local(e.created_at), md_escape(v.who(e.account)),
                             md_escape(e.text or "")] for e in o.emergency_items])
    a = o.analysis
    if a.keywords:
        lines += [f"### {L('concerns')}", ""]
        lines += _md_table(_labels(v, CONCERN_KEYS), v.concern_rows(md_escape))
    if a.places:
        lines += [f"### {L('places')}", ""]
        lines += _md_table(_labels(v, PLACE_KEYS), v.place_rows(md_escape))
    if a.examples:
        lines += [f"### {L('examples')}", ""]
        lines += _md_table(_labels(v, EXAMPLE_KEYS), v.example_rows(md_escape, 140))

    # 四、内容分析
    lines += [f"## {S('content')}", ""]
    if r.categories:
        lines += [f"### {L('categories')}", ""]
        keys = v.category_keys
        lines += _md_table(_labels(v, ("category", *keys)), v.category_rows(md_escape, keys))
    if r.top_posts:
        lines += [f"### {L('top_posts')}", ""]
        lines += _md_table(_labels(v, TOP_POST_KEYS), v.top_post_rows(md_escape, 60))
    lines += [f"### {L('times')}", ""]
    lines += _md_table(_labels(v, ("account", "best_times")), v.best_rows(md_escape))

    # 五、合规检查
    cp = r.compliance
    lines += [f"## {S('compliance')}", ""]
    lines += _md_table(_labels(v, ("account", *COMPLIANCE_KEYS, "warning")),
                       [[md_escape(c.display_name), f"{c.longest_gap_days:.2f}",
                         *[str(getattr(c, k)) for k in COMPLIANCE_KEYS[1:]],
                         L("yes") if c.warning else L("no")]
                        for c in cp.accounts])
    for w in cp.warnings:
        lines.append(f"- ⚠ {md_escape(w)}")
    if cp.warnings:
        lines.append("")

    # 六、备注
    lines += [f"## {S('notes')}", ""]
    lines += [f"- {md_escape(n)}" for n in r.notes] or [f"- {L('none')}"]
    lines.append("")
    return "\n".join(lines)
