"""Sessions and their events: persisted, one active per channel, moved on once."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import SessionConflict, SqliteSessionStore, record_answer, session_in_thread
from knowledge import Library
from tests.bot.storage.helpers import QUESTION, start


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
        await store.vote(quiz.id, user_id=101, user_name="Ben", choice=quiz.question.answer_index)
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
        assert stored.question == QUESTION
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


async def test_the_session_of_a_thread_is_the_one_running_in_it(store):
    session = await start(store, channel=10, thread=11)
    assert (await session_in_thread(store, 11)).id == session.id
    assert await session_in_thread(store, 10) is None  # started there, runs elsewhere
    assert await session_in_thread(store, 99) is None


async def test_a_question_is_recorded_with_the_answer_shown(store, library: Library):
    session = await start(store)
    answered = library.answer("Who was the first head of the Cheka?")
    await record_answer(store, session.id, user_id=7, user_name="Ben", answer=answered, via="ask")
    unanswered = library.answer("How tall was Stalin?")
    await record_answer(
        store, session.id, user_id=7, user_name="Ben", answer=unanswered, via="slash"
    )
    first, second = [e for e in await store.events(session.id) if e.kind == "question"]
    assert first.ref == answered.best.ref and first.data["quote"] == answered.best.quote
    assert first.data["citation"] == answered.best.citation and first.data["via"] == "ask"
    assert second.data["answered"] is False and second.ref is None
    assert (await store.last_answer(session.id)).id == first.id
