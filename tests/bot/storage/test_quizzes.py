"""Quizzes and votes: one vote per member, closed quizzes refused, numbered in order."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import AlreadyVoted, NotFound, SessionClosed, StorageError
from tests.bot.storage.helpers import QUESTION, start


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
