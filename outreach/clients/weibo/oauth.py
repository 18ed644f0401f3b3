"""Weibo's OAuth2 authorisation-code flow, the platform side of `outreach auth weibo`.

1. ``authorize_url`` gives the page where the account holder, logged in to Weibo as the
   account, lets the app post; Weibo then redirects the browser to
   ``redirect_uri?code=…``.
2. ``authorise`` takes that code (or the whole redirected address), trades it for a token
   (``oauth2/access_token``) and asks Weibo who the token belongs to and which app it was
   issued to (``oauth2/get_token_info``: the app key must be ours).
3. ``save_token`` stores the token in the account's 0600 token file.

Recording the account's Weibo user id and the token's expiry in the database is
``outreach.actions.auth``. The app secret and the token never appear in a message, a log
line or a repr: they travel as ``Secret`` and every error raised here masks them.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from outreach.clients.base import Clock
from outreach.clients.weibo.api import ACCESS_TOKEN, API_BASE, AUTHORIZE, TOKEN_INFO, call
from outreach.clients.weibo.parse import (
    TokenInfo,
    after,
    clip,
    count,
    expect,
    id_scalar,
    next_hour,
    token_info_of,
)
from outreach.config.secrets import Secret
from outreach.errors import AuthError, ConfigError, InputError, RemoteError
from outreach.i18n import _
from outreach.times import utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings

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
_API_BASE_KEY = "api_base"


@dataclass(frozen=True)
class TokenGrant:
    """What ``oauth2/access_token`` hands out. ``Secret`` keeps the token out of repr."""

    token: Secret
    expires_at: datetime | None
    uid: str | None


@dataclass(frozen=True)
class Authorisation:
    """A checked token: issued to our app, for ``uid``, not yet expired. Holds no secret
    in its repr."""

    token: Secret
    uid: str
    expires_at: datetime | None


# --- the calls -----------------------------------------------------------------------------


def authorize_url(
    app_key: str, redirect_uri: str, state: str | None = None, api_base: str = API_BASE
) -> str:
    """The page where the account holder lets the app post; it redirects with ?code=."""
    params = {"client_id": app_key, "redirect_uri": redirect_uri, "response_type": "code"}
    if state:
        params["state"] = state
    return f"{api_base.rstrip('/')}{AUTHORIZE}?{urlencode(params)}"


def parse_code(code_or_redirected_url: str) -> str:
    """The authorisation code, from the bare code or the whole redirected URL."""
    value = code_or_redirected_url.strip()
    if "?" in value or "=" in value or "://" in value:
        query = parse_qs(urlsplit(value).query if "?" in value or "://" in value else value)
        if "error" in query:
            reason = (query.get("error_description") or query["error"])[0]
            raise InputError(_("Weibo refused the authorisation: {reason}").format(reason=clip(reason)))
        codes = query.get("code")
        if not codes:
            raise InputError(_("no ?code= in that URL: paste the address Weibo redirected to"))
        value = codes[0].strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", value):
        raise InputError(_("that does not look like a Weibo authorisation code"))
    return value


def exchange_code(
    http: httpx.Client,
    api_base: str,
    app_key: str,
    app_secret: Secret,
    code: str,
    redirect_uri: str,
    *,
    clock: Clock = utcnow,
    url_key: str = _API_BASE_KEY,
) -> TokenGrant:
    """Trade an authorisation code for an access token (``oauth2/access_token``)."""
    now = clock()
    answer = call(
        http, "POST", api_base.rstrip("/") + ACCESS_TOKEN, write=False,
        data={
            "client_id": app_key,
            "client_secret": app_secret.reveal(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        },
        retry_at=next_hour(now), url_key=url_key, hide=(app_secret.reveal(), code),
    )
    body = expect(answer, dict, ACCESS_TOKEN)
    token = body.get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise RemoteError(_("Weibo {ACCESS_TOKEN}: the answer carries no access_token").format(
            ACCESS_TOKEN=ACCESS_TOKEN))
    expires_in = count(body.get("expires_in"))
    return TokenGrant(
        token=Secret(token.strip()),
        expires_at=after(now, expires_in),
        uid=id_scalar(body.get("uid")),
    )


def token_info(
    http: httpx.Client, api_base: str, token: Secret, *, clock: Clock = utcnow,
    url_key: str = _API_BASE_KEY,
) -> TokenInfo:
    """Who a token belongs to and when it expires (``oauth2/get_token_info``)."""
    now = clock()
    body = call(
        http, "POST", api_base.rstrip("/") + TOKEN_INFO, write=False, token=token,
        retry_at=next_hour(now), url_key=url_key, token_in_body=True,
    )
    return token_info_of(body, now)


def save_token(account: AccountSettings, token: Secret) -> Path:
    """Store the token on line 1 of the account's token file: mode 0600, in a 0700 folder,
    replaced atomically."""
    value = token.reveal().strip()
    if not value or any(c in value for c in "\r\n"):
        raise InputError(_("the token is empty or spans several lines"))
    path = account.token_file
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(
            _("cannot write the token file: {value}").format(value=exc.strerror or exc), where=str(path)
        ) from None
    return path


# --- the flow ------------------------------------------------------------------------------


def authorise(http: httpx.Client, account: AccountSettings, *, app_key: str,
              app_secret: Secret, redirect_uri: str, code: str,
              clock: Clock = utcnow) -> Authorisation:
    """Trade a code for a token and check it (our app, the right user, not expired).

    ``app_key`` and ``redirect_uri`` as ``check_app_key`` / ``check_redirect_uri`` return
    them, ``code`` as ``parse_code`` does. Stores nothing."""
    api_base = api_base_of(account)
    url_key = f"accounts.{account.name}.api_base"
    try:
        grant = exchange_code(http, api_base, app_key, app_secret, code, redirect_uri,
                              clock=clock, url_key=url_key)
    except RemoteError as exc:
        raise _refusal(exc, account.name) from None
    info = token_info(http, api_base, grant.token, clock=clock, url_key=url_key)
    _check_grant(account, app_key, grant.uid, info.uid, info.appkey)
    expires_at = info.expires_at or grant.expires_at
    if expires_at is not None and expires_at <= clock():
        raise AuthError(_("Weibo says the new token for {name} has already expired; authorise again").format(
            name=account.name))
    return Authorisation(token=grant.token, uid=info.uid, expires_at=expires_at)


def check_account(account: AccountSettings) -> AccountSettings:
    """``account``, when it is a Weibo account."""
    if account.platform != "weibo":
        raise InputError(_("account {name!r} is on {platform}, not weibo: `outreach auth weibo` "
                           "authorises Weibo accounts only").format(
            name=account.name, platform=account.platform))
    return account


def api_base_of(account: AccountSettings) -> str:
    return (account.api_base or API_BASE).rstrip("/")


def check_app_key(app_key: str) -> str:
    value = (app_key or "").strip()
    if not value:
        raise InputError(_("no app key: pass --app-key or set $OUTREACH_WEIBO_APP_KEY (the App Key on "
                           "open.weibo.com)"))
    if not _APP_KEY_RE.fullmatch(value):
        raise InputError(_("that does not look like a Weibo app key (the App Key on open.weibo.com)"))
    return value


def check_redirect_uri(redirect_uri: str) -> str:
    value = (redirect_uri or "").strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise InputError(_("the redirect URI must be an http(s) address, got {value!r}").format(
            value=value[:100]))
    return value


def check_app_secret(app_secret: Secret) -> Secret:
    if not isinstance(app_secret, Secret) or not app_secret.reveal().strip():
        raise InputError(_("no app secret: set $OUTREACH_WEIBO_APP_SECRET to the app's App Secret"))
    return app_secret


def _check_grant(account: AccountSettings, app_key: str, grant_uid: str | None, uid: str,
                 appkey: str | None) -> None:
    """The token must have been issued to our app, for the user the code was given by."""
    if appkey is None:
        raise AuthError(_("Weibo's token information names no app key, so the token cannot be confirmed "
                          "as this app's; nothing was stored"))
    if appkey != app_key:
        raise AuthError(_("the token was issued to app key {appkey}, not to {app_key}: check --app-key / "
                          "$OUTREACH_WEIBO_APP_KEY; nothing was stored").format(
            appkey=appkey, app_key=app_key))
    if grant_uid is not None and grant_uid != uid:
        raise AuthError(_("Weibo gave the token for user {grant_uid} but says it belongs to user {uid}; "
                          "nothing was stored").format(
            grant_uid=grant_uid, uid=uid))
    configured = account.options.get("uid")
    if configured is not None and str(configured).strip() != uid:
        raise ConfigError(f"accounts.{account.name}.uid: " + _(
            "set to {configured}, but the new token belongs to Weibo user {uid}; nothing was "
            "stored").format(configured=configured, uid=uid))


def _refusal(exc: RemoteError, account: str) -> AuthError | RemoteError:
    code = exc.code if isinstance(exc.code, int) else None
    why = _OAUTH_REFUSALS.get(code) if code is not None else None
    if why is None:
        return exc
    return AuthError(_("Weibo refused to authorise {account}: {why} (code {code})").format(
        account=account, why=why, code=code))
