"""Where interactions come in: discord.py's INTERACTION_CREATE parser, wrapped.

Before discord.py dispatches an interaction to a command or button:

* its payload is handed to `Replies.arrived`, to be journaled should it be deferred;
* while the bot shuts down (`Replies.closing`), it is refused with a short private note
  instead, so that nothing new starts and nobody is left without an answer.

After a restart, `resume` feeds every interaction an earlier process deferred and never
answered (`bot.storage.journal`) through the same parser, so it reaches the same handler
as it did the first time, marked as already deferred (`Replies.resuming`): the handler
computes the answer and delivers it by editing the deferred response, which Discord accepts
for 15 minutes. Each is tried a few times at most, and not at all once its token has
expired (logged: those users were left on "thinking…").

The parser is replaced in `ConnectionState.parsers`, the table discord.py dispatches gateway
events from: it is the one point every interaction passes, with its raw payload, before an
`Interaction` is made of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import discord

from bot.rendering.text import RESTARTING
from bot.replies import Replies
from bot.storage import StorageError
from bot.storage.journal import InteractionJournal, Owed

log = logging.getLogger(__name__)

ANSWERABLE = (2, 3, 5)
"""Interaction types that are answered (commands, components, modals); not autocomplete."""
MAX_ATTEMPTS = 3
"""Starts that may try to answer one owed interaction (one crashing the bot is not replayed
forever)."""
EXPIRY_MARGIN = 10.0
"""Seconds before a token's expiry after which an owed interaction is no longer tried."""


class Intake:
    """The wrapped parser of one client, and what an earlier process left owed."""

    def __init__(
        self, client: discord.Client, replies: Replies, journal: InteractionJournal | None
    ) -> None:
        self.replies = replies
        self.journal = journal
        self._state = client._connection
        self._parse: Callable[[dict[str, Any]], None] = self._state.parsers["INTERACTION_CREATE"]
        self._state.parsers["INTERACTION_CREATE"] = self._arrive
        self._owed: list[Owed] = []
        self.refusing: set[asyncio.Task[None]] = set()
        """Refusals still being sent (a shutdown waits for them)."""

    def _arrive(self, payload: dict[str, Any]) -> None:
        if payload.get("type") in ANSWERABLE:
            if self.replies.closing:
                self._refuse(payload)
                return
            self.replies.arrived(payload)
        self._parse(payload)

    def _refuse(self, payload: dict[str, Any]) -> None:
        interaction: discord.Interaction = discord.Interaction(data=payload, state=self._state)
        task = asyncio.ensure_future(self._send_refusal(interaction))
        self.refusing.add(task)
        task.add_done_callback(self.refusing.discard)

    @staticmethod
    async def _send_refusal(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(RESTARTING, ephemeral=True)
        except discord.HTTPException:
            log.debug("could not refuse interaction %s", interaction.id, exc_info=True)

    # -- after a restart ---------------------------------------------------------------------

    async def load_owed(self) -> int:
        """Read what earlier processes left owed (before this one takes new interactions, so
        its own are never among them); how many will be answered."""
        if self.journal is None:
            return 0
        try:
            entries = await self.journal.owed()
        except StorageError as exc:
            log.error("cannot read what earlier runs left unanswered: %s", exc)
            return 0
        now = time.time()
        for owed in entries:
            if now > owed.expires_at() - EXPIRY_MARGIN:
                log.warning(
                    "interaction %s (%s, deferred %s) expired before it could be answered",
                    owed.id,
                    owed.asked,
                    time.strftime("%H:%M:%S", time.localtime(owed.deferred_at)),
                )
            elif owed.attempts >= MAX_ATTEMPTS:
                log.error(
                    "interaction %s (%s) could not be answered in %d starts: given up",
                    owed.id,
                    owed.asked,
                    owed.attempts,
                )
            else:
                self._owed.append(owed)
                continue
            await self.journal.settled(owed.id)
        if self._owed:
            log.warning(
                "%d interactions deferred before the restart are owed their answer: answering",
                len(self._owed),
            )
        return len(self._owed)

    async def resume(self) -> None:
        """Answer what `load_owed` found, through the handlers that took them the first time."""
        owed, self._owed = self._owed, []
        for entry in owed:
            if self.journal is not None:
                try:
                    await self.journal.attempt(entry.id)
                except StorageError as exc:
                    log.error("cannot count an attempt at interaction %s: %s", entry.id, exc)
            log.info("answering interaction %s (%s), owed from before", entry.id, entry.asked)
            self.replies.resuming(entry)
            try:
                self._parse(entry.payload)
            except Exception:
                log.exception("cannot replay interaction %s (%s)", entry.id, entry.asked)
