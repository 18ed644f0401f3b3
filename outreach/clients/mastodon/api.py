"""One Mastodon account's requests: the bearer token, the rate-limit buckets, and every
failure translated in one place.

Rate limits are remembered per bucket (posting has its own budget) from the
``X-RateLimit-*`` headers, whose reset is ISO 8601 on Mastodon and epoch seconds on some
other servers; an exhausted bucket refuses locally, without a request, until its reset.
A failure without an answer is translated by ``outreach.clients.http``, an answer by
``outreach.clients.mastodon.errors``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from outreach.clients.base import Clock, as_int, exchange, scrub
from outreach.clients.mastodon.errors import answer_error, unreadable
from outreach.clients.mastodon.parse import Unreadable, error_text, loads, parse_reset
from outreach.config.secrets import Secret
from outreach.errors import AuthError, ClientError, ConfigError, OutreachError, RateLimited
from outreach.i18n import _

if TYPE_CHECKING:
    import httpx

    from outreach.config.settings import AccountSettings

log = logging.getLogger(__name__)

STATUSES = "/api/v1/statuses"
MAX_BODY_BYTES = 32 * 1024 * 1024  # a larger answer is not one Mastodon would send
# posting and uploading have budgets of their own (Mastodon: 300 statuses, 30 uploads)
_BUCKETS = {("POST", STATUSES): "statuses_post", ("POST", "/api/v2/media"): "media"}


@dataclass
class Bucket:
    remaining: int | None = None
    reset: datetime | None = None


class Api:
    """Requests for one account on one instance (``account.api_base``)."""

    def __init__(self, account: AccountSettings, http: httpx.Client, clock: Clock) -> None:
        self._account = account
        self._http = http
        self._clock = clock
        self.buckets: dict[str, Bucket] = {}
        self._secret: Secret | None = None  # the last token sent, only to scrub messages
        self.account_name = account.name

    def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        expect: type = dict,
        auth: bool = True,
    ) -> Any:
        body = self.call_json("GET", path, params=params, auth=auth)
        if not isinstance(body, expect):
            raise self.unreadable("GET", path, f"expected a JSON {expect.__name__}", write=False)
        return body

    def call_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        auth: bool = True,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """One request; the parsed JSON answer of a 2xx, else the translated error.
        ``payload`` is sent as JSON; ``files`` and ``data`` as multipart/form-data."""
        base = self._account.api_base
        if not base:
            raise ConfigError(
                f"accounts.{self._account.name}.api_base: "
                + _("required for Mastodon (the instance URL, e.g. https://mastodon.social)")
            )
        bucket = _BUCKETS.get((method, path), "default")
        state = self.buckets.get(bucket)
        now = self._clock()
        if state and state.remaining is not None and state.remaining <= 0 and state.reset:
            if state.reset > now:
                raise RateLimited(
                    _("mastodon {method} {path}: the {bucket} rate limit is used up until {value}").format(
                        method=method, path=path, bucket=bucket,
                        value=state.reset.isoformat()), retry_at=state.reset,
                )
        sent = {"Accept": "application/json", **(headers or {})}
        if auth:
            sent["Authorization"] = f"Bearer {self._token()}"
        what = f"mastodon {method} {path}"
        limit = MAX_BODY_BYTES
        resp, body = exchange(self._http, method, base.rstrip("/") + path, max_bytes=limit,
                              what=what, write=write,
                              url_key=f"accounts.{self._account.name}.api_base",
                              params=params, json=payload, files=files, data=data,
                              headers=sent)
        status = resp.status_code
        self._remember_limits(bucket, resp.headers)
        if body is None:
            raise self.unreadable(method, path, f"the answer is larger than {limit} bytes",
                                  write=write)
        log.debug("mastodon %s: %s %s -> %s", self._account.name, method, path, status)
        if not 200 <= status < 300:
            error = answer_error(what, status, self.scrub(error_text(body)), resp.headers,
                                 self._clock(), write=write)
            if isinstance(error, RateLimited):
                self.buckets[bucket] = Bucket(remaining=0, reset=error.retry_at)
            raise error
        try:
            return loads(body)
        except Unreadable as exc:
            raise self.unreadable(method, path, str(exc), write=write) from None

    def unreadable(self, method: str, path: str, reason: str, *, write: bool) -> ClientError:
        """A success we cannot use (no id, wrong shape, not JSON, too large)."""
        return unreadable(f"mastodon {method} {path}", self.scrub(reason), write=write)

    def has_token(self) -> bool:
        try:
            return self._account.token() is not None
        except OutreachError:  # a token file others can read: refused elsewhere, loudly
            return False

    def _token(self) -> str:
        secret = self._account.token()
        if secret is None:
            hint = (f"set the environment variable {self._account.token_env}"
                    if self._account.token_env
                    else f"set accounts.{self._account.name}.token_env")
            raise AuthError(
                _("no access token for Mastodon account {name!r}: {hint} (or store one in "
                  "{token_file})").format(
                    name=self._account.name, hint=hint, token_file=self._account.token_file)
            )
        token = secret.reveal()
        if not token.isascii() or not token.isprintable():
            raise AuthError(_("the access token of Mastodon account {name!r} contains characters a token "
                              "cannot have").format(
                name=self._account.name))
        self._secret = secret
        return token

    def _remember_limits(self, bucket: str, headers: httpx.Headers) -> None:
        remaining = as_int(headers.get("X-RateLimit-Remaining"))
        reset = parse_reset(headers.get("X-RateLimit-Reset"))
        if remaining is not None or reset is not None:
            self.buckets[bucket] = Bucket(remaining=remaining, reset=reset)

    def scrub(self, text: str) -> str:
        return scrub(text, (self._secret,))
