"""The province dataset: 1000 local accounts × 6 posts a day × a year, on SQLite or PostgreSQL.

The department builder (``datasets.populate``) makes every row in Python; at province
scale (≈ 2.2 M posts, their snapshots, comments and audit rows: ≈ 18 M rows) that takes
too long. Here the schema still comes from the project's migrations, the accounts and the
tip approvals from ``outreach.actions``, and the first ``TEMPLATES`` accounts get their
year of history from ``datasets._History`` exactly as a department does (same proportions:
change-only snapshots, comments with their classes and replies, daily account figures, the
daemon's ``published`` audit rows). Every other account then gets a copy of one template
account's year made by the database itself (``INSERT … SELECT`` joined to a small map of
account → template, id offset, engagement factor), so the rows are in the states the
templates' are, with their own ids, slot keys, idempotency keys, remote ids and URLs, and
engagement scaled per account (0.5–1.5 ×) so rankings are not ties. The secondary indexes
are dropped during the copy and rebuilt after it (as a bulk load does), the statistics
gathered (``ANALYZE`` on PostgreSQL, as autovacuum would; SQLite keeps none, as a
deployment does).

A SQLite province lives in the bench cache (``province-<key>/outreach.db``); a PostgreSQL
province in its own database ``outreach_bench_<accounts>x<days>_<key>`` on the server named by the URL, with
its workspace directory (config and library) in the cache. Both are keyed by their shape,
the day the history ends and the code that builds them, like the department datasets.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import datasets

TEMPLATES = 10  # accounts whose history is generated; the rest copy one of them (same language)
CITIES = 10
SCALED = ("reposts", "likes")  # engagement figures scaled per account (comments match rows)


@dataclass(frozen=True)
class Province:
    """A province dataset on one database."""

    root: Path  # config.toml, content/ (and outreach.db for SQLite)
    shape: datasets.Shape
    end: datetime
    db_url: str
    build_seconds: float
    counts: dict[str, int]

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def dialect(self) -> str:
        return "postgresql" if self.db_url.startswith("postgresql") else "sqlite"


PROVINCE = datasets.Shape(accounts=1000, days=365, posts_per_day=6, tips=1000,
                          comments_per_post=3.0, queued_per_account=6)


def groups_text(names: list[str]) -> str:
    """``[groups]``: a province of CITIES cities, each a city account and its counties."""
    per = max(1, len(names) // CITIES)
    cities = {f"city{c:02d}": names[c * per:(c + 1) * per if c < CITIES - 1 else len(names)]
              for c in range(min(CITIES, len(names)))}
    lines = ["[groups]", "province = " + json.dumps([f"@{c}" for c, m in cities.items() if m])]
    lines += [f"{c} = {json.dumps(m)}" for c, m in cities.items() if m]
    return "\n".join(lines) + "\n"


def write_config(root: Path, names: list[str], db_url: str) -> Path:
    from bench.b_scale import six_slots_line

    path = root / "config.toml"
    text = datasets.config_text(names, database=db_url, lang="zh") + "\n" + groups_text(names)
    # six slots a day, as the history has six posts a day and the planner is measured on six
    text = re.sub(r"^slots = \[.*\]$", six_slots_line(), text, flags=re.M)
    path.write_text(text, encoding="utf-8")
    return path


def _key(shape: datasets.Shape, end: datetime, dialect: str) -> str:
    import inspect

    h = hashlib.sha256()
    for part in (build, _clone_map, _copy_sql, _secondary_indexes, groups_text, write_config):
        h.update(inspect.getsource(part).encode())
    params = {**asdict(shape), "end": end.isoformat(), "db": dialect, "templates": TEMPLATES,
              "code": datasets._code_hash(), "builder": h.hexdigest()}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def database_name(shape: datasets.Shape, key: str) -> str:
    """``outreach_bench_<accounts>x<days>_<key>``: a shape's older databases are found by
    the prefix (and dropped), other shapes' are left alone."""
    return f"{_family(shape)}{key}"


def _family(shape: datasets.Shape) -> str:
    return f"outreach_bench_{shape.accounts}x{shape.days}_"


def province(cache: Path, shape: datasets.Shape = PROVINCE, *, pg_url: str | None = None,
             end: datetime | None = None, log: Any = None) -> Province:
    """The cached province of this shape, on SQLite (``pg_url`` None) or PostgreSQL."""
    import shutil
    import uuid

    end = end or datasets.today_utc()
    dialect = "postgresql" if pg_url else "sqlite"
    key = _key(shape, end, dialect)
    target = cache / f"province-{dialect}-{key}"
    db_url = (str(sa.make_url(pg_url).set(database=database_name(shape, key)).render_as_string(
        hide_password=False)) if pg_url else f"sqlite:///{target / 'outreach.db'}")
    if (target / ".complete").exists() and (not pg_url or _pg_exists(pg_url, database_name(shape, key))):
        meta = json.loads((target / ".complete").read_text("utf-8"))
        return Province(target, shape, end, db_url, 0.0, meta["counts"])
    if target.exists():
        shutil.rmtree(target)
    tmp = cache / f".province-{dialect}-{key}.{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        if pg_url:
            _pg_drop_family(pg_url, _family(shape))
            _pg_create(pg_url, database_name(shape, key))
            url = db_url
        else:
            url = f"sqlite:///{tmp / 'outreach.db'}"
        counts = build(tmp, shape, end, url, log or (lambda _m: None))
        seconds = time.perf_counter() - t0
        write_config(tmp, datasets.account_names(shape.accounts),
                     db_url if pg_url else "sqlite:///outreach.db")
        (tmp / ".complete").write_text(json.dumps({"counts": counts, "seconds": seconds,
                                                   "db": dialect}))
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    datasets._prune(cache, f"province-{dialect}", keep=target)
    return Province(target, shape, end, db_url, seconds, counts)


def build(root: Path, shape: datasets.Shape, end: datetime, db_url: str, log: Any) -> dict[str, int]:
    """Library, schema, approvals and the templates' history (their config alone: approving
    a tip renders it for every account, and the copies are alike), then every account's row
    (the full config), then the copies."""
    from sqlmodel import SQLModel

    from outreach.actions.accounts import sync_accounts

    names = datasets.account_names(shape.accounts)
    templates = min(TEMPLATES, shape.accounts)
    t = time.perf_counter()
    datasets.write_library(root / "content", shape.tips)
    write_config(root, names[:templates], db_url)
    rt = datasets.runtime(root, clock=end)
    try:
        datasets.approve_all(rt)
        template_ws = datasets.Workspace(root, replace(shape, accounts=templates), end)
        rows = datasets._History(rt, template_ws)
        tables = SQLModel.metadata.tables
        with rt.db.engine.begin() as conn:
            for name, batch in rows.batches():
                conn.execute(tables[name].insert(), batch)
    finally:
        rt.close()
    write_config(root, names, db_url)
    rt = datasets.runtime(root, clock=end)
    try:
        sync_accounts(rt)
    finally:
        rt.close()
    log(f"province: {templates} template accounts' history in {time.perf_counter() - t:.1f} s")
    # the copy: a plain engine (SQLite: no journal, a large cache; the file is thrown away
    # if the build fails), PostgreSQL without the foreign-key triggers (the rows are consistent)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            pg = conn.dialect.name == "postgresql"
            pragmas = (["SET session_replication_role = replica",
                        "SET maintenance_work_mem = '512MB'", "SET synchronous_commit = off"]
                       if pg else ["PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF",
                                   "PRAGMA cache_size = -1000000", "PRAGMA temp_store = MEMORY",
                                   "PRAGMA foreign_keys = OFF"])
            for pragma in pragmas:
                conn.exec_driver_sql(pragma)
            t = time.perf_counter()
            indexes = _secondary_indexes(conn, COPIED)
            for name, _sql in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            _clone_map(conn, names, templates, rows.post_count)
            for table in COPIED:
                conn.exec_driver_sql(_copy_sql(table, [c.name for c in tables[table].columns]))
            conn.exec_driver_sql("DROP TABLE bench_clone")
            log(f"province: copied to {len(names) - templates} accounts in "
                f"{time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            for _name, sql in indexes:
                conn.exec_driver_sql(sql)
            if pg:
                conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('posts', 'id'), "
                                     "(SELECT max(id) FROM posts))")
            counts = {name: int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() or 0)
                      for name in ("posts", *COPIED[1:])}
            conn.commit()
            log(f"province: indexes rebuilt in {time.perf_counter() - t:.1f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if pg else "PRAGMA journal_mode = WAL")
    finally:
        engine.dispose()
    assert counts["posts"] == shape.posts, (counts["posts"], shape.posts)
    return counts


COPIED = ("posts", "post_metrics", "comments", "audit_log", "account_metrics")


def _secondary_indexes(conn: Any, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the tables' non-unique indexes (unique ones stay: they guard
    the copy)."""
    marks = ", ".join(f"'{t}'" for t in tables)
    if conn.dialect.name == "postgresql":
        rows = conn.execute(sa.text(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({marks}) "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%'")).all()
    else:
        rows = conn.execute(sa.text(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'")).all()
    return [(str(n), str(s)) for n, s in rows]


def _clone_map(conn: Any, names: list[str], templates: int, per_block: int) -> None:
    """bench_clone(template, account, shift, factor, suffix): account k copies template
    k mod TEMPLATES (same language: 4 in 5 Chinese), its ids shifted by a block of
    ``per_block``."""
    conn.exec_driver_sql("CREATE TEMPORARY TABLE bench_clone (template VARCHAR(64), "
                         "account VARCHAR(64), shift BIGINT, factor INTEGER, suffix VARCHAR(8))")
    rows = [{"template": names[k % templates], "account": names[k],
             "shift": (k // templates) * per_block, "factor": 50 + (k * 37) % 101,
             "suffix": f"{k:04d}"} for k in range(templates, len(names))]
    if rows:
        conn.execute(sa.text("INSERT INTO bench_clone VALUES (:template, :account, :shift, :factor, "
                             ":suffix)"), rows)


def _copy_sql(table: str, columns: list[str]) -> str:
    """INSERT … SELECT copying the templates' rows of ``table`` to every mapped account."""
    rid = "CAST(p.id + m.shift + 10000000 AS VARCHAR(20))"
    if table == "posts":
        special = {
            "id": "p.id + m.shift", "account": "m.account",
            "slot_key": "CASE WHEN p.slot_key IS NULL THEN NULL "
                        "ELSE m.account || substr(p.slot_key, length(p.account) + 1) END",
            "idempotency_key": "p.idempotency_key || m.suffix",
            "remote_id": f"CASE WHEN p.remote_id IS NULL THEN NULL ELSE {rid} END",
            "remote_url": f"CASE WHEN p.remote_url IS NULL THEN NULL "
                          f"ELSE 'local://' || m.account || '/' || {rid} END",
        }
        source = "posts p JOIN bench_clone m ON m.template = p.account"
    elif table == "post_metrics":
        special = {"post_id": "x.post_id + m.shift",
                   **{c: f"x.{c} * m.factor / 100" for c in SCALED}}
        source = ("post_metrics x JOIN posts p ON p.id = x.post_id "
                  "JOIN bench_clone m ON m.template = p.account")
    elif table == "comments":
        special = {"account": "m.account", "post_id": "x.post_id + m.shift",
                   "url": "'local://' || m.account || '/c/' || x.remote_id"}
        source = "comments x JOIN bench_clone m ON m.template = x.account"
    elif table == "audit_log":
        special = {"account": "m.account", "post_id": "x.post_id + m.shift",
                   "target": "CAST(x.post_id + m.shift + 10000000 AS VARCHAR(20))"}
        source = ("audit_log x JOIN bench_clone m ON m.template = x.account "
                  "WHERE x.post_id IS NOT NULL")
    else:  # account_metrics
        special = {"account": "m.account", "followers": "x.followers * m.factor / 100"}
        source = "account_metrics x JOIN bench_clone m ON m.template = x.account"
    alias = "p" if table == "posts" else "x"
    cols = [c for c in columns if c != "id" or table == "posts"]
    exprs = [special.get(c, f'{alias}."{c}"') for c in cols]
    return (f'INSERT INTO {table} ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
            f"SELECT {', '.join(exprs)} FROM {source}")


# --- PostgreSQL databases --------------------------------------------------------------------


def _admin(pg_url: str) -> sa.Engine:
    url = sa.make_url(pg_url).set(database="postgres")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_exists(pg_url: str, name: str) -> bool:
    engine = _admin(pg_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": name}).scalar())
    finally:
        engine.dispose()


def _pg_create(pg_url: str, name: str) -> None:
    engine = _admin(pg_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def _pg_drop_family(pg_url: str, prefix: str) -> None:
    """The older databases of a shape (a day's data is never used again; each is a few GB)."""
    engine = _admin(pg_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE "
                                         "starts_with(datname, :p)"), {"p": prefix}).scalars().all()
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def pg_copy(pg_url: str, source: str, name: str) -> str:
    """A scratch copy of database ``source`` (``CREATE DATABASE … TEMPLATE``); its URL."""
    engine = _admin(pg_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        engine.dispose()
    return str(sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False))


def pg_drop(pg_url: str, name: str) -> None:
    engine = _admin(pg_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def pg_reachable(pg_url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = _admin(pg_url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
    except Exception as exc:  # any failure to connect is a reason to skip, said as such
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None
