"""The local platform's file: an embedded microblog's statuses in their own SQLite file,
and the faults tests inject (stored there, so that a daemon in another process sees them).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FAULT_KINDS = ("delay", "delay_after", "transient", "ambiguous", "rate_limited", "auth", "rejected",
               "duplicate")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statuses (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    text TEXT NOT NULL,
    idempotency_key TEXT,
    in_reply_to TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    UNIQUE (account, idempotency_key)
);
CREATE INDEX IF NOT EXISTS ix_statuses_account ON statuses (account, id);
CREATE TABLE IF NOT EXISTS media (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    mime TEXT NOT NULL,
    alt TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (status_id, position)
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    account TEXT,
    op TEXT NOT NULL,
    kind TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    delay_ms INTEGER NOT NULL DEFAULT 0,
    retry_seconds INTEGER NOT NULL DEFAULT 60
);
"""



def iso(dt: datetime) -> str:
    """An instant as stored: ISO 8601 in UTC."""
    return dt.astimezone(UTC).isoformat()


def instant(text: str) -> datetime:
    """A stored instant, aware UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


_SHARED: dict[tuple[int, str], list[Any]] = {}  # (pid, path) → [platform, users]
_SHARED_LOCK = threading.Lock()


class LocalPlatform:
    """The embedded platform's file: statuses, and faults injected by tests."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        # a simulated remote service: its commits survive a killed process (WAL) without an
        # fsync each, so several daemons publishing at once do not queue on the disk
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @classmethod
    def shared(cls, path: Path) -> LocalPlatform:
        """The process's one connection to this file, shared by every account's client (each
        statement runs under the lock): a thousand accounts keep one page cache, not a
        thousand. Give it back with :meth:`release`."""
        key = (os.getpid(), str(path.resolve()))  # a forked child opens its own
        with _SHARED_LOCK:
            entry = _SHARED.get(key)
            if entry is None:
                entry = _SHARED[key] = [cls(path), 0]
            entry[1] += 1
            platform: LocalPlatform = entry[0]
            return platform

    def release(self) -> None:
        """One user of :meth:`shared` is done; the last one closes the connection."""
        key = (os.getpid(), str(self.path.resolve()))
        with _SHARED_LOCK:
            entry = _SHARED.get(key)
            if entry is None or entry[0] is not self:
                self.close()
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del _SHARED[key]
                self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def add_fault(self, op: str, kind: str, *, count: int = 1, account: str | None = None,
                  delay_ms: int = 0, retry_seconds: int = 60) -> None:
        """Make the next ``count`` calls of ``op`` (publish, reply, fetch_counts, …) fail."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO faults (account, op, kind, remaining, delay_ms, retry_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?)", (account, op, kind, count, delay_ms, retry_seconds))

    def take_fault(self, op: str, account: str) -> tuple[str, int, int] | None:
        # almost always none is waiting: looked for without the write lock, so calls from
        # several processes do not queue behind each other's writes for nothing
        if not self.query("SELECT 1 FROM faults WHERE op = ? AND remaining > 0"
                          " AND (account IS NULL OR account = ?) LIMIT 1", (op, account)):
            return None
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id, kind, delay_ms, retry_seconds FROM faults WHERE op = ? AND remaining > 0"
                " AND (account IS NULL OR account = ?) ORDER BY id LIMIT 1", (op, account)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row[0],))
            return row[1], row[2], row[3]

    def statuses(self, account: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The account's statuses, oldest first; ``pictures``: how many each carries."""
        sql = ("SELECT id, text, idempotency_key, in_reply_to, created_at, deleted_at,"
               " (SELECT COUNT(*) FROM media WHERE media.status_id = statuses.id) FROM statuses"
               " WHERE account = ?" + ("" if include_deleted else " AND deleted_at IS NULL")
               + " ORDER BY id")
        return [dict(zip(("id", "text", "idempotency_key", "in_reply_to", "created_at",
                          "deleted_at", "pictures"), r, strict=True))
                for r in self.query(sql, (account,))]

    def media(self, status_id: int) -> list[dict[str, Any]]:
        """The pictures of one status, in order: mime, alt, sha256 and the bytes."""
        rows = self.query("SELECT position, mime, alt, sha256, data FROM media"
                          " WHERE status_id = ? ORDER BY position", (status_id,))
        return [dict(zip(("position", "mime", "alt", "sha256", "data"), r, strict=True))
                for r in rows]
