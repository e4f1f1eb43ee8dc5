"""What several features show: stateless buttons, views made of `ButtonSpec`s, an answer as
a message, and reference autocomplete.

Buttons are `discord.ui.DynamicItem`s: the custom_id carries what a click needs (see
`bot.rendering.buttons` for the formats), so they keep working after a restart. Each button
class declares the `kind` of spec it shows and is defined and registered by the extension
that handles its clicks; `make_view` looks the class up by kind.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands

from bot.rendering.buttons import ButtonSpec, answer_buttons
from bot.rendering.embeds import answer_embed
from bot.rendering.text import BUTTON_LABEL_LIMIT, CHOICES_LIMIT, choices
from knowledge import Answer

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)

AUTOCOMPLETE_TIMEOUT = 2.0
"""Seconds an autocomplete may take; Discord shows nothing after 3."""

BUTTON_KINDS: dict[str, type[HistButton]] = {}


class HistButton(discord.ui.DynamicItem[discord.ui.Button], template=r"histbot:abstract:(?!)"):
    """A stateless button; subclasses set `kind` and a template, and implement `run`. Any
    error in `run` goes to the bot's one error handler."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            BUTTON_KINDS[cls.kind] = cls

    def __init__(
        self,
        custom_id: str,
        label: str = "Open",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=custom_id, disabled=disabled),
            row=row,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> HistButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(
            match.string,
            label=(button.label if button else None) or "Open",
            style=button.style if button else discord.ButtonStyle.secondary,
            disabled=button.disabled if button else False,
        )

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: HistBot = interaction.client  # type: ignore[assignment]
        match = self.template.fullmatch(self.custom_id)
        try:
            if match is None:
                raise ValueError(f"custom_id {self.custom_id!r} does not match {self.kind}")
            await self.run(interaction, bot, **match.groupdict())
        except Exception as error:
            await bot.report_error(interaction, error)

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        raise NotImplementedError


def make_view(specs: Sequence[ButtonSpec]) -> discord.ui.View | None:
    """A persistent (timeout-free, fully dynamic) view for button specs; None for no buttons."""
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        button = BUTTON_KINDS.get(spec.kind)
        if button is None:
            raise LookupError(
                f"no button class shows {spec.kind!r} buttons: is its extension loaded?"
            )
        label = spec.label[:BUTTON_LABEL_LIMIT]
        view.add_item(button(spec.custom_id, label, spec.style, spec.disabled, row=spec.row))
    return view


def answer_message(answer: Answer) -> dict[str, Any]:
    """An Answer as a message (the quote embed, or "not found", and its buttons), the same
    wherever the question was asked: keyword arguments for `Replies.send` or `reply`."""
    return {"embed": answer_embed(answer), "view": make_view(answer_buttons(answer))}


async def ref_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """References and section titles matching what is typed (off the event loop, in time)."""
    bot: HistBot = interaction.client  # type: ignore[assignment]
    searcher = bot.searcher

    async def complete() -> list[tuple[str, str]]:
        library = await searcher.library_of(interaction.guild_id)
        return await searcher.run(library.complete, current[:100], CHOICES_LIMIT)

    try:
        pairs = await asyncio.wait_for(complete(), AUTOCOMPLETE_TIMEOUT)
    except Exception:
        log.warning("autocomplete failed for %r", current, exc_info=True)
        return []
    return [app_commands.Choice(name=n, value=v) for n, v in choices(pairs)]
