"""`outreach demo`: the whole pipeline on the local platform, in simulated time.

A fresh workspace gets the starter config and library; the tips are approved
there by "demo" (in its audit log) and a starter poster is queued for the first
morning; then the real planner, publisher and collector run against an injected
clock through N simulated days, ending now (tips with posters go out with them).
Every figure comes from the local platform's simulated audience and says so.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.actions.posts import add_post
from outreach.actions.tips import approve_tips
from outreach.clients import client_class
from outreach.collect.counts import collect
from outreach.config.load import load_settings
from outreach.library.starter import write_starter
from outreach.publish.publisher import Publisher
from outreach.runtime import Runtime
from outreach.schedule.materialise import materialise
from outreach.states import PostStatus
from outreach.store.models import AccountMetric, Post, PostMedia, PostMetric

STEP = timedelta(minutes=30)


class SimClock:
    """A clock the demo moves forward by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


def run_demo(*, days: int = 30, directory: Path | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    workspace = directory or Path(tempfile.mkdtemp(prefix="outreach-demo-"))
    write_starter(workspace)
    settings = load_settings(workspace / "config.toml")
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    clock = SimClock(start)
    rt = Runtime(settings, clock=clock.now, durable=False)  # a simulated month
    try:
        return _run(rt, clock, workspace, days, start, end, progress)
    finally:
        rt.close()


def _run(rt: Runtime, clock: SimClock, workspace: Path, days: int, start: datetime,
         end: datetime, progress: Callable[[str], None] | None) -> dict[str, Any]:
    accounts = [a for a in rt.settings.accounts.values() if client_class(a.platform).simulated]
    names = [a.name for a in accounts]
    sync_accounts(rt)
    lib = rt.library
    approve_tips(rt, [t.id for t in lib.tips.values()
                      if t.id not in lib.broken_tips and any(a.lang == t.lang for a in accounts)],
                 by="demo")
    _queue_posters(rt, accounts, start)
    publisher = Publisher(rt, worker="demo")
    if progress:
        progress(f"demo: {len(accounts)} simulated account(s), {days} days, workspace {workspace}")
    t = start
    last_day = -1
    while t <= end:
        clock.current = t
        materialise(rt, t, accounts)
        publisher.run_due(t)
        collect(rt, accounts=accounts)
        day = (t - start).days
        if progress and day != last_day and day % 5 == 0 and day:
            progress(f"  day {day}/{days}")
        last_day = day
        with rt.db.reader() as s:
            nxt = s.execute(select(func.min(col(Post.not_before))).where(
                col(Post.status) == PostStatus.QUEUED, col(Post.account).in_(names),
                col(Post.not_before) > t)).scalar()
        step = t + STEP
        if nxt is not None and nxt < step:
            step = max(nxt, t + timedelta(minutes=1))
        t = step
    return _summary(rt, names, days, workspace)


def _queue_posters(rt: Runtime, accounts: list[Any], start: datetime) -> None:
    """An officer's post of a starter poster on the first morning, so even a short demo has
    a post with a picture (the slots draw the other posters' tips in their turn)."""
    lib = rt.library
    for acc in accounts:
        tip = next((t for t in sorted(lib.tips.values(), key=lambda t: t.id)
                    if t.lang == acc.lang and t.images and t.id not in lib.broken_tips), None)
        if tip is not None:
            add_post(rt, acc.name, tip=tip.id, text=None, by="demo",
                     at=(start + timedelta(hours=3)).isoformat())


def _summary(rt: Runtime, names: list[str], days: int, workspace: Path) -> dict[str, Any]:
    with rt.db.reader() as s:
        counts = dict(s.execute(select(col(Post.status), func.count()).where(
            col(Post.account).in_(names)).group_by(col(Post.status))).all())
        pictured = s.execute(select(func.count(func.distinct(col(PostMedia.post_id))))
                             .join(Post, col(Post.id) == col(PostMedia.post_id))
                             .where(col(Post.account).in_(names),
                                    col(Post.status) == PostStatus.PUBLISHED)).scalar() or 0
        last = (select(col(PostMetric.post_id), func.max(col(PostMetric.id)).label("mid"))
                .group_by(col(PostMetric.post_id)).subquery())
        latest = s.execute(select(col(Post.tip_id), col(Post.text), col(PostMetric.reposts),
                                  col(PostMetric.comments), col(PostMetric.likes))
                           .join(last, col(PostMetric.id) == last.c.mid)
                           .join(Post, col(Post.id) == col(PostMetric.post_id))
                           .where(col(Post.account).in_(names))).all()
        followers = s.execute(select(col(AccountMetric.account), col(AccountMetric.observed_at),
                                     col(AccountMetric.followers))
                              .where(col(AccountMetric.account).in_(names))
                              .order_by(col(AccountMetric.observed_at))).all()
    reposts = sum(r[2] or 0 for r in latest)
    comments = sum(r[3] or 0 for r in latest)
    likes = sum(r[4] or 0 for r in latest)
    first: dict[str, int] = {}
    final: dict[str, int] = {}
    for account, _at, n in followers:
        if n is None:
            continue
        first.setdefault(account, n)
        final[account] = n
    f_start, f_end = sum(first.values()), sum(final.values())
    published = counts.get(PostStatus.PUBLISHED, 0)
    top = sorted(latest, key=lambda r: (r[2] or 0), reverse=True)[:5]
    return {
        "simulated": True, "days": days, "workspace": str(workspace), "accounts": names,
        "published": published, "with_pictures": int(pictured),
        "reposts": reposts, "comments": comments, "likes": likes,
        "followers_start": f_start, "followers_end": f_end,
        "missed": counts.get(PostStatus.MISSED, 0), "failed": counts.get(PostStatus.FAILED, 0),
        "headline_zh": f"{days}天共发博文{published}篇，被转发{reposts}条次，网民评论{comments}条，"
                       f"粉丝增至{f_end}人（模拟数据）",
        "headline_en": f"In {days} days: {published} posts, reposted {reposts} times, "
                       f"{comments} comments from the public, followers now {f_end} (simulated).",
        "top": [{"tip_id": r[0], "text": r[1], "reposts": r[2], "comments": r[3]} for r in top],
    }
