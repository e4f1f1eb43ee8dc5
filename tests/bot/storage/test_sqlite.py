"""The SQLite store's transactions: nothing acknowledged is lost to SIGKILL, and a failed or
cancelled write leaves the connection usable."""

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

from bot.storage import SqliteSessionStore, StorageUnavailable
from tests.bot.storage.helpers import start

REPO = Path(__file__).resolve().parents[3]


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from bot.storage import SqliteSessionStore, StorageUnavailable
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
    ("statement", "error", "run", "raised"),
    [
        # COMMIT fails: told as the file failing, by name
        ("COMMIT", sqlite3.OperationalError("disk I/O error"), None, StorageUnavailable),
        # cancelled right after BEGIN, or during it
        ("BEGIN IMMEDIATE", asyncio.CancelledError(), "first", asyncio.CancelledError),
        ("BEGIN IMMEDIATE", asyncio.CancelledError(), "meanwhile", asyncio.CancelledError),
    ],
)
async def test_a_failed_transaction_is_rolled_back(store, statement, error, run, raised):
    session = await start(store)
    failing = FailingExecute(store, statement, error, run=run)
    store._db = failing
    with pytest.raises(raised) as caught:
        await ask_question(store, session.id, "lost")
    if raised is StorageUnavailable:
        assert str(store.path) in str(caught.value) and "disk I/O error" in str(caught.value)
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
