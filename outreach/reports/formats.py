"""Renderers of a report dict (``outreach.reports.build.build_report``): table, JSON, CSV, Markdown, HTML.

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

from outreach.cli.output import safe, shorten, sparkline

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")

# Labels in the report's language: key → (zh, en). Section titles are ``reports.SECTIONS``.
LABELS: dict[str, tuple[str, str]] = {
    "period": ("统计周期", "Period"),
    "simulated": ("模拟数据：本地平台的受众是模拟的，并非真实网民", "SIMULATED: the local platform's "
                  "audience is simulated, not real"),
    "previous": ("与上期对比", "Compared with the previous period"),
    "times": ("发布时段（本账号最佳时段）", "Posting times (each account's best)"),
    "followers": ("粉丝趋势", "Follower trend"),
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
    "total_opinions": ("已读取并分类的评论", "Comments read and classified"),
    "generated": ("生成时间", "Generated"),
    "lifetime": ("互动为博文累计数", "Engagement: lifetime totals of the period's posts"),
    "comment_counts": ("评论数的口径", "What each comment figure counts"),
    "definition": ("口径", "Definition"),
    "unconfigured": ("未配置的账号（无令牌、从未发博；不计入统计，也不做合规检查）",
                     "Accounts not set up (no token, never published; not counted, not checked)"),
    "rates": ("互动率", "Rates"),
    "department": ("单位", "Department"),
}
WEEKDAYS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
FIGURE_KEYS = ("posts", "reposts", "comments", "likes", "followers_start", "followers_end",
               "follower_change", "bci")
RATE_KEYS = ("posts_per_day", "avg_reposts", "avg_comments", "avg_likes", "repost_rate",
             "comment_rate", "like_rate")
ACCOUNT_CSV_COLUMNS = ("name", "display_name", "platform", "simulated", *FIGURE_KEYS, "bci_likes_unknown",
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
    """The report as Rich tables on ``console``, section by section."""
    from rich.table import Table

    tz = report["period"]["timezone"]
    who = _names(report)
    if report["department"]:
        console.print(f"[bold]{safe(report['department'])}[/]")
    console.print(f"[bold]{safe(report['title'])}[/]")
    console.print(f"{_l(report, 'period')}: {_period_text(report)}")
    if report["simulated"]:
        console.print(f"[bold yellow]{_l(report, 'simulated')}[/] "
                      f"({safe(', '.join(who(n) for n in report['simulated_accounts']))})"
                      " — simulated: true")
    if report["lifetime"]:
        console.print(f"[cyan]{_l(report, 'lifetime')}[/]")
    console.print(f"[bold]{safe(report['headline']['zh'])}[/]")
    console.print(safe(report["headline"]["en"]))

    # 一、总体
    console.print(f"\n[bold]{_section(report, 'overview')}[/]")
    prev = _prev_by_name(report)
    t = Table(title=_table_title(report, "accounts"), header_style="bold")
    for key in ("account", "platform", *FIGURE_KEYS):
        t.add_column(_l(report, key), justify="left" if key in ("account", "platform") else "right")
    t.add_column(f"{_l(report, 'prev_period')} {_l(report, 'posts')}", justify="right")
    t.add_column(f"{_l(report, 'prev_period')} BCI", justify="right")
    for a in report["accounts"]:
        p = prev.get(a["name"], {})
        t.add_row(safe(a["display_name"]), a["platform"],
                  *[_cell_value(report, k, a[k]) for k in FIGURE_KEYS],
                  _num(p.get("posts")), _num(p.get("bci")))
    tot, ptot = report["totals"], report["previous"]["totals"]
    t.add_row(f"[bold]{_l(report, 'total')}[/]", tot["platform"],
              *[_cell_value(report, k, tot[k]) for k in FIGURE_KEYS],
              _num(ptot["posts"]), _num(ptot["bci"]), style="bold")
    console.print(t)
    console.print(f"[bold]{_l(report, 'comment_counts')}[/]")
    for d in report["comment_counts"]["definitions"]:
        console.print(f"- {safe(d['label'])}: [bold]{_num(d['value'], _l(report, 'na'))}[/] "
                      f"— {_l(report, 'definition')}: {safe(d['definition'])}")
    if report["unconfigured_accounts"]:
        console.print(f"[dim]{_l(report, 'unconfigured')}: {safe(_unconfigured_text(report))}[/]")

    # 二、传播与互动
    console.print(f"\n[bold]{_section(report, 'interaction')}[/]")
    r = Table(title=_l(report, "rates"), header_style="bold")
    r.add_column(_l(report, "account"))
    for key in RATE_KEYS:
        r.add_column(_l(report, key), justify="right")
    for a in [*report["accounts"], {**tot, "display_name": _l(report, "total")}]:
        r.add_row(safe(a["display_name"]), *[_cell_value(report, k, a[k]) for k in RATE_KEYS])
    console.print(r)
    c = Table(title=f"{_l(report, 'previous')} ({safe(report['previous']['period']['label'])})",
              header_style="bold")
    for key in ("figure", "this_period", "prev_period", "change"):
        c.add_column(_l(report, key), justify="left" if key == "figure" else "right")
    for row in _comparison_rows(report):
        c.add_row(*row)
    console.print(c)
    ft = Table(title=_l(report, "followers"), header_style="bold")
    for key in ("account", "followers_start", "followers_end"):
        ft.add_column(_l(report, key), justify="left" if key == "account" else "right")
    ft.add_column(_l(report, "followers"))
    for a in report["accounts"]:
        ft.add_row(safe(a["display_name"]), _num(a["followers_start"], _l(report, "na")),
                   _num(a["followers_end"], _l(report, "na")), _spark(report, a["name"]))
    console.print(ft)

    # 三、回应情况与民意分类
    console.print()
    _print_opinions(report, console)

    # 四、内容分析
    console.print(f"\n[bold]{_section(report, 'content')}[/]")
    if report["categories"]:
        ct = Table(title=_l(report, "categories"), header_style="bold")
        for key in ("category", "posts", "reposts", "comments", "likes", "avg_reposts",
                    "avg_comments"):
            ct.add_column(_l(report, key), justify="left" if key == "category" else "right")
        for cat in report["categories"]:
            ct.add_row(safe(cat["name"]), *[_num(cat[k]) for k in (
                "posts", "reposts", "comments", "likes", "avg_reposts", "avg_comments")])
        console.print(ct)
    if report["top_posts"]:
        tp = Table(title=_l(report, "top_posts"), header_style="bold")
        for key in ("account", "published", "category", "reposts", "comments", "likes", "text"):
            tp.add_column(_l(report, key), overflow="fold" if key == "text" else "ellipsis",
                          justify="right" if key in FIELDS_SET else "left")
        for p in report["top_posts"]:
            tp.add_row(safe(who(p["account"])), _local(p["published_at"], tz),
                       safe(p["category_name"]), _num(p["reposts"]), _num(p["comments"]),
                       _num(p["likes"]), safe(shorten(p["text"], 48)))
        console.print(tp)
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
    bt = Table(title=_l(report, "times"), header_style="bold")
    bt.add_column(_l(report, "account"))
    bt.add_column(_l(report, "best_times"))
    for a in report["accounts"]:
        bt.add_row(safe(a["display_name"]), _best_text(report, a["best_times"]))
    console.print(bt)

    # 五、合规检查
    console.print()
    _print_compliance(report, console)
    # 六、备注
    console.print(f"\n[bold]{_section(report, 'notes')}[/]")
    for n in report["notes"]:
        console.print(f"- {safe(n)}")
    if not report["notes"]:
        console.print(f"- {_l(report, 'none')}")


def _section(report: dict[str, Any], key: str) -> str:
    """A section's title as the report names it (the same in every format)."""
    return next(s["title"] for s in report["sections"] if s["key"] == key)


def _table_title(report: dict[str, Any], key: str) -> str:
    return next(t["title"] for s in report["sections"] for t in s["tables"] if t["key"] == key)


def _names(report: dict[str, Any]) -> Callable[[str], str]:
    """Account name → the name people read (display_name)."""
    known = {a["name"]: a["display_name"] for a in report["accounts"]}
    known.update({a["name"]: a["display_name"] for a in report["unconfigured_accounts"]})
    return lambda name: known.get(name, name)


def _spark(report: dict[str, Any], name: str) -> str:
    return sparkline(pt["accounts"].get(name) for pt in report["followers"])


def _unconfigured_text(report: dict[str, Any]) -> str:
    return "; ".join(f"{a['display_name']} ({a['name']}, {a['platform']})"
                     for a in report["unconfigured_accounts"])


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
        f"[bold]{_section(report, 'opinions')}[/]\n{_l(report, 'total_opinions')} {o['total']}, "
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
                      f"{_local(e['created_at'], report['period']['timezone'])} "
                      f"{safe(_names(report)(e['account']))}: "
                      f"{safe(shorten(e['text'] or '', 70))}")


def _print_compliance(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    cp = report["compliance"]
    console.print(f"[bold]{_section(report, 'compliance')}[/]")
    t = Table(header_style="bold")
    keys = ("longest_gap_days", "failed", "missed", "retracted", "drafts_waiting")
    t.add_column(_l(report, "account"))
    for key in keys:
        t.add_column(_l(report, key), justify="right")
    for c in cp["accounts"]:
        gap = f"{c['longest_gap_days']:.2f}"
        t.add_row(safe(c["display_name"]), f"[bold red]{gap}[/]" if c["warning"] else gap,
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
        shown = a.get("display_name") or _l(report, "total")
        row = [a["name"], shown, a["platform"], a["simulated"], *[a[k] for k in FIGURE_KEYS],
               a["bci_likes_unknown"], *[a[k] for k in RATE_KEYS],
               b.get("posts"), b.get("reposts"), b.get("comments"), b.get("likes"),
               b.get("followers_end"), b.get("follower_change"), b.get("bci"), a["partial"],
               p["start"], p["end"], p["timezone"]]
        rows.append(row)
    return rows


def render_csv(report: dict[str, Any]) -> str:
    """The per-account table (one row per account and a ``(total)`` row)."""
    return _csv(*report_tables(report)["accounts"])


Columns = tuple[str, ...]


def report_tables(report: dict[str, Any]) -> dict[str, tuple[Columns, list[list[Any]]]]:
    """Every table of the report as (column keys, rows of plain values), in the order of the
    report's sections (``report["sections"]``): one CSV file or xlsx sheet each."""
    names = [a["name"] for a in report["accounts"]]
    p = report["period"]
    o = report["opinions"]
    cp = report["compliance"]
    prev = report["previous"]
    cc = report["comment_counts"]
    summary: list[list[Any]] = [
        ["department", report["department"]], ["title", report["title"]],
        ["period_start", p["start"]], ["period_end", p["end"]], ["timezone", p["timezone"]],
        ["first_day", p["first_day"]], ["last_day", p["last_day"]],
        ["simulated", report["simulated"]], ["simulated_accounts", report["simulated_accounts"]],
        ["lifetime", report["lifetime"]], ["headline_zh", report["headline"]["zh"]],
        ["headline_en", report["headline"]["en"]], ["generated_at", report["generated_at"]],
        *[[f"comments_{d['key']}", d["value"]] for d in cc["definitions"]],
        *[["unconfigured_account", f"{a['display_name']} ({a['name']}, {a['platform']})"]
          for a in report["unconfigured_accounts"]]]
    top_cols = ("id", "account", "published_at", "category", "category_name", "tip_id", "status",
                "reposts", "comments", "likes", "engagement", "url", "text")
    cat_cols = ("code", "name_zh", "name_en", "posts", "reposts", "comments", "likes",
                "avg_reposts", "avg_comments", "avg_likes")
    hour_cols = ("account", "weekday", "hour", "posts", "reposts", "comments", "likes",
                 "engagement", "per_post")
    op_cols = ("class", "name", "count", "share", "needs_reply", "replied", "reply_rate",
               "median_reply_hours", "overdue_unanswered", "late_replies", "deadline_hours")
    em_cols = ("id", "account", "post_id", "created_at", "replied_at", "url", "text")
    cp_cols = ("account", "display_name", "longest_gap_days", "gap_from", "gap_to", "warning",
               "failed", "missed", "retracted", "drafts_waiting")
    tables: dict[str, tuple[Columns, list[list[Any]]]] = {
        "summary": (("key", "value"), summary),
        "accounts": (ACCOUNT_CSV_COLUMNS, _account_rows(
            report, report["accounts"], report["totals"], report["previous"])),
        "previous": (ACCOUNT_CSV_COLUMNS, _account_rows(
            {**report, "period": prev["period"]}, prev["accounts"], prev["totals"],
            {"accounts": [], "totals": {}})),
        "followers": (("date", *names, "total"),
                      [[f["date"], *[f["accounts"].get(n) for n in names], f["total"]]
                       for f in report["followers"]]),
        "opinions": (op_cols, [[c[k] for k in op_cols] for c in o["by_class"]]
                     + [[TOTAL_NAME, "", o["total"], None, o["needs_reply"], o["replied"],
                         o["reply_rate"], o["median_reply_hours"], o["overdue_unanswered"],
                         o["late_replies"], None]]),
        "emergencies": (em_cols, [[e[k] for k in em_cols] for e in o["emergency_items"]]),
        "categories": (cat_cols, [[c[k] for k in cat_cols] for c in report["categories"]]),
        "top_posts": (top_cols, [[t[k] for k in top_cols] for t in report["top_posts"]]),
        "hours": (hour_cols, [[h[k] for k in hour_cols] for h in report["hours"]]),
        "compliance": (cp_cols, [[c[k] for k in cp_cols] for c in cp["accounts"]]),
        "notes": (("note",), [[n] for n in report["notes"]]),
    }
    order = [t["key"] for sec in report["sections"] for t in sec["tables"]]
    return {key: tables[key] for key in order}


def write_csv_dir(report: dict[str, Any], directory: Path) -> list[Path]:
    """One CSV file per table in ``directory`` (UTF-8 with a BOM, so spreadsheets read Chinese)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (columns, rows) in report_tables(report).items():
        path = directory / f"{key}.csv"
        path.write_text(_csv(columns, rows), encoding="utf-8-sig", newline="")
        written.append(path)
    return written


def write_csv_file(report: dict[str, Any], path: Path) -> None:
    """The per-account table in one file (UTF-8 with a BOM)."""
    path.write_text(render_csv(report), encoding="utf-8-sig", newline="")


# --- spreadsheet -------------------------------------------------------------------------

# Column headers of the spreadsheet, in the report's language: column key → (zh, en).
# Keys not listed here use LABELS, else stay as they are (account names in the trend).
COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("账号", "Account"), "display_name": ("名称", "Name"),
    "simulated": ("模拟数据", "Simulated"),
    "bci_likes_unknown": ("BCI 点赞按 0 计", "BCI likes unknown"),
    "prev_posts": ("上期发博", "Previous posts"), "prev_reposts": ("上期转发", "Previous reposts"),
    "prev_comments": ("上期评论", "Previous comments"), "prev_likes": ("上期点赞", "Previous likes"),
    "prev_followers_end": ("上期期末粉丝", "Previous followers at end"),
    "prev_follower_change": ("上期粉丝增减", "Previous follower change"),
    "prev_bci": ("上期 BCI", "Previous BCI"), "partial": ("数据不全", "Partly known"),
    "period_start": ("周期开始", "Period start"), "period_end": ("周期结束", "Period end"),
    "timezone": ("时区", "Time zone"), "key": ("项目", "Item"), "value": ("内容", "Value"),
    "id": ("编号", "ID"), "account": ("账号", "Account"), "published_at": ("发布时间", "Published"),
    "category": ("类别代码", "Category code"), "category_name": ("类别", "Category"),
    "tip_id": ("提示编号", "Tip"), "status": ("状态", "Status"), "url": ("链接", "URL"),
    "code": ("代码", "Code"), "name_zh": ("类别", "Category (zh)"),
    "name_en": ("类别（英文）", "Category"), "class": ("代码", "Code"),
    "deadline_hours": ("回复时限（小时）", "Deadline (h)"), "post_id": ("博文编号", "Post"),
    "created_at": ("时间", "Time"), "replied_at": ("回复时间", "Replied at"),
    "gap_from": ("未更新起", "Gap from"), "gap_to": ("未更新止", "Gap to"),
    "note": ("备注", "Note"), "total": ("合计", "Total"),
}
_PERCENT = frozenset({"share", "reply_rate", "repost_rate", "comment_rate", "like_rate"})


def column_label(report: dict[str, Any], key: str) -> str:
    zh_en = COLUMNS.get(key) or LABELS.get(key)
    if zh_en is None:
        return key
    return zh_en[0] if report.get("lang") == "zh" else zh_en[1]


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_xlsx(report: dict[str, Any], path: Path) -> None:
    """One sheet per table, headers in the report's language, numbers as numbers. Text is
    always stored as text: a post or comment that starts with ``=`` never becomes a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    sheets = {t["key"]: t["sheet"] for sec in report["sections"] for t in sec["tables"]}
    bold = Font(bold=True)
    for key, (columns, rows) in report_tables(report).items():
        ws = book.create_sheet(sheets[key])
        ws.append([column_label(report, c) for c in columns])
        for cell in ws[1]:
            cell.font = bold
        for r, row in enumerate(rows, start=2):
            for c, (col_key, value) in enumerate(zip(columns, row, strict=True), start=1):
                value = _xlsx_value(value)
                cell = ws.cell(row=r, column=c)
                if isinstance(value, str):
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.data_type = "s"  # text, never a formula
                else:
                    cell.value = value
                    if col_key in _PERCENT and isinstance(value, float):
                        cell.number_format = "0.00%"
        ws.freeze_panes = "A2"
        for c, col_key in enumerate(columns, start=1):
            width = max([len(column_label(report, col_key)) * 2, 8]
                        + [min(len(str(row[c - 1] or "")), 60) for row in rows[:200]])
            ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(width + 2, 62)
    book.save(path)


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
    S: Callable[[str], str] = lambda key: _section(report, key)  # noqa: E731
    who = _names(report)
    tz = report["period"]["timezone"]
    lines = []
    if report["department"]:
        lines += [f"**{md_escape(report['department'])}**", ""]
    lines += [f"# {md_escape(report['title'])}", "", f"{L('period')}: {_period_text(report)}", ""]
    if report["simulated"]:
        lines += [f"> **{L('simulated')}** (simulated: true — "
                  f"{md_escape(', '.join(who(n) for n in report['simulated_accounts']))})", ""]
    if report["lifetime"]:
        lines += [f"> {L('lifetime')}", ""]
    lines += [f"**{md_escape(report['headline']['zh'])}**", "",
              md_escape(report["headline"]["en"]), ""]

    # 一、总体
    lines += [f"## {S('overview')}", ""]
    prev = _prev_by_name(report)
    header = [L("account"), L("platform"), *[L(k) for k in FIGURE_KEYS],
              f"{L('prev_period')} {L('posts')}", f"{L('prev_period')} BCI"]
    rows = [[md_escape(a["display_name"]), a["platform"],
             *[_cell_value(report, k, a[k]) for k in FIGURE_KEYS],
             _num(prev.get(a["name"], {}).get("posts")), _num(prev.get(a["name"], {}).get("bci"))]
            for a in report["accounts"]]
    tot, ptot = report["totals"], report["previous"]["totals"]
    rows.append([f"**{L('total')}**", tot["platform"],
                 *[_cell_value(report, k, tot[k]) for k in FIGURE_KEYS],
                 _num(ptot["posts"]), _num(ptot["bci"])])
    lines += _md_table(header, rows)
    lines += [f"### {L('comment_counts')}", ""]
    lines += _md_table([L("figure"), L("count"), L("definition")],
                       [[md_escape(d["label"]), _num(d["value"], L("na")), md_escape(d["definition"])]
                        for d in report["comment_counts"]["definitions"]])
    if report["unconfigured_accounts"]:
        lines += [f"{L('unconfigured')}: {md_escape(_unconfigured_text(report))}", ""]

    # 二、传播与互动
    lines += [f"## {S('interaction')}", ""]
    lines += _md_table([L("account"), *[L(k) for k in RATE_KEYS]],
                       [[md_escape(a["display_name"]),
                         *[_cell_value(report, k, a[k]) for k in RATE_KEYS]]
                        for a in [*report["accounts"], {**tot, "display_name": L("total")}]])
    lines += [f"### {L('previous')} ({md_escape(report['previous']['period']['label'])})", ""]
    lines += _md_table([L("figure"), L("this_period"), L("prev_period"), L("change")],
                       [list(r) for r in _comparison_rows(report)])
    lines += [f"### {L('followers')}", ""]
    lines += _md_table([L("account"), L("followers_start"), L("followers_end"), L("followers")],
                       [[md_escape(a["display_name"]), _num(a["followers_start"], L("na")),
                         _num(a["followers_end"], L("na")), _spark(report, a["name"])]
                        for a in report["accounts"]])

    # 三、回应情况与民意分类
    o = report["opinions"]
    lines += [f"## {S('opinions')}", "",
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
                           [[_local(e["created_at"], tz), md_escape(who(e["account"])),
                             md_escape(e["text"] or "")] for e in o["emergency_items"]])

    # 四、内容分析
    lines += [f"## {S('content')}", ""]
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
            [[md_escape(who(p["account"])), _local(p["published_at"], tz),
              md_escape(p["category_name"]), _num(p["reposts"]), _num(p["comments"]),
              _num(p["likes"]), md_escape(shorten(p["text"], 60))] for p in report["top_posts"]])
    lines += [f"### {L('times')}", ""]
    lines += _md_table([L("account"), L("best_times")],
                       [[md_escape(a["display_name"]), _best_text(report, a["best_times"])]
                        for a in report["accounts"]])

    # 五、合规检查
    cp = report["compliance"]
    ckeys2 = ("longest_gap_days", "failed", "missed", "retracted", "drafts_waiting")
    lines += [f"## {S('compliance')}", ""]
    lines += _md_table([L("account"), *[L(k) for k in ckeys2], L("warning")],
                       [[md_escape(c["display_name"]), f"{c['longest_gap_days']:.2f}",
                         *[str(c[k]) for k in ckeys2[1:]], L("yes") if c["warning"] else L("no")]
                        for c in cp["accounts"]])
    for w in cp["warnings"]:
        lines.append(f"- ⚠ {md_escape(w)}")
    if cp["warnings"]:
        lines.append("")

    # 六、备注
    lines += [f"## {S('notes')}", ""]
    lines += [f"- {md_escape(n)}" for n in report["notes"]] or [f"- {L('none')}"]
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
    who = _names(report)
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
                        markersize=3, label=who(n))
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
        r=report, L=lambda key: _l(report, key), S=lambda key: _section(report, key),
        who=_names(report), unconfigured=_unconfigured_text(report), charts=charts, fonts=CJK_FONTS,
        figure_keys=FIGURE_KEYS, rate_keys=RATE_KEYS, prev=_prev_by_name(report),
        comparison=_comparison_rows(report), period_text=_period_text(report),
        best_text=lambda best: _best_text(report, best),
        spark=lambda name: sparkline(pt["accounts"].get(name) for pt in report["followers"]),
    )
