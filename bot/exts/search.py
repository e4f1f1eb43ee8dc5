"""/search: every passage that matches, five per page, with Previous/Next for the invoker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.app import cooldown
from knowledge import MAX_QUERY_CHARS, Hit

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)

SEARCH_LIMIT = 25


class SearchView(discord.ui.View):
    """Page buttons only the invoker can press; disabled when the view times out."""

    def __init__(
        self,
        bot: HistBot,
        interaction: discord.Interaction,
        query: str,
        hits: Sequence[Hit],
        timeout: float,
    ) -> None:
        super().__init__(timeout=timeout)
        self.bot = bot
        self.interaction = interaction
        self.owner_id = interaction.user.id
        self.query = query
        self.hits = list(hits)
        self.page = 0
        self.pages = rendering.search_pages(self.hits)
        self._update()

    def _update(self) -> None:
        self.previous_page.disabled = self.page <= 0
        self.next_page.disabled = self.page >= self.pages - 1

    def embed(self) -> discord.Embed:
        return rendering.search_embed(self.query, self.hits, self.page)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who searched can turn these pages — run `/search` yourself.",
            ephemeral=True,
        )
        return False

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        self.page = max(self.page - 1, 0)
        self._update()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.page = min(self.page + 1, self.pages - 1)
        self._update()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            await self.interaction.edit_original_response(view=self)
        except discord.HTTPException:
            log.debug("could not disable search buttons", exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await self.bot.report_error(interaction, error)


class Search(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Every passage that matches, ranked.")
    @app_commands.describe(query="Words or a name to look for, e.g. Yagoda or “show trials”")
    @cooldown("search")
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        hits = await self.bot.compute(interaction, self.bot.search(query, SEARCH_LIMIT))
        if not hits:
            await self.bot.send(
                interaction, embed=rendering.search_embed(query, [], 0), ephemeral=True
            )
            return
        view = SearchView(self.bot, interaction, query, hits, self.bot.view_timeout)
        if view.pages == 1:
            view.stop()
            await self.bot.send(interaction, embed=view.embed())
            return
        await self.bot.send(interaction, embed=view.embed(), view=view)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Search(bot))
