"""SQL for sessions and their events. Each function runs on a connection the store holds
(inside its transaction, for writes); none commits."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from bot.storage.records import (
    Event,
    NotFound,
    Participant,
    SessionClosed,
    SessionConflict,
    StudySession,
)
from bot.storage.schema import fields_of, now


def session_from(row: sqlite3.Row) -> StudySession:
    return StudySession(**fields_of(row, StudySession))


def event_from(row: sqlite3.Row) -> Event:
    values = fields_of(row, Event)
    values["data"] = json.loads(values["data"])
    return Event(**values)


async def insert_event(
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
    at = at or now()
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


async def get(db: aiosqlite.Connection, session_id: int) -> StudySession:
    """A session by id (NotFound)."""
    async with db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"there is no study session #{session_id}")
    return session_from(row)


async def get_active(db: aiosqlite.Connection, session_id: int) -> StudySession:
    """A session that has not ended (SessionClosed if it has)."""
    session = await get(db, session_id)
    if not session.active:
        raise SessionClosed("this study session has ended")
    return session


async def start(
    db: aiosqlite.Connection,
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
    async with db.execute(
        "SELECT * FROM sessions WHERE ended_at IS NULL AND"
        " (channel_id IN (?, ?) OR thread_id IN (?, ?)) ORDER BY id LIMIT 1",
        (channel_id, thread_id, channel_id, thread_id),
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        existing = session_from(row)
        raise SessionConflict(
            f"a study session is already running here (hosted by {existing.host_name})",
            existing,
        )
    at = now()
    cursor = await db.execute(
        "INSERT INTO sessions (guild_id, channel_id, thread_id, host_id, host_name,"
        " source_id, section, current_ref, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (guild_id, channel_id, thread_id, host_id, host_name, source_id, section, first_ref, at),
    )
    session_id = int(cursor.lastrowid or 0)
    data = {"source_id": source_id, "section": section}
    await insert_event(
        db, session_id, "opened", user_id=host_id, user_name=host_name, data=data, at=at
    )
    await insert_event(
        db, session_id, "passage", user_id=host_id, user_name=host_name, ref=first_ref
    )
    return await get(db, session_id)


async def find_active(db: aiosqlite.Connection, channel_id: int) -> StudySession | None:
    """The active session running in, or started from, this channel (the thread's first)."""
    async with db.execute(
        "SELECT * FROM sessions WHERE ended_at IS NULL AND (thread_id = ? OR channel_id = ?)"
        " ORDER BY thread_id = ? DESC, id LIMIT 1",
        (channel_id, channel_id, channel_id),
    ) as cursor:
        row = await cursor.fetchone()
    return session_from(row) if row else None


async def advance(
    db: aiosqlite.Connection,
    session_id: int,
    ref: str,
    *,
    user_id: int,
    user_name: str,
    expected_ref: str | None = None,
) -> bool:
    session = await get_active(db, session_id)
    if expected_ref is not None and session.current_ref != expected_ref:
        return False
    await db.execute("UPDATE sessions SET current_ref = ? WHERE id = ?", (ref, session_id))
    await insert_event(db, session_id, "passage", user_id=user_id, user_name=user_name, ref=ref)
    return True


async def record_question(
    db: aiosqlite.Connection,
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
    await get_active(db, session_id)
    data = {
        "question": question,
        "answered": answered,
        "quote": quote,
        "citation": citation,
        "via": via,
    }
    return await insert_event(
        db, session_id, "question", user_id=user_id, user_name=user_name, ref=ref, data=data
    )


async def end(
    db: aiosqlite.Connection, session_id: int, *, user_id: int | None, user_name: str, reason: str
) -> StudySession:
    at = now()
    await db.execute(
        "UPDATE sessions SET ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?",
        (at, user_id, reason, session_id),
    )
    await insert_event(
        db,
        session_id,
        "ended",
        user_id=user_id,
        user_name=user_name,
        data={"reason": reason},
        at=at,
    )
    return await get(db, session_id)


# -- reading a session back --------------------------------------------------------------------


async def events(db: aiosqlite.Connection, session_id: int) -> list[Event]:
    async with db.execute(
        "SELECT * FROM events WHERE session_id = ? ORDER BY id", (session_id,)
    ) as cursor:
        return [event_from(row) for row in await cursor.fetchall()]


async def read_refs(db: aiosqlite.Connection, session_id: int) -> list[str]:
    async with db.execute(
        "SELECT ref FROM events WHERE session_id = ? AND kind = 'passage' ORDER BY id",
        (session_id,),
    ) as cursor:
        rows = await cursor.fetchall()
    return list(dict.fromkeys(row["ref"] for row in rows))


async def participants(db: aiosqlite.Connection, session_id: int) -> list[Participant]:
    async with db.execute(
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
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        Participant(row["user_id"], row["user_name"], int(row["questions"]), int(row["votes"]))
        for row in rows
    ]


async def last_answer(db: aiosqlite.Connection, session_id: int) -> Event | None:
    async with db.execute(
        "SELECT * FROM events WHERE session_id = ? AND kind = 'question'"
        " AND json_extract(data, '$.answered') ORDER BY id DESC LIMIT 1",
        (session_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return event_from(row) if row else None
