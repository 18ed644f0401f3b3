"""Weibo's endpoints, and one call to them.

The token travels only in the ``Authorization: OAuth2 …`` header (the OAuth2 endpoints
also take it as a form field), never in a URL, and no message, log line or repr shows it.
The answer is read by ``outreach.clients.weibo.errors.raise_for``; a failure without an
answer by ``outreach.clients.http.transport_error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from outreach.clients.base import exchange
from outreach.clients.weibo.errors import raise_for
from outreach.config.secrets import Secret

if TYPE_CHECKING:
    import httpx

API_BASE = "https://api.weibo.com"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a page of 100 statuses with users is well under 1 MB

SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
COUNT = "/2/statuses/count.json"
SHOW = "/2/statuses/show.json"
TIMELINE = "/2/statuses/user_timeline.json"
COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_CREATE = "/2/comments/create.json"
COMMENTS_REPLY = "/2/comments/reply.json"
USERS_SHOW = "/2/users/show.json"
RATE_LIMIT_STATUS = "/2/account/rate_limit_status.json"
TOKEN_INFO = "/oauth2/get_token_info"
ACCESS_TOKEN = "/oauth2/access_token"
AUTHORIZE = "/oauth2/authorize"


def call(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    write: bool,
    retry_at: datetime,
    url_key: str,
    token: Secret | None = None,
    params: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    hide: tuple[str, ...] = (),
    token_in_body: bool = False,
) -> Any:
    """One call to Weibo: its JSON body, or the ClientError that says what went wrong.

    The token goes in the ``Authorization`` header; the OAuth2 endpoints document it as an
    ``access_token`` form field, so those calls (``token_in_body``) carry it there as well.
    Never in the URL. ``files`` (a picture) makes the request multipart. ``url_key`` is
    the setting that holds the base URL (an unusable URL is a ConfigError naming it)."""
    headers = {"Authorization": f"OAuth2 {token.reveal()}"} if token is not None else None
    if token_in_body and token is not None:
        data = {**(data or {}), "access_token": token.reveal()}
    secrets = (*hide, token.reveal()) if token is not None else hide
    path = urlsplit(url).path
    # the body is None when it is larger than any answer Weibo gives
    response, raw = exchange(http, method, url, max_bytes=MAX_BODY_BYTES, params=params,
                             data=data, files=files, headers=headers,
                             what=f"Weibo {method} {path}",
                             write=write, url_key=url_key)
    return raise_for(response, raw, write=write, retry_at=retry_at, hide=secrets)
