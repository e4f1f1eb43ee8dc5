"""/ask: the quote that answers a question, its citation, and buttons to read around it.

Asked in a study session's thread, the question and its answer are recorded in the session
(before the reply: what a user sees has been committed). Only threads can hold a session, so
/ask anywhere else never touches session storage; and session storage that cannot be used
never stops an answer.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.inputs import question_from_title
from bot.rendering.buttons import OTHERS_TEMPLATE, ButtonSpec, full_id, short, unpack_refs
from bot.rendering.embeds import others_embed
from bot.storage import SessionClosed, StorageUnavailable, record_answer, session_in_thread
from bot.ui import HistButton, answer_message, make_view
from knowledge import MAX_QUERY_CHARS, Answer, Hit, Passage, QueryError

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)


class OtherMatchesButton(HistButton, template=OTHERS_TEMPLATE):
    """An answer's other matches, privately (re-running the question for their quotes)."""

    kind = "others"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        refs = unpack_refs(fields["refs"])
        shown = interaction.message.embeds if interaction.message else []
        question = question_from_title(shown[0].title if shown else "")

        guild_id = interaction.guild_id

        async def work() -> tuple[list[Passage], dict[str, Hit]]:
            passages = [await bot.searcher.passage(ref, guild_id=guild_id) for ref in refs]
            hits: dict[str, Hit] = {}
            if question:
                with contextlib.suppress(QueryError):
                    found = await bot.searcher.search(question, 25, guild_id=guild_id)
                    hits = {h.ref: h for h in found}
            return passages, hits

        passages, hits = await bot.replies.compute(interaction, work(), ephemeral=True)
        specs = [ButtonSpec("full", f"Open {short(p.ref)}", full_id(p.ref)) for p in passages[:5]]
        await bot.replies.send(
            interaction,
            embed=others_embed(question, passages, hits),
            view=make_view(specs),
            ephemeral=True,
        )


class Ask(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="ask", description="Ask a question; get the exact quote and citation."
    )
    @app_commands.describe(
        question="Your question about the texts, e.g. who succeeded Dzerzhinsky?",
        private="Only you see the answer (default: everyone in the channel)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        private: bool = False,
    ) -> None:
        bot = self.bot
        charged = bot.replies.resumed(interaction)
        with bot.cooldowns.spend("ask", interaction.user.id, charged=charged):
            answer = await bot.replies.compute(
                interaction,
                bot.searcher.answer(question, guild_id=interaction.guild_id),
                ephemeral=private,
            )
        if not private and isinstance(interaction.channel, discord.Thread):
            await self.record_in_session(interaction, interaction.channel, answer)
        await bot.replies.send(interaction, ephemeral=private, **answer_message(answer))

    async def record_in_session(
        self, interaction: discord.Interaction, thread: discord.Thread, answer: Answer
    ) -> None:
        """Record the answer in the study session running in this thread, if there is one.
        (A private answer stays private: it is not recorded.) Storage that cannot be used
        never stops the answer: it is shown, unrecorded (the store has logged why)."""
        store = self.bot.store
        try:
            session = await session_in_thread(store, thread.id)
            if session is None:
                return
            with contextlib.suppress(SessionClosed):
                await record_answer(
                    store,
                    session.id,
                    user_id=interaction.user.id,
                    user_name=interaction.user.display_name,
                    answer=answer,
                    via="ask",
                )
        except StorageUnavailable:
            log.warning("/ask in thread %s answered without recording it", thread.id)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Ask(bot))
    bot.add_dynamic_items(OtherMatchesButton)
