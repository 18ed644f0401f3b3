"""The daemon (`outreach run`): APScheduler 3.x is only the clock.

The database is the source of truth. Three jobs are rebuilt from config at start
with fixed ids: a tick every second (materialise slots, hand each account's due
posts to that account's publishing lane, write the heartbeat), a metrics sweep
by post age, and a five-minute comments sweep over posts younger than a week
(where emergencies are found). What was missed while the daemon was down is
found from the rows, not from a job store.

Who waits for whom: the tick only hands work over, so the heartbeat never waits.
Each account publishes in its own lane (a queue of its own, run by a pool of
``LANE_THREADS`` threads that end when nothing is due), so one account's slow
platform never delays another account's post unless that many are slow at once; the
sweeps run one after the other on their own worker and never hold up a lane. Every
platform request ends by ``[outreach] request_deadline_seconds``.

At rest the tick costs the same whatever the number of accounts: one read for the
accounts with something due and the heartbeat. Slots are materialised for an account
only when its next slot enters the ``materialise_hours`` horizon (and every account
hourly, in case another process changed its rows).

SIGTERM and SIGINT end the daemon within seconds whatever a request is doing:
requests in flight are cancelled (an interrupted publish is left ``unconfirmed``
and reconciled by the next start), the lanes get a short grace, every claim
still held is released, and the daemon exits 0.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import or_, select
from sqlmodel import col

from outreach.actions.accounts import sync_accounts
from outreach.actions.health import held_posts
from outreach.collect.alerts import deliver_alerts
from outreach.collect.counts import CollectSummary, collect, collect_comments
from outreach.errors import ConfigError
from outreach.notify import sender, watchdog
from outreach.publish.publisher import Publisher, RunSummary
from outreach.schedule.materialise import materialise
from outreach.schedule.plan import plan_rows
from outreach.schedule.planner import slot_times
from outreach.states import AccountState, PostKind, PostStatus
from outreach.store.models import Account, DaemonHeartbeat, Post
from outreach.workers import Lanes, Worker, limit_malloc_arenas

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 1
MATERIALISE_EVERY = timedelta(seconds=60)  # how often the accounts due for it are materialised
MATERIALISE_ALL_EVERY = timedelta(hours=1)  # and every account, whatever its next slot
LANE_THREADS = 16  # accounts publishing at the same instant
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


def preflight(rt: Runtime) -> list[str]:
    """Before the daemon starts: the accounts synced, and warnings for what will not run
    (an unconfigured account, one that needs re-authorisation, library errors)."""
    sync_accounts(rt)
    with rt.db.reader() as s:
        states = dict(s.execute(select(col(Account.name), col(Account.state))).all())
    warnings = []
    for acc in rt.settings.accounts.values():
        try:
            configured = rt.configured(acc)
        except ConfigError as exc:  # one account's broken token file stops only that account
            warnings.append(f"account {acc.name} is unconfigured ({exc.message}): skipped")
            continue
        if not configured:
            warnings.append(f"account {acc.name} is unconfigured (no token): skipped")
        elif states.get(acc.name) == AccountState.NEEDS_REAUTH:
            warnings.append(f"account {acc.name} needs re-authorisation: its posts wait (run "
                            "`outreach accounts check` once the token is renewed)")
    problems = rt.library.errors
    if problems:
        warnings.append(f"the library has {len(problems)} error(s); those tips are never drawn "
                        "(run `outreach content check`)")
    return warnings


@dataclass
class OnceResult:
    """What one ``run --once`` did."""

    summary: RunSummary
    metrics: CollectSummary
    comments: CollectSummary
    held: dict[str, int]  # due posts waiting, by reason

    @property
    def emergencies(self) -> list[Any]:
        return [*self.metrics.emergencies, *self.comments.emergencies]


def run_once(rt: Runtime) -> OnceResult:
    """Everything due now, once: materialise, publish, collect, alert, notify."""
    now = rt.clock()
    materialise(rt, now)
    summary = Publisher(rt).run_due(now)
    metrics = collect(rt)
    comments = collect_comments(rt)
    deliver_alerts(rt)
    watchdog.run_once(rt)
    return OnceResult(summary, metrics, comments, held_posts(rt, rt.clock()))


@dataclass
class DryRun:
    """What ``run --dry-run`` would do: the posts due and the slots about to be drawn."""

    due: list[Post]
    upcoming: list[dict[str, Any]]
    hours: int


def dry_run(rt: Runtime) -> DryRun:
    now = rt.clock()
    with rt.db.reader() as s:
        due = list(s.execute(select(Post).where(
            col(Post.status).in_((PostStatus.QUEUED, PostStatus.UNCONFIRMED, PostStatus.PUBLISHING)),
            col(Post.not_before) <= now,
        ).order_by(col(Post.not_before))).scalars().all())
    hours = rt.settings.policy.materialise_hours
    upcoming = [r for r in plan_rows(rt, days=1, ahead=timedelta(hours=hours))
                if r["post_id"] is None]
    return DryRun(due, upcoming, hours)


@dataclass(frozen=True)
class DaemonStatus:
    """The running daemon as its terminal line shows it."""

    id: str
    ticks: int
    published: int
    next_post: tuple[datetime, str] | None  # (scheduled at, account)
    last_error: str | None


STOP_GRACE = 5.0  # seconds the lanes get to record what their cancelled calls did


class Daemon:
    def __init__(self, rt: Runtime, *, stop: threading.Event | None = None,
                 on_second: Callable[[Daemon], None] | None = None) -> None:
        self.rt = rt
        self.on_second = on_second  # called once a second while serving (a status display)
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self._signals_installed = stop is not None
        self.stopping = stop or threading.Event()
        self.publisher = Publisher(rt, worker=self.id, stop=self.stopping.is_set)
        self.lanes = Lanes("publish", LANE_THREADS)
        self._publishers: dict[str, Publisher] = {}
        self._next_materialise: dict[str, datetime] = {}  # account → when its next slot is due
        self._materialised_all: datetime | None = None
        self.sweeps = Worker("sweeps")
        self.alerts = Worker("alerts")  # a slow alert_command holds up no sweep and no lane
        self._last_materialise: datetime | None = None
        self._ticks = 0
        self._published = 0
        self._last_error: str | None = None
        self._lane_errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def heartbeat(self, *, stopped: bool = False) -> None:
        now = self.rt.clock()
        with self._lock:
            error = self._last_error or next(iter(self._lane_errors.values()), None)
        with self.rt.db.session() as s:
            row = s.get(DaemonHeartbeat, self.id)
            if row is None:
                s.add(DaemonHeartbeat(id=self.id, host=socket.gethostname(), pid=os.getpid(),
                                      started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now
                row.last_tick_error = error
                row.stopped_at = now if stopped else None
            s.commit()

    def _lane(self, account: str) -> Publisher:
        publisher = self._publishers.get(account)
        if publisher is None:
            view = self.rt.for_accounts([account])
            publisher = Publisher(view, worker=self.id, stop=self.stopping.is_set)
            publisher.keeper = self.publisher.keeper  # one thread renews every lane's leases
            self._publishers[account] = publisher
        return publisher

    def materialise(self, now: datetime) -> int:
        """Materialise the accounts whose next slot has entered the horizon (every account
        on the first call and hourly); note when each one is due next."""
        settings = self.rt.settings
        everyone = (self._materialised_all is None
                    or now - self._materialised_all >= MATERIALISE_ALL_EVERY)
        accounts = [acc for acc in settings.accounts.values()
                    if everyone or self._next_materialise.get(acc.name, now) <= now]
        if not accounts:
            return 0
        inserted = materialise(self.rt, now, accounts)
        if everyone:
            self._materialised_all = now
        ahead = timedelta(hours=settings.policy.materialise_hours)
        horizon = now + ahead
        for acc in accounts:  # the first slot past the horizon, or look again in a day
            nxt = slot_times(acc, settings.policy, horizon, horizon + timedelta(days=1))
            self._next_materialise[acc.name] = (nxt[0].at - ahead if nxt
                                                else now + timedelta(days=1))
        return inserted

    def tick(self) -> None:
        """Materialise now and then, hand every account's due posts to its lane, beat.
        Nothing here waits for a platform."""
        if self.stopping.is_set():
            return
        now = self.rt.clock()
        try:
            if self._last_materialise is None or now - self._last_materialise >= MATERIALISE_EVERY:
                self.materialise(now)
                self._last_materialise = now
            for account in self._due_accounts(now):
                publisher = self._lane(account)
                self.lanes.submit(account, "publish",
                                  functools.partial(self._publish, account, publisher))
            self._last_error = None
        except Exception as exc:  # the daemon never stops on one bad tick
            log.exception("tick failed")
            self._last_error = f"{type(exc).__name__}: {exc}"[:500]
        self._ticks += 1
        try:
            self.heartbeat()
        except Exception:
            log.exception("heartbeat failed")

    def _due_accounts(self, now: datetime) -> list[str]:
        """The accounts with something for their lane now: a post due, a claim whose lease
        ran out, or a held slot now too late to publish (one read; an idle daemon stays
        idle)."""
        late = now - timedelta(minutes=self.rt.settings.policy.catch_up_minutes)
        with self.rt.db.reader() as s:
            names = set(s.execute(select(col(Post.account)).where(or_(
                (col(Post.status) == PostStatus.QUEUED) & (col(Post.not_before) <= now),
                (col(Post.status) == PostStatus.QUEUED) & (col(Post.kind) == PostKind.SLOT)
                & (col(Post.scheduled_at) < late),
                col(Post.status).in_((PostStatus.PUBLISHING, PostStatus.UNCONFIRMED))
                & or_(col(Post.lease_until).is_(None), col(Post.lease_until) < now),
            )).distinct()).scalars())
        return [a for a in self.rt.settings.accounts if a in names]

    def _publish(self, account: str, publisher: Publisher) -> None:
        """One pass of one account's lane: everything of it that is due now."""
        if self.stopping.is_set():
            return
        try:
            summary = publisher.run_due(self.rt.clock())
        except Exception as exc:
            log.exception("publishing on %s failed", account)
            with self._lock:
                self._lane_errors[account] = f"{account}: {type(exc).__name__}: {exc}"[:500]
            return
        with self._lock:
            self._lane_errors.pop(account, None)
            self._published += summary.counts.get(PostStatus.PUBLISHED, 0)
        for outcome, n in summary.counts.items():
            log.info("%s: %s %s", account, n, outcome)

    def metrics(self) -> None:
        if self.stopping.is_set():
            return
        try:
            summary = collect(self.rt)
            self.alerts.submit("alerts", self.deliver_alerts)
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
            self.alerts.submit("alerts", self.deliver_alerts)
            if summary.comments_stored:
                log.info("comments: %s new, %s emergency", summary.comments_stored,
                         len(summary.emergencies))
        except Exception:
            log.exception("comments sweep failed")

    def deliver_alerts(self) -> None:
        """The emergency alerts the sweeps left owed, oldest first, each once."""
        if self.stopping.is_set():
            return
        try:
            deliver_alerts(self.rt)
        except Exception:
            log.exception("alert delivery failed")

    def serve(self) -> int:
        logging.getLogger("outreach").setLevel(logging.INFO)
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        limit_malloc_arenas()  # before any lane, sweep or scheduler thread allocates
        self.heartbeat()
        # The jobs only hand work to the lanes and the sweep worker, each on its own thread,
        # so the tick is never queued behind a sweep.
        scheduler = BackgroundScheduler(timezone="UTC",
                                        executors={"default": ThreadPoolExecutor(1),
                                                   "tick": ThreadPoolExecutor(1)},
                                        job_defaults={"coalesce": True, "max_instances": 1,
                                                      "misfire_grace_time": 30})
        start = datetime.now().astimezone()
        scheduler.add_job(self.tick, "interval", seconds=TICK_SECONDS, id="tick",
                          executor="tick", replace_existing=True, next_run_time=start)
        scheduler.add_job(self.sweeps.submit, "interval", args=("metrics", self.metrics),
                          minutes=METRICS_EVERY_MINUTES, id="metrics", replace_existing=True)
        scheduler.add_job(self.sweeps.submit, "interval", args=("comments", self.comments),
                          minutes=COMMENTS_EVERY_MINUTES, id="comments", replace_existing=True)
        # Alerts are handed to their own worker after each sweep (see ``metrics``), and the
        # notification outbox is sent from the same worker, so a slow alert or target holds
        # up neither a sweep nor a lane; the stop closes it with the others.
        scheduler.add_job(self.alerts.submit, "interval",
                          args=("notify", watchdog.daemon_job(
                              self.rt, self.id, lambda: self.stopping.is_set())),
                          seconds=sender.EVERY_SECONDS, id="notify", replace_existing=True)
        if not self._signals_installed:  # the caller did not: do it now
            self.stopping = stop_on_signals()
            self.publisher.stop = self.stopping.is_set
        done = self.stopping
        if done.is_set():  # asked to stop while starting: nothing was claimed
            self.heartbeat(stopped=True)
            return 0
        scheduler.start()
        log.info("daemon %s started: %s account(s)", self.id, len(self.rt.settings.accounts))
        try:
            while not done.wait(1.0):
                if self.on_second is not None:
                    self.on_second(self)
        finally:
            self._stop(scheduler)
        return 0

    def _workers(self) -> list[Worker | Lanes]:
        return [self.lanes, self.sweeps, self.alerts]

    def _stop(self, scheduler: BackgroundScheduler) -> None:
        """Within seconds, whatever a request is doing: no new jobs, requests in flight
        cancelled, a short grace for the lanes to record outcomes, then every claim still
        held goes back for reconciliation."""
        self.stopping.set()
        scheduler.shutdown(wait=False)
        cancelled = self.rt.cancel_requests()
        if cancelled:
            log.info("cancelled %s platform request(s) in flight", cancelled)
        workers = self._workers()
        for worker in workers:
            worker.close()
        until = time.monotonic() + STOP_GRACE
        for worker in workers:
            if not worker.join(until - time.monotonic()):
                log.warning("%s did not finish in %.0f s; leaving it", worker.name, STOP_GRACE)
        released = self.publisher.release_all()
        if released:
            log.info("released %s claim(s) for reconciliation", released)
        self.heartbeat(stopped=True)
        log.info("daemon %s stopped", self.id)

    def status(self) -> DaemonStatus:
        with self.rt.db.reader() as s:
            nxt = s.execute(select(col(Post.scheduled_at), col(Post.account)).where(
                col(Post.status) == PostStatus.QUEUED).order_by(col(Post.not_before)).limit(1)).first()
        return DaemonStatus(self.id, self._ticks, self._published,
                            (nxt[0], nxt[1]) if nxt else None, self._last_error)
