"""`outreach status`, `accounts list` and `accounts check`: what is healthy, held or
failing, and what each account's token says when asked."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlmodel import Session, col

from outreach.actions.accounts import sync_accounts
from outreach.clients import client_class
from outreach.clients.base import AccountInfo, MicroblogClient
from outreach.collect.order import skip_warnings, skipped_collection
from outreach.config.settings import AccountSettings
from outreach.errors import (
    AmbiguousOutcome,
    AuthError,
    ClientError,
    ConfigError,
    OutreachError,
    RateLimited,
    TransientError,
)
from outreach.i18n import _
from outreach.notify import status
from outreach.schedule.history import pause_intervals
from outreach.schedule.planner import paused_at, slot_times
from outreach.states import AccountState, OpinionClass, PostStatus
from outreach.store.accounts import set_account_state
from outreach.store.models import Account, Comment, DaemonHeartbeat, Pause, Post
from outreach.text import listing
from outreach.times import show_local

if TYPE_CHECKING:
    from outreach.runtime import Runtime

HEARTBEAT_STALE = timedelta(seconds=90)
OVERDUE = timedelta(minutes=10)
TOKEN_WARNING = timedelta(days=3)
CHECKER = "accounts-check"  # the actor of what `accounts check` changes


# Addresses reserved for documentation (RFC 2606, 6761, 5737, 3849): a config that still
# holds one was copied from an example and never filled in.
_DOC_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


def placeholder_values(account: AccountSettings) -> list[str]:
    """The account's settings that are documentation placeholders (example hosts, the
    documentation IP ranges), each named with what to do."""
    values = {"api_base": account.api_base, **dict(account.options)}
    out = []
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            continue
        host = urlsplit(value).hostname if "://" in value else None
        if host is not None:
            labels = host.lower().rstrip(".").split(".")
            if "example" in labels or labels[-1] in ("invalid", "test"):
                out.append(_("accounts.{name}.{key} = {value!r} is a placeholder (an example address): "
                             "replace it with the real one").format(
                    name=account.name, key=key, value=value))
            continue
        try:
            ip = ipaddress.ip_address(value.strip())
        except ValueError:
            continue
        if any(ip in net for net in _DOC_NETWORKS):
            out.append(_("accounts.{name}.{key} = {value!r} is a placeholder (a documentation address): "
                         "replace it with the real one").format(
                name=account.name, key=key, value=value))
    return out


# What a failed check means, in the words an officer uses.
_PLAIN: tuple[tuple[type[OutreachError], str], ...] = (
    (AuthError, "the platform refused the token"),
    (RateLimited, "the platform asks to wait (rate limited)"),
    (TransientError, "could not reach the platform"),
    (AmbiguousOutcome, "the platform gave no clear answer"),
    (ConfigError, "not configured"),
)


def plain_failure(exc: OutreachError) -> str:
    for kind, words in _PLAIN:
        if isinstance(exc, kind):
            return f"{words}: {exc.message}"
    return f"the platform answered with an error: {exc.message}"


def account_state(rt: Runtime, session: Session, name: str, row: Account | None,
                  now: datetime, *, paused: bool | None = None) -> tuple[AccountState, str | None]:
    """``paused``: whether a pause holds the account now, when the caller knows already."""
    account = rt.settings.account(name)
    try:
        configured = rt.configured(account)
    except ConfigError as exc:
        return AccountState.UNCONFIGURED, exc.message
    if not configured:
        return AccountState.UNCONFIGURED, "no token"
    if row is not None and row.state == AccountState.NEEDS_REAUTH:
        return AccountState.NEEDS_REAUTH, row.last_error
    if paused if paused is not None else paused_at(pause_intervals(session, name), now):
        return AccountState.PAUSED, None
    return AccountState.ACTIVE, None


def open_pause(session: Session, name: str, now: datetime) -> Pause | None:
    """The pause holding an account now (its own or one for all accounts; the latest)."""
    return session.execute(select(Pause).where(
        col(Pause.started_at) <= now,
        or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
        or_(col(Pause.account).is_(None), col(Pause.account) == name),
    ).order_by(col(Pause.started_at).desc(), col(Pause.id).desc()).limit(1)).scalars().first()


def held_posts(rt: Runtime, now: datetime) -> dict[str, int]:
    """Posts due now that will not go out, counted by why: a pause (whose, and its reason),
    an unconfigured account, one that needs re-authorisation, a draft awaiting approval."""
    held: dict[str, int] = {}
    with rt.db.reader() as s:
        rows = s.execute(select(col(Post.account), col(Post.status), func.count()).where(
            col(Post.status).in_((PostStatus.QUEUED, PostStatus.DRAFT)),
            col(Post.not_before) <= now,
        ).group_by(col(Post.account), col(Post.status))).all()
        states = dict(s.execute(select(col(Account.name), col(Account.state))).all())
        for name, status, n in rows:
            acc = rt.settings.accounts.get(name)
            if acc is None:
                why = f"not in config ({name})"
            elif status == PostStatus.DRAFT:
                why = "draft awaiting approval"
            else:
                try:
                    configured = rt.configured(acc)
                except ConfigError as exc:
                    configured, detail = False, exc.message
                else:
                    detail = "no token"
                pause = open_pause(s, name, now)
                if not configured:
                    why = f"unconfigured ({name}: {detail})"
                elif states.get(name) == AccountState.NEEDS_REAUTH:
                    why = f"needs re-authorisation ({name})"
                elif pause is not None:
                    why = f"paused ({name}, by {pause.paused_by}: {pause.reason})"
                else:
                    continue
            held[why] = held.get(why, 0) + int(n)
    return held


def describe_held(held: dict[str, int]) -> str:
    """``held_posts`` as one phrase: "2 paused (a, by chief: drill), 1 draft awaiting …"."""
    parts = []
    for why, n in sorted(held.items(), key=lambda kv: (-kv[1], kv[0])):
        if n > 1 and why.startswith("draft "):
            why = "drafts " + why[len("draft "):]
        parts.append(f"{n} {why}")
    return ", ".join(parts)


def account_rows(rt: Runtime) -> list[dict[str, Any]]:
    sync_accounts(rt)
    with rt.db.reader() as s:
        return _account_rows(rt, s, rt.clock())


def _account_rows(rt: Runtime, s: Session, now: datetime) -> list[dict[str, Any]]:
    out = []
    rows = {a.name: a for a in s.execute(select(Account)).scalars()}
    emergencies = dict(s.execute(select(col(Comment.account), func.count()).where(
        col(Comment.opinion_class) == OpinionClass.EMERGENCY,
        col(Comment.replied_at).is_(None),
        col(Comment.reply_required).is_(True)).group_by(col(Comment.account))).all())
    # every account's next queued post and the pauses holding now: one query each,
    # not one per account (the console's dashboard renders this on every visit)
    next_posts = dict(s.execute(select(col(Post.account), func.min(col(Post.scheduled_at)))
                                .where(col(Post.status) == PostStatus.QUEUED,
                                       col(Post.scheduled_at) >= now)
                                .group_by(col(Post.account))).all())
    holding = s.execute(select(Pause).where(
        col(Pause.started_at) <= now,
        or_(col(Pause.ended_at).is_(None), col(Pause.ended_at) > now),
    ).order_by(col(Pause.started_at).desc(), col(Pause.id).desc())).scalars().all()
    for name, acc in rt.settings.accounts.items():
        row = rows.get(name)
        held = next((p for p in holding if p.account in (None, name)), None)
        state, why = account_state(rt, s, name, row, now, paused=held is not None)
        # a failed `accounts check` (not a refused token): the state stays one of the
        # four, and the failure is said apart until a check or a publish succeeds
        check_failed = bool(row is not None and row.state == AccountState.CHECK_FAILED and row.last_error
                            and state in (AccountState.ACTIVE, AccountState.PAUSED))
        next_post = next_posts.get(name)
        # the next day first: most accounts have a slot in it, and a week costs 8 ×
        next_slot = next(iter(slot_times(acc, rt.settings.policy, now,
                                         now + timedelta(days=1))), None) \
            or next(iter(slot_times(acc, rt.settings.policy, now,
                                    now + timedelta(days=8))), None)
        candidates = [t for t in (next_post, next_slot.at if next_slot else None) if t]
        expires = row.token_expires_at if row else None
        out.append({
            "name": name, "display_name": acc.display_name, "platform": acc.platform,
            "state": state,
            "state_reason": why,
            "check_failed": check_failed,
            "paused_by": held.paused_by if held else None,
            "paused_at": held.started_at if held else None,
            "paused_reason": held.reason if held else None,
            "timezone": acc.timezone.key, "lang": acc.lang,
            "followers": row.followers if row else None,
            "last_success_at": row.last_success_at if row else None,
            "last_error": row.last_error if row else None,
            "next_slot_at": min(candidates) if candidates else None,
            "token_expires_at": expires,
            "token_expiring": bool(expires and expires - now < TOKEN_WARNING),
            "open_emergencies": int(emergencies.get(name, 0)),
            "simulated": client_class(acc.platform).simulated,
            "placeholders": placeholder_values(acc),
        })
    return out


def _orphaned(s: Session, configured: list[str]) -> dict[str, int]:
    """Queued and draft posts of accounts the config no longer has, by account: no daemon
    claims them."""
    return dict(s.execute(select(col(Post.account), func.count()).where(
        col(Post.status).in_((PostStatus.QUEUED, PostStatus.DRAFT)),
        col(Post.account).not_in(configured))
        .group_by(col(Post.account))).all())


def _queue_figures(s: Session, now: datetime) -> tuple[list[DaemonHeartbeat], dict[str, int],
                                                       int, int, int, int]:
    """The live daemons' beats, the posts by status, and the overdue, stuck, failed in 24 h
    and due counts."""
    beats = list(s.execute(select(DaemonHeartbeat).where(
        col(DaemonHeartbeat.stopped_at).is_(None))
        .order_by(col(DaemonHeartbeat.heartbeat_at).desc())).scalars().all())
    counts = dict(s.execute(select(col(Post.status), func.count()).group_by(col(Post.status))).all())
    overdue = s.execute(select(func.count()).select_from(Post).where(
        col(Post.status) == PostStatus.QUEUED,
        col(Post.not_before) < now - OVERDUE)).scalar() or 0
    stuck = s.execute(select(func.count()).select_from(Post).where(
        col(Post.status).in_((PostStatus.UNCONFIRMED, PostStatus.PUBLISHING)),
        col(Post.updated_at) < now - OVERDUE)).scalar() or 0
    failed_today = s.execute(select(func.count()).select_from(Post).where(
        col(Post.status) == PostStatus.FAILED,
        col(Post.updated_at) >= now - timedelta(days=1))).scalar() or 0
    due = s.execute(select(func.count()).select_from(Post).where(
        col(Post.status) == PostStatus.QUEUED,
        col(Post.not_before) <= now)).scalar() or 0
    return beats, counts, overdue, stuck, failed_today, due


def health(rt: Runtime) -> dict[str, Any]:
    now = rt.clock()
    sync_accounts(rt)
    # the accounts and the queue's counts (a year's posts by status) are read side by side
    accounts, (beats, counts, overdue, stuck, failed_today, due), orphans = rt.db.read_together(
        lambda s: _account_rows(rt, s, now), lambda s: _queue_figures(s, now),
        lambda s: _orphaned(s, list(rt.settings.accounts)))
    live = [b for b in beats if now - b.heartbeat_at < HEARTBEAT_STALE]
    problems: list[str] = []
    warnings: list[str] = []
    daemon = None
    if beats:
        b = beats[0]
        daemon = {"id": b.id, "host": b.host, "pid": b.pid, "started_at": b.started_at,
                  "heartbeat_at": b.heartbeat_at,
                  # a beat written after `now` was read (or by a clock a little ahead): 0
                  "age_seconds": round(max((now - b.heartbeat_at).total_seconds(), 0.0), 1),
                  "running": bool(live), "last_tick_error": b.last_tick_error}
    if not live:
        problems.append(_("no daemon heartbeat in the last 90 s (is `outreach run` running?)"))
    if overdue:
        problems.append(_("{overdue} queued post(s) overdue by more than 10 minutes").format(
            overdue=overdue))
    if stuck:
        problems.append(_("{stuck} post(s) stuck publishing or unconfirmed for over 10 minutes").format(
            stuck=stuck))
    for a in accounts:
        if a["state"] == AccountState.NEEDS_REAUTH:
            problems.append(_("account {name} needs re-authorisation").format(name=a['name']))
        if a["token_expiring"]:
            problems.append(_("account {name}: token expires {when}").format(
                name=a['name'],
                when=show_local(a['token_expires_at'], rt.settings.account(a['name']).timezone)))
        if a["open_emergencies"]:
            problems.append(_("account {name}: {open_emergencies} emergency comment(s) unanswered").format(
                name=a['name'], open_emergencies=a['open_emergencies']))
        if a["check_failed"]:
            warnings.append(_("account {name}: the last `accounts check` failed ({last_error})").format(
                name=a['name'], last_error=a['last_error']))
        warnings.extend(a["placeholders"])
        if a["state"] == AccountState.UNCONFIGURED:
            warnings.append(_("account {name} is unconfigured ({state_reason})").format(
                name=a['name'], state_reason=a['state_reason']))
        if a["state"] == AccountState.PAUSED or a["paused_by"]:
            warnings.append(_("account {name} is paused by {paused_by} since {since}: "
                              "{paused_reason}").format(
                name=a['name'], paused_by=a['paused_by'],
                since=show_local(a['paused_at'], rt.settings.account(a['name']).timezone),
                paused_reason=a['paused_reason']))
    if orphans:
        problems.append(_("{count} queued or draft post(s) of {accounts}, no longer in the "
                          "config: they will not be published (put the account back, or queue "
                          "cancel them)")
                        .format(count=sum(orphans.values()), accounts=listing(sorted(orphans))))
    if failed_today:
        warnings.append(_("{failed_today} post(s) failed in the last 24 h").format(
            failed_today=failed_today))
    warnings.extend(status.health_warnings(rt, now))
    skipped = skipped_collection(rt)  # what a rate budget left the collector to skip
    warnings.extend(skip_warnings(rt, skipped))
    return {
        "healthy": not problems, "problems": problems, "warnings": warnings, "daemon": daemon,
        "accounts": accounts, "checked_at": now, "skipped_collection": skipped,
        "queue": {"drafts": counts.get(PostStatus.DRAFT, 0),
                  "queued": counts.get(PostStatus.QUEUED, 0),
                  "due": due, "overdue": overdue,
                  "publishing": counts.get(PostStatus.PUBLISHING, 0),
                  "unconfirmed": counts.get(PostStatus.UNCONFIRMED, 0),
                  "failed_today": failed_today,
                  "published": counts.get(PostStatus.PUBLISHED, 0),
                  "missed": counts.get(PostStatus.MISSED, 0)},
    }


def check_accounts(rt: Runtime, only: str | None = None) -> list[dict[str, Any]]:
    """verify() every account and record what it learns."""
    names = rt.settings.select(only)  # a name or @group
    accounts = ([rt.settings.account(n) for n in names] if names is not None
                else list(rt.settings.accounts.values()))
    sync_accounts(rt)
    now = rt.clock()
    results = []
    # every platform at once: one slow platform (each request ends by the request deadline)
    # does not add its wait to every other account's
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(accounts)))) as pool:
        probes = list(pool.map(lambda acc: _verify(rt, acc), accounts))
    for acc, probe in zip(accounts, probes, strict=True):
        result: dict[str, Any] = {"name": acc.name, "platform": acc.platform, "ok": False,
                                  "placeholders": placeholder_values(acc)}
        if isinstance(probe, ClientError | ConfigError):
            _record_failure(rt, acc.name, probe, result, now)
        else:
            _record_success(rt, acc, *probe, result, now)
        results.append(result)
    return results


def _record_failure(rt: Runtime, name: str, exc: ClientError | ConfigError,
                    result: dict[str, Any], now: datetime) -> None:
    result["detail"] = plain_failure(exc)
    result["error"] = type(exc).__name__  # for scripts; people read the detail
    with rt.db.session() as s:
        if isinstance(exc, AuthError):
            set_account_state(s, rt, name, AccountState.NEEDS_REAUTH, now, actor=CHECKER,
                              reason=exc.message, last_error=result["detail"])
        elif isinstance(exc, ConfigError):
            s.execute(update(Account).where(col(Account.name) == name)
                      .values(last_error=result["detail"]))
        else:  # shown until a check passes
            set_account_state(s, rt, name, AccountState.CHECK_FAILED, now, actor=CHECKER,
                              last_error=result["detail"])
        s.commit()


def _record_success(rt: Runtime, acc: AccountSettings, client: MicroblogClient,
                    info: AccountInfo, result: dict[str, Any], now: datetime) -> None:
    notes = []
    expires = client.token_expires_at
    if expires is not None:
        notes.append(_("token expires {expires}").format(expires=show_local(expires, acc.timezone)))
    if client.counts_fallback:
        notes.append(_("counts come from statuses/show per post (statuses/count refused)"))
    if client.simulated:
        notes.append(_("simulated audience"))
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
            return
        result["error"] = None
        values: dict[str, Any] = {
            "remote_id": info.remote_id, "handle": info.handle,
            "followers": info.followers_count, "last_success_at": now, "last_error": None,
            "counts_fallback": client.counts_fallback,
        }
        if expires is not None:
            values["token_expires_at"] = expires
        set_account_state(s, rt, acc.name, AccountState.ACTIVE, now, actor=CHECKER, **values)
        s.commit()


def _verify(rt: Runtime, acc: AccountSettings
            ) -> tuple[MicroblogClient, AccountInfo] | ClientError | ConfigError:
    """(client, what verify() learnt), or the error."""
    try:
        if not rt.configured(acc):
            raise ConfigError(_("no token: set ${value} (or store a token with `outreach auth`)").format(
                value=acc.token_env or 'TOKEN'))
        client = rt.client(acc)
        return client, client.verify()
    except (ClientError, ConfigError) as exc:
        return exc
