"""Schema, migrations and the aware-UTC column type."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

import outreach.store.models  # noqa: F401  (registers the tables)
from outreach.store.db import HEAD, MIGRATIONS, Database
from outreach.store.models import Post


def test_head_constant_matches_the_migrations():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_migrations_match_the_models(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert db.ensure_schema() is True
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert db.ensure_schema() is False  # current: nothing to do
    db.dispose()


def test_an_old_database_is_upgraded_with_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    db.upgrade("0001")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO posts (account, kind, status, scheduled_at, not_before, text, "
            "idempotency_key, attempts, ambiguous) VALUES ('a', 'adhoc', 'queued', "
            "'2027-01-01 00:00:00.000000', '2027-01-01 00:00:00.000000', '旧的', 'k1', 0, 0)"))
    assert db.current_revision() == "0001"
    db.dispose()
    db = Database(url)
    assert db.ensure_schema() is True
    assert db.current_revision() == HEAD
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT text FROM posts")).scalar() == "旧的"
        assert conn.execute(text("SELECT COUNT(*) FROM post_metrics")).scalar() == 0
    db.dispose()


def test_utc_column_gives_back_aware_utc(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.ensure_schema()
    at = datetime(2027, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    with db.session() as s:
        s.add(Post(account="a", status="queued", scheduled_at=at, not_before=at, text="t",
                   idempotency_key="k"))
        s.commit()
    with db.reader() as s:
        post = s.get(Post, 1)
        assert post is not None
        assert post.scheduled_at == at
        assert post.scheduled_at.tzinfo == UTC
    with db.session() as s, pytest.raises(Exception, match="naive"):
        s.add(Post(account="a", status="queued", scheduled_at=datetime(2027, 1, 1),
                   not_before=at, text="t", idempotency_key="k2"))
        s.commit()
    db.dispose()


def test_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout is not None
        assert timeout >= 5000
    db.dispose()


def test_backup_is_a_consistent_copy(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.ensure_schema()
    db.backup(tmp_path / "copy.db")
    copy = Database(f"sqlite:///{tmp_path / 'copy.db'}")
    assert copy.integrity_check() == "ok"
    assert copy.current_revision() == HEAD
    db.dispose()
    copy.dispose()
