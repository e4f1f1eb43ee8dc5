"""/search: every passage that matches, five per page, with Previous/Next for the invoker."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import inputs
from bot.app import cooldown
from bot.exts import HistButton
from bot.rendering import buttons, embeds
from knowledge import MAX_QUERY_CHARS

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)

SEARCH_LIMIT = 25


def page_buttons(owner_id: int, page: int, pages: int) -> list[PageButton]:
    return [
        PageButton(
            buttons.page_id(owner_id, max(page - 1, 0), "prev"),
            label="◀ Previous",
            disabled=page <= 0,
        ),
        PageButton(
            buttons.page_id(owner_id, min(page + 1, pages - 1), "next"),
            label="Next ▶",
            disabled=page >= pages - 1,
        ),
    ]


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
        for button in page_buttons(interaction.user.id, page, pages):
            self.add_item(button)

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


class PageButton(HistButton, template=buttons.PAGE_TEMPLATE):
    """Previous/Next of a /search message: only the person who searched may turn pages."""

    kind = "page"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        if interaction.user.id != int(fields["owner"]):
            await bot.send_private(
                interaction,
                "Only the person who searched can turn these pages — run `/search` yourself.",
            )
            return
        message = interaction.message
        query = inputs.search_query(message.embeds[0]) if message and message.embeds else None
        if message is None or not query:
            await bot.send_private(interaction, "These results have expired: run `/search` again.")
            return
        search = asyncio.ensure_future(bot.search(query, SEARCH_LIMIT))
        if bot.searcher is not None and bot.searcher.busy:
            await interaction.response.defer()  # acknowledged now, the page follows
        done, _ = await asyncio.wait({search}, timeout=bot.defer_after)
        if not done and not interaction.response.is_done():
            await interaction.response.defer()
        hits = await search
        pages = embeds.search_pages(hits)
        page = min(int(fields["page"]), pages - 1)
        view = SearchView(interaction, page, pages, bot.view_timeout)
        view.attach(message.id)
        embed = embeds.search_embed(query, hits, page)
        if interaction.response.is_done():
            await interaction.edit_original_response(embed=embed, view=view)
        else:
            await interaction.response.edit_message(embed=embed, view=view)


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
                interaction, embed=embeds.search_embed(query, [], 0), ephemeral=True
            )
            return
        embed = embeds.search_embed(query, hits, 0)
        pages = embeds.search_pages(hits)
        if pages == 1:
            await self.bot.send(interaction, embed=embed)
            return
        view = SearchView(interaction, 0, pages, self.bot.view_timeout)
        await self.bot.send(interaction, embed=embed, view=view)
        view.attach((await interaction.original_response()).id)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Search(bot))
