"""`outreach status`, `accounts list` and `accounts check`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from outreach import notify
from outreach.errors import AuthError, ClientError, ConfigError
from outreach.models import Account, Comment, DaemonHeartbeat, Post
from outreach.planner import pause_intervals, paused_at, slot_times
from outreach.publisher import audit
from outreach.queue import sync_accounts

HEARTBEAT_STALE = timedelta(seconds=90)
OVERDUE = timedelta(minutes=10)
TOKEN_WARNING = timedelta(days=3)


def account_state(rt: Any, session: Any, name: str, row: Account | None,
                  now: datetime) -> tuple[str, str | None]:
    account = rt.settings.account(name)
    try:
        configured = rt.configured(account)
    except ConfigError as exc:
        return "unconfigured", exc.message
    if not configured:
        return "unconfigured", "no token"
    if row is not None and row.state == "needs_reauth":
        return "needs_reauth", row.last_error
    if paused_at(pause_intervals(session, name), now):
        return "paused", None
    return "active", None


def account_rows(rt: Any) -> list[dict[str, Any]]:
    sync_accounts(rt)
    now = rt.clock()
    out = []
    with rt.db.reader() as s:
        rows = {a.name: a for a in s.execute(select(Account)).scalars()}
        emergencies = dict(s.execute(select(col(Comment.account), func.count()).where(
            col(Comment.opinion_class) == "emergency", col(Comment.replied_at).is_(None),
            col(Comment.needs_reply).is_(True)).group_by(col(Comment.account))).all())
        for name, acc in rt.settings.accounts.items():
            row = rows.get(name)
            state, why = account_state(rt, s, name, row, now)
            next_post = s.execute(select(func.min(col(Post.scheduled_at))).where(
                col(Post.account) == name, col(Post.status) == "queued",
                col(Post.scheduled_at) >= now)).scalar()
            next_slot = next(iter(slot_times(acc, rt.settings.policy, now,
                                             now + timedelta(days=8))), None)
            candidates = [t for t in (next_post, next_slot.at if next_slot else None) if t]
            expires = row.token_expires_at if row else None
            out.append({
                "name": name, "platform": acc.platform, "state": state,
                "state_reason": why, "timezone": acc.timezone.key, "lang": acc.lang,
                "followers": row.followers if row else None,
                "last_success_at": row.last_success_at if row else None,
                "last_error": row.last_error if row else None,
                "next_slot_at": min(candidates) if candidates else None,
                "token_expires_at": expires,
                "token_expiring": bool(expires and expires - now < TOKEN_WARNING),
                "open_emergencies": int(emergencies.get(name, 0)),
                "simulated": bool(getattr(_client_class(acc.platform), "simulated", False)),
            })
    return out


def _client_class(platform: str) -> type[Any]:
    from outreach.clients import client_class

    return client_class(platform)


def health(rt: Any) -> dict[str, Any]:
    now = rt.clock()
    accounts = account_rows(rt)
    problems: list[str] = []
    warnings: list[str] = []
    with rt.db.reader() as s:
        beats = s.execute(select(DaemonHeartbeat).where(col(DaemonHeartbeat.stopped_at).is_(None))
                          .order_by(col(DaemonHeartbeat.heartbeat_at).desc())).scalars().all()
        live = [b for b in beats if now - b.heartbeat_at < HEARTBEAT_STALE]
        day_start = now - timedelta(days=1)
        counts = dict(s.execute(select(col(Post.status), func.count()).group_by(col(Post.status))).all())
        overdue = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == "queued", col(Post.not_before) < now - OVERDUE)).scalar() or 0
        stuck = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status).in_(("unconfirmed", "publishing")),
            col(Post.updated_at) < now - OVERDUE)).scalar() or 0
        failed_today = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == "failed", col(Post.updated_at) >= day_start)).scalar() or 0
        due = s.execute(select(func.count()).select_from(Post).where(
            col(Post.status) == "queued", col(Post.not_before) <= now)).scalar() or 0
    daemon = None
    if beats:
        b = beats[0]
        daemon = {"id": b.id, "host": b.host, "pid": b.pid, "started_at": b.started_at,
                  "heartbeat_at": b.heartbeat_at,
                  "age_seconds": round((now - b.heartbeat_at).total_seconds(), 1),
                  "running": bool(live), "last_tick_error": b.last_tick_error}
    if not live:
        problems.append("no daemon heartbeat in the last 90 s (is `outreach run` running?)")
    if overdue:
        problems.append(f"{overdue} queued post(s) overdue by more than 10 minutes")
    if stuck:
        problems.append(f"{stuck} post(s) stuck publishing or unconfirmed for over 10 minutes")
    for a in accounts:
        if a["state"] == "needs_reauth":
            problems.append(f"account {a['name']} needs re-authorisation")
        if a["token_expiring"]:
            problems.append(f"account {a['name']}: token expires {a['token_expires_at']}")
        if a["open_emergencies"]:
            problems.append(f"account {a['name']}: {a['open_emergencies']} emergency comment(s) "
                            "unanswered")
        if a["state"] == "unconfigured":
            warnings.append(f"account {a['name']} is unconfigured ({a['state_reason']})")
        if a["state"] == "paused":
            warnings.append(f"account {a['name']} is paused")
    if failed_today:
        warnings.append(f"{failed_today} post(s) failed in the last 24 h")
    warnings.extend(notify.health_warnings(rt, now))
    return {
        "healthy": not problems, "problems": problems, "warnings": warnings, "daemon": daemon,
        "accounts": accounts, "checked_at": now,
        "queue": {"drafts": counts.get("draft", 0), "queued": counts.get("queued", 0),
                  "due": due, "overdue": overdue, "publishing": counts.get("publishing", 0),
                  "unconfirmed": counts.get("unconfirmed", 0), "failed_today": failed_today,
                  "published": counts.get("published", 0), "missed": counts.get("missed", 0)},
    }


def check_accounts(rt: Any, only: str | None = None) -> list[dict[str, Any]]:
    """verify() every account and record what it learns."""
    accounts = [rt.settings.account(only)] if only else list(rt.settings.accounts.values())
    sync_accounts(rt)
    now = rt.clock()
    results = []
    for acc in accounts:
        result: dict[str, Any] = {"name": acc.name, "platform": acc.platform, "ok": False}
        try:
            if not rt.configured(acc):
                raise ConfigError(f"unconfigured: set ${acc.token_env or 'TOKEN'} "
                                  "(or store a token with `outreach auth`)")
            client = rt.client(acc)
            info = client.verify()
        except (ClientError, ConfigError) as exc:
            result["detail"] = f"{type(exc).__name__}: {exc.message}"
            with rt.db.session() as s:
                values: dict[str, Any] = {"last_error": result["detail"]}
                if isinstance(exc, AuthError):
                    notify.needs_reauth(s, rt, acc.name, exc.message, now)
                    values["state"] = "needs_reauth"
                s.execute(update(Account).where(col(Account.name) == acc.name).values(**values))
                s.commit()
            results.append(result)
            continue
        notes = []
        expires = getattr(client, "token_expires_at", None)
        if expires is not None:
            notes.append(f"token expires {expires.isoformat()}")
        if getattr(client, "counts_fallback", False):
            notes.append("counts come from statuses/show per post (statuses/count refused)")
        if getattr(client, "simulated", False):
            notes.append("simulated audience")
        result.update(ok=True, remote_id=info.remote_id, handle=info.handle,
                      followers=info.followers_count, token_expires_at=expires,
                      detail=f"{info.handle} ({info.remote_id}), followers "
                             f"{info.followers_count if info.followers_count is not None else '?'}"
                             + (f"; {'; '.join(notes)}" if notes else ""))
        with rt.db.session() as s:
            row = s.execute(select(Account).where(col(Account.name) == acc.name)).scalars().one()
            if (row.remote_id and info.remote_id != row.remote_id
                    and "uid" in client.config_keys and "uid" not in acc.options):
                # a token for another user would silently post as them
                result.update(ok=False, detail=f"the token belongs to {info.handle} "
                              f"({info.remote_id}), but this account has posted as "
                              f"{row.remote_id}; log in as that user, or set "
                              f"accounts.{acc.name}.uid to switch on purpose")
                results.append(result)
                continue
            was = row.state
            row.state, row.remote_id, row.handle = "active", info.remote_id, info.handle
            row.followers, row.last_success_at, row.last_error = info.followers_count, now, None
            if expires is not None:
                row.token_expires_at = expires
            row.counts_fallback = bool(getattr(client, "counts_fallback", False))
            if was == "needs_reauth":
                audit(s, now, "accounts-check", "account_reauthorised", account=acc.name)
            s.commit()
        results.append(result)
    return results
