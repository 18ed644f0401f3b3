"""How `queue show` prints a post's pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.cli import output
from outreach.cli.output import PlainTable as Table
from outreach.i18n import N_, _

if TYPE_CHECKING:
    from outreach.actions.queries.posts import PostDetail


def print_post_media(d: PostDetail) -> None:
    if not d["media"]:
        return
    t = Table(title=_("pictures"), header_style="bold")
    for i, name in enumerate(("#", _(N_("type")), _(N_("size")), _(N_("pixels")),
                              _(N_("alt text")))):
        t.add_column(name, overflow="fold" if i == 4 else "ellipsis", no_wrap=i != 4)
    for m in d["media"]:
        t.add_row(str(m["position"] + 1), m["mime"].removeprefix("image/").upper(),
                  _size(m["size"]), f"{m['width']}×{m['height']}", output.plain(m["alt"]))
    output.out.print(t)


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"
