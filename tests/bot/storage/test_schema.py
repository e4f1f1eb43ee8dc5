"""The schema: migrations applied once, in order, and a newer file refused."""

from __future__ import annotations

import sqlite3

import pytest

from bot.storage import MIGRATIONS, SCHEMA_VERSION, SessionStore, SqliteSessionStore, StorageError
from tests.bot.storage.helpers import start


async def test_migrates_an_empty_file_and_uses_wal(tmp_path):
    path = tmp_path / "new" / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        assert isinstance(store, SessionStore)
        assert await store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "events", "quizzes", "votes"} <= tables
    # Reopening does not re-run migrations.
    async with SqliteSessionStore(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION


async def test_a_new_migration_runs_once_on_an_existing_database(tmp_path, monkeypatch):
    from bot.storage import schema  # the module the store reads them from

    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        session = await start(store)
    added = (*MIGRATIONS, ("ALTER TABLE sessions ADD COLUMN topic TEXT NOT NULL DEFAULT ''",))
    monkeypatch.setattr(schema, "MIGRATIONS", added)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(added))
    for _ in range(2):  # the second opening finds nothing left to do
        async with SqliteSessionStore(path) as store:
            assert await store.schema_version() == len(added)
            assert (await store.session(session.id)).current_ref == "guardians:3.1"
    with sqlite3.connect(path) as raw:
        columns = {row[1] for row in raw.execute("PRAGMA table_info(sessions)")}
    assert "topic" in columns


async def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "histbot.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this histbot"):
        await SqliteSessionStore(path).open()
