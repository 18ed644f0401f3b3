"""The report as a spreadsheet: one sheet per table, headers in the report's language,
numbers as numbers. Text is always stored as text: a post or comment that starts with ``=``
never becomes a formula."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from outreach.reports.formats.common import LABELS
from outreach.reports.formats.tables import report_tables
from outreach.reports.model import Report

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
_PERCENT = frozenset({"share", "reply_rate", "handled_rate", "repost_rate", "comment_rate", "like_rate"})


def column_label(lang: str, key: str) -> str:
    zh_en = COLUMNS.get(key) or LABELS.get(key)
    if zh_en is None:
        return key
    return zh_en[0] if lang == "zh" else zh_en[1]


def _xlsx_value(value: object) -> object:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_xlsx(report: Report, path: Path) -> None:
    """One sheet per table, headers in the report's language, numbers as numbers. Text is
    always stored as text: a post or comment that starts with ``=`` never becomes a formula."""
    book = Workbook()
    book.remove(book.active)
    sheets = {t.key: t.sheet for sec in report.sections for t in sec.tables}
    bold = Font(bold=True)
    for key, (columns, rows) in report_tables(report).items():
        ws = book.create_sheet(sheets[key])
        ws.append([column_label(report.lang, c) for c in columns])
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
            width = max([len(column_label(report.lang, col_key)) * 2, 8]
                        + [min(len(str(row[c - 1] or "")), 60) for row in rows[:200]])
            ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(width + 2, 62)
    book.save(path)
