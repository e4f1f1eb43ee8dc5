"""Reading the texts: /passage (with autocomplete), /sources, /random, /help, and the
passage buttons every answer uses ("Full passage", "Context", previous/next paragraph)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts import HistButton, make_view
from bot.rendering import buttons, embeds, text

if TYPE_CHECKING:
    from bot.app import HistBot

log = logging.getLogger(__name__)


# -- showing a passage --------------------------------------------------------------------------


async def passage_message(
    bot: HistBot, ref: str, page: int = 0
) -> tuple[discord.Embed, discord.ui.View | None]:
    """A passage page as embed + previous/next buttons (raises UnknownReference)."""
    passage, previous, following = await bot.around(ref)
    embed, pages = embeds.passage_embed(passage, page)
    page = min(max(page, 0), pages - 1)
    specs = buttons.passage_buttons(passage, page, pages, previous, following)
    return embed, make_view(specs)


def may_edit(interaction: discord.Interaction) -> bool:
    """May this click change the message in place? Only for its owner (or a private one)."""
    message = interaction.message
    if message is None:
        return False
    if message.flags.ephemeral:
        return True
    meta = message.interaction_metadata
    return meta is not None and meta.user.id == interaction.user.id


class FullPassageButton(HistButton, template=buttons.FULL_TEMPLATE):
    """Open a passage in a private message (from an answer, a search, a prompt)."""

    kind = "full"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        ref, page = fields["ref"], int(fields["page"])
        embed, view = await passage_message(bot, ref, page)
        await bot.send(interaction, embed=embed, view=view, ephemeral=True)


class NavButton(HistButton, template=buttons.NAV_TEMPLATE):
    """Go to a passage (page): in place for the message's owner, else privately."""

    kind = "nav"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        ref, page = fields["ref"], int(fields["page"])
        embed, view = await passage_message(bot, ref, page)
        if may_edit(interaction):
            await interaction.response.edit_message(embed=embed, view=view)
        else:
            await bot.send(interaction, embed=embed, view=view, ephemeral=True)


class ContextButton(HistButton, template=buttons.CONTEXT_TEMPLATE):
    """The paragraph before and after a passage, privately."""

    kind = "context"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        passage, previous, following = await bot.around(fields["ref"])
        embed = embeds.context_embed(passage, previous, following)
        view = make_view(buttons.context_buttons(passage, previous, following))
        await bot.send(interaction, embed=embed, view=view, ephemeral=True)


# -- autocomplete -------------------------------------------------------------------------------


async def ref_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    bot: HistBot = interaction.client  # type: ignore[assignment]
    try:
        pairs = await asyncio.wait_for(
            bot.run_blocking(bot.library.complete, current[:100], text.CHOICES_LIMIT),
            bot.autocomplete_timeout,
        )
    except Exception:
        log.warning("autocomplete failed for %r", current, exc_info=True)
        return []
    return [app_commands.Choice(name=n, value=v) for n, v in text.choices(pairs)]


# -- commands -----------------------------------------------------------------------------------


class Passages(commands.Cog):
    def __init__(self, bot: HistBot) -> None:
        self.bot = bot

    @app_commands.command(name="passage", description="Read a passage by its reference.")
    @app_commands.describe(
        ref="A reference such as 3.2 or guardians:3.2 (type to search references and sections)"
    )
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def passage(
        self, interaction: discord.Interaction, ref: app_commands.Range[str, 1, 100]
    ) -> None:
        embed, view = await passage_message(self.bot, ref)
        await self.bot.send(interaction, embed=embed, view=view)

    @app_commands.command(name="sources", description="The texts I answer from, with sections.")
    async def sources(self, interaction: discord.Interaction) -> None:
        library = self.bot.library
        sections = await self.bot.run_blocking(library.sections)
        shown = embeds.sources_embeds(library.sources, sections)
        await self.bot.send(interaction, embeds=shown)

    @app_commands.command(name="random", description="A random passage to discuss.")
    async def random(self, interaction: discord.Interaction) -> None:
        passage = await self.bot.run_blocking(self.bot.library.random_passage, self.bot.rng)
        _, previous, following = await self.bot.around(passage.ref)
        embed, pages = embeds.random_embed(passage)
        specs = [
            buttons.ButtonSpec("context", "Context", buttons.context_id(passage.ref)),
            *buttons.passage_buttons(passage, 0, pages, previous, following),
        ]
        await self.bot.send(interaction, embed=embed, view=make_view(specs))

    @app_commands.command(name="help", description="What I do and how to cite my answers.")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = embeds.help_embed(self.bot.library.passages)
        await self.bot.send(interaction, embed=embed, ephemeral=True)


async def setup(bot: HistBot) -> None:
    await bot.add_cog(Passages(bot))
