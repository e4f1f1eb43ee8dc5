"""`SessionStore`: what the bot needs from session storage; and writes done the same way
everywhere on top of it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.storage.records import (
    Event,
    Participant,
    QuizRecord,
    Score,
    StudySession,
    Vote,
)
from knowledge import Answer
from knowledge.quiz import QuizQuestion


@runtime_checkable
class SessionStore(Protocol):
    """What the bot needs from session storage. Every write has committed when it returns."""

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


async def session_in_thread(store: SessionStore, thread_id: int) -> StudySession | None:
    """The active session running in this thread (not one merely started from a channel)."""
    session = await store.active_session(thread_id)
    return session if session is not None and session.thread_id == thread_id else None


async def record_answer(
    store: SessionStore,
    session_id: int,
    *,
    user_id: int,
    user_name: str,
    answer: Answer,
    via: str,
) -> Event:
    """Record a question and the answer the user was shown (SessionClosed if it is over).

    `via` says how it was asked: "slash" (/study ask), "ask" (/ask in the thread),
    "mention" or "message"."""
    best = answer.best
    return await store.record_question(
        session_id,
        user_id=user_id,
        user_name=user_name,
        question=answer.question,
        answered=best is not None,
        quote=best.quote if best else "",
        citation=best.citation if best else "",
        ref=best.ref if best else None,
        via=via,
    )
