"""`outreach auth weibo`: authorise an account on its platform (the token stays in a 0600
file in the data folder, never in config.toml)."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import typer

from outreach.actions.auth import complete_weibo_auth, weibo_authorize_url
from outreach.actions.health import TOKEN_WARNING
from outreach.cli import output
from outreach.cli.common import ByOpt, fail, runtime, who
from outreach.cli.lazy import sub_app
from outreach.config.secrets import Secret
from outreach.i18n import _
from outreach.runtime import Runtime

app = sub_app("auth", no_args_is_help=True)

APP_SECRET_ENV = "OUTREACH_WEIBO_APP_SECRET"


@app.command("weibo")
def auth_weibo(
    account: Annotated[str, typer.Option("--account", "-a", help="The Weibo account to authorise.")],
    app_key: Annotated[str | None, typer.Option(
        "--app-key", envvar="OUTREACH_WEIBO_APP_KEY",
        help="The app's App Key (default: $OUTREACH_WEIBO_APP_KEY). The App Secret is read "
             "from $OUTREACH_WEIBO_APP_SECRET only, never from the command line.")] = None,
    redirect_uri: Annotated[str, typer.Option(
        "--redirect-uri", envvar="OUTREACH_WEIBO_REDIRECT_URI",
        help="The app's registered callback (default: $OUTREACH_WEIBO_REDIRECT_URI, else "
             "Weibo's own page).")] = "https://api.weibo.com/oauth2/default.html",
    code: Annotated[str | None, typer.Option(
        "--code", help="The code, or the whole address Weibo redirected to (default: print the "
                       "authorisation page and ask for it).")] = None,
    by: ByOpt = None,
) -> None:
    """OAuth2 for a Weibo account: stores the token in a 0600 file in the data folder."""
    actor = who(by)
    app_secret = os.environ.get(APP_SECRET_ENV, "").strip()
    if not app_secret:
        fail(_("set ${env} to the app's App Secret (it is never taken from the command line, "
               "where `ps` would show it)").format(env=APP_SECRET_ENV))
    rt = runtime()
    if code is None:
        code = _ask_for_code(rt, account, app_key or "", redirect_uri)
    result = complete_weibo_auth(rt, account, app_key=app_key or "",
                                 app_secret=Secret(app_secret), redirect_uri=redirect_uri,
                                 code_or_url=code, by=actor)
    zone = rt.settings.account(result.account).timezone
    expires = (output.local(result.expires_at, zone) if result.expires_at is not None
               else _("at an unknown time"))
    output.message(_("authorised {account} as Weibo user {uid}; the token is in {file} "
                     "(mode 0600) and expires {expires}").format(
        account=result.account, uid=result.uid, file=result.token_file, expires=expires))
    if result.env_overrides:
        env = rt.settings.account(result.account).token_env
        output.warn(_("${env} is set and wins over the stored token: unset it to use the new "
                      "one").format(env=env))
    if result.expires_at is not None and result.expires_at - rt.clock() < TOKEN_WARNING:
        output.warn(_("the token expires within 3 days: Weibo gives this app short-lived "
                      "tokens; authorise again before then"))


def _ask_for_code(rt: Runtime, account: str, app_key: str, redirect_uri: str) -> str:
    """Print the authorisation page and read back the address (or code) Weibo gave."""
    state = secrets.token_urlsafe(12)
    url = weibo_authorize_url(rt, account, app_key=app_key, redirect_uri=redirect_uri,
                              state=state)
    output.message(_("Open this page logged in to Weibo as the user {account} posts as, "
                     "and allow access:").format(account=account))
    output.err.print(f"\n  {output.safe(url)}\n", soft_wrap=True)  # one line: copyable
    output.err.print(output.safe(_("Paste the address Weibo sent you to (or just the code): ")),
                     end="")
    code = sys.stdin.readline().strip()
    if not code:
        fail(_("no code given; nothing was changed"))
    pasted_state = parse_qs(urlsplit(code).query).get("state") if "?" in code else None
    if pasted_state and pasted_state[0] != state:
        fail(_("that address belongs to another authorisation attempt (its state does not "
               "match); open the page above again"))
    return code
