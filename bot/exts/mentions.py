"""Questions in ordinary messages: mention the bot, reply to one of its answers, or DM it.

A reply to one of the bot's answers is a follow-up: the earlier answer's question and quote
(as its embed shows them) are passed to the library as context, so "what happened to him?"
after an answer about Yagoda is about Yagoda.

Without the message-content intent Discord still sends the content of DMs and of messages
that mention the bot (a reply that pings the bot counts), so those work either way; a reply
with the ping switched off arrives empty and is ignored unless `settings.message_content`.
A question in a study session's thread is the session's: the study extension answers it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.inputs import (
    is_question,
    question_from_title,
    ref_from_embed,
    searchable,
    strip_bot_mentions,
)
from bot.rendering.embeds import help_embed
from bot.rendering.text import GENERIC_ERROR, RESTARTING, error_text
from bot.storage import StorageUnavailable, session_in_thread
from bot.ui import answer_message
from knowledge import KnowledgeError

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)

HINT = (
    "Ask me a question after the mention, e.g. “@{name} who succeeded Dzerzhinsky?”, "
    "or use `/ask`. `/help` explains the rest."
)


class Mentions(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        is_dm = message.guild is None
        mentioned = me in message.mentions or f"<@{me.id}>" in message.content
        replied = await self.replied_to(message) if message.reference else None
        if not (is_dm or mentioned or replied):
            return
        question = strip_bot_mentions(message.content, me.id)
        if self.bot.replies.closing:  # shutting down: nothing new starts
            if (is_dm or mentioned) and is_question(question):
                await self.bot.replies.reply(message, content=RESTARTING)
            return
        if await self.in_study_session(message, question):
            return
        try:
            await self.answer(message, question, replied, explicit=is_dm or mentioned)
        except Exception:
            log.exception(
                "error answering message %s in channel %s", message.id, message.channel.id
            )
            try:
                await self.bot.replies.reply(message, content=GENERIC_ERROR)
            except discord.HTTPException:
                log.warning("could not tell the user about an error", exc_info=True)

    async def replied_to(self, message: discord.Message) -> discord.Message | None:
        """The message this one replies to, if it is one of the bot's."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        resolved = reference.resolved
        if not isinstance(resolved, discord.Message):
            resolved = reference.cached_message
        if resolved is None:
            try:
                resolved = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        if self.bot.user is None or resolved.author.id != self.bot.user.id:
            return None
        return resolved

    async def in_study_session(self, message: discord.Message, question: str) -> bool:
        """Is this a question in a study session's thread (which the session answers)?
        Only threads can hold a session, so other messages never touch session storage."""
        if not is_question(question) or not isinstance(message.channel, discord.Thread):
            return False
        try:
            return await session_in_thread(self.bot.store, message.channel.id) is not None
        except StorageUnavailable:
            return False  # no session can be found: answered as any other mention

    async def answer(
        self,
        message: discord.Message,
        question: str,
        replied: discord.Message | None,
        *,
        explicit: bool,
    ) -> None:
        bot = self.bot
        if not question:
            if explicit and bot.user is not None:
                await bot.replies.reply(message, content=HINT.format(name=bot.user.display_name))
            return
        if question.lower().strip("!?. ") in ("help", "/help"):
            await bot.replies.reply(message, embed=help_embed(bot.searcher.library.passages))
            return
        earlier = replied.embeds[0] if replied and replied.embeds else None
        guild_id = message.guild.id if message.guild is not None else None
        try:
            with bot.cooldowns.spend("ask", message.author.id):
                context = context_of(earlier)
                answer = await bot.searcher.answer(question, context=context, guild_id=guild_id)
        except app_commands.CommandOnCooldown as cooldown:
            wait = f"{max(cooldown.retry_after, 1):.0f}s"
            await bot.replies.reply(message, content=f"Easy there — you can ask again in {wait}.")
            return
        except KnowledgeError as error:
            text = error_text(str(error))
            if earlier:
                text += "\nIn a follow-up, name the person or event you mean."
            await bot.replies.reply(message, content=text)
            return
        await bot.replies.reply(message, **answer_message(answer))


def context_of(earlier: discord.Embed | None) -> str:
    """An earlier answer as its reader saw it: the question asked and the quote shown (the
    follow-up's "him" is whom they were about)."""
    if earlier is None or not ref_from_embed(earlier):
        return ""
    return f"{question_from_title(earlier.title)} {searchable(earlier.description or '')}"


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Mentions(bot))
