"""What the storage tests store: a quiz question, and a session started with defaults."""

from __future__ import annotations

from bot.storage import SqliteSessionStore, StudySession
from knowledge.quiz import QuizQuestion, TermKind

QUESTION = QuizQuestion(
    ref="guardians:3.1",
    citation="From Guardians to Executioners, section 3, paragraph 1",
    sentence="The first head of the Cheka was Felix Dzerzhinsky.",
    cloze="The first head of the Cheka was _____.",
    answer="Felix Dzerzhinsky",
    choices=("Lavrenti Beria", "Felix Dzerzhinsky", "Henrikh Yagoda", "Nikolai Yezhov"),
    kind=TermKind.NAME,
)


async def start(
    store: SqliteSessionStore, channel: int = 10, thread: int = 11, **kw: object
) -> StudySession:
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
