"""A picture on Weibo: ``statuses/share`` takes one, as the ``pic`` part of a
multipart/form-data request (a share without one stays form-encoded): JPEG, GIF or PNG,
under 5 MB (``reference/weibo-api.md``; 20006 "Image size too large" otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outreach.clients.base import Attachment
from outreach.errors import ContentRejected
from outreach.i18n import _
from outreach.media.limits import MediaLimits

WEIBO_MEDIA = MediaLimits(max_count=1, max_bytes=5 * 1024 * 1024 - 1, max_pixels=None,
                          mimes=frozenset({"image/jpeg", "image/gif", "image/png"}))
"""statuses/share: one ``pic`` part, JPEG/GIF/PNG, under 5 MB (weibo-api.md)."""

_EXTENSION = {"image/jpeg": "jpg", "image/gif": "gif", "image/png": "png"}


def pic_part(media: Sequence[Attachment]) -> dict[str, Any] | None:
    """The ``files`` of a share: None without a picture (the request stays form-encoded),
    else the one ``pic`` part; what Weibo would refuse is refused before sending."""
    if not media:
        return None
    if len(media) > WEIBO_MEDIA.max_count:
        raise ContentRejected(_("Weibo's statuses/share takes one picture, not {media}").format(
            media=len(media)))
    pic = media[0]
    if not WEIBO_MEDIA.allows(pic.mime):
        raise ContentRejected(_("Weibo's statuses/share takes JPEG, GIF or PNG, not {mime}").format(
            mime=pic.mime))
    if len(pic.data) > WEIBO_MEDIA.max_bytes:
        raise ContentRejected(_("the picture is {data} bytes; Weibo's statuses/share takes less than 5 "
                                "MB").format(
            data=len(pic.data)))
    return {"pic": (f"pic.{_EXTENSION[pic.mime]}", pic.data, pic.mime)}
