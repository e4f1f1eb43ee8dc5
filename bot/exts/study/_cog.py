"""The /study commands, the session thread's messages, and what the buttons do."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.study import _quiz
from bot.exts.study._errors import StudyError, session_must_be_open
from bot.exts.study._locks import KeyedLocks
from bot.exts.study._messages import (
    opening_text,
    passage_message,
    scoreboard_embed,
    thread_name,
)
from bot.exts.study._questions import answer_and_record, session_question
from bot.exts.study._sections import find_section, heading, section_choices, source_choices
from bot.exts.study._transcript import ending
from bot.rendering.text import error_text
from bot.storage import (
    NotFound,
    SessionClosed,
    SessionConflict,
    StorageUnavailable,
    StudySession,
)
from bot.ui import answer_message, ref_autocomplete
from knowledge import MAX_QUERY_CHARS, Library, Passage, QueryError

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)


class StudyCog(commands.Cog, name="Study"):
    study = app_commands.Group(
        name="study",
        description="Read a text together, ask questions, take quizzes",
        guild_only=True,
    )

    def __init__(self, bot: HistBot) -> None:
        self.bot = bot
        self._starting = KeyedLocks()
        """One /study start at a time per channel id."""
        self._quizzing = KeyedLocks()
        """One quiz being made at a time per session id."""
        self.vocabulary = _quiz.QuizVocabulary(bot)

    async def cog_unload(self) -> None:
        self.vocabulary.cancel()

    # -- where a command runs -----------------------------------------------------------------

    async def _here(
        self, interaction: discord.Interaction, *, in_thread: bool = True
    ) -> StudySession:
        """The active session of the channel the command was used in (StudyError if none;
        unless `in_thread` is False, it must be used in the session's thread)."""
        channel_id = interaction.channel_id or 0
        session = await self.bot.store.active_session(channel_id)
        if session is None:
            raise StudyError("There is no study session here. Start one with /study start.")
        if in_thread and session.thread_id != channel_id and await self._close_orphan(session):
            raise StudyError(
                "This channel's study session thread was deleted, so the session has been "
                "closed. Start a new one with /study start."
            )
        if in_thread and session.thread_id != channel_id:
            raise StudyError(
                f"This channel's study session runs in <#{session.thread_id}>: use it there."
            )
        return session

    async def _thread_exists(self, thread_id: int) -> bool:
        # Ask Discord, not the cache: a thread deleted while the bot was offline (or
        # without the event reaching it) is still in the cache.
        try:
            await self.bot.fetch_channel(thread_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return True  # cannot tell (no access, outage): assume it is there
        return True

    async def _close_orphan(self, session: StudySession) -> bool:
        """End a session whose thread is gone; True if it was an orphan."""
        if await self._thread_exists(session.thread_id):
            return False
        with contextlib.suppress(SessionClosed):
            await self.bot.store.end_session(
                session.id, user_id=None, user_name="", reason="thread deleted"
            )
        return True

    async def _require_member(
        self, interaction: discord.Interaction, session: StudySession
    ) -> None:
        """A session's buttons are its people's: pressed in its thread, by the host, someone
        who has taken part, a member of the thread, or a thread manager. Anyone else is told
        privately (StudyError) and changes nothing."""
        if interaction.channel_id != session.thread_id:
            raise StudyError(f"This button belongs to the study session in <#{session.thread_id}>.")
        user = interaction.user
        if user.id == session.host_id or interaction.permissions.manage_threads:
            return
        if any(p.user_id == user.id for p in await self.bot.store.participants(session.id)):
            return
        if await self._in_thread(interaction, user.id):
            return
        raise StudyError(
            "Only members of this study session's thread can use its buttons: join the "
            "thread (or post in it) first."
        )

    @staticmethod
    async def _in_thread(interaction: discord.Interaction, user_id: int) -> bool:
        """Is the user a member of the thread the interaction came from? (Asked of Discord:
        thread members are only cached with the members intent.)"""
        thread = interaction.channel
        if not isinstance(thread, discord.Thread):
            return False
        try:
            await thread.fetch_member(user_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            log.warning("could not check whether %s is in thread %s", user_id, thread.id)
            return True  # cannot tell (an outage): a vote is not worth refusing a member
        return True

    @staticmethod
    def _require_host(interaction: discord.Interaction, session: StudySession, what: str) -> None:
        if interaction.user.id == session.host_id:
            return
        if interaction.permissions.manage_threads:
            return
        raise StudyError(
            f"Only the host ({session.host_name}) or members with Manage Threads can {what}."
        )

    async def _post(
        self, interaction: discord.Interaction, message: Awaitable[dict[str, Any]]
    ) -> None:
        """Work out the message (deferring if that takes a while), then post it."""
        await self.bot.replies.send(
            interaction, **await self.bot.replies.compute(interaction, message)
        )

    async def _passage_message(self, session: StudySession, passage: Passage) -> dict[str, Any]:
        searcher = self.bot.searcher
        library = await searcher.library_of(session.guild_id)
        following = await searcher.run(library.next, passage.ref)
        return passage_message(session, passage, following is not None)

    # -- starting -----------------------------------------------------------------------------

    @study.command(name="start", description="Open a study session on a section of a text")
    @app_commands.describe(
        source="Which text (default: the first one)",
        section="Section number or title (default: the first section)",
    )
    async def start(
        self,
        interaction: discord.Interaction,
        source: str | None = None,
        section: str | None = None,
    ) -> None:
        bot = self.bot
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise StudyError("Study sessions run in a server text channel or thread.")

        def resolve(library: Library) -> tuple[str, int, str, str]:
            info = find_section(library, source, section)
            return info.source_id, info.number, info.first_ref, heading(library, info)

        async def check() -> tuple[str, int, str, str]:
            library = await bot.searcher.library_of(interaction.guild_id)
            resolved = await bot.searcher.run(resolve, library)
            existing = await bot.store.active_session(channel.id)
            if existing is not None and not await self._close_orphan(existing):
                raise StudyError(
                    f"A study session is already running here, in <#{existing.thread_id}> "
                    f"(hosted by {existing.host_name}). End it with /study end first."
                )
            return resolved

        source_id, number, first_ref, name = await bot.replies.compute(interaction, check())
        # One start at a time per channel (a guild's events all reach one shard, so this
        # closes the race between two simultaneous starts; the database's unique index is
        # the backstop). If waiting for another start takes a while, acknowledge first.
        async with self._starting.hold(
            channel.id,
            slow=lambda: bot.replies.defer(interaction),
            after=bot.replies.defer_after,
        ):
            existing = await bot.store.active_session(channel.id)
            if existing is not None:
                raise StudyError(
                    f"A study session is already running here, in <#{existing.thread_id}> "
                    f"(hosted by {existing.host_name})."
                )
            await self._open(interaction, channel, source_id, number, first_ref, name)

    async def _open(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.Thread,
        source_id: str,
        number: int,
        first_ref: str,
        name: str,
    ) -> None:
        bot = self.bot
        await bot.replies.defer(interaction)
        if isinstance(channel, discord.Thread):
            thread = channel
        else:
            try:
                thread = await channel.create_thread(
                    name=thread_name(name),
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=1440,
                    reason=f"study session opened by {interaction.user}",
                )
            except discord.Forbidden:
                raise StudyError(
                    "I can't create a thread here: I need the Create Public Threads permission."
                ) from None
        try:
            session = await bot.store.start_session(
                guild_id=interaction.guild_id,
                channel_id=channel.id,
                thread_id=thread.id,
                host_id=interaction.user.id,
                host_name=interaction.user.display_name,
                source_id=source_id,
                section=number,
                first_ref=first_ref,
            )
        except SessionConflict as conflict:
            if thread is not channel:
                await _delete_quietly(thread)
            raise StudyError(
                f"A study session is already running here, in <#{conflict.existing.thread_id}>."
            ) from None
        self.vocabulary.prepare(session.guild_id)
        opening = await bot.searcher.passage(first_ref, guild_id=session.guild_id)
        first = await self._passage_message(session, opening)
        intro = opening_text(name, session.host_name)
        if thread is channel:
            await bot.replies.send(interaction, content=intro, **first)
            return
        try:
            await thread.send(content=intro, **first)
        except discord.HTTPException:
            log.warning("could not post the first passage in thread %s", thread.id, exc_info=True)
        await bot.replies.send(
            interaction, content=f"Study session started in {thread.mention}: join in!"
        )

    @start.autocomplete("source")
    async def _start_source(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        library = await self.bot.searcher.library_of(interaction.guild_id)
        pairs = source_choices(library, current)
        return [app_commands.Choice(name=n, value=v) for n, v in pairs]

    @start.autocomplete("section")
    async def _start_section(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        source = getattr(interaction.namespace, "source", None)
        library = await self.bot.searcher.library_of(interaction.guild_id)
        pairs = section_choices(library, source, current)
        return [app_commands.Choice(name=n, value=v) for n, v in pairs]

    # -- reading --------------------------------------------------------------------------------

    @study.command(name="next", description="Show the next passage of the session's text")
    async def next_(self, interaction: discord.Interaction) -> None:
        async def work() -> dict[str, Any]:
            session = await self._here(interaction)
            return await self._advance(interaction, session, session.current_ref)

        await self._post(interaction, work())

    async def _advance(
        self, interaction: discord.Interaction, session: StudySession, from_ref: str
    ) -> dict[str, Any]:
        """Move the session from `from_ref` to the next passage (once); the message to post."""
        searcher = self.bot.searcher
        library = await searcher.library_of(session.guild_id)
        following = await searcher.run(library.next, from_ref)
        if following is None:
            raise StudyError(
                "That was the last passage of this text. Jump elsewhere with /study goto, "
                "or finish with /study end."
            )
        with session_must_be_open():
            moved = await self.bot.store.advance(
                session.id,
                following.ref,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                expected_ref=from_ref,
            )
        if not moved:
            current = (await self.bot.store.session(session.id)).current_ref
            raise StudyError(
                f"The session has already moved on to {current}: "
                "use the newest Next passage button or /study next."
            )
        return await self._passage_message(session, following)

    async def press_next(self, interaction: discord.Interaction, session_id: int, ref: str) -> None:
        """ "Next passage" under `ref`: moves the session on, once, from that passage."""

        async def work() -> dict[str, Any]:
            try:
                session = await self.bot.store.session(session_id)
            except NotFound:
                raise StudyError("This study session no longer exists.") from None
            if not session.active:
                raise StudyError("This study session has ended.")
            await self._require_member(interaction, session)
            return await self._advance(interaction, session, ref)

        await self._post(interaction, work())
        if interaction.message is not None:
            try:  # the old button has done its job; nothing breaks if this fails
                await interaction.message.edit(view=None)
            except discord.HTTPException:
                log.debug("could not remove an old Next button", exc_info=True)

    @study.command(name="goto", description="Jump to a passage of the text")
    @app_commands.describe(ref="A passage reference such as 3.2 or guardians:3.2")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def goto(self, interaction: discord.Interaction, ref: str) -> None:
        async def work() -> dict[str, Any]:
            session = await self._here(interaction)
            text = ref.strip()
            if ":" not in text:
                text = f"{session.source_id}:{text}"
            passage = await self.bot.searcher.passage(text, guild_id=session.guild_id)
            with session_must_be_open():
                await self.bot.store.advance(
                    session.id,
                    passage.ref,
                    user_id=interaction.user.id,
                    user_name=interaction.user.display_name,
                )
            return await self._passage_message(session, passage)

        await self._post(interaction, work())

    # -- questions ------------------------------------------------------------------------------

    @study.command(name="ask", description="Ask the texts a question (recorded in the session)")
    @app_commands.describe(question="Your question, e.g. who succeeded Dzerzhinsky?")
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        bot = self.bot
        session = await self._here(interaction)
        charged = bot.replies.resumed(interaction)
        with bot.cooldowns.spend("ask", interaction.user.id, charged=charged):
            work = answer_and_record(bot, session, interaction.user, question, "slash")
            answer = await bot.replies.compute(interaction, work)
        await bot.replies.send(interaction, **answer_message(answer))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A question in a session's thread (a mention; any message with message content)."""
        bot = self.bot
        if bot.replies.closing:
            return  # shutting down: a mention gets a note from the mentions extension
        found = await session_question(bot, message)
        if found is None:
            return
        session, question = found
        via = "mention" if bot.user in message.mentions else "message"
        try:
            with bot.cooldowns.spend("ask", message.author.id):
                answer = await answer_and_record(bot, session, message.author, question, via)
        except app_commands.CommandOnCooldown:
            return  # no reply: replying to every message of a chatty thread would be noise
        except QueryError as error:
            await bot.replies.reply(message, content=error_text(str(error)))
            return
        except StudyError:
            return
        await bot.replies.reply(message, **answer_message(answer))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        try:
            session = await self.bot.store.active_session(payload.thread_id)
            if session is None or session.thread_id != payload.thread_id:
                return
            with contextlib.suppress(SessionClosed):
                await self.bot.store.end_session(
                    session.id, user_id=None, user_name="", reason="thread deleted"
                )
                log.info("study session %s ended: its thread was deleted", session.id)
        except StorageUnavailable:
            log.warning("thread %s was deleted; its session could not be ended", payload.thread_id)

    # -- quizzes --------------------------------------------------------------------------------

    @study.command(name="quiz", description="A question on the passages read so far")
    async def quiz(self, interaction: discord.Interaction) -> None:
        async def work() -> dict[str, Any]:
            session = await self._here(interaction)
            async with self._quizzing.hold(session.id):
                return await _quiz.new_quiz(self.bot, session, interaction.user)

        await self._post(interaction, work())

    async def press_choice(self, interaction: discord.Interaction, quiz: int, choice: int) -> None:
        """A quiz's answer button: the member's one vote, and privately, the verdict."""

        async def work() -> str:
            session = await _quiz.session_of(self.bot, quiz)
            await self._require_member(interaction, session)
            return await _quiz.vote(self.bot, quiz, interaction.user, choice)

        text = await self.bot.replies.compute(interaction, work(), ephemeral=True)
        await self.bot.replies.send(interaction, content=text, ephemeral=True)

    @study.command(name="reveal", description="Close the open quiz and show its answer")
    async def reveal(self, interaction: discord.Interaction) -> None:
        async def work() -> dict[str, Any]:
            session = await self._here(interaction)
            self._require_host(interaction, session, "reveal the quiz")
            return await _quiz.reveal(self.bot, session)

        await self._post(interaction, work())

    @study.command(name="scores", description="The session's quiz scoreboard")
    async def scores(self, interaction: discord.Interaction) -> None:
        async def work() -> discord.Embed:
            session = await self._here(interaction)
            return scoreboard_embed(await self.bot.store.scoreboard(session.id))

        embed = await self.bot.replies.compute(interaction, work())
        await self.bot.replies.send(interaction, embed=embed)

    # -- ending ---------------------------------------------------------------------------------

    @study.command(name="end", description="Close the session: summary and transcript")
    async def end(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        session = await self._here(interaction, in_thread=False)
        self._require_host(interaction, session, "end this session")
        await bot.replies.defer(interaction)
        try:
            ended, closed = await bot.store.end_session(
                session.id,
                user_id=interaction.user.id,
                user_name=interaction.user.display_name,
                reason=f"ended by {interaction.user.display_name}",
            )
        except SessionClosed:
            raise StudyError("This study session has already ended.") from None
        await bot.replies.send(interaction, **await ending(bot, ended, closed))


async def _delete_quietly(thread: discord.Thread) -> None:
    try:
        await thread.delete()
    except discord.HTTPException:
        log.debug("could not delete thread %s", thread.id, exc_info=True)
