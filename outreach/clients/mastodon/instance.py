"""What one Mastodon instance accepts, read once from ``GET /api/v2/instance``.

``configuration.statuses`` gives the length rule (``max_characters``,
``characters_reserved_per_url``) and how many pictures a status takes
(``max_media_attachments``); ``configuration.media_attachments`` the pictures' limits
(``image_size_limit`` bytes, ``image_matrix_limit`` pixels, ``supported_mime_types``).
Whatever the instance does not say keeps Mastodon's defaults. A definite answer (even an
unusable one) is kept for the client's life; after a failure that may pass (no
connection, rate limit, 5xx) the instance is asked again ``RETRY`` later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach.clients.base import Clock, as_int
from outreach.clients.mastodon.parse import Unreadable
from outreach.errors import OutreachError, RateLimited, TransientError
from outreach.i18n import _
from outreach.media.limits import MIME_BY_FORMAT, MediaLimits

if TYPE_CHECKING:
    from outreach.clients.mastodon.api import Api
    from outreach.config.settings import AccountSettings

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_WEIGHT = 23
RETRY = timedelta(minutes=10)  # ask /api/v2/instance again after a passing failure

MASTODON_DEFAULT_MEDIA = MediaLimits(
    max_count=4, max_bytes=16 * 1024 * 1024, max_pixels=8_294_400,
    mimes=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}))
"""Mastodon's defaults (4 attachments, 16 MB, 3840×2160 pixels), used when the instance
does not say its own in ``/api/v2/instance`` ``configuration.media_attachments``."""

_PICTURE_MIMES = frozenset(MIME_BY_FORMAT.values())


@dataclass(frozen=True)
class InstanceLimits:
    max_characters: int = DEFAULT_MAX_CHARACTERS
    url_weight: int = DEFAULT_URL_WEIGHT
    media: MediaLimits = MASTODON_DEFAULT_MEDIA


def _positive(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number > 0 else None


def limits_of(body: Any) -> InstanceLimits:
    """The limits an ``/api/v2/instance`` answer states, defaults for the rest."""
    config = body.get("configuration") if isinstance(body, dict) else None
    statuses = config.get("statuses") if isinstance(config, dict) else None
    if not isinstance(statuses, dict):
        raise Unreadable(_("no configuration.statuses object"))
    limits = InstanceLimits()
    if (max_chars := _positive(statuses.get("max_characters"))) is not None:
        limits = replace(limits, max_characters=max_chars)
    weight = as_int(statuses.get("characters_reserved_per_url"))
    if weight is not None and weight >= 0:
        limits = replace(limits, url_weight=weight)
    media = limits.media
    if (count := _positive(statuses.get("max_media_attachments"))) is not None:
        media = replace(media, max_count=count)
    attachments = config.get("media_attachments") if isinstance(config, dict) else None
    if isinstance(attachments, dict):
        if (size := _positive(attachments.get("image_size_limit"))) is not None:
            media = replace(media, max_bytes=size)
        if (matrix := _positive(attachments.get("image_matrix_limit"))) is not None:
            media = replace(media, max_pixels=matrix)
        mimes = attachments.get("supported_mime_types")
        if isinstance(mimes, list):  # the pictures among them (it lists video and audio too)
            media = replace(media, mimes=frozenset(
                m for m in mimes if isinstance(m, str) and m in _PICTURE_MIMES))
    return replace(limits, media=media)


class Instance:
    """The instance's limits for one client: asked once, then cached."""

    def __init__(self, account: AccountSettings, api: Api, clock: Clock) -> None:
        self._account = account
        self._api = api
        self._clock = clock
        self._limits: InstanceLimits | None = None
        self._retry: datetime | None = None  # when to ask again after a failure

    def limits(self) -> InstanceLimits:
        """The instance's limits; the defaults while they cannot be read."""
        now = self._clock()
        if self._limits is not None and (self._retry is None or now < self._retry):
            return self._limits
        limits = InstanceLimits()
        self._retry = None
        if self._account.api_base and self._api.has_token():  # unconfigured: never contacted
            try:
                limits = limits_of(self._api.get_json("/api/v2/instance", auth=False))
            except (OutreachError, Unreadable) as exc:
                if isinstance(exc, TransientError | RateLimited):
                    self._retry = now + RETRY
                log.warning("mastodon %s: instance limits unavailable (%s); using Mastodon's "
                            "defaults", self._account.name, exc)
        self._limits = limits
        return limits
