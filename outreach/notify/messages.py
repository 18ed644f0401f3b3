"""The words of a notification: its title and body in zh or en, from the outbox row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outreach.config.settings import Settings
from outreach.states import NotifyEvent
from outreach.store.models import Notification

_TITLES = {
    "zh": {"emergency": "【紧急】{account} 有紧急求助评论",
           "post_failed": "发布失败：{account} 帖子 {post_id}",
           "needs_reauth": "{account} 需要重新授权", "token_expiring": "{account} 的令牌即将过期",
           "daemon_stale": "outreach 守护进程已停止", "daily_digest": "outreach 日报 {day}",
           "test": "outreach 测试通知"},
    "en": {"emergency": "EMERGENCY comment on {account}", "post_failed":
           "Post {post_id} on {account} failed", "needs_reauth": "{account} needs re-authorisation",
           "token_expiring": "The token of {account} expires soon",
           "daemon_stale": "The outreach daemon has stopped", "daily_digest":
           "outreach daily digest {day}", "test": "outreach test notification"},
}


def _when(value: str | None, settings: Settings) -> str:
    if not value:
        return "-"
    at = datetime.fromisoformat(value).astimezone(settings.timezone)
    return at.strftime("%Y-%m-%d %H:%M ") + settings.timezone.key


def message(row: Notification, settings: Settings, lang: str) -> tuple[str, str]:
    """Title and body of a notification in ``lang`` (zh or en)."""
    p: dict[str, Any] = dict(row.payload or {})
    zh = lang == "zh"
    title = _TITLES[lang][row.event].format_map(_Blank(p))
    lines: list[str] = []
    if row.event == NotifyEvent.EMERGENCY:
        if row.level:
            minutes = row.level * settings.notify.escalate_after_minutes
            lines.append(f"升级：{minutes} 分钟内无人确认。" if zh else
                         f"Escalated: nobody acknowledged it within {minutes} minutes.")
        lines += [p.get("text") or "", p.get("url") or "",
                  (f"评论 {p.get('comment_id')}，时间 {_when(p.get('created_at'), settings)}。"
                   f"确认：outreach opinions ack {p.get('comment_id')}") if zh else
                  (f"Comment {p.get('comment_id')} at {_when(p.get('created_at'), settings)}. "
                   f"Acknowledge: outreach opinions ack {p.get('comment_id')}")]
    elif row.event == NotifyEvent.POST_FAILED:
        lines += [p.get("error") or "", p.get("text") or "",
                  f"查看：outreach queue show {p.get('post_id')}" if zh else
                  f"See: outreach queue show {p.get('post_id')}"]
    elif row.event == NotifyEvent.NEEDS_REAUTH:
        lines += [p.get("reason") or "", "该账号的帖子暂停发布，更新令牌后运行 outreach accounts check。"
                  if zh else "Its posts wait; renew the token, then run: outreach accounts check"]
    elif row.event == NotifyEvent.TOKEN_EXPIRING:
        when = _when(p.get("expires_at"), settings)
        lines.append(f"过期时间：{when}。请尽快重新授权（outreach auth）。" if zh else
                     f"Expires {when}. Authorise again before then (outreach auth).")
    elif row.event == NotifyEvent.DAEMON_STALE:
        when = _when(p.get("last_heartbeat"), settings)
        lines.append(f"最后心跳：{when}（超过 {p.get('stale_minutes')} 分钟）。"
                     "请检查服务器上的 outreach run。"
                     if zh else f"Last heartbeat: {when} (over {p.get('stale_minutes')} minutes "
                                "ago). Check `outreach run` on the server.")
    elif row.event == NotifyEvent.DAILY_DIGEST:
        lines += _digest_lines(p, settings, zh)
    elif row.event == "test":
        lines.append("这是一条测试通知。" if zh else "This is a test notification.")
    if row.id is not None:  # a repeat (see the crash window above) is recognisable by it
        lines.append(f"（通知 #{row.id}）" if zh else f"(notification #{row.id})")
    return title, "\n".join(line for line in lines if line)


def _digest_lines(p: dict[str, Any], settings: Settings, zh: bool) -> list[str]:
    classes = p.get("comments_by_class") or {}
    by_class = "、".join(f"{k} {v}" for k, v in classes.items()) if zh else \
        ", ".join(f"{k} {v}" for k, v in classes.items())
    oldest = p.get("oldest_emergency")
    per = p.get("posts_by_account") or {}
    accounts = ("、" if zh else ", ").join(f"{k} {v}" for k, v in sorted(per.items()))
    if zh:
        lines = [f"发布 {p.get('posts', 0)} 条，失败 {p.get('failed', 0)} 条；转发 {p.get('reposts', 0)}，"
                 f"评论 {p.get('comments', 0)}，点赞 {p.get('likes', 0)}。",
                 f"各账号：{accounts}。" if len(per) > 1 else "",
                 f"评论分类：{by_class or '无'}。", f"待回复：{p.get('backlog', 0)} 条。"]
        lines.append(f"最早未回复的紧急评论：{oldest['comment_id']}（{oldest['account']}，"
                     f"{_when(oldest['created_at'], settings)}）" if oldest else "没有未回复的紧急评论。")
    else:
        lines = [f"Published {p.get('posts', 0)}, failed {p.get('failed', 0)}; reposts "
                 f"{p.get('reposts', 0)}, comments {p.get('comments', 0)}, likes {p.get('likes', 0)}.",
                 f"By account: {accounts}." if len(per) > 1 else "",
                 f"Comments by class: {by_class or 'none'}.",
                 f"Awaiting a reply: {p.get('backlog', 0)}."]
        lines.append(f"Oldest unanswered emergency: comment {oldest['comment_id']} "
                     f"({oldest['account']}, {_when(oldest['created_at'], settings)})" if oldest
                     else "No unanswered emergency.")
    return lines


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
