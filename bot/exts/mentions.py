"""Questions in ordinary messages: mention the bot, reply to one of its answers, or DM it.

A reply to one of the bot's answers is a follow-up: the earlier answer's passage (its
reference is in the embed footer) is passed to the library as context, so "what happened to
him?" after an answer about Yagoda is about Yagoda.

Without the message-content intent Discord still sends the content of DMs and of messages
that mention the bot (a reply that pings the bot counts), so those work either way; a reply
with the ping switched off arrives empty and is ignored unless `settings.message_content`.
Messages an extension claims (`HistBot.message_claims`) are left to that extension.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import inputs
from bot.exts.ask import answer_kwargs
from bot.rendering import embeds, text
from bot.rendering.text import GENERIC_ERROR
from knowledge import KnowledgeError

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)

HINT = (
    "Ask me a question after the mention, e.g. “@{name} who succeeded Dzerzhinsky?”, "
    "or use `/ask`. `/help` explains the rest."
)


class Mentions(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot

    async def replied_to(self, message: discord.Message) -> discord.Message | None:
        """The message this one replies to, if it is one of the bot's."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        resolved = reference.resolved
        if not isinstance(resolved, discord.Message):
            cached = reference.cached_message
            resolved = cached
        if resolved is None:
            try:
                resolved = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        if self.bot.user is None or resolved.author.id != self.bot.user.id:
            return None
        return resolved

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
        if await self.bot.is_claimed(message):
            return
        try:
            await self.answer(message, replied, explicit=is_dm or mentioned)
        except Exception:
            log.exception(
                "error answering message %s in channel %s", message.id, message.channel.id
            )
            try:
                await message.reply(GENERIC_ERROR, mention_author=False)
            except discord.HTTPException:
                log.warning("could not tell the user about an error", exc_info=True)

    async def answer(
        self, message: discord.Message, replied: discord.Message | None, *, explicit: bool
    ) -> None:
        me = self.bot.user
        assert me is not None
        question = inputs.strip_bot_mentions(message.content, me.id)
        if not question:
            if explicit:
                await message.reply(HINT.format(name=me.display_name), mention_author=False)
            return
        if question.lower().strip("!?. ") in ("help", "/help"):
            embed = embeds.help_embed(self.bot.library.passages)
            await message.reply(embed=embed, mention_author=False)
            return
        retry = self.bot.cooldowns.hit("ask", message.author.id, self.bot.cooldown_seconds("ask"))
        if retry > 0:
            await message.reply(
                f"Easy there — you can ask again in {max(retry, 1):.0f}s.", mention_author=False
            )
            return
        context = ""
        earlier = (
            inputs.ref_from_embed(replied.embeds[0]) if replied and replied.embeds else None
        )
        if earlier:
            try:
                context = (await self.bot.passage(earlier)).text
            except KnowledgeError:
                context = ""
        try:
            answer = await self.bot.ask(question, context=context)
        except KnowledgeError as error:
            self.bot.cooldowns.reset("ask", message.author.id)
            reply = text.error_text(str(error))
            if earlier:
                reply += "\nIn a follow-up, name the person or event you mean."
            await message.reply(reply, mention_author=False)
            return
        await message.reply(mention_author=False, **answer_kwargs(answer))


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Mentions(bot))
