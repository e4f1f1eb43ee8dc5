"""/search: every passage that matches, five per page, with Previous/Next for the invoker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.inputs import search_query
from bot.rendering.buttons import PAGE_TEMPLATE, page_buttons
from bot.rendering.embeds import search_embed, search_pages
from bot.ui import HistButton
from knowledge import MAX_QUERY_CHARS

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)

SEARCH_LIMIT = 25
VIEW_TIMEOUT = 180.0
"""Seconds a /search message keeps live page buttons after its last page turn."""


class SearchView(discord.ui.View):
    """Page buttons of one /search message; greyed out when nobody has turned a page for
    `timeout` seconds.

    The buttons themselves are stateless (`PageButton`): after a restart they still turn
    pages, by searching again for the query the message's footer carries. A page turn
    replaces the message's view, and so restarts its timer."""

    live: ClassVar[dict[int, SearchView]] = {}
    """The view of each /search message still counting down, by message id."""

    def __init__(
        self, interaction: discord.Interaction, page: int, pages: int, timeout: float
    ) -> None:
        super().__init__(timeout=timeout)
        self.interaction = interaction
        self.message_id: int | None = None
        for spec in page_buttons(interaction.user.id, page, pages):
            self.add_item(PageButton(spec.custom_id, spec.label, disabled=spec.disabled))

    def attach(self, message_id: int) -> None:
        """Count down for this message, instead of the view it had before."""
        previous = SearchView.live.pop(message_id, None)
        if previous is not None and previous is not self:
            previous.stop()
        self.message_id = message_id
        SearchView.live[message_id] = self

    async def on_timeout(self) -> None:
        if self.message_id is not None:
            SearchView.live.pop(self.message_id, None)
        disabled = discord.ui.View(timeout=None)
        for item in self.children:
            if isinstance(item, PageButton):
                disabled.add_item(
                    PageButton(item.custom_id, label=item.item.label or "", disabled=True)
                )
        try:
            await self.interaction.edit_original_response(view=disabled)
        except discord.HTTPException:
            log.debug("could not disable search buttons", exc_info=True)


class PageButton(HistButton, template=PAGE_TEMPLATE):
    """Previous/Next of a /search message: only the person who searched may turn pages."""

    kind = "page"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        if interaction.user.id != int(fields["owner"]):
            await bot.replies.send_private(
                interaction,
                "Only the person who searched can turn these pages — run `/search` yourself.",
            )
            return
        message = interaction.message
        query = search_query(message.embeds[0]) if message and message.embeds else None
        if message is None or not query:
            await bot.replies.send_private(
                interaction, "These results have expired: run `/search` again."
            )
            return
        search = bot.searcher.search(query, SEARCH_LIMIT, guild_id=interaction.guild_id)
        hits = await bot.replies.compute(interaction, search, update=True)
        pages = search_pages(hits)
        page = min(int(fields["page"]), pages - 1)
        cog = bot.get_cog(Search.__cog_name__)
        timeout = cog.view_timeout if isinstance(cog, Search) else VIEW_TIMEOUT
        view = SearchView(interaction, page, pages, timeout)
        view.attach(message.id)
        await bot.replies.update(interaction, embed=search_embed(query, hits, page), view=view)


class Search(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot
        self.view_timeout = VIEW_TIMEOUT

    @app_commands.command(name="search", description="Every passage that matches, ranked.")
    @app_commands.describe(query="Words or a name to look for, e.g. Yagoda or “show trials”")
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
    ) -> None:
        bot = self.bot
        charged = bot.replies.resumed(interaction)
        with bot.cooldowns.spend("search", interaction.user.id, charged=charged):
            search = bot.searcher.search(query, SEARCH_LIMIT, guild_id=interaction.guild_id)
            hits = await bot.replies.compute(interaction, search)
        embed = search_embed(query, hits, 0)
        if not hits:
            await bot.replies.send(interaction, embed=embed, ephemeral=True)
            return
        pages = search_pages(hits)
        if pages == 1:
            await bot.replies.send(interaction, embed=embed)
            return
        view = SearchView(interaction, 0, pages, self.view_timeout)
        await bot.replies.send(interaction, embed=embed, view=view)
        view.attach((await interaction.original_response()).id)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Search(bot))
    bot.add_dynamic_items(PageButton)
