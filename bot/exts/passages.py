"""Reading the texts: /passage (with autocomplete), /sources, /random, /help, and the
passage buttons every answer uses ("Full passage", "Context", previous/next paragraph)."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.rendering.buttons import (
    CONTEXT_TEMPLATE,
    FULL_TEMPLATE,
    NAV_TEMPLATE,
    OFF_TEMPLATE,
    ButtonSpec,
    context_buttons,
    context_id,
    passage_buttons,
)
from bot.rendering.embeds import (
    context_embed,
    help_embed,
    passage_embed,
    random_embed,
    sources_embeds,
)
from bot.ui import HistButton, make_view, ref_autocomplete

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)


async def passage_message(
    bot: HistBot, guild_id: int | None, ref: str, page: int = 0
) -> tuple[discord.Embed, discord.ui.View | None]:
    """A passage page as embed + previous/next buttons (raises UnknownReference)."""
    passage, previous, following = await bot.searcher.around(ref, guild_id=guild_id)
    embed, pages = passage_embed(passage, page)
    page = min(max(page, 0), pages - 1)
    return embed, make_view(passage_buttons(passage, page, pages, previous, following))


def may_edit(interaction: discord.Interaction) -> bool:
    """May this click change the message in place? Only for its owner (or a private one)."""
    message = interaction.message
    if message is None:
        return False
    if message.flags.ephemeral:
        return True
    meta = message.interaction_metadata
    return meta is not None and meta.user.id == interaction.user.id


class FullPassageButton(HistButton, template=FULL_TEMPLATE):
    """Open a passage in a private message (from an answer, a search, a prompt)."""

    kind = "full"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        embed, view = await passage_message(
            bot, interaction.guild_id, fields["ref"], int(fields["page"])
        )
        await bot.replies.send(interaction, embed=embed, view=view, ephemeral=True)


class NavButton(HistButton, template=NAV_TEMPLATE):
    """Go to a passage (page): in place for the message's owner, else privately."""

    kind = "nav"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        embed, view = await passage_message(
            bot, interaction.guild_id, fields["ref"], int(fields["page"])
        )
        if may_edit(interaction):
            await bot.replies.update(interaction, embed=embed, view=view)
        else:
            await bot.replies.send(interaction, embed=embed, view=view, ephemeral=True)


class ContextButton(HistButton, template=CONTEXT_TEMPLATE):
    """The paragraph before and after a passage, privately."""

    kind = "context"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        passage, previous, following = await bot.searcher.around(
            fields["ref"], guild_id=interaction.guild_id
        )
        await bot.replies.send(
            interaction,
            embed=context_embed(passage, previous, following),
            view=make_view(context_buttons(passage, previous, following)),
            ephemeral=True,
        )


class DisabledButton(HistButton, template=OFF_TEMPLATE):
    """A greyed-out placeholder (e.g. "Next" at the end of a text); clicks do nothing."""

    kind = "off"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await bot.replies.acknowledge(interaction)


class Passages(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot
        self.rng = random.Random()
        """Picks /random's passage."""

    @app_commands.command(name="passage", description="Read a passage by its reference.")
    @app_commands.describe(
        ref="A reference such as 3.2 or guardians:3.2 (type to search references and sections)"
    )
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def passage(
        self, interaction: discord.Interaction, ref: app_commands.Range[str, 1, 100]
    ) -> None:
        embed, view = await passage_message(self.bot, interaction.guild_id, ref)
        await self.bot.replies.send(interaction, embed=embed, view=view)

    @app_commands.command(name="sources", description="The texts I answer from, with sections.")
    async def sources(self, interaction: discord.Interaction) -> None:
        searcher = self.bot.searcher
        library = await searcher.library_of(interaction.guild_id)
        sections = await searcher.run(library.sections)
        embeds = sources_embeds(library.sources, sections)
        await self.bot.replies.send(interaction, embeds=embeds)

    @app_commands.command(name="random", description="A random passage to discuss.")
    async def random(self, interaction: discord.Interaction) -> None:
        searcher, guild_id = self.bot.searcher, interaction.guild_id
        library = await searcher.library_of(guild_id)
        passage = await searcher.run(library.random_passage, self.rng)
        _, previous, following = await searcher.around(passage.ref, guild_id=guild_id)
        embed, pages = random_embed(passage)
        specs = [
            ButtonSpec("context", "Context", context_id(passage.ref)),
            *passage_buttons(passage, 0, pages, previous, following),
        ]
        await self.bot.replies.send(interaction, embed=embed, view=make_view(specs))

    @app_commands.command(name="help", description="What I do and how to cite my answers.")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = help_embed(self.bot.searcher.library.passages)
        await self.bot.replies.send(interaction, embed=embed, ephemeral=True)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Passages(bot))
    bot.add_dynamic_items(FullPassageButton, NavButton, ContextButton, DisabledButton)
