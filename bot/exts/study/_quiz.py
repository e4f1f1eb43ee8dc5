"""Quizzes: a cloze question on the passages the group has read, one vote per member, and
the answer revealed to everyone when the next quiz starts (or on /study reveal).

The library's quiz maker needs a vocabulary of every passage, made once per library (a minute
for a large one, in the indexing worker) and kept with its index: `QuizVocabulary` prepares
it in the background when a session starts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

import discord

from bot.exts.study._errors import StudyError, session_must_be_open
from bot.exts.study._messages import LETTERS, answer_quote, quiz_message, reveal_embed
from bot.rendering.text import CONTENT_LIMIT, clean, fit
from bot.storage import AlreadyVoted, NotFound, SessionClosed, StudySession
from knowledge.quiz import QuizQuestion

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)


class QuizVocabulary:
    """Builds the library's quiz vocabulary off the event loop, once, ahead of the first quiz."""

    def __init__(self, bot: HistBot) -> None:
        self.bot = bot
        self._warming: asyncio.Future[Any] | None = None

    def prepare(self, guild_id: int | None) -> None:
        """Build the vocabulary of the library of `guild_id` in the background."""
        if self._warming is not None and not self._warming.done():
            return
        searcher = self.bot.searcher

        async def warm() -> None:
            await searcher.quiz_maker(guild_id)

        self._warming = asyncio.ensure_future(warm())
        self._warming.add_done_callback(_log_failure)

    def cancel(self) -> None:
        if self._warming is not None:
            self._warming.cancel()


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not prepare the quiz vocabulary", exc_info=future.exception())


async def new_quiz(bot: HistBot, session: StudySession, user: discord.abc.User) -> dict[str, Any]:
    """Make and store a quiz on what the session has read; the message that shows it (after
    the reveal of the quiz it closes). Callers make one quiz at a time per session: the next
    excludes this one's question, and its seed follows the quizzes already asked."""
    store, searcher = bot.store, bot.searcher
    library = await searcher.library_of(session.guild_id)
    maker = await searcher.quiz_maker(session.guild_id)  # made once per library, not per quiz
    refs = await store.read_refs(session.id)
    asked = await store.quizzes(session.id)

    def generate() -> QuizQuestion | None:
        read = [library.passage(ref) for ref in refs]
        rng = random.Random(f"{session.id}:{len(asked) + 1}")
        exclude = [(q.question.ref, q.question.answer) for q in asked]
        return maker.make(read, rng=rng, exclude=exclude)

    question = await searcher.run(generate)
    if question is None:
        raise StudyError(
            "The passages read so far have no names, dates or numbers to quiz on: "
            "read on with /study next, then try again."
        )
    with session_must_be_open():
        record, previous = await store.add_quiz(
            session.id,
            question,
            user_id=user.id,
            user_name=getattr(user, "display_name", user.name),
        )
    revealed = None
    if previous is not None:
        revealed = reveal_embed(previous, await store.votes(previous.id))
    return quiz_message(record, revealed)


async def session_of(bot: HistBot, quiz_id: int) -> StudySession:
    """The session a quiz was asked in (StudyError if it is gone)."""
    try:
        return await bot.store.session((await bot.store.quiz(quiz_id)).session_id)
    except NotFound:
        raise StudyError("This quiz no longer exists.") from None


async def vote(bot: HistBot, quiz_id: int, user: discord.abc.User, choice: int) -> str:
    """Record a member's answer; the private reply (verdict, quote and citation)."""
    store = bot.store
    try:
        record = await store.quiz(quiz_id)
    except NotFound:
        raise StudyError("This quiz no longer exists.") from None
    question = record.question
    if not 0 <= choice < len(question.choices):
        raise StudyError("That is not one of this quiz's choices.")
    reveal = f"{answer_quote(record)}\n— {clean(question.citation)}"
    answer = clean(question.answer)
    try:
        cast = await store.vote(
            quiz_id,
            user_id=user.id,
            user_name=getattr(user, "display_name", user.name),
            choice=choice,
        )
    except AlreadyVoted as already:
        earlier = already.vote.choice
        raise StudyError(
            f"You have already answered this quiz (you chose {LETTERS[earlier]}. "
            f"{question.choices[earlier]}); each member answers once."
        ) from None
    except SessionClosed:
        closed = f"This quiz is closed. The answer was **{answer}**:\n{reveal}"
        return fit(closed, CONTENT_LIMIT, lambda t: t)
    if cast.correct:
        head = f"✅ Right: **{answer}**."
    else:
        head = (
            f"❌ Not this time: you chose {clean(question.choices[choice])}; "
            f"the answer is **{answer}**."
        )
    return fit(f"{head}\n{reveal}", CONTENT_LIMIT, lambda t: t)


async def reveal(bot: HistBot, session: StudySession) -> dict[str, Any]:
    """Close the session's open quiz; the message that shows its answer and who got it."""
    store = bot.store
    open_quiz = await store.open_quiz(session.id)
    if open_quiz is None:
        raise StudyError("There is no open quiz. Start one with /study quiz.")
    closed = await store.close_quiz(open_quiz.id)
    return {"embed": reveal_embed(closed, await store.votes(closed.id))}
