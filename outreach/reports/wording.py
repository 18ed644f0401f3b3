"""The report's words: section and table titles, the comment figures' definitions, the
headline ("本月共发博文N篇，被转发M条次，网民评论K条，粉丝增至F人") and notes in zh or en."""

from __future__ import annotations

from outreach.errors import InputError
from outreach.i18n import _
from outreach.reports.model import Headline, Lang, Section, Totals
from outreach.reports.periods import Period, period_label

LANGS = ("zh", "en")
UNCATEGORISED = ("未分类", "Uncategorised")

# The report's sections, in the order every format shows them, each with its tables (in the
# same order): a table is the CSV file KEY.csv and an xlsx sheet named by its title.
SECTIONS: tuple[tuple[str, tuple[str, str], tuple[tuple[str, tuple[str, str]], ...]], ...] = (
    ("overview", ("一、总体", "1. Overview"),
     (("summary", ("报告概要", "Summary")), ("accounts", ("各账号数据", "Accounts")))),
    ("interaction", ("二、传播与互动", "2. Reach and interaction"),
     (("previous", ("上期各账号数据", "Previous period")),
      ("followers", ("粉丝趋势", "Follower trend")))),
    ("opinions", ("三、回应情况与民意分类", "3. Replies and public opinion"),
     (("opinions", ("民意分类", "Opinion classes")), ("emergencies", ("紧急警情", "Emergencies")),
      ("concerns", ("民意分析：高频关注点", "Public concerns")),
      ("places", ("民意分析：地点提及", "Places mentioned")))),
    ("content", ("四、内容分析", "4. Content"),
     (("categories", ("各宣传类别", "By category")), ("top_posts", ("互动最高博文", "Top posts")),
      ("hours", ("发布时段", "Posting times")))),
    ("compliance", ("五、合规检查", "5. Compliance"), (("compliance", ("合规检查", "Compliance")),)),
    ("notes", ("六、备注", "6. Notes"), (("notes", ("备注", "Notes")),)),
)

# The comment figures a report gives, each with one definition: key → (label, definition),
# (zh, en) each. ``received`` is the headline's 网民评论K条.
COMMENT_FIGURES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "received": (
        ("网民评论（本期收到，平台计数）", "Comments received in the period (platform count)"),
        ("本期内各博文评论数的增加，含往期博文在本期收到的评论；按平台计数，可能含本账号的回复及"
         "已删除、未能读取的评论；即标题中的“网民评论”",
         "the rise of every post's comment count over the period, earlier posts included; the "
         "platform's count, which may include the account's own replies and comments deleted or "
         "not read; the headline's figure")),
    "on_period_posts": (
        ("本期博文累计评论（平台计数）", "Comments on the period's posts (platform count)"),
        ("本期发布的博文截至报告生成时的评论总数",
         "the comment counts of the posts published in the period, as of the report")),
    "collected": (
        ("已读取并分类的评论", "Comments read and classified"),
        ("网民在本期内发表、已读取并分类的评论条数（不含本账号的回复）；第三部分按此统计",
         "comments the public made in the period that were read and classified (not the "
         "account's own replies); section 3 counts these")),
}

ZH_FIELD = {"reposts": "转发", "comments": "评论", "likes": "点赞"}


def language(lang: str) -> Lang:
    """``lang`` checked: a language the report is written in."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise InputError("--lang: " + _("must be one of {known}, got {value!r}").format(
        known=", ".join(LANGS), value=lang))


def t(lang: str, zh: str, en: str) -> str:
    """The text in the report's language."""
    return zh if lang == "zh" else en


def sections(lang: str) -> list[Section]:
    """The sections and their tables, named in the report's language (an xlsx sheet name is
    at most 31 characters)."""
    return [Section.model_validate(
        {"key": key, "title": t(lang, *names),
         "tables": [{"key": k, "title": t(lang, *tnames), "sheet": t(lang, *tnames)[:31]}
                    for k, tnames in tables]})
        for key, names, tables in SECTIONS]


def headline(p: Period, totals: Totals, simulated: bool, lifetime: bool) -> Headline:
    """The monthly report's first sentence, in both languages."""
    n, m, k = totals.posts, totals.reposts or 0, totals.comments or 0
    f, d = totals.followers_end, totals.follower_change
    zh_when = {"month": "本月", "week": "本周", "day": "当日"}.get(p.kind, period_label(p, "zh"))
    zh_prev = {"month": "较上月", "week": "较上周", "day": "较前日"}.get(p.kind, "较期初")
    en_when = {"month": "This month", "week": "This week", "day": "This day"}.get(
        p.kind, period_label(p, "en"))
    zh = f"{zh_when}共发博文{n}篇，被转发{m}条次，网民评论{k}条，"
    en = f"{en_when}: {n} posts, reposted {m} times, {k} comments from the public, "
    if f is None:
        zh += "粉丝数暂无记录"
        en += "followers not yet recorded"
    else:
        zh += f"粉丝{'减' if (d or 0) < 0 else '增'}至{f}人"
        en += f"followers {'down' if (d or 0) < 0 else 'up'} to {f}"
        if d is not None:
            zh += f"（{zh_prev}{d:+d}）"
            en += f" ({d:+d})"
    if lifetime:
        zh += "（互动为博文累计数）"
        en += " (engagement: the posts' lifetime totals)"
    if simulated:
        zh += "（模拟数据）"
        en += " (simulated audience)"
    return Headline(zh=zh, en=en + ".")
