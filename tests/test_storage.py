"""The SQLite session store: migrations, persistence, durability under SIGKILL, votes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.storage import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AlreadyVoted,
    NotFound,
    SessionClosed,
    SessionConflict,
    SessionStore,
    SqliteSessionStore,
    StorageError,
)
from knowledge.quiz import QuizQuestion, TermKind

REPO = Path(__file__).resolve().parent.parent

QUESTION = QuizQuestion(
    ref="guardians:3.1",
    citation="From Guardians to Executioners, section 3, paragraph 1",
    sentence="The first head of the Cheka was Felix Dzerzhinsky.",
    cloze="The first head of the Cheka was _____.",
    answer="Felix Dzerzhinsky",
    choices=("Lavrenti Beria", "Felix Dzerzhinsky", "Henrikh Yagoda", "Nikolai Yezhov"),
    kind=TermKind.NAME,
)


async def start(store: SqliteSessionStore, channel: int = 10, thread: int = 11, **kw):
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


@pytest.fixture
async def store(tmp_path):
    async with SqliteSessionStore(tmp_path / "data" / "histbot.sqlite3") as opened:
        yield opened


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
    import bot.storage as storage

    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        session = await start(store)
    added = (*MIGRATIONS, ("ALTER TABLE sessions ADD COLUMN topic TEXT NOT NULL DEFAULT ''",))
    monkeypatch.setattr(storage, "MIGRATIONS", added)
    monkeypatch.setattr(storage, "SCHEMA_VERSION", len(added))
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


async def test_events_survive_reopening(tmp_path):
    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        session = await start(store)
        assert await store.advance(
            session.id, "guardians:3.2", user_id=101, user_name="Ben", expected_ref="guardians:3.1"
        )
        await store.record_question(
            session.id,
            user_id=101,
            user_name="Ben",
            question="who led the Cheka?",
            answered=True,
            quote="The first head of the Cheka was Felix Dzerzhinsky.",
            citation="From Guardians to Executioners, section 3, paragraph 1",
            ref="guardians:3.1",
            via="slash",
        )
        quiz, previous = await store.add_quiz(session.id, QUESTION, user_id=100, user_name="Ana")
        assert previous is None
        await store.vote(quiz.id, user_id=101, user_name="Ben", choice=quiz.answer_index)
        await store.vote(quiz.id, user_id=102, user_name="Cleo", choice=0)
    async with SqliteSessionStore(path) as store:
        again = await store.active_session(11)
        assert again is not None and again.id == session.id
        assert again.current_ref == "guardians:3.2"
        assert (await store.active_session(10)).id == session.id
        kinds = [e.kind for e in await store.events(session.id)]
        assert kinds == ["opened", "passage", "passage", "question", "quiz"]
        assert await store.read_refs(session.id) == ["guardians:3.1", "guardians:3.2"]
        stored = await store.quiz(quiz.id)
        assert stored.choices == QUESTION.choices and stored.answer == QUESTION.answer
        scores = await store.scoreboard(session.id)
        assert [(s.user_name, s.correct, s.answered) for s in scores] == [
            ("Ben", 1, 1),
            ("Cleo", 0, 1),
        ]
        people = await store.participants(session.id)
        assert [(p.user_name, p.questions, p.votes) for p in people] == [
            ("Ana", 0, 0),
            ("Ben", 1, 1),
            ("Cleo", 0, 1),
        ]
        last = await store.last_answer(session.id)
        assert last is not None and last.data["quote"].startswith("The first head")
        ended, closed = await store.end_session(
            session.id, user_id=100, user_name="Ana", reason="ended"
        )
        assert not ended.active and closed is not None and closed.id == quiz.id
        assert await store.active_session(11) is None


async def test_one_active_session_per_channel_and_thread(store):
    first = await start(store, channel=10, thread=11)
    with pytest.raises(SessionConflict) as raised:
        await start(store, channel=10, thread=12)  # same channel, new thread
    assert raised.value.existing.id == first.id
    with pytest.raises(SessionConflict):
        await start(store, channel=11, thread=11)  # inside the session's thread
    other = await start(store, channel=20, thread=21)  # another channel is fine
    assert other.id != first.id
    await store.end_session(first.id, user_id=100, user_name="Ana", reason="ended")
    assert (await start(store, channel=10, thread=13)).thread_id == 13


async def test_double_vote_rejected_and_concurrent_votes_counted_once(store):
    session = await start(store)
    quiz, _ = await store.add_quiz(session.id, QUESTION, user_id=100, user_name="Ana")
    await store.vote(quiz.id, user_id=101, user_name="Ben", choice=1)
    with pytest.raises(AlreadyVoted) as raised:
        await store.vote(quiz.id, user_id=101, user_name="Ben", choice=2)
    assert raised.value.vote.choice == 1
    results = await asyncio.gather(
        *(
            store.vote(quiz.id, user_id=200 + i % 3, user_name=f"u{i % 3}", choice=i % 4)
            for i in range(12)
        ),
        return_exceptions=True,
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert len(accepted) == 3
    assert all(isinstance(r, AlreadyVoted) for r in results if isinstance(r, BaseException))
    assert len(await store.votes(quiz.id)) == 4


async def test_closed_quiz_and_ended_session_refuse_writes(store):
    session = await start(store)
    quiz, _ = await store.add_quiz(session.id, QUESTION, user_id=100, user_name="Ana")
    second, previous = await store.add_quiz(session.id, QUESTION, user_id=100, user_name="Ana")
    assert previous is not None and previous.id == quiz.id and not previous.open
    with pytest.raises(SessionClosed, match="quiz is closed"):
        await store.vote(quiz.id, user_id=101, user_name="Ben", choice=0)
    with pytest.raises(StorageError):
        await store.vote(second.id, user_id=101, user_name="Ben", choice=9)
    await store.end_session(session.id, user_id=100, user_name="Ana", reason="ended")
    with pytest.raises(SessionClosed):
        await store.end_session(session.id, user_id=100, user_name="Ana", reason="ended")
    with pytest.raises(SessionClosed):
        await store.vote(second.id, user_id=101, user_name="Ben", choice=0)
    with pytest.raises(SessionClosed):
        await store.advance(session.id, "guardians:3.2", user_id=100, user_name="Ana")
    with pytest.raises(NotFound):
        await store.quiz(9999)
    with pytest.raises(NotFound):
        await store.session(9999)
    # Nothing half-written: the failed writes left no events behind.
    kinds = [e.kind for e in await store.events(session.id)]
    assert kinds == ["opened", "passage", "quiz", "quiz_closed", "quiz", "quiz_closed", "ended"]


async def test_conditional_advance_moves_once(store):
    session = await start(store)
    moves = await asyncio.gather(
        *(
            store.advance(
                session.id,
                "guardians:3.2",
                user_id=100 + i,
                user_name=f"u{i}",
                expected_ref="guardians:3.1",
            )
            for i in range(5)
        )
    )
    assert sorted(moves) == [False, False, False, False, True]
    assert await store.read_refs(session.id) == ["guardians:3.1", "guardians:3.2"]


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from bot.storage import SqliteSessionStore
    from knowledge.quiz import QuizQuestion, TermKind

    async def main(path):
        store = SqliteSessionStore(path)
        await store.open()
        session = await store.start_session(
            guild_id=1, channel_id=10, thread_id=11, host_id=100, host_name="Ana",
            source_id="guardians", section=3, first_ref="guardians:3.1")
        print("ack session", session.id, flush=True)
        for i in range(1, 6):
            await store.record_question(
                session.id, user_id=101, user_name="Ben", question=f"question {i}",
                answered=True, quote="q", citation="c", ref="guardians:3.1", via="mention")
            print("ack question", i, flush=True)
        quiz, _ = await store.add_quiz(session.id, QuizQuestion(
            "guardians:3.1", "c", "s x", "s _____", "x", ("x", "y", "z", "w"), TermKind.NAME),
            user_id=100, user_name="Ana")
        await store.vote(quiz.id, user_id=101, user_name="Ben", choice=0)
        print("ack vote", quiz.id, flush=True)
        # Keep writing with no acknowledgement: the kill lands in the middle of this.
        n = 0
        while True:
            n += 1
            await store.record_question(
                session.id, user_id=102, user_name="Cleo", question=f"unacked {n}",
                answered=False, quote="", citation="", ref=None, via="slash")

    asyncio.run(main(sys.argv[1]))
    """
)


def test_sigkill_after_acknowledged_writes_loses_nothing(tmp_path):
    path = tmp_path / "histbot.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    acknowledged = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # EOF (writer died) ends the loop and fails below
            acknowledged.append(line.split())
            if line.startswith("ack vote"):
                break
        time.sleep(0.05)  # let it write unacknowledged rows, then kill it mid-stream
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert acknowledged and acknowledged[-1][:2] == ["ack", "vote"], acknowledged
    assert proc.returncode == -signal.SIGKILL
    asyncio.run(check_after_kill(path, int(acknowledged[0][2]), int(acknowledged[-1][2])))


async def check_after_kill(path: Path, session_id: int, quiz_id: int) -> None:
    async with SqliteSessionStore(path) as store:
        events = await store.events(session_id)
        questions = [e.data["question"] for e in events if e.kind == "question"]
        assert questions[:5] == [f"question {i}" for i in range(1, 6)]
        votes = await store.votes(quiz_id)
        assert [(v.user_name, v.correct) for v in votes] == [("Ben", True)]
        # The database is consistent after the kill.
        async with store.db.execute("PRAGMA integrity_check") as cursor:
            assert (await cursor.fetchone())[0] == "ok"


# -- transactions: a failed or cancelled write leaves the connection usable ----------------


class FailingExecute:
    """Wraps the store's connection: `statement` raises `error` (before or after it runs)."""

    def __init__(self, store: SqliteSessionStore, statement: str, error: BaseException, *, run):
        self.real = store.db
        self.statement, self.error, self.run = statement, error, run
        self.failed = 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def execute(self, sql, *args):
        if sql.strip() == self.statement and not self.failed:
            self.failed += 1
            return self._fail(sql, *args)
        return self.real.execute(sql, *args)

    async def _fail(self, sql, *args):
        if self.run == "first":  # the statement runs, then the error arrives
            await self.real.execute(sql, *args)
        elif self.run == "meanwhile":  # the error arrives while the statement is queued
            self.queued = asyncio.ensure_future(self.real.execute(sql, *args))
            await asyncio.sleep(0)
        raise self.error


async def ask_question(store, session_id, text="who led the Cheka?"):
    return await store.record_question(
        session_id,
        user_id=101,
        user_name="Ben",
        question=text,
        answered=False,
        quote="",
        citation="",
        ref=None,
        via="slash",
    )


@pytest.mark.parametrize(
    ("statement", "error", "run"),
    [
        ("COMMIT", sqlite3.OperationalError("disk I/O error"), None),  # COMMIT fails
        ("BEGIN IMMEDIATE", asyncio.CancelledError(), "first"),  # cancelled right after BEGIN
        ("BEGIN IMMEDIATE", asyncio.CancelledError(), "meanwhile"),  # cancelled during BEGIN
    ],
)
async def test_a_failed_transaction_is_rolled_back(store, statement, error, run):
    session = await start(store)
    failing = FailingExecute(store, statement, error, run=run)
    store._db = failing
    with pytest.raises(type(error)):
        await ask_question(store, session.id, "lost")
    assert failing.failed == 1
    # Later writes work, and the failed one left nothing behind.
    await ask_question(store, session.id, "kept")
    questions = [e.data["question"] for e in await store.events(session.id) if e.kind == "question"]
    assert "lost" not in questions and "kept" in questions
    store._db = failing.real


async def test_cancelled_writes_never_wedge_the_connection(store):
    session = await start(store)
    for steps in range(12):
        task = asyncio.ensure_future(ask_question(store, session.id, f"cancelled {steps}"))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ask_question(store, session.id, f"after {steps}")
        assert not store.db.in_transaction
    questions = [e.data["question"] for e in await store.events(session.id) if e.kind == "question"]
    assert all(f"after {steps}" in questions for steps in range(12))


async def test_quizzes_are_numbered_in_the_transaction(store):
    session = await start(store)
    other = await start(store, channel=20, thread=21)
    await store.add_quiz(other.id, QUESTION, user_id=100, user_name="Ana")  # another session
    results = await asyncio.gather(
        *(store.add_quiz(session.id, QUESTION, user_id=100, user_name="Ana") for _ in range(4))
    )
    assert sorted(quiz.number for quiz, _ in results) == [1, 2, 3, 4]
    for quiz, previous in results:
        assert (previous is None) == (quiz.number == 1)
        assert previous is None or previous.number == quiz.number - 1
    assert [q.number for q in await store.quizzes(session.id)] == [1, 2, 3, 4]
    last = max(results, key=lambda pair: pair[0].number)[0]
    assert (await store.quiz(last.id)).number == 4
    assert (await store.open_quiz(session.id)).number == 4
    assert (await store.close_quiz(last.id)).number == 4
