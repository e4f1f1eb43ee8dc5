"""Study-session storage: a small async interface, and its SQLite implementation.

Why SQLite through **aiosqlite**: the bot keeps a handful of small tables (sessions, their
events, quizzes and votes) written a few times a second at most. SQLite needs no server and
is a single file under `data_dir`; aiosqlite runs the standard `sqlite3` module on one
dedicated thread, so no query ever blocks the event loop, and it adds nothing else. An ORM
(SQLAlchemy and its async layer) would bring a large dependency, a unit-of-work model and
migration tooling for four tables whose SQL fits on one screen.

Durability: the database runs in WAL mode with `synchronous=FULL`, and every method that
records something returns only after its transaction has committed. The cog acknowledges
to Discord after that, so killing the process (even with SIGKILL) at any moment loses
nothing a user saw acknowledged.

Schema changes are a list of migrations applied at start-up; `PRAGMA user_version` holds how
many have run. To change the schema, append a migration — never edit one that has shipped.

Everything above the database goes through `SessionStore`, a `typing.Protocol`: a server
database (PostgreSQL with asyncpg, say) can replace the file when the bot runs as several
shard processes, without touching the cog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import aiosqlite

from knowledge.quiz import QuizQuestion


class StorageError(Exception):
    """Something the user or operator should be told in one sentence."""


class SessionConflict(StorageError):
    """A channel or thread already has an active session."""

    def __init__(self, message: str, existing: StudySession) -> None:
        super().__init__(message)
        self.existing = existing


class SessionClosed(StorageError):
    """The session (or quiz) is over; nothing more can be recorded in it."""


class AlreadyVoted(StorageError):
    """A member tried to answer the same quiz twice."""

    def __init__(self, message: str, vote: Vote) -> None:
        super().__init__(message)
        self.vote = vote


class NotFound(StorageError):
    """No session or quiz with that id."""


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudySession:
    id: int
    guild_id: int | None
    channel_id: int
    """Where /study start was used (a text channel, or the thread itself)."""
    thread_id: int
    """Where the session runs."""
    host_id: int
    host_name: str
    source_id: str
    section: int
    current_ref: str
    started_at: str
    ended_at: str | None = None
    ended_by: int | None = None
    end_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a session, in order: what the transcript is made of."""

    id: int
    session_id: int
    at: str
    kind: str
    """opened | passage | question | quiz | quiz_closed | ended"""
    user_id: int | None
    user_name: str
    ref: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuizRecord:
    id: int
    session_id: int
    ref: str
    citation: str
    sentence: str
    cloze: str
    answer: str
    choices: tuple[str, ...]
    kind: str
    created_at: str
    closed_at: str | None = None
    number: int = 0
    """Its place among its session's quizzes (1, 2, ...), counted by the database."""

    @property
    def answer_index(self) -> int:
        return self.choices.index(self.answer)

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class Vote:
    quiz_id: int
    user_id: int
    user_name: str
    choice: int
    correct: bool
    at: str


@dataclass(frozen=True, slots=True)
class Score:
    user_id: int
    user_name: str
    correct: int
    answered: int


@dataclass(frozen=True, slots=True)
class Participant:
    user_id: int
    user_name: str
    questions: int
    votes: int


# -- the interface -------------------------------------------------------------------------


@runtime_checkable
class SessionStore(Protocol):
    """What the study cog needs from storage. Every write has committed when it returns."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...

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
        """Open a session and record its first passage; SessionConflict if one is active."""
        ...

    async def active_session(self, channel_id: int) -> StudySession | None:
        """The active session running in, or started from, this channel or thread."""
        ...

    async def session(self, session_id: int) -> StudySession:
        """A session by id (NotFound)."""
        ...

    async def advance(
        self,
        session_id: int,
        ref: str,
        *,
        user_id: int,
        user_name: str,
        expected_ref: str | None = None,
    ) -> bool:
        """Record that `ref` is shown. With `expected_ref`, only if the session is still there.

        False when `expected_ref` no longer matches (someone else moved on first).
        SessionClosed when the session has ended.
        """
        ...

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
    ) -> Event: ...

    async def add_quiz(
        self, session_id: int, question: QuizQuestion, *, user_id: int, user_name: str
    ) -> tuple[QuizRecord, QuizRecord | None]:
        """Store a new quiz; returns it and the previous open quiz, which it closes.

        The new quiz's `number` is counted in the same transaction, so two quizzes started
        at the same moment get different numbers."""
        ...

    async def quiz(self, quiz_id: int) -> QuizRecord:
        """A quiz by id (NotFound)."""
        ...

    async def open_quiz(self, session_id: int) -> QuizRecord | None: ...

    async def close_quiz(self, quiz_id: int) -> QuizRecord:
        """Close a quiz (idempotent)."""
        ...

    async def vote(self, quiz_id: int, *, user_id: int, user_name: str, choice: int) -> Vote:
        """Record an answer; AlreadyVoted on a second one, SessionClosed if it is over."""
        ...

    async def votes(self, quiz_id: int) -> list[Vote]: ...

    async def end_session(
        self, session_id: int, *, user_id: int | None, user_name: str, reason: str
    ) -> tuple[StudySession, QuizRecord | None]:
        """End a session (SessionClosed if already over); returns it and the quiz it closed."""
        ...

    async def events(self, session_id: int) -> list[Event]: ...
    async def read_refs(self, session_id: int) -> list[str]: ...
    async def quizzes(self, session_id: int) -> list[QuizRecord]: ...
    async def scoreboard(self, session_id: int) -> list[Score]: ...
    async def participants(self, session_id: int) -> list[Participant]: ...
    async def last_answer(self, session_id: int) -> Event | None:
        """The last answered question (follow-up questions use it as context)."""
        ...


# -- SQLite ----------------------------------------------------------------------------------

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


QUIZ_SELECT = (
    "SELECT q.*, (SELECT COUNT(*) FROM quizzes p WHERE p.session_id = q.session_id"
    " AND p.id <= q.id) AS number FROM quizzes q"
)
"""Quizzes with their number in the session (the quizzes_by_session index counts it)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _fields(row: sqlite3.Row, record: type) -> dict[str, Any]:
    """The row's columns that `record` has (a migration may add columns before code uses them)."""
    known = record.__dataclass_fields__
    return {key: row[key] for key in row.keys() if key in known}  # noqa: SIM118


def _session(row: sqlite3.Row) -> StudySession:
    return StudySession(**_fields(row, StudySession))


def _quiz(row: sqlite3.Row) -> QuizRecord:
    values = _fields(row, QuizRecord)
    values["choices"] = tuple(json.loads(values["choices"]))
    return QuizRecord(**values)


def _event(row: sqlite3.Row) -> Event:
    values = _fields(row, Event)
    values["data"] = json.loads(values["data"])
    return Event(**values)


def _vote(row: sqlite3.Row) -> Vote:
    values = _fields(row, Vote)
    values["correct"] = bool(values["correct"])
    return Vote(**values)


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

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA foreign_keys = ON")
            self._db = db
            await self._migrate()
        except BaseException:
            self._db = None
            await db.close()
            raise

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

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
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        async with self._transaction() as db:
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path} has schema version {version}, newer than this histbot "
                    f"({SCHEMA_VERSION}); upgrade histbot or use another HISTBOT_DATA_DIR"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One `BEGIN IMMEDIATE` ... `COMMIT`. On any failure (an error in the body, a failed
        COMMIT, a cancellation at any point, even during BEGIN) it rolls back before the lock
        is released, so the shared connection is never left inside a transaction."""
        db = self.db
        async with self._lock:
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback(db)
                raise

    @staticmethod
    async def _rollback(db: aiosqlite.Connection) -> None:
        """ROLLBACK whatever is open.

        aiosqlite queues a statement on the connection's one thread as soon as it is awaited,
        and the thread runs them in order. So the ROLLBACK runs after any statement of this
        transaction that was still queued when a cancellation arrived (a BEGIN or a COMMIT
        included), and before the next transaction's BEGIN, even if this await is cancelled
        too. With nothing open (BEGIN failed, or the COMMIT went through) it is a no-op.
        """
        with contextlib.suppress(sqlite3.OperationalError):  # no transaction is active
            await db.execute("ROLLBACK")

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._lock, self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock, self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    @staticmethod
    async def _insert_event(
        db: aiosqlite.Connection,
        session_id: int,
        kind: str,
        *,
        user_id: int | None,
        user_name: str,
        ref: str | None = None,
        data: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> Event:
        at = at or _now()
        payload = data or {}
        cursor = await db.execute(
            "INSERT INTO events (session_id, at, kind, user_id, user_name, ref, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, at, kind, user_id, user_name, ref, json.dumps(payload)),
        )
        return Event(
            id=int(cursor.lastrowid or 0),
            session_id=session_id,
            at=at,
            kind=kind,
            user_id=user_id,
            user_name=user_name,
            ref=ref,
            data=payload,
        )

    @staticmethod
    async def _locked_session(db: aiosqlite.Connection, session_id: int) -> StudySession:
        async with db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"there is no study session #{session_id}")
        return _session(row)

    async def _active(self, session_id: int, db: aiosqlite.Connection) -> StudySession:
        session = await self._locked_session(db, session_id)
        if not session.active:
            raise SessionClosed("this study session has ended")
        return session

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
            async with db.execute(
                "SELECT * FROM sessions WHERE ended_at IS NULL AND"
                " (channel_id IN (?, ?) OR thread_id IN (?, ?)) ORDER BY id LIMIT 1",
                (channel_id, thread_id, channel_id, thread_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None:
                existing = _session(row)
                raise SessionConflict(
                    f"a study session is already running here (hosted by {existing.host_name})",
                    existing,
                )
            at = _now()
            cursor = await db.execute(
                "INSERT INTO sessions (guild_id, channel_id, thread_id, host_id, host_name,"
                " source_id, section, current_ref, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    guild_id,
                    channel_id,
                    thread_id,
                    host_id,
                    host_name,
                    source_id,
                    section,
                    first_ref,
                    at,
                ),
            )
            session_id = int(cursor.lastrowid or 0)
            data = {"source_id": source_id, "section": section}
            await self._insert_event(
                db, session_id, "opened", user_id=host_id, user_name=host_name, data=data, at=at
            )
            await self._insert_event(
                db, session_id, "passage", user_id=host_id, user_name=host_name, ref=first_ref
            )
            return await self._locked_session(db, session_id)

    async def active_session(self, channel_id: int) -> StudySession | None:
        row = await self._one(
            "SELECT * FROM sessions WHERE ended_at IS NULL AND (thread_id = ? OR channel_id = ?)"
            " ORDER BY thread_id = ? DESC, id LIMIT 1",
            (channel_id, channel_id, channel_id),
        )
        return _session(row) if row else None

    async def session(self, session_id: int) -> StudySession:
        row = await self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise NotFound(f"there is no study session #{session_id}")
        return _session(row)

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
            session = await self._active(session_id, db)
            if expected_ref is not None and session.current_ref != expected_ref:
                return False
            await db.execute("UPDATE sessions SET current_ref = ? WHERE id = ?", (ref, session_id))
            await self._insert_event(
                db, session_id, "passage", user_id=user_id, user_name=user_name, ref=ref
            )
            return True

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
            await self._active(session_id, db)
            data = {
                "question": question,
                "answered": answered,
                "quote": quote,
                "citation": citation,
                "via": via,
            }
            return await self._insert_event(
                db, session_id, "question", user_id=user_id, user_name=user_name, ref=ref, data=data
            )

    async def end_session(
        self, session_id: int, *, user_id: int | None, user_name: str, reason: str
    ) -> tuple[StudySession, QuizRecord | None]:
        async with self._transaction() as db:
            await self._active(session_id, db)
            closed = await self._close_open_quiz(db, session_id)
            at = _now()
            await db.execute(
                "UPDATE sessions SET ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?",
                (at, user_id, reason, session_id),
            )
            await self._insert_event(
                db,
                session_id,
                "ended",
                user_id=user_id,
                user_name=user_name,
                data={"reason": reason},
                at=at,
            )
            return await self._locked_session(db, session_id), closed

    # -- quizzes ---------------------------------------------------------------------------

    async def _close_open_quiz(
        self, db: aiosqlite.Connection, session_id: int
    ) -> QuizRecord | None:
        async with db.execute(
            f"{QUIZ_SELECT} WHERE q.session_id = ? AND q.closed_at IS NULL ORDER BY q.id",
            (session_id,),
        ) as cursor:
            rows = list(await cursor.fetchall())
        closed = None
        for row in rows:
            closed = await self._close(db, _quiz(row))
        return closed

    async def _close(self, db: aiosqlite.Connection, quiz: QuizRecord) -> QuizRecord:
        at = _now()
        await db.execute("UPDATE quizzes SET closed_at = ? WHERE id = ?", (at, quiz.id))
        await self._insert_event(
            db,
            quiz.session_id,
            "quiz_closed",
            user_id=None,
            user_name="",
            ref=quiz.ref,
            data={"quiz_id": quiz.id},
            at=at,
        )
        return QuizRecord(**{**_asdict(quiz), "closed_at": at})

    async def add_quiz(
        self, session_id: int, question: QuizQuestion, *, user_id: int, user_name: str
    ) -> tuple[QuizRecord, QuizRecord | None]:
        async with self._transaction() as db:
            await self._active(session_id, db)
            previous = await self._close_open_quiz(db, session_id)
            at = _now()
            cursor = await db.execute(
                "INSERT INTO quizzes (session_id, ref, citation, sentence, cloze, answer,"
                " choices, kind, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    session_id,
                    question.ref,
                    question.citation,
                    question.sentence,
                    question.cloze,
                    question.answer,
                    json.dumps(list(question.choices)),
                    str(question.kind),
                    at,
                ),
            )
            quiz_id = int(cursor.lastrowid or 0)
            await self._insert_event(
                db,
                session_id,
                "quiz",
                user_id=user_id,
                user_name=user_name,
                ref=question.ref,
                data={"quiz_id": quiz_id},
                at=at,
            )
            async with db.execute(f"{QUIZ_SELECT} WHERE q.id = ?", (quiz_id,)) as cur:
                row = await cur.fetchone()
            assert row is not None
            return _quiz(row), previous

    async def quiz(self, quiz_id: int) -> QuizRecord:
        row = await self._one(f"{QUIZ_SELECT} WHERE q.id = ?", (quiz_id,))
        if row is None:
            raise NotFound(f"there is no quiz #{quiz_id}")
        return _quiz(row)

    async def open_quiz(self, session_id: int) -> QuizRecord | None:
        row = await self._one(
            f"{QUIZ_SELECT} WHERE q.session_id = ? AND q.closed_at IS NULL"
            " ORDER BY q.id DESC LIMIT 1",
            (session_id,),
        )
        return _quiz(row) if row else None

    async def close_quiz(self, quiz_id: int) -> QuizRecord:
        async with self._transaction() as db:
            async with db.execute(f"{QUIZ_SELECT} WHERE q.id = ?", (quiz_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(f"there is no quiz #{quiz_id}")
            quiz = _quiz(row)
            return quiz if not quiz.open else await self._close(db, quiz)

    async def vote(self, quiz_id: int, *, user_id: int, user_name: str, choice: int) -> Vote:
        async with self._transaction() as db:
            async with db.execute(f"{QUIZ_SELECT} WHERE q.id = ?", (quiz_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(f"there is no quiz #{quiz_id}")
            quiz = _quiz(row)
            await self._active(quiz.session_id, db)
            if not quiz.open:
                raise SessionClosed("this quiz is closed")
            if not 0 <= choice < len(quiz.choices):
                raise StorageError(f"quiz #{quiz_id} has no choice {choice}")
            async with db.execute(
                "SELECT * FROM votes WHERE quiz_id = ? AND user_id = ?", (quiz_id, user_id)
            ) as cursor:
                existing = await cursor.fetchone()
            if existing is not None:
                raise AlreadyVoted("you have already answered this quiz", _vote(existing))
            vote = Vote(quiz_id, user_id, user_name, choice, choice == quiz.answer_index, _now())
            await db.execute(
                "INSERT INTO votes (quiz_id, user_id, user_name, choice, correct, at)"
                " VALUES (?,?,?,?,?,?)",
                (quiz_id, user_id, user_name, choice, int(vote.correct), vote.at),
            )
            return vote

    async def votes(self, quiz_id: int) -> list[Vote]:
        rows = await self._all(
            "SELECT * FROM votes WHERE quiz_id = ? ORDER BY at, user_id", (quiz_id,)
        )
        return [_vote(row) for row in rows]

    # -- reading a session back ------------------------------------------------------------

    async def events(self, session_id: int) -> list[Event]:
        rows = await self._all(
            "SELECT * FROM events WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [_event(row) for row in rows]

    async def read_refs(self, session_id: int) -> list[str]:
        rows = await self._all(
            "SELECT ref FROM events WHERE session_id = ? AND kind = 'passage' ORDER BY id",
            (session_id,),
        )
        return list(dict.fromkeys(row["ref"] for row in rows))

    async def quizzes(self, session_id: int) -> list[QuizRecord]:
        rows = await self._all(f"{QUIZ_SELECT} WHERE q.session_id = ? ORDER BY q.id", (session_id,))
        return [_quiz(row) for row in rows]

    async def scoreboard(self, session_id: int) -> list[Score]:
        rows = await self._all(
            "SELECT v.user_id, MAX(v.user_name) AS user_name, SUM(v.correct) AS correct,"
            " COUNT(*) AS answered FROM votes v JOIN quizzes q ON q.id = v.quiz_id"
            " WHERE q.session_id = ? GROUP BY v.user_id"
            " ORDER BY correct DESC, answered ASC, user_name",
            (session_id,),
        )
        return [
            Score(row["user_id"], row["user_name"], int(row["correct"]), int(row["answered"]))
            for row in rows
        ]

    async def participants(self, session_id: int) -> list[Participant]:
        rows = await self._all(
            """
            WITH people AS (
                SELECT user_id, user_name, id AS seq, kind = 'question' AS asked, 0 AS voted
                  FROM events WHERE session_id = ? AND user_id IS NOT NULL
                UNION ALL
                SELECT v.user_id, v.user_name, 1e18, 0, 1
                  FROM votes v JOIN quizzes q ON q.id = v.quiz_id WHERE q.session_id = ?
            )
            SELECT user_id, MAX(user_name) AS user_name, SUM(asked) AS questions,
                   SUM(voted) AS votes, MIN(seq) AS first_seen
              FROM people GROUP BY user_id ORDER BY first_seen, user_id
            """,
            (session_id, session_id),
        )
        return [
            Participant(row["user_id"], row["user_name"], int(row["questions"]), int(row["votes"]))
            for row in rows
        ]

    async def last_answer(self, session_id: int) -> Event | None:
        row = await self._one(
            "SELECT * FROM events WHERE session_id = ? AND kind = 'question'"
            " AND json_extract(data, '$.answered') ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        return _event(row) if row else None


def _asdict(quiz: QuizRecord) -> dict[str, Any]:
    return {name: getattr(quiz, name) for name in QuizRecord.__dataclass_fields__}
