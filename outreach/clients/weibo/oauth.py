"""`outreach auth weibo`: the OAuth2 authorisation-code flow for one Weibo account.

1. ``weibo_authorize_url`` gives the page where the account holder, logged in to
   Weibo as the account, lets the app post; Weibo then redirects the browser to
   ``redirect_uri?code=…``.
2. ``complete_weibo_auth`` takes that code (or the whole redirected address),
   trades it for a token (``oauth2/access_token``), asks Weibo who the token belongs
   to and which app it was issued to (``oauth2/get_token_info``: the app key must
   be ours), stores the token in the account's 0600 token file and records the
   account's Weibo user id and the token's expiry on its ``accounts`` row, with an
   ``auth`` row in ``audit_log``.

Nothing is stored unless every check passed. The app secret and the token never
appear in a message, a log line, a repr or the database: they travel as ``Secret``
and the Weibo helpers mask them in every error they raise.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.clients.weibo.client import (
    API_BASE,
    authorize_url,
    exchange_code,
    parse_code,
    save_token,
    token_info,
)
from outreach.config.secrets import Secret
from outreach.config.settings import AccountSettings
from outreach.errors import AuthError, ConfigError, InputError, RemoteError
from outreach.store.audit import audit
from outreach.store.models import Account

log = logging.getLogger(__name__)

DEFAULT_REDIRECT_URI = "https://api.weibo.com/oauth2/default.html"
"""Weibo's own landing page for apps without a callback of their own (the code shows in
the address bar)."""

# oauth2/access_token's refusals (reference/weibo-api.md §3), as a person should read them.
_OAUTH_REFUSALS = {
    21322: "the redirect URI is not the callback registered for the app "
           "(open.weibo.com → 应用信息 → 高级信息 → 授权回调页)",
    21323: "Weibo found the request incomplete (check the redirect URI)",
    21324: "Weibo does not accept this app key and app secret",
    21325: "the code is invalid, expired or already used; authorise again for a new one",
    21326: "this app may not use the authorisation-code flow",
    21328: "Weibo refused the grant type",
    21330: "the account holder refused the authorisation",
    21337: "the app key has no permission for this",
}
_APP_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class AuthResult:
    """What `outreach auth weibo` did. Holds no secret."""

    account: str
    uid: str
    expires_at: datetime | None
    token_file: Path
    env_overrides: bool
    """True when the account's ``token_env`` variable is set: it wins over the token file."""


def weibo_authorize_url(rt: Any, account_name: str, *, app_key: str, redirect_uri: str,
                        state: str | None = None) -> str:
    """The authorisation page for this account's Weibo (its ``api_base``)."""
    account = _weibo_account(rt, account_name)
    return authorize_url(_app_key(app_key), _redirect_uri(redirect_uri), state,
                         api_base=_api_base(account))


def complete_weibo_auth(rt: Any, account_name: str, *, app_key: str, app_secret: Secret,
                        redirect_uri: str, code_or_url: str, by: str) -> AuthResult:
    """Trade an authorisation code for a token, check it, store it and record it.

    ``code_or_url`` is the bare code or the whole address Weibo redirected to.
    ``by`` is who authorised (the audit row's actor). Raises only OutreachErrors.
    """
    account = _weibo_account(rt, account_name)
    key = _app_key(app_key)
    uri = _redirect_uri(redirect_uri)
    if not isinstance(app_secret, Secret) or not app_secret.reveal().strip():
        raise InputError("no app secret: set $OUTREACH_WEIBO_APP_SECRET to the app's App Secret")
    if not by.strip():
        raise InputError("who authorises (--by) must not be empty")
    code = parse_code(code_or_url)
    api_base = _api_base(account)

    try:
        grant = exchange_code(rt.http, api_base, key, app_secret, code, uri, clock=rt.clock)
    except RemoteError as exc:
        raise _refusal(exc, account.name) from None
    info = token_info(rt.http, api_base, grant.token, clock=rt.clock)
    _check_grant(account, key, grant.uid, info.uid, info.appkey)
    expires_at = info.expires_at or grant.expires_at
    now = rt.clock()
    if expires_at is not None and expires_at <= now:
        raise AuthError(f"Weibo says the new token for {account.name} has already expired; "
                        "authorise again")

    with rt.db.reader() as s:
        row = s.execute(select(Account).where(col(Account.name) == account.name)).scalars().first()
        previous_uid = row.remote_id if row is not None else None
        previous_state = row.state if row is not None else None
    configured_uid = account.options.get("uid")
    if previous_uid and previous_uid != info.uid and configured_uid is None:
        raise AuthError(
            f"this token belongs to Weibo user {info.uid}, but account {account.name} has "
            f"posted as Weibo user {previous_uid}: log in to Weibo as that user and authorise "
            f"again, or set accounts.{account.name}.uid = \"{info.uid}\" in config.toml to "
            "switch users"
        )

    path = save_token(account, grant.token)
    sync_accounts(rt)
    with rt.db.session() as s:
        row = s.execute(select(Account).where(col(Account.name) == account.name)).scalars().one()
        row.state, row.remote_id, row.token_expires_at = "active", info.uid, expires_at
        row.last_error = None
        audit(s, now, by.strip(), "auth", account=account.name, target=info.uid,
              detail={"uid": info.uid,
                      "expires_at": expires_at.isoformat() if expires_at else None,
                      "previous_state": previous_state,
                      "previous_uid": previous_uid})
        s.commit()
    env_overrides = bool(account.token_env and os.environ.get(account.token_env, "").strip())
    log.info("weibo %s: authorised as user %s, token expires %s", account.name, info.uid,
             expires_at.isoformat() if expires_at else "at an unknown time")
    return AuthResult(account=account.name, uid=info.uid, expires_at=expires_at,
                      token_file=path, env_overrides=env_overrides)


# --- checks ------------------------------------------------------------------------------


def _weibo_account(rt: Any, name: str) -> AccountSettings:
    account: AccountSettings = rt.settings.account(name)
    if account.platform != "weibo":
        raise InputError(f"account {account.name!r} is on {account.platform}, not weibo: "
                         "`outreach auth weibo` authorises Weibo accounts only")
    return account


def _api_base(account: AccountSettings) -> str:
    return (account.api_base or API_BASE).rstrip("/")


def _app_key(app_key: str) -> str:
    value = (app_key or "").strip()
    if not value:
        raise InputError("no app key: pass --app-key or set $OUTREACH_WEIBO_APP_KEY "
                         "(the App Key on open.weibo.com)")
    if not _APP_KEY_RE.fullmatch(value):
        raise InputError("that does not look like a Weibo app key (the App Key on open.weibo.com)")
    return value


def _redirect_uri(redirect_uri: str) -> str:
    value = (redirect_uri or "").strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise InputError(f"the redirect URI must be an http(s) address, got {value[:100]!r}")
    return value


def _check_grant(account: AccountSettings, app_key: str, grant_uid: str | None, uid: str,
                 appkey: str | None) -> None:
    """The token must have been issued to our app, for the user the code was given by."""
    if appkey is None:
        raise AuthError("Weibo's token information names no app key, so the token cannot be "
                        "confirmed as this app's; nothing was stored")
    if appkey != app_key:
        raise AuthError(f"the token was issued to app key {appkey}, not to {app_key}: check "
                        "--app-key / $OUTREACH_WEIBO_APP_KEY; nothing was stored")
    if grant_uid is not None and grant_uid != uid:
        raise AuthError(f"Weibo gave the token for user {grant_uid} but says it belongs to "
                        f"user {uid}; nothing was stored")
    configured = account.options.get("uid")
    if configured is not None and str(configured).strip() != uid:
        raise ConfigError(f"accounts.{account.name}.uid: set to {configured}, but the new token "
                          f"belongs to Weibo user {uid}; nothing was stored")


def _refusal(exc: RemoteError, account: str) -> AuthError | RemoteError:
    code = exc.code if isinstance(exc.code, int) else None
    why = _OAUTH_REFUSALS.get(code) if code is not None else None
    if why is None:
        return exc
    return AuthError(f"Weibo refused to authorise {account}: {why} (code {code})")
