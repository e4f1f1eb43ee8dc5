"""Study-session storage: what the study feature records, behind one small async interface.

    records    what storage hands out (StudySession, Event, QuizRecord, Vote, ...) and raises
    protocol   `SessionStore`, the interface everything above storage uses, and what is
               written with it the same way everywhere (a question and its answer)
    schema     the SQLite schema as a list of migrations, and how a connection is opened
    sessions   SQL for sessions and their events (the transcript)
    quizzes    SQL for quizzes and votes
    sqlite     `SqliteSessionStore`: the protocol on one SQLite file, a transaction per write
    files      each file checked when opened (quick_check) and watched while in use
               (deleted or replaced under the bot); `StorageUnavailable`
    journal    `InteractionJournal`: interactions deferred and not yet answered, in a file
               of their own (not the study database: a broken one must not stop /ask)

Why SQLite through **aiosqlite**: the bot keeps a handful of small tables (sessions, their
events, quizzes and votes) written a few times a second at most. SQLite needs no server and
is a single file under `data_dir`; aiosqlite runs the standard `sqlite3` module on one
dedicated thread, so no query ever blocks the event loop, and it adds nothing else. An ORM
(SQLAlchemy and its async layer) would bring a large dependency, a unit-of-work model and
migration tooling for four tables whose SQL fits on one screen.

Durability: the database runs in WAL mode with `synchronous=FULL`, and every method that
records something returns only after its transaction has committed. The bot acknowledges
to Discord after that, so killing the process (even with SIGKILL) at any moment loses
nothing a user saw acknowledged.

A server database (PostgreSQL with asyncpg, say) can replace the file when the bot runs as
several shard processes: it implements `SessionStore` and is passed to `HistBot` instead.
"""

from bot.storage.files import StorageUnavailable
from bot.storage.protocol import SessionStore, record_answer, session_in_thread
from bot.storage.records import (
    AlreadyVoted,
    Event,
    NotFound,
    Participant,
    QuizRecord,
    Score,
    SessionClosed,
    SessionConflict,
    StorageError,
    StudySession,
    Vote,
)
from bot.storage.schema import MIGRATIONS, SCHEMA_VERSION
from bot.storage.sqlite import SqliteSessionStore

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AlreadyVoted",
    "Event",
    "NotFound",
    "Participant",
    "QuizRecord",
    "Score",
    "SessionClosed",
    "SessionConflict",
    "SessionStore",
    "SqliteSessionStore",
    "StorageError",
    "StorageUnavailable",
    "StudySession",
    "Vote",
    "record_answer",
    "session_in_thread",
]
