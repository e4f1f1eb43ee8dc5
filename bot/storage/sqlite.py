"""`SqliteSessionStore`: the `SessionStore` protocol on one SQLite file.

Every method is one transaction (a write) or one locked read on the store's single
aiosqlite connection; the SQL itself is in `sessions` and `quizzes`.

A store that cannot use its file raises `StorageUnavailable` naming it: a file found
damaged when opened (quick_check) or failing while in use, deleted while the bot runs
(refused until a file is back: writing on would go into a file nobody will open again), or
replaced (reopened, and checked, at the next use). See `bot.storage.files`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.storage import quizzes, schema, sessions
from bot.storage.files import FileWatch, StorageUnavailable, check_integrity
from bot.storage.records import (
    Event,
    Participant,
    QuizRecord,
    Score,
    StorageError,
    StudySession,
    Vote,
)
from knowledge.quiz import QuizQuestion

log = logging.getLogger(__name__)
WHAT = "session database"


class SqliteSessionStore:
    """`SessionStore` on one SQLite file, through one aiosqlite connection.

    Writes are serialised by a lock and each runs in its own `BEGIN IMMEDIATE` transaction,
    so two coroutines never interleave statements of different transactions on the shared
    connection, and a second process on the same file waits (busy_timeout) instead of failing.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._open = False
        self._file = FileWatch(self.path)
        self._reported: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating it and its folder), check it (quick_check) and bring its
        schema up to date; StorageError naming the file if it cannot be used."""
        if self._db is not None:
            return
        self._db = await self._connect()
        self._open = True

    async def _connect(self) -> aiosqlite.Connection:
        try:
            db = await schema.connect(self.path)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        try:
            await check_integrity(db, self.path, WHAT)
            await db.execute("BEGIN IMMEDIATE")
            try:
                await schema.migrate(db, self.path)
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback(db)
                raise
        except sqlite3.Error as exc:
            await db.close()
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        except BaseException:
            await db.close()
            raise
        self._file.opened()
        return db

    async def close(self) -> None:
        self._open = False
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()
            if self._file.change() is not None:
                self._file.let_go()

    async def __aenter__(self) -> SqliteSessionStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("the session store is not open")
        return self._db

    async def schema_version(self) -> int:
        async with self._reading() as db, db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _usable(self) -> aiosqlite.Connection:
        """The connection to the file the path names (under the lock): if the file that was
        opened has been deleted or replaced, it is let go; a file at the path is opened (and
        checked), no file is StorageUnavailable."""
        if not self._open:
            raise StorageError("the session store is not open")
        change = self._file.change()
        if change is not None and self._db is not None:
            if change == "replaced":
                log.error(
                    "the %s %s was replaced while histbot was running: opening the file now "
                    "there (what was written to the old one since it was copied is not in it)",
                    WHAT,
                    self.path,
                )
            db, self._db = self._db, None
            with contextlib.suppress(sqlite3.Error):
                await db.close()
            self._file.let_go()
        if self._db is None:
            if not self.path.exists():
                raise self._unavailable(
                    StorageUnavailable(
                        f"the {WHAT} {self.path} was deleted while histbot was running: study "
                        "sessions are unavailable until it is restored (or histbot restarts, "
                        "which starts an empty one)"
                    )
                )
            try:
                self._db = await self._connect()
            except StorageError as exc:
                raise self._unavailable(exc) from None
        return self._db

    def _unavailable(self, error: StorageError) -> StorageError:
        """Log a storage failure loudly, once for as long as it lasts."""
        message = str(error)
        if message != self._reported:
            log.error("session storage unavailable: %s", message)
            self._reported = message
        return error

    def _failed(self, exc: sqlite3.Error) -> StorageError:
        return self._unavailable(StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}"))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One `BEGIN IMMEDIATE` ... `COMMIT`. On any failure (an error in the body, a failed
        COMMIT, a cancellation at any point, even during BEGIN) it rolls back before the lock
        is released, so the shared connection is never left inside a transaction."""
        async with self._lock:
            db = await self._usable()
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback(db)
                raise self._failed(exc) from exc
            except BaseException:
                await self._rollback(db)
                raise
        self._reported = None

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for reads, while no transaction of this store is running on it."""
        async with self._lock:
            db = await self._usable()
            try:
                yield db
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc
        self._reported = None

    @staticmethod
    async def _rollback(db: aiosqlite.Connection) -> None:
        """ROLLBACK whatever is open.

        aiosqlite queues a statement on the connection's one thread as soon as it is awaited,
        and the thread runs them in order. So the ROLLBACK runs after any statement of this
        transaction that was still queued when a cancellation arrived (a BEGIN or a COMMIT
        included), and before the next transaction's BEGIN, even if this await is cancelled
        too. With nothing open (BEGIN failed, or the COMMIT went through) it is a no-op.
        """
        # OperationalError: no transaction is active; another DatabaseError: the file is
        # damaged, which the caller reports.
        with contextlib.suppress(sqlite3.Error):
            await db.execute("ROLLBACK")

    # -- sessions --------------------------------------------------------------------------

    async def start_session(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        thread_id: int,
        host_id: int,
        host_name: str,
        source_id: str,
        section: int,
        first_ref: str,
    ) -> StudySession:
        async with self._transaction() as db:
            return await sessions.start(
                db,
                guild_id=guild_id,
                channel_id=channel_id,
                thread_id=thread_id,
                host_id=host_id,
                host_name=host_name,
                source_id=source_id,
                section=section,
                first_ref=first_ref,
            )

    async def active_session(self, channel_id: int) -> StudySession | None:
        async with self._reading() as db:
            return await sessions.find_active(db, channel_id)

    async def session(self, session_id: int) -> StudySession:
        async with self._reading() as db:
            return await sessions.get(db, session_id)

    async def advance(
        self,
        session_id: int,
        ref: str,
        *,
        user_id: int,
        user_name: str,
        expected_ref: str | None = None,
    ) -> bool:
        async with self._transaction() as db:
            return await sessions.advance(
                db, session_id, ref, user_id=user_id, user_name=user_name, expected_ref=expected_ref
            )

    async def record_question(
        self,
        session_id: int,
        *,
        user_id: int,
        user_name: str,
        question: str,
        answered: bool,
        quote: str,
        citation: str,
        ref: str | None,
        via: str,
    ) -> Event:
        async with self._transaction() as db:
            return await sessions.record_question(
                db,
                session_id,
                user_id=user_id,
                user_name=user_name,
                question=question,
                answered=answered,
                quote=quote,
                citation=citation,
                ref=ref,
                via=via,
            )

    async def end_session(
        self, session_id: int, *, user_id: int | None, user_name: str, reason: str
    ) -> tuple[StudySession, QuizRecord | None]:
        async with self._transaction() as db:
            await sessions.get_active(db, session_id)
            closed = await quizzes.close_open(db, session_id)
            ended = await sessions.end(
                db, session_id, user_id=user_id, user_name=user_name, reason=reason
            )
            return ended, closed

    # -- quizzes ---------------------------------------------------------------------------

    async def add_quiz(
        self, session_id: int, question: QuizQuestion, *, user_id: int, user_name: str
    ) -> tuple[QuizRecord, QuizRecord | None]:
        async with self._transaction() as db:
            return await quizzes.add(db, session_id, question, user_id=user_id, user_name=user_name)

    async def quiz(self, quiz_id: int) -> QuizRecord:
        async with self._reading() as db:
            return await quizzes.get(db, quiz_id)

    async def open_quiz(self, session_id: int) -> QuizRecord | None:
        async with self._reading() as db:
            return await quizzes.open_quiz(db, session_id)

    async def close_quiz(self, quiz_id: int) -> QuizRecord:
        async with self._transaction() as db:
            return await quizzes.close(db, await quizzes.get(db, quiz_id))

    async def vote(self, quiz_id: int, *, user_id: int, user_name: str, choice: int) -> Vote:
        async with self._transaction() as db:
            return await quizzes.vote(
                db, quiz_id, user_id=user_id, user_name=user_name, choice=choice
            )

    async def votes(self, quiz_id: int) -> list[Vote]:
        async with self._reading() as db:
            return await quizzes.votes(db, quiz_id)

    # -- reading a session back ------------------------------------------------------------

    async def events(self, session_id: int) -> list[Event]:
        async with self._reading() as db:
            return await sessions.events(db, session_id)

    async def read_refs(self, session_id: int) -> list[str]:
        async with self._reading() as db:
            return await sessions.read_refs(db, session_id)

    async def quizzes(self, session_id: int) -> list[QuizRecord]:
        async with self._reading() as db:
            return await quizzes.of_session(db, session_id)

    async def scoreboard(self, session_id: int) -> list[Score]:
        async with self._reading() as db:
            return await quizzes.scoreboard(db, session_id)

    async def participants(self, session_id: int) -> list[Participant]:
        async with self._reading() as db:
            return await sessions.participants(db, session_id)

    async def last_answer(self, session_id: int) -> Event | None:
        async with self._reading() as db:
            return await sessions.last_answer(db, session_id)
