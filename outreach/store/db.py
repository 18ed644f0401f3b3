"""Engine, sessions and migrations.

SQLite (the default) runs in WAL mode with a busy timeout; write transactions
begin IMMEDIATE so two writers queue instead of failing half-way. PostgreSQL
(``postgresql+psycopg://…``) is the shared deployment. Any command that finds
the schema missing or behind upgrades it under a lock (a file lock on SQLite,
an advisory lock on PostgreSQL); when it is current that costs one query.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, literal_column, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from outreach.errors import DatabaseError
from outreach.i18n import _
from outreach.times import aware

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0017"  # the newest revision in migrations/versions (a test checks they agree)
BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 20  # connections a process keeps (a daemon's 16 lanes and its workers)
PING_AFTER_IDLE = 10.0  # seconds a pooled PostgreSQL connection may idle unpinged
READ_THREADS = 4  # independent reads run side by side (read_together)
SCAN_WORK_MEM = "64MB"  # PostgreSQL's sort memory for each of those reads (default 4MB)
_PG_LOCK_ID = 0x6F757472  # "outr"


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///"):])
    return None


def make_engine(url: str, *, durable: bool = True) -> Engine:
    """An engine with outreach's connection settings for SQLite or PostgreSQL. ``durable``
    False (a simulation's throwaway database) lets SQLite skip the flush at each commit."""
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(_("cannot create folder: {strerror}").format(
                strerror=exc.strerror), where=str(path)) from None
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                               pool_size=POOL_SIZE, max_overflow=POOL_SIZE // 2)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before the platform is called; exactly-once
            # publishing relies on the claim surviving a power cut, not just a crash.
            cur.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql"):
        try:
            # a daemon's publishing lanes each hold a session at once: connections beyond
            # the pool are opened and closed around every use (a backend started per post)
            # instants come back in UTC whatever the server's zone (the driver then gives
            # the datetimes Python's own UTC, which every comparison here uses); no query
            # here runs long enough for JIT compiling to pay for itself
            engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE // 2,
                                   connect_args={"options": "-c TimeZone=UTC -c jit=off"})
        except ModuleNotFoundError:
            raise DatabaseError(
                _("PostgreSQL needs the postgres extra: pip install 'outreach[postgres]'")
            ) from None
        _ping_when_idle(engine)
        return engine
    raise DatabaseError(_("unsupported database URL scheme: {value}").format(value=url.split(':', 1)[0]))


def _ping_when_idle(engine: Engine) -> None:
    """A pooled connection idle for ``PING_AFTER_IDLE`` is pinged before use, and the pool
    is renewed when the server went away (restarted, or the connection was cut while idle).
    A busy daemon reuses its connections within milliseconds, so it does not pay a round
    trip for every session as an unconditional pre-ping would (a fifth of the publisher's
    time); a server lost mid-burst fails one statement, which invalidates the pool too."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # a new connection, or one just used
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"idle connection lost: {type(exc).__name__}") from None


class Database:
    """The engine plus the sessions outreach uses."""

    def __init__(self, url: str, *, durable: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, durable=durable)
        self._reader = self.engine.execution_options(sqlite_begin="DEFERRED")
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        """A session whose transactions take the write lock at BEGIN (SQLite)."""
        return Session(self.engine, expire_on_commit=False)

    def reader(self) -> Session:
        """A session for reads only: no write lock is taken."""
        return Session(self._reader, expire_on_commit=False)

    def read_together(self, *reads: Callable[[Session], Any]) -> list[Any]:
        """The results of ``reads``, each on its own read session, run side by side: both
        drivers let a query run while another thread holds the interpreter, so independent
        scans of a large history overlap. Each read runs in a copy of the caller's context
        (its language); reads of a database being written may see it a moment apart, as
        any two reads would. The first read's error is raised."""
        def run(read: Callable[[Session], Any]) -> Any:
            with self.reader() as s:
                if not self.is_sqlite:  # scans of a large history: sorted in memory
                    s.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))
                return read(s)

        if len(reads) == 1:
            return [run(reads[0])]
        with ThreadPoolExecutor(max_workers=min(len(reads), READ_THREADS)) as pool:
            futures = [pool.submit(contextvars.copy_context().run, run, r) for r in reads]
            return [f.result() for f in futures]

    def dispose(self) -> None:
        self.engine.dispose()

    # --- migrations -------------------------------------------------------------

    def current_revision(self) -> str | None:
        try:
            with self._reader.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                return None
            raise DatabaseError(_("cannot open database: {exc}").format(
                exc=_short(exc)), where=self._where()) from None
        except SQLAlchemyError as exc:
            if "does not exist" in str(exc):
                return None
            raise DatabaseError(_("cannot open database: {exc}").format(
                exc=_short(exc)), where=self._where()) from None

    def ensure_schema(self) -> bool:
        """Upgrade to the newest schema if needed; True when something was done."""
        if self.current_revision() == HEAD:
            return False
        with self._migration_lock():
            if self.current_revision() == HEAD:
                return False
            self.upgrade()
            return True

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.connect() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
        except SQLAlchemyError as exc:
            raise DatabaseError(_("migration failed: {exc}").format(
                exc=_short(exc)), where=self._where()) from None
        log.info("database upgraded to %s", revision)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        path = sqlite_path(self.url)
        if path is not None:
            lock_path = path.with_name(path.name + ".migrate-lock")
            with open(lock_path, "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            return
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                    conn.commit()
            return
        yield

    def _where(self) -> str:
        path = sqlite_path(self.url)
        return str(path) if path else self.url.split("@")[-1]

    # --- backup -----------------------------------------------------------------

    def backup(self, target: Path) -> None:
        """An online copy of a SQLite database (safe while the daemon runs)."""
        path = sqlite_path(self.url)
        if path is None:
            raise DatabaseError(
                _("online backup is for SQLite; for PostgreSQL use: pg_dump -Fc DBNAME > FILE")
            )
        if target.exists():
            raise DatabaseError(_("backup target exists; refusing to overwrite"), where=str(target))
        try:
            src = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
            dst = sqlite3.connect(target)
            with dst:
                src.backup(dst)
            dst.close()
            src.close()
        except sqlite3.Error as exc:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise DatabaseError(_("backup failed: {exc}").format(exc=exc), where=str(target)) from None

    def integrity_check(self) -> str:
        if not self.is_sqlite:
            return "ok"
        with self._reader.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())


def db_now(dialect: str, plus_seconds: float = 0) -> Any:
    """The database's own clock, read once per statement, as a UTC instant in the form the
    dialect stores one (plus ``plus_seconds``): for times several hosts compare, such as
    leases, so that a host whose clock is off cannot make another host's lease look
    expired. PostgreSQL: ``statement_timestamp()``; SQLite: ``strftime(…, 'now')``, which
    SQLite reads once per statement, padded to the microseconds SQLAlchemy stores."""
    plus = float(plus_seconds)
    if dialect == "postgresql":
        now = func.statement_timestamp()
        return now + literal_column(f"interval '{plus} seconds'") if plus else now
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", "now", f"{plus:+.3f} seconds").concat("000")
    raise DatabaseError(_("no clock for the {dialect} database").format(dialect=dialect))


def read_db_now(session: Any) -> datetime:
    """The database's clock now, as aware UTC (one query)."""
    return aware(session.execute(select(db_now(session.get_bind().dialect.name))).scalar())


def _short(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return msg.splitlines()[0][:200]


def insert_ignore(session: Any, table: Any, rows: list[dict[str, Any]],
                  key: str | list[str]) -> int:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` on SQLite and PostgreSQL; rows inserted."""
    keys = [key] if isinstance(key, str) else key
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    inserted = 0
    per = max(1, 20_000 // max(len(rows[0]), 1))  # stay under the bound-parameter limits
    for i in range(0, len(rows), per):
        # RETURNING counts the rows really inserted (psycopg reports rowcount -1 here)
        stmt = (insert(table).values(rows[i:i + per]).on_conflict_do_nothing(index_elements=keys)
                .returning(table.c[keys[0]]))
        inserted += len(session.execute(stmt).all())
    return inserted


def rowcount(result: Any) -> int:
    """How many rows an UPDATE or DELETE changed (0: its condition no longer held)."""
    return int(result.rowcount or 0)
