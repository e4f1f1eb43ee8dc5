"""The interaction journal: every interaction acknowledged with a deferral ("thinking…") and
not yet answered, in a SQLite file of its own (`interactions.sqlite3` in the data dir).

Discord gives a deferred interaction 15 minutes, through its token, to deliver what the
deferral promised. If the process dies meanwhile (SIGKILL, out of memory, a crash, a stop
that outlasted its drain) the promise outlives it: the next process reads the journal and
answers every entry whose token is still valid (`bot.intake`).

An entry is written before the deferral is sent and deleted once the answer is delivered,
each a single autocommitted statement. The file runs in WAL mode with synchronous=NORMAL: a
write survives the process being killed at any moment, which is what the journal is for; a
machine crash may lose the last entries, whose interactions would then stay "thinking…".
It is its own file, apart from the study database, so that a damaged study database never
stops /ask; and it holds only what is owed for the next 15 minutes, so a damaged journal
can be moved aside at the cost of those answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage import schema
from bot.storage.files import FileWatch, StorageUnavailable, check_integrity

log = logging.getLogger(__name__)
WHAT = "interaction journal"
TOKEN_LIFETIME = 15 * 60.0
"""Seconds an interaction token can be used to answer, from the interaction's creation."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE owed (
            id             INTEGER PRIMARY KEY,  -- the interaction's id
            application_id INTEGER NOT NULL,
            token          TEXT NOT NULL,
            created_at     REAL NOT NULL,        -- Unix time, from the interaction's id
            deferred_at    REAL NOT NULL,
            deferral       TEXT NOT NULL,        -- public | private | update
            asked          TEXT NOT NULL,        -- what was asked, for the log
            payload        TEXT NOT NULL,        -- the INTERACTION_CREATE payload, as JSON
            attempts       INTEGER NOT NULL DEFAULT 0
        )
        """,
    ),
)


@dataclass(frozen=True, slots=True)
class Owed:
    """An interaction acknowledged with a deferral whose answer has not been delivered."""

    id: int
    application_id: int
    token: str
    created_at: float
    deferred_at: float
    deferral: str
    asked: str
    payload: dict[str, Any]
    attempts: int = 0

    def expires_at(self) -> float:
        return self.created_at + TOKEN_LIFETIME


class InteractionJournal:
    """The journal on one SQLite file. Writes are single statements (autocommitted), so they
    need no lock; the file is checked when opened and watched like the study database, but a
    journal deleted or replaced under the bot is simply reopened (what it held is owed by
    the process that wrote it, which is this one)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._file = FileWatch(self.path)
        self._reopening = asyncio.Lock()

    async def open(self) -> None:
        if self._db is None:
            self._db = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        try:
            db = await schema.connect(self.path, synchronous="NORMAL")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        try:
            await check_integrity(db, self.path, WHAT)
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
        except sqlite3.Error as exc:
            await db.close()
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        except BaseException:
            await db.close()
            raise
        self._file.opened()
        return db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()
            if self._file.change() is not None:
                self._file.let_go()

    async def __aenter__(self) -> InteractionJournal:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageUnavailable(f"the {WHAT} {self.path} is not open")
        if self._file.change() is not None:
            async with self._reopening:
                if self._db is not None and self._file.change() is not None:
                    log.error("the %s %s was deleted or replaced: reopening it", WHAT, self.path)
                    db, self._db = self._db, None
                    with contextlib.suppress(sqlite3.Error):
                        await db.close()
                    self._file.let_go()
                    self._db = await self._connect()
        assert self._db is not None
        return self._db

    async def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        db = await self._connection()
        try:
            async with db.execute(sql, parameters) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}") from exc

    # -- what the bot records --------------------------------------------------------------

    async def record(self, owed: Owed) -> None:
        """An interaction is about to be deferred (written before the deferral is sent)."""
        await self._execute(
            "INSERT OR REPLACE INTO owed (id, application_id, token, created_at, deferred_at,"
            " deferral, asked, payload, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                owed.id,
                owed.application_id,
                owed.token,
                owed.created_at,
                owed.deferred_at,
                owed.deferral,
                owed.asked,
                json.dumps(owed.payload, separators=(",", ":")),
                owed.attempts,
            ),
        )

    async def settled(self, interaction_id: int) -> None:
        """The interaction is answered (or was never acknowledged): nothing is owed."""
        await self._execute("DELETE FROM owed WHERE id = ?", (interaction_id,))

    async def owed(self) -> list[Owed]:
        """Everything owed, oldest first."""
        rows = await self._execute("SELECT * FROM owed ORDER BY deferred_at, id")
        return [
            Owed(
                id=row["id"],
                application_id=row["application_id"],
                token=row["token"],
                created_at=row["created_at"],
                deferred_at=row["deferred_at"],
                deferral=row["deferral"],
                asked=row["asked"],
                payload=json.loads(row["payload"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    async def attempt(self, interaction_id: int) -> None:
        """One more try at answering it is starting (a resume that crashes the process is
        not tried forever)."""
        await self._execute(
            "UPDATE owed SET attempts = attempts + 1 WHERE id = ?", (interaction_id,)
        )

