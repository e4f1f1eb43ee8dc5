"""The SQLite schema, as a list of migrations, and how a connection to the file is opened.

Schema changes are migrations applied at start-up; `PRAGMA user_version` holds how many have
run. To change the schema, append a migration to MIGRATIONS — never edit one that has
shipped.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.records import StorageError

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: sessions, their events, quizzes and votes.
    (
        """
        CREATE TABLE sessions (
            id          INTEGER PRIMARY KEY,
            guild_id    INTEGER,
            channel_id  INTEGER NOT NULL,
            thread_id   INTEGER NOT NULL,
            host_id     INTEGER NOT NULL,
            host_name   TEXT NOT NULL,
            source_id   TEXT NOT NULL,
            section     INTEGER NOT NULL,
            current_ref TEXT NOT NULL,
            started_at  TEXT NOT NULL,
            ended_at    TEXT,
            ended_by    INTEGER,
            end_reason  TEXT
        )
        """,
        "CREATE UNIQUE INDEX one_active_per_thread ON sessions(thread_id) WHERE ended_at IS NULL",
        "CREATE UNIQUE INDEX one_active_per_channel ON sessions(channel_id) WHERE ended_at IS NULL",
        """
        CREATE TABLE events (
            id         INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            at         TEXT NOT NULL,
            kind       TEXT NOT NULL,
            user_id    INTEGER,
            user_name  TEXT NOT NULL DEFAULT '',
            ref        TEXT,
            data       TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX events_by_session ON events(session_id, id)",
        """
        CREATE TABLE quizzes (
            id         INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            ref        TEXT NOT NULL,
            citation   TEXT NOT NULL,
            sentence   TEXT NOT NULL,
            cloze      TEXT NOT NULL,
            answer     TEXT NOT NULL,
            choices    TEXT NOT NULL,
            kind       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            closed_at  TEXT
        )
        """,
        "CREATE INDEX quizzes_by_session ON quizzes(session_id, id)",
        """
        CREATE TABLE votes (
            quiz_id   INTEGER NOT NULL REFERENCES quizzes(id),
            user_id   INTEGER NOT NULL,
            user_name TEXT NOT NULL,
            choice    INTEGER NOT NULL,
            correct   INTEGER NOT NULL,
            at        TEXT NOT NULL,
            PRIMARY KEY (quiz_id, user_id)
        )
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


async def connect(path: Path) -> aiosqlite.Connection:
    """A connection in autocommit mode (transactions are explicit), rows by column name, WAL
    with synchronous=FULL (a committed write survives a crash), and a 5 s wait for another
    process's write instead of an error."""
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
        await db.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await db.close()
        raise
    return db


async def migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Apply the migrations this file has not had yet (inside the caller's transaction)."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} has schema version {version}, newer than this histbot "
            f"({SCHEMA_VERSION}); upgrade histbot or use another HISTBOT_DATA_DIR"
        )
    for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in statements:
            await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {number}")


def now() -> str:
    """The time stored with every record: ISO 8601, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def fields_of(row: sqlite3.Row, record: type) -> dict[str, Any]:
    """The row's columns that `record` has (a migration may add columns before code uses them)."""
    known = record.__dataclass_fields__
    return {key: row[key] for key in row.keys() if key in known}  # noqa: SIM118
