"""SQL for quizzes and votes. A quiz stores the library's `QuizQuestion` as it is; its
number in the session is counted by the database, in the transaction that adds it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import aiosqlite

from bot.storage import sessions
from bot.storage.records import (
    AlreadyVoted,
    NotFound,
    QuizRecord,
    Score,
    SessionClosed,
    StorageError,
    Vote,
)
from bot.storage.schema import fields_of, now
from knowledge.quiz import QuizQuestion, TermKind

QUIZ_SELECT = (
    "SELECT q.*, (SELECT COUNT(*) FROM quizzes p WHERE p.session_id = q.session_id"
    " AND p.id <= q.id) AS number FROM quizzes q"
)
"""Quizzes with their number in the session (the quizzes_by_session index counts it)."""


def quiz_from(row: sqlite3.Row) -> QuizRecord:
    question = QuizQuestion(
        ref=row["ref"],
        citation=row["citation"],
        sentence=row["sentence"],
        cloze=row["cloze"],
        answer=row["answer"],
        choices=tuple(json.loads(row["choices"])),
        kind=TermKind(row["kind"]),
    )
    return QuizRecord(
        id=row["id"],
        session_id=row["session_id"],
        question=question,
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        number=row["number"],
    )


def vote_from(row: sqlite3.Row) -> Vote:
    values = fields_of(row, Vote)
    values["correct"] = bool(values["correct"])
    return Vote(**values)


async def _one(
    db: aiosqlite.Connection, where: str, params: tuple[object, ...]
) -> QuizRecord | None:
    async with db.execute(f"{QUIZ_SELECT} WHERE {where}", params) as cursor:
        row = await cursor.fetchone()
    return quiz_from(row) if row else None


async def get(db: aiosqlite.Connection, quiz_id: int) -> QuizRecord:
    """A quiz by id (NotFound)."""
    quiz = await _one(db, "q.id = ?", (quiz_id,))
    if quiz is None:
        raise NotFound(f"there is no quiz #{quiz_id}")
    return quiz


async def open_quiz(db: aiosqlite.Connection, session_id: int) -> QuizRecord | None:
    return await _one(
        db, "q.session_id = ? AND q.closed_at IS NULL ORDER BY q.id DESC LIMIT 1", (session_id,)
    )


async def close(db: aiosqlite.Connection, quiz: QuizRecord) -> QuizRecord:
    """Close a quiz and record it in the session's events (idempotent)."""
    if not quiz.open:
        return quiz
    at = now()
    await db.execute("UPDATE quizzes SET closed_at = ? WHERE id = ?", (at, quiz.id))
    await sessions.insert_event(
        db,
        quiz.session_id,
        "quiz_closed",
        user_id=None,
        user_name="",
        ref=quiz.question.ref,
        data={"quiz_id": quiz.id},
        at=at,
    )
    return dataclasses.replace(quiz, closed_at=at)


async def close_open(db: aiosqlite.Connection, session_id: int) -> QuizRecord | None:
    """Close the session's open quiz (if any) and return it."""
    async with db.execute(
        f"{QUIZ_SELECT} WHERE q.session_id = ? AND q.closed_at IS NULL ORDER BY q.id",
        (session_id,),
    ) as cursor:
        rows = list(await cursor.fetchall())
    closed = None
    for row in rows:
        closed = await close(db, quiz_from(row))
    return closed


async def add(
    db: aiosqlite.Connection,
    session_id: int,
    question: QuizQuestion,
    *,
    user_id: int,
    user_name: str,
) -> tuple[QuizRecord, QuizRecord | None]:
    """Store a new quiz in an active session, closing the open one; both are returned."""
    await sessions.get_active(db, session_id)
    previous = await close_open(db, session_id)
    at = now()
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
    await sessions.insert_event(
        db,
        session_id,
        "quiz",
        user_id=user_id,
        user_name=user_name,
        ref=question.ref,
        data={"quiz_id": quiz_id},
        at=at,
    )
    return await get(db, quiz_id), previous


async def vote(
    db: aiosqlite.Connection, quiz_id: int, *, user_id: int, user_name: str, choice: int
) -> Vote:
    quiz = await get(db, quiz_id)
    await sessions.get_active(db, quiz.session_id)
    if not quiz.open:
        raise SessionClosed("this quiz is closed")
    if not 0 <= choice < len(quiz.question.choices):
        raise StorageError(f"quiz #{quiz_id} has no choice {choice}")
    async with db.execute(
        "SELECT * FROM votes WHERE quiz_id = ? AND user_id = ?", (quiz_id, user_id)
    ) as cursor:
        existing = await cursor.fetchone()
    if existing is not None:
        raise AlreadyVoted("you have already answered this quiz", vote_from(existing))
    correct = choice == quiz.question.answer_index
    cast = Vote(quiz_id, user_id, user_name, choice, correct, now())
    await db.execute(
        "INSERT INTO votes (quiz_id, user_id, user_name, choice, correct, at) VALUES (?,?,?,?,?,?)",
        (quiz_id, user_id, user_name, choice, int(correct), cast.at),
    )
    return cast


async def votes(db: aiosqlite.Connection, quiz_id: int) -> list[Vote]:
    async with db.execute(
        "SELECT * FROM votes WHERE quiz_id = ? ORDER BY at, user_id", (quiz_id,)
    ) as cursor:
        return [vote_from(row) for row in await cursor.fetchall()]


async def of_session(db: aiosqlite.Connection, session_id: int) -> list[QuizRecord]:
    async with db.execute(
        f"{QUIZ_SELECT} WHERE q.session_id = ? ORDER BY q.id", (session_id,)
    ) as cursor:
        return [quiz_from(row) for row in await cursor.fetchall()]


async def scoreboard(db: aiosqlite.Connection, session_id: int) -> list[Score]:
    async with db.execute(
        "SELECT v.user_id, MAX(v.user_name) AS user_name, SUM(v.correct) AS correct,"
        " COUNT(*) AS answered FROM votes v JOIN quizzes q ON q.id = v.quiz_id"
        " WHERE q.session_id = ? GROUP BY v.user_id"
        " ORDER BY correct DESC, answered ASC, user_name",
        (session_id,),
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        Score(row["user_id"], row["user_name"], int(row["correct"]), int(row["answered"]))
        for row in rows
    ]
