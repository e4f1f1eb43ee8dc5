"""How histbot answers: every interaction acknowledged within Discord's 3 seconds, and
answered once.

Discord gives an interaction 3 seconds for its first response — the answer itself, or a
deferral ("thinking…", or a silent acknowledgement of a click) — and 15 minutes to deliver
what a deferral promised. Every command, button and mention answers through the bot's one
`Replies`, so that rule lives here only:

    value = await replies.compute(interaction, work)  # defers first if work is slow or queued
    await replies.send(interaction, embed=...)        # the answer: first response or deferred
    await replies.update(interaction, embed=...)      # a click changing the message it is on
    await replies.acknowledge(interaction)            # a click that changes nothing
    await replies.send_private(interaction, text)     # a note only the user sees (errors)
    await replies.reply(message, embed=...)           # a question asked in a message

`defer` is the one place an interaction is deferred, and `_delivered` marks the one moment a
deferred interaction has had its answer: what a deferral promised is tracked between them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import discord

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFERRED = "histbot_deferred"
"""interaction.extras key: how the interaction was deferred and still awaits its answer."""
Deferral = Literal["public", "private", "update"]


def _no_view(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`view=None` means "no buttons" here; discord.py wants the argument left out."""
    if kwargs.get("view", ...) is None:
        del kwargs["view"]
    return kwargs


def _as_edit(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments of a first response, as an edit of the deferred message takes them."""
    kwargs = {k: v for k, v in kwargs.items() if k not in ("ephemeral", "silent")}
    if "file" in kwargs:
        kwargs["attachments"] = [kwargs.pop("file")]
    if "files" in kwargs:
        kwargs["attachments"] = list(kwargs.pop("files"))
    return kwargs


class Replies:
    """Acknowledges and answers interactions (and replies to messages) for the whole bot.

    `defer_after`: seconds of work after which an interaction is deferred. `busy`: whether
    questions are already queued, in which case it is deferred at once (waiting first would
    push the acknowledgement past the deadline under a burst).
    """

    def __init__(
        self, *, defer_after: float = 1.0, busy: Callable[[], bool] = lambda: False
    ) -> None:
        self.defer_after = defer_after
        self._busy = busy

    async def compute(
        self,
        interaction: discord.Interaction,
        work: Awaitable[T],
        *,
        ephemeral: bool = False,
        update: bool = False,
    ) -> T:
        """Await `work` (a search, database and library calls), deferring the interaction if
        it takes a while. Quick work (the usual case) lets the handler answer directly, so an
        error can still be shown privately. `update`: the answer will change the message the
        clicked component is on, so the deferral shows nothing."""
        task = asyncio.ensure_future(work)
        try:
            if self._busy():
                await self.defer(interaction, ephemeral=ephemeral, update=update)
            done, _ = await asyncio.wait({task}, timeout=self.defer_after)
            if not done:
                await self.defer(interaction, ephemeral=ephemeral, update=update)
            return await task
        except BaseException:
            task.cancel()
            raise

    async def defer(
        self, interaction: discord.Interaction, *, ephemeral: bool = False, update: bool = False
    ) -> None:
        """Acknowledge now, answer later: "thinking…" (public or private), or for `update` a
        silent acknowledgement of a click. Nothing if the interaction is already answered."""
        if interaction.response.is_done():
            return
        how: Deferral
        if update:
            await interaction.response.defer()
            how = "update"
        else:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            how = "private" if ephemeral else "public"
        interaction.extras[DEFERRED] = how

    def _delivered(self, interaction: discord.Interaction) -> None:
        """The answer a deferral promised has been delivered."""
        interaction.extras[DEFERRED] = None

    def _deferred(self, interaction: discord.Interaction) -> Deferral | None:
        return interaction.extras.get(DEFERRED)

    async def send(self, interaction: discord.Interaction, **kwargs: Any) -> None:
        """The answer: the first response, or the message a deferral promised; a follow-up
        message if the interaction was answered already."""
        _no_view(kwargs)
        if not interaction.response.is_done():
            await interaction.response.send_message(**kwargs)
        elif self._deferred(interaction) in ("public", "private"):
            await interaction.edit_original_response(**_as_edit(kwargs))
            self._delivered(interaction)
        else:
            await interaction.followup.send(**kwargs)

    async def update(self, interaction: discord.Interaction, **kwargs: Any) -> None:
        """Change the message the clicked component is on (a page turn, the next paragraph)."""
        _no_view(kwargs)
        if not interaction.response.is_done():
            await interaction.response.edit_message(**kwargs)
        else:
            await interaction.edit_original_response(**kwargs)
            self._delivered(interaction)

    async def acknowledge(self, interaction: discord.Interaction) -> None:
        """A click that changes nothing (a greyed-out placeholder): acknowledged, and done."""
        await self.defer(interaction, update=True)
        self._delivered(interaction)

    async def send_private(self, interaction: discord.Interaction, text: str) -> None:
        """A short message only the user sees, whatever state the interaction is in."""
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        deferred = self._deferred(interaction)
        if deferred == "private":
            await interaction.edit_original_response(content=text, embeds=[], view=None)
            self._delivered(interaction)
            return
        if deferred == "public":
            # A public "thinking…" would show the note to everyone: remove it first.
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                log.debug("could not delete the deferred response", exc_info=True)
            self._delivered(interaction)
        await interaction.followup.send(text, ephemeral=True)
        self._delivered(interaction)

    async def reply(self, message: discord.Message, **kwargs: Any) -> discord.Message:
        """Answer a message (a mention, a question in a study thread) as a reply."""
        return await message.reply(mention_author=False, **_no_view(kwargs))
