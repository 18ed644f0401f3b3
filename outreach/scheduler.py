"""The daemon (`outreach run`): APScheduler 3.x is only the clock.

The database is the source of truth. Three jobs are rebuilt from config at start
with fixed ids: a tick every second (materialise slots, publish what is due,
write the heartbeat), a metrics sweep by post age, and a five-minute comments
sweep over posts younger than a week (where emergencies are found). What was
missed while the daemon was down is found from the rows, not from a job store.
SIGTERM and SIGINT let the post in flight finish (or release it for
reconciliation) and exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from outreach import notify, output
from outreach.collector import collect, collect_comments
from outreach.models import DaemonHeartbeat, Post
from outreach.planner import materialise
from outreach.publisher import Publisher
from outreach.queue import sync_accounts

log = logging.getLogger(__name__)

TICK_SECONDS = 1
MATERIALISE_EVERY = timedelta(seconds=60)
METRICS_EVERY_MINUTES = 5
COMMENTS_EVERY_MINUTES = 5


def stop_on_signals() -> threading.Event:
    """SIGTERM and SIGINT set the returned event (install it before any slow start-up work)."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s: finishing the post in flight", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run_daemon(rt: Any, *, once: bool = False, dry_run: bool = False,
               stop: threading.Event | None = None) -> int:
    if dry_run:
        return _dry_run(rt)
    sync_accounts(rt)
    from outreach.models import Account

    with rt.db.reader() as s:
        states = dict(s.execute(select(col(Account.name), col(Account.state))).all())
    for acc in rt.settings.accounts.values():
        if not rt.configured(acc):
            output.warn(f"account {acc.name} is unconfigured (no token): skipped")
        elif states.get(acc.name) == "needs_reauth":
            output.warn(f"account {acc.name} needs re-authorisation: its posts wait (run "
                        "`outreach accounts check` once the token is renewed)")
    problems = rt.library.errors
    if problems:
        output.warn(f"the library has {len(problems)} error(s); those tips are never drawn "
                    "(run `outreach content check`)")
    if once:
        return _once(rt)
    return Daemon(rt, stop=stop).serve()


def _once(rt: Any) -> int:
    now = rt.clock()
    materialise(rt, now)
    summary = Publisher(rt).run_due(now)
    metrics = collect(rt)
    comments = collect_comments(rt)
    notify.run_once(rt)
    parts = [f"{n} {k}" for k, n in sorted(summary.counts.items())] or ["nothing due"]
    output.message("run --once: " + ", ".join(parts)
                   + f"; metrics: {metrics.posts_checked} post(s) checked; "
                   f"{metrics.comments_stored + comments.comments_stored} new comment(s)")
    emergencies = metrics.emergencies + comments.emergencies
    if emergencies:
        output.error(f"{len(emergencies)} EMERGENCY comment(s): outreach opinions --class "
                     "emergency")
    for err in summary.errors:
        output.warn(err)
    return 0


def _dry_run(rt: Any) -> int:
    from outreach.preview import plan_rows

    now = rt.clock()
    with rt.db.reader() as s:
        due = s.execute(select(Post).where(
            col(Post.status).in_(("queued", "unconfirmed", "publishing")),
            col(Post.not_before) <= now,
        ).order_by(col(Post.not_before))).scalars().all()
    for p in due:
        verb = "would publish" if p.status == "queued" else "would reconcile"
        output.out.print(f"{verb} post {p.id} on {p.account}: "
                         f"{output.safe(output.shorten(p.text, 70))}")
    upcoming = [r for r in plan_rows(rt, days=1) if r["post_id"] is None]
    for r in upcoming:
        output.out.print(f"would draw {r['scheduled_at']} {r['account']}: "
                         f"{r['tip_id'] or r['reason']}")
    output.message(f"dry run: {len(due)} post(s) due, {len(upcoming)} slot(s) in the next 24 h "
                   "to materialise; nothing was changed")
    return 0


class Daemon:
    def __init__(self, rt: Any, *, stop: threading.Event | None = None) -> None:
        self.rt = rt
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self._signals_installed = stop is not None
        self.stopping = stop or threading.Event()
        self.publisher = Publisher(rt, worker=self.id, stop=self.stopping.is_set)
        self._last_materialise: datetime | None = None
        self._ticks = 0
        self._published = 0
        self._last_error: str | None = None

    def heartbeat(self, *, stopped: bool = False) -> None:
        now = self.rt.clock()
        with self.rt.db.session() as s:
            row = s.get(DaemonHeartbeat, self.id)
            if row is None:
                s.add(DaemonHeartbeat(id=self.id, host=socket.gethostname(), pid=os.getpid(),
                                      started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now
                row.last_tick_error = self._last_error
                row.stopped_at = now if stopped else None
            s.commit()

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        now = self.rt.clock()
        try:
            if self._last_materialise is None or now - self._last_materialise >= MATERIALISE_EVERY:
                materialise(self.rt, now)
                self._last_materialise = now
            summary = self.publisher.run_due(now)
            self._published += summary.counts.get("published", 0)
            for outcome, n in summary.counts.items():
                log.info("tick: %s %s", n, outcome)
            self._last_error = None
        except Exception as exc:  # the daemon never stops on one bad tick
            log.exception("tick failed")
            self._last_error = f"{type(exc).__name__}: {exc}"[:500]
        self._ticks += 1
        try:
            self.heartbeat()
        except Exception:
            log.exception("heartbeat failed")

    def metrics(self) -> None:
        if self.stopping.is_set():
            return
        try:
            summary = collect(self.rt)
            if summary.posts_checked:
                log.info("metrics: %s post(s) checked, %s changed", summary.posts_checked,
                         summary.post_rows)
        except Exception:
            log.exception("metrics sweep failed")

    def comments(self) -> None:
        if self.stopping.is_set():
            return
        try:
            summary = collect_comments(self.rt)
            if summary.comments_stored:
                log.info("comments: %s new, %s emergency", summary.comments_stored,
                         len(summary.emergencies))
        except Exception:
            log.exception("comments sweep failed")

    def serve(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        logging.getLogger("outreach").setLevel(logging.INFO)
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.heartbeat()
        scheduler = BackgroundScheduler(timezone="UTC",
                                        executors={"default": ThreadPoolExecutor(2)},
                                        job_defaults={"coalesce": True, "max_instances": 1,
                                                      "misfire_grace_time": 30})
        scheduler.add_job(self.tick, "interval", seconds=TICK_SECONDS, id="tick",
                          replace_existing=True, next_run_time=datetime.now().astimezone())
        scheduler.add_job(self.metrics, "interval", minutes=METRICS_EVERY_MINUTES, id="metrics",
                          replace_existing=True)
        scheduler.add_job(self.comments, "interval", minutes=COMMENTS_EVERY_MINUTES,
                          id="comments", replace_existing=True)
        scheduler.add_job(notify.daemon_job(self.rt, self.id, lambda: self.stopping.is_set()),
                          "interval", seconds=notify.EVERY_SECONDS, id="notify",
                          replace_existing=True)
        if not self._signals_installed:  # the caller did not: do it now
            self.stopping = stop_on_signals()
            self.publisher.stop = self.stopping.is_set
        done = self.stopping
        if done.is_set():  # asked to stop while starting: nothing was claimed
            self.heartbeat(stopped=True)
            return 0
        scheduler.start()
        log.info("daemon %s started: %s account(s)", self.id, len(self.rt.settings.accounts))
        live = self._live() if sys.stdout.isatty() else None
        try:
            while not done.wait(1.0):
                if live is not None:
                    live.update(self._status_text())
        finally:
            if live is not None:
                live.stop()
            scheduler.shutdown(wait=True)
            released = self.publisher.release_all()
            if released:
                log.info("released %s claim(s) for reconciliation", released)
            self.heartbeat(stopped=True)
            log.info("daemon %s stopped", self.id)
        return 0

    def _live(self) -> Any:
        from rich.live import Live

        live = Live(self._status_text(), console=output.out, refresh_per_second=1,
                    transient=True)
        live.start()
        return live

    def _status_text(self) -> str:
        with self.rt.db.reader() as s:
            nxt = s.execute(select(col(Post.scheduled_at), col(Post.account)).where(
                col(Post.status) == "queued").order_by(col(Post.not_before)).limit(1)).first()
        when = (f"next: {output.local(nxt[0], self.rt.settings.account(nxt[1]).timezone)} "
                f"on {nxt[1]}") if nxt else "nothing queued"
        err = f"  [red]last error: {output.safe(self._last_error)}[/]" if self._last_error else ""
        return (f"[bold]outreach run[/] {self.id}  ticks {self._ticks}  published "
                f"{self._published}  {when}{err}")


