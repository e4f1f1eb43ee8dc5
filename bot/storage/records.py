"""What session storage hands out, and the errors it raises (each one sentence for a user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge.quiz import QuizQuestion


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
    """A quiz as stored: the library's question, and where and when it was asked."""

    id: int
    session_id: int
    question: QuizQuestion
    created_at: str
    closed_at: str | None = None
    number: int = 0
    """Its place among its session's quizzes (1, 2, ...), counted by the database."""

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
