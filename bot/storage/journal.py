"""The interaction journal: every interaction acknowledged with a deferral ("thinking…") and
not yet answered, in a SQLite file of its own (`interactions.sqlite3` in the data dir).

Discord gives a deferred interaction 15 minutes, through its token, to deliver what the
deferral promised. If the process dies meanwhile (SIGKILL, out of memory, a crash, a stop
that outlasted its drain) the promise outlives it: the next process reads the journal and
answers every entry whose token is still valid (`bot.intake`).

An entry is written as the deferral is sent and deleted once the answer is delivered. Under a
burst that is two writes per question, so they are committed in groups: one thread owns the
file, and every write that arrived while it was committing the last group goes into the next
transaction (one round trip to that thread, one commit, for a whole burst's worth). The file
runs in WAL mode with synchronous=NORMAL: a committed write survives the process being
killed at any moment, which is what the journal is for; a machine crash may lose the last
entries, whose interactions would then stay "thinking…".
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.storage.files import FileWatch, StorageUnavailable, damaged

log = logging.getLogger(__name__)
T = TypeVar("T")
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
RECORD = (
    "INSERT OR REPLACE INTO owed (id, application_id, token, created_at, deferred_at,"
    " deferral, asked, payload, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
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


Write = tuple[str, tuple[Any, ...]]


class InteractionJournal:
    """The journal on one SQLite file, owned by one thread of its own. The file is checked
    when opened and watched like the study database, but a journal deleted or replaced
    under the bot is simply started afresh (what it held is owed by the process that wrote
    it, which is this one)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file = FileWatch(self.path)
        self._thread: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        """Used on the journal's thread only."""
        self._waiting: list[tuple[Write, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="histbot-journal")
            try:
                await self._on_thread(self._connect)
            except BaseException:
                self._thread.shutdown(wait=False)
                self._thread = None
                raise

    async def close(self) -> None:
        if self._thread is None:
            return
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        await self._on_thread(self._disconnect)
        self._thread.shutdown(wait=True)
        self._thread = None

    async def __aenter__(self) -> InteractionJournal:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _on_thread(self, function: Any, *args: Any) -> Any:
        if self._thread is None:
            raise StorageUnavailable(f"the {WHAT} {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    # -- on the journal's thread -------------------------------------------------------------

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            try:
                problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)")]
            except sqlite3.DatabaseError as exc:
                raise damaged(self.path, WHAT, str(exc)) from None
            if problems != ["ok"]:
                raise damaged(self.path, WHAT, "quick_check: " + "; ".join(problems))
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
        except sqlite3.Error as exc:
            db.close()
            raise StorageUnavailable(f"cannot open the {WHAT} {self.path}: {exc}") from None
        except BaseException:
            db.close()
            raise
        self._db = db
        self._file.opened()

    def _disconnect(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()
            if self._file.change() is not None:
                self._file.let_go()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None or self._file.change() is not None:
            if self._db is not None:
                log.error("the %s %s was deleted or replaced: starting it afresh", WHAT, self.path)
                self._disconnect()
            self._connect()
        assert self._db is not None
        return self._db

    def _apply(self, writes: list[Write]) -> None:
        """Every write waiting, in one transaction."""
        try:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, parameters in writes:
                    db.execute(sql, parameters)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}") from exc

    def _read(self, sql: str) -> list[sqlite3.Row]:
        try:
            return list(self._connection().execute(sql))
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}") from exc

    # -- writes, committed in groups ---------------------------------------------------------

    async def _write(self, sql: str, parameters: tuple[Any, ...]) -> None:
        """Queue a write for the next group; return once it has committed."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append(((sql, parameters), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._commit_groups())
        await done

    async def _commit_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self._on_thread(self._apply, [write for write, _ in group])
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)

    # -- what the bot records ----------------------------------------------------------------

    async def record(self, owed: Owed) -> None:
        """An interaction is being deferred (queued before the deferral is sent)."""
        await self._write(
            RECORD,
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
        await self._write("DELETE FROM owed WHERE id = ?", (interaction_id,))

    async def attempt(self, interaction_id: int) -> None:
        """One more try at answering it is starting (a resume that crashes the process is
        not tried forever)."""
        await self._write(
            "UPDATE owed SET attempts = attempts + 1 WHERE id = ?", (interaction_id,)
        )

    async def owed(self) -> list[Owed]:
        """Everything owed, oldest first."""
        rows = await self._on_thread(self._read, "SELECT * FROM owed ORDER BY deferred_at, id")
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
