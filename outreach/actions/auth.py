"""`outreach auth weibo`: authorise a Weibo account and record it.

The platform side (the authorisation page, trading the code for a token, checking it,
the 0600 token file) is ``outreach.clients.weibo.oauth``. Here the token is stored only
once every check passed, and the account's Weibo user id and the token's expiry are
recorded on its ``accounts`` row, with an ``auth`` row in ``audit_log``. No secret
reaches the database, a message or a log line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.clients.weibo import oauth
from outreach.config.secrets import Secret
from outreach.errors import AuthError, InputError
from outreach.i18n import _
from outreach.states import AccountState
from outreach.store.audit import audit
from outreach.store.models import Account

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthResult:
    """What `outreach auth weibo` did. Holds no secret."""

    account: str
    uid: str
    expires_at: datetime | None
    token_file: Path
    env_overrides: bool
    """True when the account's ``token_env`` variable is set: it wins over the token file."""


def weibo_authorize_url(rt: Runtime, account_name: str, *, app_key: str, redirect_uri: str,
                        state: str | None = None) -> str:
    """The authorisation page for this account's Weibo (its ``api_base``)."""
    account = oauth.check_account(rt.settings.account(account_name))
    return oauth.authorize_url(oauth.check_app_key(app_key),
                               oauth.check_redirect_uri(redirect_uri), state,
                               api_base=oauth.api_base_of(account))


def complete_weibo_auth(rt: Runtime, account_name: str, *, app_key: str, app_secret: Secret,
                        redirect_uri: str, code_or_url: str, by: str) -> AuthResult:
    """Trade an authorisation code for a token, check it, store it and record it.

    ``code_or_url`` is the bare code or the whole address Weibo redirected to.
    ``by`` is who authorised (the audit row's actor). Raises only OutreachErrors.
    """
    account = oauth.check_account(rt.settings.account(account_name))
    key = oauth.check_app_key(app_key)
    uri = oauth.check_redirect_uri(redirect_uri)
    oauth.check_app_secret(app_secret)
    if not by.strip():
        raise InputError(_("who authorises (--by) must not be empty"))
    code = oauth.parse_code(code_or_url)
    granted = oauth.authorise(rt.http, account, app_key=key, app_secret=app_secret,
                              redirect_uri=uri, code=code, clock=rt.clock)
    uid, expires_at = granted.uid, granted.expires_at
    now = rt.clock()

    with rt.db.reader() as s:
        row = s.execute(select(Account).where(col(Account.name) == account.name)).scalars().first()
        previous_uid = row.remote_id if row is not None else None
        previous_state = row.state if row is not None else None
    configured_uid = account.options.get("uid")
    if previous_uid and previous_uid != uid and configured_uid is None:
        raise AuthError(
            _("this token belongs to Weibo user {uid}, but account {name} has posted as Weibo user "
              "{previous_uid}: log in to Weibo as that user and authorise again, or set "
              "accounts.{name}.uid = \"{uid}\" in config.toml to switch users").format(
                uid=uid, name=account.name, previous_uid=previous_uid)
        )

    path = oauth.save_token(account, granted.token)
    sync_accounts(rt)
    with rt.db.session() as s:
        row = s.execute(select(Account).where(col(Account.name) == account.name)).scalars().one()
        row.state, row.remote_id, row.token_expires_at = AccountState.ACTIVE, uid, expires_at
        row.last_error = None
        audit(s, now, by.strip(), "auth", account=account.name, target=uid,
              detail={"uid": uid,
                      "expires_at": expires_at.isoformat() if expires_at else None,
                      "previous_state": previous_state,
                      "previous_uid": previous_uid})
        s.commit()
    env_overrides = bool(account.token_env and os.environ.get(account.token_env, "").strip())
    log.info("weibo %s: authorised as user %s, token expires %s", account.name, uid,
             expires_at.isoformat() if expires_at else "at an unknown time")
    return AuthResult(account=account.name, uid=uid, expires_at=expires_at,
                      token_file=path, env_overrides=env_overrides)
