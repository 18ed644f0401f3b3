"""The matrix report in every format but HTML (``formats.matrix_html``): its tables (the
ranking, the group's totals, the laggards) as CSV, a spreadsheet, Markdown and the terminal.

Every figure shown is one the ``MatrixReport`` holds; labels follow the report's language.
Text from config (display names) is escaped for each medium; a spreadsheet stores text as
text, so a name starting with ``=`` never becomes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from outreach.reports.formats.as_csv import csv_text, write_csv_tables
from outreach.reports.formats.as_markdown import md_escape
from outreach.reports.matrix_model import MatrixReport
from outreach.text import listing

Table = tuple[list[str], list[list[Any]]]

LABELS: dict[str, tuple[str, str]] = {
    "rank": ("排名", "Rank"), "previous_rank": ("上期排名", "Previous rank"),
    "rank_change": ("名次变化", "Change"), "name": ("账号", "Account"),
    "display_name": ("名称", "Name"), "platform": ("平台", "Platform"),
    "posts": ("发博", "Posts"), "reposts": ("转发", "Reposts"), "comments": ("评论", "Comments"),
    "likes": ("点赞", "Likes"), "engagement": ("互动", "Engagement"), "bci": ("BCI", "BCI"),
    "previous_bci": ("上期 BCI", "Previous BCI"), "previous_posts": ("上期发博", "Previous posts"),
    "followers_end": ("期末粉丝", "Followers"), "follower_change": ("粉丝增减", "Follower change"),
    "needs_reply": ("应回复", "Wanted a reply"), "replied": ("已回复", "Replied"),
    "reply_rate": ("回复率", "Reply rate"), "median_reply_hours": ("回复时长中位数（小时）",
                                                               "Median reply (h)"),
    "days_without_post": ("无发博天数", "Days without a post"),
    "longest_gap_days": ("最长未更新（天）", "Longest gap (days)"),
    "gap_warning": ("超期未更新", "Gap warning"), "simulated": ("模拟数据", "Simulated"),
    "accounts": ("账号数", "Accounts"), "average_bci": ("平均 BCI", "Average BCI"),
    "accounts_with_gap_warning": ("超期未更新账号", "Accounts with a gap warning"),
    "previous_engagement": ("上期互动", "Previous engagement"), "reasons": ("原因", "Reasons"),
    "figure": ("指标", "Figure"), "value": ("数值", "Value"),
    "ranking": ("排名", "Ranking"), "totals": ("合计", "Group totals"),
    "laggards": ("落后账号", "Laggards"), "notes": ("备注", "Notes"),
    "period": ("统计周期", "Period"), "previous": ("上期", "Previous period"),
    "none": ("无", "none"), "yes": ("是", "yes"), "no": ("否", "no"),
    "chart": ("BCI 排名", "Ranked by BCI"), "shown": ("仅显示前后各", "showing the top and "
                                                     "bottom"),
    "simulated_note": ("模拟数据：本地平台的受众是模拟的", "SIMULATED: the local platform's "
                       "audience is simulated"),
}
RANKING_KEYS = ("rank", "rank_change", "previous_rank", "name", "display_name", "platform",
                "posts", "reposts", "comments", "likes", "engagement", "bci", "previous_bci",
                "followers_end", "follower_change", "needs_reply", "replied", "reply_rate",
                "median_reply_hours", "days_without_post", "longest_gap_days", "gap_warning")
SHOWN_KEYS = ("rank", "rank_change", "display_name", "posts", "engagement", "bci",
              "reply_rate", "median_reply_hours", "days_without_post")  # text formats
TOTAL_KEYS = ("accounts", "posts", "reposts", "comments", "likes", "engagement", "bci",
              "average_bci", "followers_end", "follower_change", "needs_reply", "replied",
              "reply_rate", "median_reply_hours", "days_without_post", "longest_gap_days",
              "accounts_with_gap_warning", "previous_posts", "previous_engagement",
              "previous_bci")
SHEETS = {"ranking": ("排名", "Ranking"), "totals": ("合计", "Totals"),
          "laggards": ("落后账号", "Laggards")}
PERCENT = frozenset({"reply_rate"})


def label(lang: str, key: str) -> str:
    zh, en = LABELS.get(key, (key, key))
    return zh if lang == "zh" else en


def matrix_tables(r: MatrixReport) -> dict[str, Table]:
    """The report's tables, raw values (numbers as numbers), keyed as the CSV files."""
    ranking = [[getattr(a, k) for k in RANKING_KEYS] for a in r.accounts]
    totals = [[label(r.lang, k), getattr(r.totals, k)] for k in TOTAL_KEYS]
    laggards = [[g.rank, g.name, g.display_name, "; ".join(g.reasons)] for g in r.laggards]
    return {"ranking": (list(RANKING_KEYS), ranking), "totals": (["figure", "value"], totals),
            "laggards": (["rank", "name", "display_name", "reasons"], laggards)}


def signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("0" if n == 0 else str(n))


def shown(r: MatrixReport, key: str, value: Any) -> str:
    """A figure as the text formats write it."""
    if value is None:
        return "—"
    if key == "rank_change":
        return signed(int(value))
    if key in PERCENT:
        return f"{value * 100:.1f}%"
    if isinstance(value, bool):
        return label(r.lang, "yes" if value else "no")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# --- CSV -----------------------------------------------------------------------------------


def render_matrix_csv(r: MatrixReport) -> str:
    """The ranking, one row per account (column keys as the JSON names them)."""
    return csv_text(*matrix_tables(r)["ranking"])


def write_matrix_csv_dir(r: MatrixReport, directory: Path) -> list[Path]:
    return write_csv_tables(matrix_tables(r), directory, prefix="matrix_")


def write_matrix_csv_file(r: MatrixReport, path: Path) -> None:
    path.write_text(render_matrix_csv(r), encoding="utf-8-sig", newline="")


# --- xlsx ----------------------------------------------------------------------------------


def write_matrix_xlsx(r: MatrixReport, path: Path) -> None:
    """One sheet per table, headers in the report's language, numbers as numbers, text as
    text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for key, (columns, rows) in matrix_tables(r).items():
        ws = book.create_sheet(SHEETS[key][0 if r.lang == "zh" else 1])
        ws.append([label(r.lang, c) for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for i, row in enumerate(rows, start=2):
            for j, (col_key, value) in enumerate(zip(columns, row, strict=True), start=1):
                cell = ws.cell(row=i, column=j)
                if isinstance(value, str):
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.data_type = "s"
                else:
                    cell.value = value
                    if col_key in PERCENT and isinstance(value, float):
                        cell.number_format = "0.00%"
        ws.freeze_panes = "A2"
    book.save(path)


# --- Markdown and the terminal -------------------------------------------------------------


def ranking_rows(r: MatrixReport, escape: Callable[[str], str], keys: Sequence[str]
          ) -> list[list[str]]:
    return [[escape(a.display_name) if k == "display_name" else shown(r, k, getattr(a, k))
             for k in keys] for a in r.accounts]


def _md_table(header: Iterable[str], rows: Iterable[Sequence[str]]) -> list[str]:
    header = list(header)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def render_matrix_markdown(r: MatrixReport) -> str:
    L = lambda k: label(r.lang, k)  # noqa: E731
    lines = [f"# {md_escape(r.title)}", ""]
    if r.department:
        lines[0:0] = [f"**{md_escape(r.department)}**", ""]
    lines += [f"{L('period')}: {md_escape(r.period.label)} · {L('previous')}: "
              f"{md_escape(r.previous_period.label)}", ""]
    if r.simulated:
        lines += [f"> {L('simulated_note')} ({md_escape(listing(r.simulated_accounts))})", ""]
    lines += [f"## {L('ranking')}", ""]
    lines += _md_table([L(k) for k in SHOWN_KEYS], ranking_rows(r, md_escape, SHOWN_KEYS))
    lines += [f"## {L('totals')}", ""]
    lines += _md_table([L("figure"), L("value")],
                       [[L(k), shown(r, k, getattr(r.totals, k))] for k in TOTAL_KEYS])
    lines += [f"## {L('laggards')}", ""]
    lines += [f"- {g.rank}. {md_escape(g.display_name)} ({md_escape(g.name)}): "
              + "; ".join(md_escape(x) for x in g.reasons) for g in r.laggards] \
        or [f"- {L('none')}"]
    lines += ["", f"## {L('notes')}", ""]
    lines += [f"- {md_escape(n)}" for n in r.notes] or [f"- {L('none')}"]
    return "\n".join([*lines, ""])
