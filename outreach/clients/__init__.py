"""The explicit registry of microblog clients.

No directory scans, no string imports: a platform exists when it is listed here.
"""

from __future__ import annotations

from outreach.clients.base import Clock, MicroblogClient
from outreach.clients.local import LocalClient
from outreach.clients.mastodon.client import MastodonClient
from outreach.clients.weibo.client import WeiboClient
from outreach.errors import ConfigError
from outreach.i18n import _
from outreach.times import utcnow

CLIENTS: dict[str, type[MicroblogClient]] = {
    LocalClient.platform: LocalClient,
    MastodonClient.platform: MastodonClient,
    WeiboClient.platform: WeiboClient,
}


def known_platforms() -> list[str]:
    return sorted(CLIENTS)


def client_class(platform: str) -> type[MicroblogClient]:
    """The client class for a platform name; unknown names fail with the known ones."""
    try:
        return CLIENTS[platform]
    except KeyError:
        raise ConfigError(
            _("unknown platform {platform!r} (known: {value})").format(
                platform=platform, value=', '.join(known_platforms()))
        ) from None


__all__ = ["CLIENTS", "Clock", "MicroblogClient", "client_class", "known_platforms", "utcnow"]
