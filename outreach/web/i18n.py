"""The console's words: English is the key, Chinese its translation (the console speaks
zh unless the user's setting or ``?lang=en`` says otherwise). Statuses, JSON keys and
the public's text are never translated."""

from __future__ import annotations

from typing import Any

from outreach.actions.users import SignedIn
from outreach.web.session import Session

LANGS = ("zh", "en")

ZH: dict[str, str] = {
    # navigation and frame
    "Officers' console": "民警工作台",
    "Dashboard": "总览", "Calendar": "日历", "Compose": "撰写", "Approvals": "审批",
    "Queue": "队列", "Library": "知识库", "Inbox": "民意", "Reports": "报表", "Audit": "审计",
    "Users": "用户", "Log out": "退出登录", "Signed in as {name} ({role})": "已登录：{name}（{role}）",
    "officer": "民警", "approver": "审批人", "admin": "管理员",
    # sign in
    "Sign in": "登录", "Username": "用户名", "Password": "密码", "Log in": "登录",
    "Wrong user name or password.": "用户名或密码错误。",
    "Too many failed sign-ins. Try again after {until}.": "登录失败次数过多，请于 {until} 后再试。",
    "Your session has ended; sign in again.": "会话已结束，请重新登录。",
    "Your role may not do this.": "您的角色无权执行此操作。",
    # dashboard
    "Daemon": "守护进程", "running": "运行中", "not running": "未运行",
    "last heartbeat {age} s ago on {host}": "最近心跳 {age} 秒前（{host}）",
    "no heartbeat yet": "尚无心跳", "Problems": "问题", "Warnings": "提醒",
    "Accounts": "账号", "State": "状态", "Platform": "平台", "Followers": "粉丝",
    "Next post": "下一条", "Token expires": "令牌到期", "Open emergencies": "未处理紧急",
    "paused by {who} at {when}: {why}": "{who} 于 {when} 暂停：{why}",
    "Queue health": "队列状况", "drafts": "草稿", "queued": "待发", "due": "到期",
    "overdue": "逾期", "failed today": "今日失败", "published": "已发布", "missed": "错过",
    "Reason": "原因", "Pause": "暂停", "Resume": "恢复", "All accounts": "全部账号",
    "Paused {what}.": "已暂停：{what}。", "Resumed {what}.": "已恢复：{what}。",
    "No open pause for {what}.": "{what} 没有进行中的暂停。",
    "Emergencies waiting": "待处理的紧急留言",
    "active": "正常", "paused": "已暂停", "needs_reauth": "需重新授权",
    "unconfigured": "未配置",
    # compose
    "Account": "账号", "Tip": "知识条目", "Text": "正文", "When": "时间",
    "Pictures": "图片", "Image": "图片文件", "Alt text": "替代文字",
    "JPEG, PNG, GIF or WebP, with a text": "JPEG、PNG、GIF 或 WebP，随正文发布",
    "describe each picture in its alt text for people who cannot see it":
        "请用替代文字为看不见图片的人描述每张图片",
    "(an ad-hoc text)": "（自拟正文）", "Submit": "提交",
    "now, +2h, tomorrow 08:00, or 2027-03-01T08:00 (account's zone)":
        "now、+2h、tomorrow 08:00 或 2027-03-01T08:00（账号时区）",
    "Preview": "预览", "Length": "长度", "{n} of {max}": "{n} / {max}",
    "Post {id} saved as {status}.": "第 {id} 条已保存，状态：{status}。",
    "Write a text or choose a tip.": "请撰写正文或选择知识条目。",
    # approvals and queue
    "Drafts waiting": "待审批草稿", "Approve": "批准", "Reject": "驳回",
    "written by {who}": "作者：{who}", "your draft: another officer approves it":
        "您的草稿：需由其他人批准",
    "Post {id} approved; queued.": "第 {id} 条已批准，进入队列。",
    "Post {id} rejected.": "第 {id} 条已驳回。", "Nothing waits for approval.": "没有待审批的草稿。",
    "Status": "状态", "all": "全部", "Filter": "筛选", "Scheduled": "计划时间",
    "Post": "帖子", "Cancel": "取消", "Retract": "撤回", "Save": "保存", "Edit": "编辑",
    "Reschedule": "改期", "Next page": "下一页", "Previous page": "上一页",
    "Post {id} cancelled.": "第 {id} 条已取消。", "Post {id} retracted.": "第 {id} 条已撤回。",
    "Post {id} saved.": "第 {id} 条已保存。", "Audit trail": "操作记录",
    "Reposts": "转发", "Comments": "评论", "Likes": "点赞", "Open on the platform": "在平台上查看",
    # inbox
    "Reply": "回复", "Send reply": "发送回复", "Mark replied": "标记已回复",
    "Under post {id}": "所在帖子 {id}", "Reply sent to comment {id} (post {post}, {status}).":
        "已回复留言 {id}（帖子 {post}，{status}）。",
    "Comment {id} marked replied.": "留言 {id} 已标记为已回复。",
    "No comments.": "暂无留言。", "Class": "类别", "unanswered only": "仅未回复",
    "emergency": "紧急", "help": "求助", "tip": "线索", "complaint": "投诉",
    "inquiry": "咨询", "suggestion": "建议", "privacy": "隐私", "spam_abuse": "垃圾/辱骂",
    "negative": "负面", "praise": "表扬", "chatter": "闲聊",
    # calendar, library, reports, audit, users
    "Week": "周", "Month": "月", "Previous": "上一段", "Next": "下一段",
    "slot": "时段", "held": "暂缓", "planned": "计划",
    "Approved": "已批准", "Not approved": "未批准", "Stale tips": "过期条目",
    "Campaigns by month": "各月宣传活动", "Category": "类别", "Title": "标题", "Source": "来源",
    "Tip {id} approved.": "条目 {id} 已批准。", "Review by": "复核日期",
    "From": "起", "To": "止", "Show report": "查看报表", "Download": "下载",
    "Actor": "操作人", "Action": "操作", "At": "时间", "Target": "对象",
    "Add user": "添加用户", "Role": "角色", "Display name": "显示名", "Language": "语言",
    "Disable": "停用", "disabled": "已停用", "Last sign-in": "最近登录",
    "User {name} added.": "已添加用户 {name}。", "User {name} disabled.": "已停用用户 {name}。",
    "draft": "草稿", "publishing": "发布中", "unconfirmed": "待确认", "failed": "失败",
    "cancelled": "已取消", "retracted": "已撤回", "new": "新留言", "acknowledged": "已确认",
    "replied": "已回复", "handed_over": "已移交", "closed": "已关闭",
    "Mon": "周一", "Tue": "周二", "Wed": "周三", "Thu": "周四", "Fri": "周五", "Sat": "周六",
    "Sun": "周日",
    "Back": "返回", "Error": "错误", "simulated": "模拟",
    # the account matrix: fan-out to a group, batches
    "Groups: one post per account, as one batch": "分组：每个账号一条，同属一个批次",
    "{n} accounts": "{n} 个账号", "Stagger": "间隔",
    "For a group: the time between two accounts' posts, in the group's order (30s, 10m, 1h; "
    "empty: all at once)": "分组发布时相邻两个账号之间的间隔，按分组顺序（30s、10m、1h；留空：同时发布）",
    "Batch {id}: {n} posts saved as {status}.": "批次 {id}：{n} 条已保存为{status}。",
    "… and {n} more warnings.": "……另有 {n} 条提醒。",
    "Preview for {name}, the first of {n} accounts; every account's text is checked when "
    "you submit.": "此为 {n} 个账号中第一个（{name}）的预览；提交时逐一检查每个账号的正文。",
    "Batch {id}: {n} posts to {accounts}, by {who}": "批次 {id}：{accounts} 共 {n} 条，由 {who} 创建",
    "all posts": "全部博文", "Batch": "批次", "Batches": "批次", "Batch {id}": "批次 {id}",
    "{n} drafts": "{n} 条草稿", "your batch: another officer approves it": "您创建的批次：须由其他民警审批",
    "Approve the batch": "批准整个批次",
    "Batch {id}: {n} posts approved; queued.": "批次 {id}：已批准 {n} 条，进入待发队列。",
}


def translate(text: str, lang: str, **values: Any) -> str:
    """``text`` in ``lang`` (itself when there is no translation), with ``values`` filled in."""
    words = ZH.get(text, text) if lang == "zh" else text
    return words.format(**values) if values else words


def pick_lang(asked: str | None, session: Session, user: SignedIn | None) -> str:
    """``?lang=`` (remembered for the session), else the session's, else the user's
    setting, else zh."""
    if asked in LANGS:
        session.lang = asked
        return asked
    if session.lang in LANGS:
        return session.lang
    if user is not None and user.lang in LANGS:
        return user.lang
    return "zh"
