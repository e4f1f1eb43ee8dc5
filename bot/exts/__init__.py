"""histbot's extensions (loaded automatically by HistBot.setup_hook), and their shared buttons.

Buttons are `discord.ui.DynamicItem`s: the custom_id encodes what a click needs (see
`bot.rendering` for the templates), so they are stateless and keep working after a restart.
A button class registers itself under a `kind`; `make_view` turns `ButtonSpec`s into a view.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.rendering.buttons import OFF_TEMPLATE, ButtonSpec

if TYPE_CHECKING:
    from bot.app import HistBot

BUTTON_KINDS: dict[str, type[HistButton]] = {}


class HistButton(discord.ui.DynamicItem[discord.ui.Button], template=r"histbot:abstract:(?!)"):
    """A stateless button; subclasses set `kind` and a template, and implement `run`."""

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


class DisabledButton(HistButton, template=OFF_TEMPLATE):
    """A greyed-out placeholder (e.g. "Next" at the end of a text); clicks do nothing."""

    kind = "off"

    async def run(self, interaction: discord.Interaction, bot: HistBot, **fields: str) -> None:
        await interaction.response.defer()


def make_view(specs: list[ButtonSpec]) -> discord.ui.View | None:
    """A persistent (timeout-free, fully dynamic) view for button specs; None for no buttons."""
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        cls = BUTTON_KINDS[spec.kind]
        view.add_item(cls(spec.custom_id, spec.label[:80], spec.style, spec.disabled, row=spec.row))
    return view


def button_classes() -> list[type[HistButton]]:
    return list(BUTTON_KINDS.values())
