"""Renderers of a report dict (``outreach.reports.build_report``): table, JSON, CSV, Markdown, HTML.

They only read the dict; every figure they show is one the dict holds. Text that came from
the public or from officers (post and comment texts, names) is made harmless for each
medium: control characters and markup are stripped for the terminal, Markdown specials and
HTML are escaped in Markdown, spreadsheet formulas are defused in CSV, and the HTML report is
rendered by a Jinja2 environment with autoescape on. The HTML report is one self-contained
file: charts are inline SVG drawn by matplotlib with text kept as text (so Chinese labels
render with the reader's CJK font), and nothing is fetched from the network.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from outreach.output import safe, shorten, sparkline

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")

# Labels in the report's language: key → (zh, en).
LABELS: dict[str, tuple[str, str]] = {
    "period": ("统计周期", "Period"),
    "simulated": ("模拟数据：本地平台的受众是模拟的，并非真实网民", "SIMULATED: the local platform's "
                  "audience is simulated, not real"),
    "overview": ("一、总体", "1. Overview"),
    "interaction": ("二、传播与互动", "2. Reach and interaction"),
    "previous": ("与上期对比", "Compared with the previous period"),
    "opinions": ("三、回应情况与民意分类", "3. Replies and public opinion"),
    "content": ("四、内容分析", "4. Content"),
    "times": ("发布时段（本账号最佳时段）", "Posting times (each account's best)"),
    "followers": ("粉丝趋势", "Follower trend"),
    "compliance": ("五、合规检查", "5. Compliance"),
    "notes": ("六、备注", "6. Notes"),
    "account": ("账号", "Account"),
    "platform": ("平台", "Platform"),
    "posts": ("发博", "Posts"),
    "reposts": ("转发", "Reposts"),
    "comments": ("评论", "Comments"),
    "likes": ("点赞", "Likes"),
    "followers_start": ("期初粉丝", "Followers at start"),
    "followers_end": ("期末粉丝", "Followers at end"),
    "follower_change": ("粉丝增减", "Follower change"),
    "bci": ("BCI", "BCI"),
    "posts_per_day": ("日均发博", "Posts a day"),
    "avg_reposts": ("篇均转发", "Reposts a post"),
    "avg_comments": ("篇均评论", "Comments a post"),
    "avg_likes": ("篇均点赞", "Likes a post"),
    "repost_rate": ("转发率", "Repost rate"),
    "comment_rate": ("评论率", "Comment rate"),
    "like_rate": ("点赞率", "Like rate"),
    "total": ("合计", "Total"),
    "this_period": ("本期", "This period"),
    "prev_period": ("上期", "Previous"),
    "change": ("变化", "Change"),
    "figure": ("指标", "Figure"),
    "top_posts": ("互动最高博文", "Top posts"),
    "published": ("发布时间", "Published"),
    "category": ("类别", "Category"),
    "text": ("内容", "Text"),
    "engagement": ("互动", "Engagement"),
    "categories": ("各宣传类别", "By category"),
    "best_times": ("最佳时段", "Best times"),
    "hours_grid": ("发布时段：星期 × 小时的篇均互动", "Posting times: engagement per post by weekday × hour"),
    "per_post": ("篇均互动", "Per post"),
    "class": ("类别", "Class"),
    "count": ("条数", "Count"),
    "share": ("占比", "Share"),
    "needs_reply": ("应回复", "Need a reply"),
    "replied": ("已回复", "Replied"),
    "reply_rate": ("回复率", "Reply rate"),
    "median_reply_hours": ("回复时长中位数（小时）", "Median reply time (h)"),
    "overdue_unanswered": ("超时未回复", "Unanswered past deadline"),
    "late_replies": ("超时回复", "Answered late"),
    "emergencies": ("紧急警情", "Emergencies"),
    "created": ("时间", "Time"),
    "longest_gap_days": ("最长未更新（天）", "Longest gap (days)"),
    "warning": ("告警", "Warning"),
    "failed": ("发布失败", "Failed"),
    "missed": ("错过", "Missed"),
    "retracted": ("撤回", "Retracted"),
    "drafts_waiting": ("待审草稿", "Drafts waiting"),
    "date": ("日期", "Date"),
    "weekday": ("星期", "Weekday"),
    "hour": ("时", "Hour"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    "na": ("无数据", "n/a"),
    "total_opinions": ("网民评论", "Comments from the public"),
    "generated": ("生成时间", "Generated"),
    "lifetime": ("互动为博文累计数", "Engagement: lifetime totals of the period's posts"),
}
WEEKDAYS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
FIGURE_KEYS = ("posts", "reposts", "comments", "likes", "followers_start", "followers_end",
               "follower_change", "bci")
RATE_KEYS = ("posts_per_day", "avg_reposts", "avg_comments", "avg_likes", "repost_rate",
             "comment_rate", "like_rate")
ACCOUNT_CSV_COLUMNS = ("name", "platform", "simulated", *FIGURE_KEYS, "bci_likes_unknown",
                       *RATE_KEYS, "prev_posts", "prev_reposts", "prev_comments", "prev_likes",
                       "prev_followers_end", "prev_follower_change", "prev_bci", "partial",
                       "period_start", "period_end", "timezone")
TOTAL_NAME = "(total)"  # parentheses are not allowed in account names


def _l(report: dict[str, Any], key: str) -> str:
    zh, en = LABELS[key]
    return zh if report.get("lang") == "zh" else en


def _num(value: Any, na: str = "n/a") -> str:
    if value is None:
        return na
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _pct(value: float | None, na: str = "n/a") -> str:
    return na if value is None else f"{value * 100:.2f}%"


def _signed(value: int | None, na: str = "n/a") -> str:
    return na if value is None else f"{value:+d}"


def _local(iso: str | None, zone: str) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _period_text(report: dict[str, Any]) -> str:
    """As the monthly report writes it: ``2027-03-01 00:00 — 2027-03-31 24:00 (Asia/Shanghai)``."""
    p = report["period"]
    return f"{p['first_day']} 00:00 — {p['last_day']} 24:00 ({p['timezone']})"


def _prev_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in report["previous"]["accounts"]}


def _cell_value(report: dict[str, Any], key: str, value: Any) -> str:
    na = _l(report, "na")
    if key.endswith("_rate") or key == "share":
        return _pct(value, na)
    if key == "follower_change":
        return _signed(value, na)
    return _num(value, na)


def _comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, this period, previous, change) for the totals."""
    now, prev = report["totals"], report["previous"]["totals"]
    na = _l(report, "na")
    rows = []
    for key in ("posts", "reposts", "comments", "likes", "followers_end", "follower_change", "bci"):
        a, b = now[key], prev[key]
        if a is None or b is None:
            change = na
        elif isinstance(a, float) or isinstance(b, float):
            change = f"{a - b:+.2f}"
        else:
            change = f"{a - b:+d}"
        rows.append((_l(report, key), _cell_value(report, key, a), _cell_value(report, key, b),
                     change))
    return rows


def _best_text(report: dict[str, Any], best: Sequence[dict[str, Any]]) -> str:
    days = WEEKDAYS[report["lang"]]
    if not best:
        return _l(report, "none")
    return "; ".join(f"{days[b['weekday']]} {b['hour']:02d}:00 ×{b['posts']} ({b['per_post']:.2f})"
                     for b in best)


# --- JSON ------------------------------------------------------------------------------


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


# --- terminal --------------------------------------------------------------------------


def render_table(report: dict[str, Any], console: Any) -> None:
    """The report as Rich tables on ``console``."""
    from rich.table import Table

    tz = report["period"]["timezone"]
    console.print(f"[bold]{safe(report['title'])}[/]")
    console.print(f"{_l(report, 'period')}: {_period_text(report)}")
    if report["simulated"]:
        console.print(f"[bold yellow]{_l(report, 'simulated')}[/] "
                      f"({safe(', '.join(report['simulated_accounts']))}) — simulated: true")
    if report["lifetime"]:
        console.print(f"[cyan]{_l(report, 'lifetime')}[/]")
    console.print(f"[bold]{safe(report['headline']['zh'])}[/]")
    console.print(safe(report["headline"]["en"]))

    prev = _prev_by_name(report)
    t = Table(title=_l(report, "overview"), header_style="bold")
    for key in ("account", "platform", *FIGURE_KEYS):
        t.add_column(_l(report, key), justify="left" if key in ("account", "platform") else "right")
    t.add_column(f"{_l(report, 'prev_period')} {_l(report, 'posts')}", justify="right")
    t.add_column(f"{_l(report, 'prev_period')} BCI", justify="right")
    for a in report["accounts"]:
        p = prev.get(a["name"], {})
        t.add_row(safe(a["name"]), a["platform"],
                  *[_cell_value(report, k, a[k]) for k in FIGURE_KEYS],
                  _num(p.get("posts")), _num(p.get("bci")))
    tot, ptot = report["totals"], report["previous"]["totals"]
    t.add_row(f"[bold]{_l(report, 'total')}[/]", tot["platform"],
              *[_cell_value(report, k, tot[k]) for k in FIGURE_KEYS],
              _num(ptot["posts"]), _num(ptot["bci"]), style="bold")
    console.print(t)

    r = Table(title=_l(report, "interaction"), header_style="bold")
    r.add_column(_l(report, "account"))
    for key in RATE_KEYS:
        r.add_column(_l(report, key), justify="right")
    for a in [*report["accounts"], {**tot, "name": _l(report, "total")}]:
        r.add_row(safe(a["name"]), *[_cell_value(report, k, a[k]) for k in RATE_KEYS])
    console.print(r)

    c = Table(title=_l(report, "previous"), header_style="bold")
    for key in ("figure", "this_period", "prev_period", "change"):
        c.add_column(_l(report, key), justify="left" if key == "figure" else "right")
    for row in _comparison_rows(report):
        c.add_row(*row)
    console.print(c)

    if report["top_posts"]:
        tp = Table(title=_l(report, "top_posts"), header_style="bold")
        for key in ("account", "published", "category", "reposts", "comments", "likes", "text"):
            tp.add_column(_l(report, key), overflow="fold" if key == "text" else "ellipsis",
                          justify="right" if key in FIELDS_SET else "left")
        for p in report["top_posts"]:
            tp.add_row(safe(p["account"]), _local(p["published_at"], tz), safe(p["category"] or "-"),
                       _num(p["reposts"]), _num(p["comments"]), _num(p["likes"]),
                       safe(shorten(p["text"], 48)))
        console.print(tp)

    if report["categories"]:
        ct = Table(title=_l(report, "categories"), header_style="bold")
        for key in ("category", "posts", "reposts", "comments", "likes", "avg_reposts",
                    "avg_comments"):
            ct.add_column(_l(report, key), justify="left" if key == "category" else "right")
        for cat in report["categories"]:
            ct.add_row(safe(cat["name"]), *[_num(cat[k]) for k in (
                "posts", "reposts", "comments", "likes", "avg_reposts", "avg_comments")])
        console.print(ct)

    grid = _hour_grid(report)
    if grid:
        hours = sorted({h for row in grid.values() for h in row})
        ht = Table(title=_l(report, "hours_grid"), header_style="bold")
        ht.add_column(_l(report, "weekday"))
        for h in hours:
            ht.add_column(f"{h:02d}", justify="right")
        for d, name in enumerate(WEEKDAYS[report["lang"]]):
            cells = grid.get(d, {})
            ht.add_row(name, *[f"{cells[h]:.1f}" if h in cells else "" for h in hours])
        console.print(ht)

    bt = Table(title=_l(report, "best_times"), header_style="bold")
    bt.add_column(_l(report, "account"))
    bt.add_column(_l(report, "best_times"))
    bt.add_column(_l(report, "followers"))
    for a in report["accounts"]:
        series = [pt["accounts"].get(a["name"]) for pt in report["followers"]]
        bt.add_row(safe(a["name"]), _best_text(report, a["best_times"]), sparkline(series))
    console.print(bt)

    _print_opinions(report, console)
    _print_compliance(report, console)
    if report["notes"]:
        console.print(f"[bold]{_l(report, 'notes')}[/]")
        for n in report["notes"]:
            console.print(f"- {safe(n)}")


FIELDS_SET = frozenset({"reposts", "comments", "likes", "posts"})


def _hour_grid(report: dict[str, Any]) -> dict[int, dict[int, float]]:
    """Weekday → hour → engagement per post, over every account (each in its own zone)."""
    eng: dict[tuple[int, int], list[int]] = {}
    for h in report["hours"]:
        cell = eng.setdefault((h["weekday"], h["hour"]), [0, 0])
        cell[0] += h["engagement"]
        cell[1] += h["posts"]
    grid: dict[int, dict[int, float]] = {}
    for (d, h), (total, posts) in eng.items():
        grid.setdefault(d, {})[h] = total / posts
    return grid


def _print_opinions(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    o = report["opinions"]
    console.print(
        f"[bold]{_l(report, 'opinions')}[/]: {_l(report, 'total_opinions')} {o['total']}, "
        f"{_l(report, 'emergencies')} {o['emergencies']}, {_l(report, 'needs_reply')} "
        f"{o['needs_reply']}, {_l(report, 'replied')} {o['replied']}, {_l(report, 'reply_rate')} "
        f"{_pct(o['reply_rate'])}, {_l(report, 'median_reply_hours')} "
        f"{_num(o['median_reply_hours'])}, {_l(report, 'overdue_unanswered')} "
        f"{o['overdue_unanswered']}, {_l(report, 'late_replies')} {o['late_replies']}")
    if o["by_class"]:
        t = Table(header_style="bold")
        keys = ("class", "count", "share", "needs_reply", "replied", "reply_rate",
                "median_reply_hours", "overdue_unanswered")
        for key in keys:
            t.add_column(_l(report, key), justify="left" if key == "class" else "right")
        for c in o["by_class"]:
            t.add_row(safe(c["name"]), *[_cell_value(report, k, c[k]) for k in keys[1:]])
        console.print(t)
    for e in o["emergency_items"]:
        console.print(f"[bold red]{_l(report, 'emergencies')}[/] "
                      f"{_local(e['created_at'], report['period']['timezone'])} {safe(e['account'])}: "
                      f"{safe(shorten(e['text'] or '', 70))}")


def _print_compliance(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    cp = report["compliance"]
    t = Table(title=_l(report, "compliance"), header_style="bold")
    keys = ("longest_gap_days", "failed", "missed", "retracted", "drafts_waiting")
    t.add_column(_l(report, "account"))
    for key in keys:
        t.add_column(_l(report, key), justify="right")
    for c in cp["accounts"]:
        gap = f"{c['longest_gap_days']:.2f}"
        t.add_row(safe(c["account"]), f"[bold red]{gap}[/]" if c["warning"] else gap,
                  *[str(c[k]) for k in keys[1:]])
    console.print(t)
    for w in cp["warnings"]:
        console.print(f"[yellow]{_l(report, 'warning')}:[/] {safe(w)}")


# --- CSV -------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    """A CSV cell: empty for None; text that a spreadsheet would run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def _account_rows(report: dict[str, Any], accounts: list[dict[str, Any]],
                  totals: dict[str, Any], previous: dict[str, Any]) -> list[list[Any]]:
    prev = {a["name"]: a for a in previous["accounts"]}
    p = report["period"]
    rows = []
    for a in [*accounts, {**totals, "name": TOTAL_NAME}]:
        b = prev.get(a["name"], previous["totals"] if a["name"] == TOTAL_NAME else {})
        row = [a["name"], a["platform"], a["simulated"], *[a[k] for k in FIGURE_KEYS],
               a["bci_likes_unknown"], *[a[k] for k in RATE_KEYS],
               b.get("posts"), b.get("reposts"), b.get("comments"), b.get("likes"),
               b.get("followers_end"), b.get("follower_change"), b.get("bci"), a["partial"],
               p["start"], p["end"], p["timezone"]]
        rows.append(row)
    return rows


def render_csv(report: dict[str, Any]) -> str:
    """The per-account table (one row per account and a ``(total)`` row)."""
    rows = _account_rows(report, report["accounts"], report["totals"], report["previous"])
    return _csv(ACCOUNT_CSV_COLUMNS, rows)


def _csv_tables(report: dict[str, Any]) -> dict[str, str]:
    names = [a["name"] for a in report["accounts"]]
    p = report["period"]
    o = report["opinions"]
    cp = report["compliance"]
    prev = report["previous"]
    summary = [("title", report["title"]), ("period_start", p["start"]), ("period_end", p["end"]),
               ("timezone", p["timezone"]), ("first_day", p["first_day"]),
               ("last_day", p["last_day"]), ("simulated", report["simulated"]),
               ("simulated_accounts", report["simulated_accounts"]),
               ("lifetime", report["lifetime"]), ("headline_zh", report["headline"]["zh"]),
               ("headline_en", report["headline"]["en"]), ("generated_at", report["generated_at"]),
               *[("note", n) for n in report["notes"]]]
    return {
        "summary.csv": _csv(("key", "value"), summary),
        "accounts.csv": render_csv(report),
        "previous.csv": _csv(ACCOUNT_CSV_COLUMNS, _account_rows(
            {**report, "period": prev["period"]}, prev["accounts"], prev["totals"],
            {"accounts": [], "totals": {}})),
        "top_posts.csv": _csv(
            ("id", "account", "published_at", "category", "tip_id", "status", "reposts",
             "comments", "likes", "engagement", "url", "text"),
            [[t[k] for k in ("id", "account", "published_at", "category", "tip_id", "status",
                             "reposts", "comments", "likes", "engagement", "url", "text")]
             for t in report["top_posts"]]),
        "categories.csv": _csv(
            ("code", "name_zh", "name_en", "posts", "reposts", "comments", "likes",
             "avg_reposts", "avg_comments", "avg_likes"),
            [[c[k] for k in ("code", "name_zh", "name_en", "posts", "reposts", "comments", "likes",
                             "avg_reposts", "avg_comments", "avg_likes")]
             for c in report["categories"]]),
        "hours.csv": _csv(
            ("account", "weekday", "hour", "posts", "reposts", "comments", "likes", "engagement",
             "per_post"),
            [[h[k] for k in ("account", "weekday", "hour", "posts", "reposts", "comments", "likes",
                             "engagement", "per_post")] for h in report["hours"]]),
        "followers.csv": _csv(("date", *names, "total"),
                              [[f["date"], *[f["accounts"].get(n) for n in names], f["total"]]
                               for f in report["followers"]]),
        "opinions.csv": _csv(
            ("class", "name", "count", "share", "needs_reply", "replied", "reply_rate",
             "median_reply_hours", "overdue_unanswered", "late_replies", "deadline_hours"),
            [[c[k] for k in ("class", "name", "count", "share", "needs_reply", "replied",
                             "reply_rate", "median_reply_hours", "overdue_unanswered",
                             "late_replies", "deadline_hours")] for c in o["by_class"]]
            + [[TOTAL_NAME, "", o["total"], None, o["needs_reply"], o["replied"], o["reply_rate"],
                o["median_reply_hours"], o["overdue_unanswered"], o["late_replies"], None]]),
        "emergencies.csv": _csv(
            ("id", "account", "post_id", "created_at", "replied_at", "url", "text"),
            [[e[k] for k in ("id", "account", "post_id", "created_at", "replied_at", "url", "text")]
             for e in o["emergency_items"]]),
        "compliance.csv": _csv(
            ("account", "longest_gap_days", "gap_from", "gap_to", "warning", "failed", "missed",
             "retracted", "drafts_waiting"),
            [[c[k] for k in ("account", "longest_gap_days", "gap_from", "gap_to", "warning",
                             "failed", "missed", "retracted", "drafts_waiting")]
             for c in cp["accounts"]]),
    }


def write_csv_dir(report: dict[str, Any], directory: Path) -> list[Path]:
    """One CSV file per table in ``directory`` (UTF-8 with a BOM, so spreadsheets read Chinese)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in _csv_tables(report).items():
        path = directory / name
        path.write_text(text, encoding="utf-8-sig", newline="")
        written.append(path)
    return written


# --- Markdown --------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")


def md_escape(text: Any) -> str:
    """Text for a Markdown table cell: one line, HTML and Markdown specials escaped."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")
    return out


def render_markdown(report: dict[str, Any]) -> str:
    L: Callable[[str], str] = lambda key: _l(report, key)  # noqa: E731
    tz = report["period"]["timezone"]
    lines = [f"# {md_escape(report['title'])}", "",
             f"{L('period')}: {_period_text(report)}", ""]
    if report["simulated"]:
        lines += [f"> **{L('simulated')}** (simulated: true — "
                  f"{md_escape(', '.join(report['simulated_accounts']))})", ""]
    if report["lifetime"]:
        lines += [f"> {L('lifetime')}", ""]
    lines += [f"**{md_escape(report['headline']['zh'])}**", "",
              md_escape(report["headline"]["en"]), ""]

    lines += [f"## {L('overview')}", ""]
    prev = _prev_by_name(report)
    header = [L("account"), L("platform"), *[L(k) for k in FIGURE_KEYS],
              f"{L('prev_period')} {L('posts')}", f"{L('prev_period')} BCI"]
    rows = [[md_escape(a["name"]), a["platform"], *[_cell_value(report, k, a[k]) for k in FIGURE_KEYS],
             _num(prev.get(a["name"], {}).get("posts")), _num(prev.get(a["name"], {}).get("bci"))]
            for a in report["accounts"]]
    tot, ptot = report["totals"], report["previous"]["totals"]
    rows.append([f"**{L('total')}**", tot["platform"],
                 *[_cell_value(report, k, tot[k]) for k in FIGURE_KEYS],
                 _num(ptot["posts"]), _num(ptot["bci"])])
    lines += _md_table(header, rows)

    lines += [f"## {L('interaction')}", ""]
    lines += _md_table([L("account"), *[L(k) for k in RATE_KEYS]],
                       [[md_escape(a["name"]), *[_cell_value(report, k, a[k]) for k in RATE_KEYS]]
                        for a in [*report["accounts"], {**tot, "name": L("total")}]])
    lines += [f"### {L('previous')} ({md_escape(report['previous']['period']['label'])})", ""]
    lines += _md_table([L("figure"), L("this_period"), L("prev_period"), L("change")],
                       [list(r) for r in _comparison_rows(report)])

    o = report["opinions"]
    lines += [f"## {L('opinions')}", "",
              f"- {L('total_opinions')}: {o['total']}",
              f"- {L('emergencies')}: {o['emergencies']}",
              f"- {L('needs_reply')}: {o['needs_reply']}, {L('replied')}: {o['replied']}, "
              f"{L('reply_rate')}: {_pct(o['reply_rate'])}",
              f"- {L('median_reply_hours')}: {_num(o['median_reply_hours'])}",
              f"- {L('overdue_unanswered')}: {o['overdue_unanswered']}, "
              f"{L('late_replies')}: {o['late_replies']}", ""]
    keys = ("count", "share", "needs_reply", "replied", "reply_rate", "median_reply_hours",
            "overdue_unanswered", "late_replies")
    if o["by_class"]:
        lines += _md_table([L("class"), *[L(k) for k in keys]],
                           [[md_escape(c["name"]), *[_cell_value(report, k, c[k]) for k in keys]]
                            for c in o["by_class"]])
    if o["emergency_items"]:
        lines += [f"### {L('emergencies')}", ""]
        lines += _md_table([L("created"), L("account"), L("text")],
                           [[_local(e["created_at"], tz), md_escape(e["account"]),
                             md_escape(e["text"] or "")] for e in o["emergency_items"]])

    lines += [f"## {L('content')}", ""]
    if report["categories"]:
        ckeys = ("posts", "reposts", "comments", "likes", "avg_reposts", "avg_comments")
        lines += [f"### {L('categories')}", ""]
        lines += _md_table([L("category"), *[L(k) for k in ckeys]],
                           [[md_escape(c["name"]), *[_num(c[k]) for k in ckeys]]
                            for c in report["categories"]])
    if report["top_posts"]:
        lines += [f"### {L('top_posts')}", ""]
        lines += _md_table(
            [L("account"), L("published"), L("category"), L("reposts"), L("comments"), L("likes"),
             L("text")],
            [[md_escape(p["account"]), _local(p["published_at"], tz), md_escape(p["category"] or "-"),
              _num(p["reposts"]), _num(p["comments"]), _num(p["likes"]),
              md_escape(shorten(p["text"], 60))] for p in report["top_posts"]])
    lines += [f"### {L('times')}", ""]
    lines += _md_table([L("account"), L("best_times"), L("followers")],
                       [[md_escape(a["name"]), _best_text(report, a["best_times"]),
                         sparkline(pt["accounts"].get(a["name"]) for pt in report["followers"])]
                        for a in report["accounts"]])

    cp = report["compliance"]
    ckeys2 = ("longest_gap_days", "failed", "missed", "retracted", "drafts_waiting")
    lines += [f"## {L('compliance')}", ""]
    lines += _md_table([L("account"), *[L(k) for k in ckeys2], L("warning")],
                       [[md_escape(c["account"]), f"{c['longest_gap_days']:.2f}",
                         *[str(c[k]) for k in ckeys2[1:]], L("yes") if c["warning"] else L("no")]
                        for c in cp["accounts"]])
    for w in cp["warnings"]:
        lines.append(f"- ⚠ {md_escape(w)}")
    if cp["warnings"]:
        lines.append("")
    if report["notes"]:
        lines += [f"## {L('notes')}", ""]
        lines += [f"- {md_escape(n)}" for n in report["notes"]]
        lines.append("")
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------


def _svg(fig: Any, salt: str) -> str:
    """A matplotlib figure as inline SVG: text stays text; no XML prolog, no namespace URLs,
    ids prefixed so that several charts can share one page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight",
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"',
                 r'<svg\1 role="img" class="chart"', svg, count=1)
    ids = set(re.findall(r'\sid="([^"]+)"', svg))

    def prefix(m: re.Match[str]) -> str:
        return f"{m[1]}{salt}-{m[2]}" if m[2] in ids else m[0]

    return re.sub(r'(\sid="|href="#|url\(#)([^")]+)', prefix, svg)


def _charts(report: dict[str, Any]) -> dict[str, str]:
    import logging
    import warnings

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lang = report["lang"]
    charts: dict[str, str] = {}
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)  # "findfont: … not found" for CJK fonts the host lacks
    try:
        with warnings.catch_warnings(), matplotlib.rc_context({
                "svg.fonttype": "none", "font.family": "sans-serif",
                "font.sans-serif": [*CJK_FONTS, "DejaVu Sans"], "axes.unicode_minus": False,
                "text.parse_math": False, "font.size": 9}):
            # the host may lack CJK glyphs; text stays text in the SVG, so the reader's fonts draw it
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from", category=UserWarning)
            charts["followers"] = _chart_followers(report, Figure, FigureCanvasAgg)
            charts["heatmap"] = _chart_heatmap(report, Figure, FigureCanvasAgg, lang)
            charts["categories"] = _chart_categories(report, Figure, FigureCanvasAgg)
    finally:
        font_log.setLevel(level)
    return {k: v for k, v in charts.items() if v}


def _chart_followers(report: dict[str, Any], figure: Any, canvas: Any) -> str:
    from datetime import date

    points = report["followers"]
    names = [a["name"] for a in report["accounts"]]
    if not points or all(pt["accounts"].get(n) is None for pt in points for n in names):
        return ""
    with _rc_salt("followers"):
        fig = figure(figsize=(8, 3))
        canvas(fig)
        ax = fig.add_subplot()
        days = [date.fromisoformat(pt["date"]) for pt in points]
        for n in names:
            ys = [pt["accounts"].get(n) for pt in points]
            xs = [d for d, y in zip(days, ys, strict=True) if y is not None]
            if xs:
                ax.plot(xs, [y for y in ys if y is not None], marker="o" if len(xs) < 40 else None,
                        markersize=3, label=n)
        if len(days) > 1:
            ax.set_xlim(days[0], days[-1])
        ax.set_title(_l(report, "followers"))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        return _svg(fig, "followers")


def _chart_heatmap(report: dict[str, Any], figure: Any, canvas: Any, lang: str) -> str:
    if not report["hours"]:
        return ""
    per_post = _hour_grid(report)
    cnt = [[0] * 24 for _ in range(7)]
    for h in report["hours"]:
        cnt[h["weekday"]][h["hour"]] += h["posts"]
    grid = [[per_post.get(d, {}).get(h, float("nan")) for h in range(24)] for d in range(7)]
    with _rc_salt("heatmap"):
        fig = figure(figsize=(8, 3))
        canvas(fig)
        ax = fig.add_subplot()
        im = ax.imshow(grid, aspect="auto", cmap="YlOrRd", interpolation="nearest")
        ax.set_yticks(range(7), list(WEEKDAYS[lang]))
        ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        ax.set_xlabel(_l(report, "hour"))
        ax.set_title(_l(report, "hours_grid"))
        for d in range(7):
            for h in range(24):
                if cnt[d][h]:
                    ax.text(h, d, str(cnt[d][h]), ha="center", va="center", fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.03)
        return _svg(fig, "heatmap")


def _chart_categories(report: dict[str, Any], figure: Any, canvas: Any) -> str:
    cats = report["categories"]
    if not cats:
        return ""
    with _rc_salt("categories"):
        fig = figure(figsize=(8, 0.5 + 0.35 * len(cats)))
        canvas(fig)
        ax = fig.add_subplot()
        labels = [c["name"] for c in cats][::-1]
        left = [0.0] * len(cats)
        for key in ("reposts", "comments", "likes"):
            vals = [float(c[key] or 0) for c in cats][::-1]
            ax.barh(labels, vals, left=left, label=_l(report, key))
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.set_title(f"{_l(report, 'categories')} — {_l(report, 'engagement')}")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "categories")


def _rc_salt(salt: str) -> Any:
    import matplotlib

    return matplotlib.rc_context({"svg.hashsalt": salt})


def html_environment() -> Any:
    """The report's Jinja2 environment: autoescape on (the tip renderer's is off, for text)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML file: inline SVG charts, inline CSS, no scripts, no network."""
    from markupsafe import Markup

    charts = {k: Markup(v) for k, v in _charts(report).items()}  # matplotlib's own SVG
    env = html_environment()
    tz = report["period"]["timezone"]
    env.filters.update({
        "num": lambda v: _num(v, _l(report, "na")),
        "pct": lambda v: _pct(v, _l(report, "na")),
        "signed": lambda v: _signed(v, _l(report, "na")),
        "local": lambda v: _local(v, tz),
        "cell": lambda v, key: _cell_value(report, key, v),
        "shorten": shorten,
    })
    template = env.get_template("report.html.j2")
    return template.render(
        r=report, L=lambda key: _l(report, key), charts=charts, fonts=CJK_FONTS,
        figure_keys=FIGURE_KEYS, rate_keys=RATE_KEYS, prev=_prev_by_name(report),
        comparison=_comparison_rows(report), period_text=_period_text(report),
        best_text=lambda best: _best_text(report, best),
        spark=lambda name: sparkline(pt["accounts"].get(name) for pt in report["followers"]),
    )
