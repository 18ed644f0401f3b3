"""What every format of the report shares: labels in the report's language, how a figure
is written, and the rows of the tables that the text formats (terminal, Markdown, HTML) show.

Formats only read the ``Report``; every figure they show is one it holds. Text that came from
the public or from officers (post and comment texts, names) is made harmless by each format
for its medium: a row builder here takes the format's escape function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.reports.model import (
    Account,
    BestTime,
    ClassTally,
    Part,
    Report,
    Totals,
)
from outreach.text import listing, shorten, sparkline

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
    "handled": ("已处置（回复/转交/关闭）", "Handled (replied, handed over, closed)"),
    "concerns": ("民意分析：高频关注点（按条计，与上期比较）",
                 "Public concerns (comments using each word, against the previous period)"),
    "places": ("民意分析：地点提及", "Places mentioned"),
    "examples": ("评论示例（已脱敏）", "Example comments (redacted)"),
    "word": ("关键词", "Word"),
    "place": ("地点", "Place"),
    "last_period": ("上期", "Previous period"),
    "all_classes": ("全部", "All"),
    "handled_rate": ("处置率", "Handled rate"),
    "handled_in_time": ("按时处置", "Handled in time"),
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
    "picture": ("配图", "Picture"),
    "pictures": ("配图数", "Pictures"),
    "picture_alt": ("配图说明", "Picture alt text"),
    "posts_with_pictures": ("带图博文", "Posts with pictures"),
    "per_post_with_pictures": ("带图篇均互动", "Per post, with pictures"),
    "per_post_without_pictures": ("无图篇均互动", "Per post, without pictures"),
}
WEEKDAYS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
FIGURE_KEYS = ("posts", "reposts", "comments", "likes", "followers_start", "followers_end",
               "follower_change", "bci")
RATE_KEYS = ("posts_per_day", "avg_reposts", "avg_comments", "avg_likes", "repost_rate",
             "comment_rate", "like_rate")
TOTAL_NAME = "(total)"  # parentheses are not allowed in account names
CLASS_KEYS = ("count", "share", "needs_reply", "replied", "reply_rate", "median_reply_hours",
              "overdue_unanswered", "late_replies", "handled", "handled_rate", "handled_in_time")
CONCERN_KEYS = ("class", "word", "count", "last_period", "change")
PLACE_KEYS = ("place", "count", "last_period", "change")
EXAMPLE_KEYS = ("word", "class", "text")
CATEGORY_KEYS = ("posts", "reposts", "comments", "likes", "avg_reposts", "avg_comments")
PICTURE_KEYS = ("posts_with_pictures", "per_post_with_pictures", "per_post_without_pictures")
COMPLIANCE_KEYS = ("longest_gap_days", "failed", "missed", "retracted", "drafts_waiting")
TOP_POST_KEYS = ("account", "published", "category", "reposts", "comments", "likes", "text")
COMPARED = ("posts", "reposts", "comments", "likes", "followers_end", "follower_change", "bci")

Escape = Callable[[str], str]
Row = list[str]


def value(item: Part, key: str) -> object:
    """A field of a report record by its JSON key."""
    return getattr(item, "class_" if key == "class" else key)




def num(value: object, na: str = "n/a") -> str:
    if value is None:
        return na
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def pct(value: float | None, na: str = "n/a") -> str:
    return na if value is None else f"{value * 100:.2f}%"


def signed(value: int | None, na: str = "n/a") -> str:
    return na if value is None else f"{value:+d}"


def local(iso: str | None, zone: str) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


class View:
    """A report as the text formats read it: labels, written figures and table rows."""

    def __init__(self, report: Report) -> None:
        self.r = report
        self.tz = report.period.timezone
        self.na = self.label("na")
        self._prev = {a.name: a for a in report.previous.accounts}
        self._names = {a.name: a.display_name for a in report.accounts}
        self._names.update({a.name: a.display_name for a in report.unconfigured_accounts})

    def label(self, key: str) -> str:
        zh, en = LABELS[key]
        return zh if self.r.lang == "zh" else en

    def section(self, key: str) -> str:
        """A section's title as the report names it (the same in every format)."""
        return next(s.title for s in self.r.sections if s.key == key)

    def table_title(self, key: str) -> str:
        return next(t.title for s in self.r.sections for t in s.tables if t.key == key)

    def who(self, name: str) -> str:
        """Account name → the name people read (display_name)."""
        return self._names.get(name, name)

    def before(self, name: str, key: str) -> object:
        """An account's figure in the previous period (None when it had none)."""
        p = self._prev.get(name)
        return value(p, key) if p is not None else None

    def local(self, iso: str | None) -> str:
        return local(iso, self.tz)

    def period_text(self) -> str:
        """As the monthly report writes it: ``2027-03-01 00:00 — 2027-03-31 24:00 (Asia/Shanghai)``."""
        p = self.r.period
        return f"{p.first_day} 00:00 — {p.last_day} 24:00 ({p.timezone})"

    def cell(self, key: str, value: object) -> str:
        if key.endswith("_rate") or key == "share":
            return pct(value, self.na)  # type: ignore[arg-type]
        if key == "follower_change":
            return signed(value, self.na)  # type: ignore[arg-type]
        return num(value, self.na)

    def cells(self, item: Part, keys: Sequence[str]) -> Row:
        return [self.cell(k, value(item, k)) for k in keys]

    def spark(self, name: str) -> str:
        return sparkline(pt.accounts.get(name) for pt in self.r.followers)

    def unconfigured_text(self) -> str:
        return "; ".join(f"{a.display_name} ({a.name}, {a.platform})"
                         for a in self.r.unconfigured_accounts)

    def simulated_names(self) -> str:
        return listing([self.who(n) for n in self.r.simulated_accounts])

    def best_text(self, best: Sequence[BestTime]) -> str:
        days = WEEKDAYS[self.r.lang]
        if not best:
            return self.label("none")
        return "; ".join(f"{days[b.weekday]} {b.hour:02d}:00 ×{b.posts} ({b.per_post:.2f})"
                         for b in best)

    def hour_grid(self) -> dict[int, dict[int, float]]:
        """Weekday → hour → engagement per post, over every account (each in its own zone)."""
        eng: dict[tuple[int, int], list[int]] = {}
        for c in self.r.hours:
            cell = eng.setdefault((c.weekday, c.hour), [0, 0])
            cell[0] += c.engagement
            cell[1] += c.posts
        grid: dict[int, dict[int, float]] = {}
        for (d, h), (total, posts) in eng.items():
            grid.setdefault(d, {})[h] = total / posts
        return grid

    # --- the rows of the text formats' tables (text from people passed through ``esc``)

    def overview_header(self) -> Row:
        L = self.label
        return [L("account"), L("platform"), *[L(k) for k in FIGURE_KEYS],
                f"{L('prev_period')} {L('posts')}", f"{L('prev_period')} BCI"]

    def overview_rows(self, esc: Escape) -> list[Row]:
        """One row per account; the total's row is ``overview_total``."""
        rows = []
        for a in self.r.accounts:
            rows.append([esc(a.display_name), a.platform, *self.cells(a, FIGURE_KEYS),
                         num(self.before(a.name, "posts")), num(self.before(a.name, "bci"))])
        return rows

    def overview_total(self, total_label: str) -> Row:
        tot, ptot = self.r.totals, self.r.previous.totals
        return [total_label, tot.platform, *self.cells(tot, FIGURE_KEYS), num(ptot.posts),
                num(ptot.bci)]

    def rate_rows(self, esc: Escape) -> list[Row]:
        items: list[tuple[str, Account | Totals]] = [
            *[(esc(a.display_name), a) for a in self.r.accounts],
            (esc(self.label("total")), self.r.totals)]
        return [[name, *self.cells(item, RATE_KEYS)] for name, item in items]

    def comparison_rows(self) -> list[Row]:
        """(figure, this period, previous, change) for the totals."""
        now, prev = self.r.totals, self.r.previous.totals
        rows = []
        for key in COMPARED:
            a, b = value(now, key), value(prev, key)
            if not isinstance(a, int | float) or not isinstance(b, int | float):
                change = self.na
            elif isinstance(a, float) or isinstance(b, float):
                change = f"{a - b:+.2f}"
            else:
                change = f"{a - b:+d}"
            rows.append([self.label(key), self.cell(key, a), self.cell(key, b), change])
        return rows

    def follower_header(self) -> Row:
        return [self.label(k) for k in ("account", "followers_start", "followers_end", "followers")]

    def follower_rows(self, esc: Escape) -> list[Row]:
        return [[esc(a.display_name), num(a.followers_start, self.na),
                 num(a.followers_end, self.na), self.spark(a.name)] for a in self.r.accounts]

    def opinion_figures(self) -> list[tuple[str, str]]:
        """(label, figure) of the opinions section's summary."""
        o = self.r.opinions
        return [(self.label(k), v) for k, v in (
            ("total_opinions", str(o.total)), ("emergencies", str(o.emergencies)),
            ("needs_reply", str(o.needs_reply)), ("replied", str(o.replied)),
            ("reply_rate", pct(o.reply_rate)), ("median_reply_hours", num(o.median_reply_hours)),
            ("overdue_unanswered", str(o.overdue_unanswered)),
            ("late_replies", str(o.late_replies)), ("handled", str(o.handled)),
            ("handled_rate", pct(o.handled_rate)), ("handled_in_time", str(o.handled_in_time)))]

    def class_rows(self, esc: Escape, keys: Sequence[str]) -> list[Row]:
        classes: list[ClassTally] = self.r.opinions.by_class
        return [[esc(c.name), *self.cells(c, keys)] for c in classes]

    def concern_rows(self, esc: Escape) -> list[Row]:
        """(class, word, count, previous, change): the overall top words, then each class's."""
        a = self.r.opinions.analysis
        rows = [[self.label("all_classes"), esc(k.word), str(k.count), str(k.previous),
                 signed(k.change)] for k in a.keywords]
        rows += [[esc(c.name), esc(k.word), str(k.count), str(k.previous), signed(k.change)]
                 for c in a.by_class for k in c.concerns]
        return rows

    def place_rows(self, esc: Escape) -> list[Row]:
        return [[esc(p.place), str(p.count), str(p.previous), signed(p.change)]
                for p in self.r.opinions.analysis.places]

    def example_rows(self, esc: Escape, width: int) -> list[Row]:
        return [[esc(e.word), esc(e.class_), esc(shorten(e.text, width))]
                for e in self.r.opinions.analysis.examples]

    @property
    def category_keys(self) -> tuple[str, ...]:
        """The category table's columns: split by pictures once any post carried one."""
        pictured = any(c.posts_with_pictures for c in self.r.categories)
        return (*CATEGORY_KEYS, *PICTURE_KEYS) if pictured else CATEGORY_KEYS

    def category_rows(self, esc: Escape, keys: Sequence[str] = CATEGORY_KEYS) -> list[Row]:
        return [[esc(c.name), *[num(value(c, k)) for k in keys]]
                for c in self.r.categories]

    def top_post_rows(self, esc: Escape, width: int) -> list[Row]:
        return [[esc(self.who(p.account)), self.local(p.published_at), esc(p.category_name),
                 num(p.reposts), num(p.comments), num(p.likes), esc(shorten(p.text, width))]
                for p in self.r.top_posts]

    def best_rows(self, esc: Escape) -> list[Row]:
        return [[esc(a.display_name), self.best_text(a.best_times)] for a in self.r.accounts]
