"""The interaction journal: every interaction acknowledged with a deferral ("thinking…") and
not yet answered, in a SQLite file of its own (`interactions.sqlite3` in the data dir).

Discord gives a deferred interaction 15 minutes, through its token, to deliver what the
deferral promised. If the process dies meanwhile (SIGKILL, out of memory, a crash, a stop
that outlasted its drain) the promise outlives it: the next process reads the journal and
answers every entry whose token is still valid (`bot.intake`).

An entry is committed before the deferral is sent and deleted once the answer is delivered:
two writes per question, so under a burst hundreds a second. They are made on the event
loop's own thread, and gathered: everything recorded and settled in one iteration of the
loop is committed in one transaction at its end, and each `record` returns once its entry is
committed (so still before its deferral is sent). In WAL mode with synchronous=NORMAL a
commit only appends to the log, without an fsync, but it is still a few writes to the file
and its locks; under a burst an iteration records tens of interactions, and one commit for
them all keeps the loop's share of file writes small when the disk is busy. (Handing each
write to a thread of its own was measured slower: every hand-off makes the loop wait for
the GIL, and at 300 questions a second that cost a fifth of its time.) The log is folded
back into the file (a checkpoint, which does fsync) every few seconds on a worker thread,
never on the loop. A committed write survives the process being killed at any moment, which
is what the journal is for; a machine crash may lose the last entries, whose interactions
would then stay "thinking…".
It is its own file, apart from the study database, so that a damaged study database never
stops /ask; and it holds only what is owed for the next 15 minutes, so a damaged journal
can be moved aside at the cost of those answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bot.storage.files import FileWatch, StorageUnavailable, damaged

log = logging.getLogger(__name__)
WHAT = "interaction journal"
TOKEN_LIFETIME = 15 * 60.0
"""Seconds an interaction token can be used to answer, from the interaction's creation."""
CHECKPOINT_EVERY = 5.0
"""Seconds between checkpoints (on a worker thread) while entries are being written."""
FILE_CHECK_EVERY = 1.0
"""Seconds between checks that the path still names the file (a stat each)."""

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


def _connect(path: Path) -> sqlite3.Connection:
    """Open (creating) the journal file, check it and bring its schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"cannot open the {WHAT} {path}: {exc}") from None
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run off the loop
        try:
            problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as exc:
            raise damaged(path, WHAT, str(exc)) from None
        if problems != ["ok"]:
            raise damaged(path, WHAT, "quick_check: " + "; ".join(problems))
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    except sqlite3.Error as exc:
        db.close()
        raise StorageUnavailable(f"cannot open the {WHAT} {path}: {exc}") from None
    except BaseException:
        db.close()
        raise
    return db


def _checkpoint(path: Path) -> None:
    """Fold the log back into the file (on a worker thread, with a connection of its own)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")


class InteractionJournal:
    """The journal on one SQLite file. The file is checked when opened and watched like the
    study database, but a journal deleted or replaced under the bot is simply started afresh
    (what it held is owed by the process that wrote it, which is this one)."""

    def __init__(self, path: Path | str, *, check_every: float = FILE_CHECK_EVERY) -> None:
        self.path = Path(path)
        self.check_every = check_every
        """Seconds between checks that the path still names the file (a stat each)."""
        self._file = FileWatch(self.path)
        self._db: sqlite3.Connection | None = None
        self._written = False
        self._checkpoints: asyncio.Task[None] | None = None
        self._checked = 0.0
        self._recorded: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        """Entries to insert at the end of the loop's iteration, each with its waiting
        `record`."""
        self._settled: list[int] = []
        """Answered interactions, deleted together at the end of the loop's iteration."""
        self._flushing = False
        """An end-of-iteration commit is scheduled."""

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._db is None:
            self._db = await asyncio.to_thread(_connect, self.path)
            self._file.opened()
            self._checkpoints = asyncio.ensure_future(self._checkpointing())

    async def close(self) -> None:
        self._flush()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        if self._db is not None:
            db, self._db = self._db, None
            db.close()  # the last connection: it checkpoints, and removes the log
            if self._file.change() is not None:
                self._file.let_go()

    async def __aenter__(self) -> InteractionJournal:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _checkpointing(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            if self._written and self._db is not None:
                self._written = False
                try:
                    await asyncio.to_thread(_checkpoint, self.path)
                except sqlite3.Error as exc:
                    log.warning("cannot checkpoint the %s %s: %s", WHAT, self.path, exc)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageUnavailable(f"the {WHAT} {self.path} is not open")
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return self._db
        self._checked = now
        if self._file.change() is not None:
            log.error("the %s %s was deleted or replaced: starting it afresh", WHAT, self.path)
            db, self._db = self._db, None
            with contextlib.suppress(sqlite3.Error):
                db.close()
            self._file.let_go()
            self._db = _connect(self.path)
            self._file.opened()
        return self._db

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """One autocommitted statement on the loop's thread (see the module's docstring)."""
        try:
            rows = list(self._connection().execute(sql, parameters))
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}") from exc
        self._written = True
        return rows

    # -- what the bot records ----------------------------------------------------------------

    async def record(self, owed: Owed) -> None:
        """An interaction is about to be deferred: returns once its entry is committed (with
        the others recorded in the same iteration of the loop), before the deferral is sent."""
        row = (
            owed.id,
            owed.application_id,
            owed.token,
            owed.created_at,
            owed.deferred_at,
            owed.deferral,
            owed.asked,
            orjson.dumps(owed.payload).decode(),
            owed.attempts,
        )
        committed = asyncio.get_running_loop().create_future()
        self._recorded.append((row, committed))
        self._flush_soon()
        await committed

    async def settled(self, interaction_id: int) -> None:
        """The interaction is answered (or was never acknowledged): nothing is owed. Deleted
        with the others answered in the same iteration of the loop, in the same commit."""
        self._settled.append(interaction_id)
        self._flush_soon()

    def _flush_soon(self) -> None:
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Commit what this iteration of the loop recorded and settled, in one transaction:
        insertions first, so an entry settled in the iteration that recorded it is gone."""
        self._flushing = False
        recorded, self._recorded = self._recorded, []
        settled, self._settled = self._settled, []
        if not recorded and not (settled and self._db is not None):
            return
        try:
            db = self._connection()
            try:
                db.execute("BEGIN")
                db.executemany(RECORD, [row for row, _ in recorded])
                for start in range(0, len(settled), 500):
                    chunk = settled[start : start + 500]  # within SQLite's limit on parameters
                    marks = ",".join("?" * len(chunk))
                    db.execute(f"DELETE FROM owed WHERE id IN ({marks})", chunk)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise StorageUnavailable(f"the {WHAT} {self.path} failed: {exc}") from exc
        except StorageUnavailable as exc:
            for _, committed in recorded:
                if not committed.done():
                    committed.set_exception(exc)
            if settled:
                log.error("%d answered interactions still journaled: %s", len(settled), exc)
            return
        self._written = True
        for _, committed in recorded:
            if not committed.done():
                committed.set_result(None)

    async def attempt(self, interaction_id: int) -> None:
        """One more try at answering it is starting (a resume that crashes the process is
        not tried forever)."""
        self._execute("UPDATE owed SET attempts = attempts + 1 WHERE id = ?", (interaction_id,))

    async def owed(self) -> list[Owed]:
        """Everything owed, oldest first."""
        self._flush()
        rows = self._execute("SELECT * FROM owed ORDER BY deferred_at, id")
        return [
            Owed(
                id=row["id"],
                application_id=row["application_id"],
                token=row["token"],
                created_at=row["created_at"],
                deferred_at=row["deferred_at"],
                deferral=row["deferral"],
                asked=row["asked"],
                payload=orjson.loads(row["payload"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]
