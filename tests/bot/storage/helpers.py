"""What the storage tests store: a quiz question, and a session started with defaults; and
how a bad disk damages a database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import SqliteSessionStore, StudySession
from knowledge.quiz import QuizQuestion, TermKind

QUESTION = QuizQuestion(
    ref="guardians:3.1",
    citation="From Guardians to Executioners, section 3, paragraph 1",
    sentence="The first head of the Cheka was Felix Dzerzhinsky.",
    cloze="The first head of the Cheka was _____.",
    answer="Felix Dzerzhinsky",
    choices=("Lavrenti Beria", "Felix Dzerzhinsky", "Henrikh Yagoda", "Nikolai Yezhov"),
    kind=TermKind.NAME,
)


async def start(
    store: SqliteSessionStore, channel: int = 10, thread: int = 11, **kw: object
) -> StudySession:
    values = dict(
        guild_id=1,
        channel_id=channel,
        thread_id=thread,
        host_id=100,
        host_name="Ana",
        source_id="guardians",
        section=3,
        first_ref="guardians:3.1",
    )
    values.update(kw)
    return await store.start_session(**values)


def damage_table(path: Path, table: str = "sessions") -> None:
    """Overwrite a table's root page with garbage, as a bad disk or a torn copy would."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (table,)).fetchone()
    db.close()
    with path.open("r+b") as file:
        file.seek((root[0] - 1) * page_size)
        file.write(b"\xa5" * page_size)


def delete_database(path: Path) -> None:
    """Delete a database file as `rm histbot.sqlite3*` would (with its -wal and -shm)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
