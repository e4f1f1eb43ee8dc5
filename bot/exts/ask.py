"""/ask: the quote that answers a question, its citation, and buttons to read around it.

`render_answer(answer)` is the one way an Answer becomes a message (embed + view); the
mention handler and the study extension use it so every answer looks the same.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import inputs
from bot.app import cooldown
from bot.exts import HistButton, make_view
from bot.rendering import buttons, embeds
from knowledge import MAX_QUERY_CHARS, Answer, Hit, Passage, QueryError

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)


def render_answer(answer: Answer) -> tuple[discord.Embed, discord.ui.View | None]:
    """An Answer as a message: the quote embed (or "not found") and its buttons."""
    return embeds.answer_embed(answer), make_view(buttons.answer_buttons(answer))


def answer_kwargs(answer: Answer) -> dict[str, Any]:
    """Keyword arguments for send/reply/followup that show an Answer."""
    embed, view = render_answer(answer)
    kwargs: dict[str, Any] = {"embed": embed}
    if view is not None:
        kwargs["view"] = view
    return kwargs


class OtherMatchesButton(HistButton, template=buttons.OTHERS_TEMPLATE):
    """An answer's other matches, privately (re-running the question for their quotes)."""

    kind = "others"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        refs = buttons.unpack_refs(fields["refs"])
        shown = interaction.message.embeds if interaction.message else []
        question = inputs.question_from_title(shown[0].title if shown else "")

        async def work() -> tuple[list[Passage], dict[str, Hit]]:
            passages = [await bot.passage(ref) for ref in refs]
            hits: dict[str, Hit] = {}
            if question:
                with contextlib.suppress(QueryError):
                    hits = {h.ref: h for h in await bot.search(question, 25)}
            return passages, hits

        passages, hits = await bot.compute(interaction, work(), ephemeral=True)
        embed = embeds.others_embed(question, passages, hits)
        specs = [
            buttons.ButtonSpec("full", f"Open {buttons.short(p.ref)}", buttons.full_id(p.ref))
            for p in passages[:5]
        ]
        await bot.send(interaction, embed=embed, view=make_view(specs), ephemeral=True)


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
    @cooldown("ask")
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        private: bool = False,
    ) -> None:
        answer = await self.bot.compute(interaction, self.bot.ask(question), ephemeral=private)
        await self.bot.before_answer(interaction, question, answer)
        await self.bot.send(interaction, ephemeral=private, **answer_kwargs(answer))


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Ask(bot))
