"""How histbot answers: every interaction acknowledged within Discord's 3 seconds, and
answered once — even across a restart.

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
deferred interaction has had its answer: what a deferral promised is tracked between them,
and committed to the interaction journal (`bot.storage.journal`) before the deferral is sent,
so that a process killed in between leaves the promise to the next one (`bot.intake`
replays it; the interaction then arrives here already "resumed", and deferred).

A 429 on an interaction's callback makes discord.py wait out its retry_after, however long,
before trying again: past Discord's 3 seconds for a long one. discord.py says so only in its
log, just before it sleeps ("Webhook ID … is rate limited", the webhook id of a callback
being the interaction's id), so a filter on that logger (`RateLimits`) tells `Replies`; a
first response held up by one `ACK_PATIENCE` seconds after the interaction was created is
given up and replaced by a deferral, the smallest response there is, so the acknowledgement
is still in time; the answer then follows as an edit. A response that is merely slow is left
alone. (An aiohttp trace on the session would see the 429 too, but it costs every request
of every interaction: a few percent of the event loop under a burst.)
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import discord

from bot.storage import StorageError
from bot.storage.journal import InteractionJournal, Owed

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFERRED = "histbot_deferred"
"""interaction.extras key: how the interaction was deferred (None once its answer is out)."""
RESUMED = "histbot_resumed"
"""interaction.extras key: deferred by an earlier process, answered by this one."""
Deferral = Literal["public", "private", "update"]

ACK_PATIENCE = 2.0
"""Seconds after an interaction's creation its first response may take before it is given up
for a deferral (Discord's limit is 3)."""
PAYLOAD_KEEP = 10.0
"""Seconds an arrived interaction's payload is kept for the journal, should it be deferred."""
ALREADY_ACKNOWLEDGED = 40060
WEBHOOK_LOGGER = "discord.webhook.async_"
"""The logger discord.py's webhook adapter (which sends interaction responses) logs 429s to."""
RATE_LIMITED = "Webhook ID %s is rate limited"


class RateLimits(logging.Filter):
    """Reads discord.py's log of a 429 on a webhook route for every `Replies` in the process
    (the logger is discord.py's, one per process); lets every record through."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: weakref.WeakSet[Replies] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        if isinstance(message, str) and message.startswith(RATE_LIMITED) and record.args:
            webhook_id = record.args[0] if isinstance(record.args, tuple) else None
            for replies in list(self.replies):
                replies.rate_limited(int(webhook_id or 0))
        return True


RATE_LIMITS = RateLimits()
logging.getLogger(WEBHOOK_LOGGER).addFilter(RATE_LIMITS)


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


def _age(interaction: discord.Interaction) -> float:
    """Seconds since Discord created the interaction (by its id; clocks may disagree a bit)."""
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return min(max(age, 0.0), 15 * 60.0)


def describe(payload: dict[str, Any]) -> str:
    """What an interaction asked, in one line for the log: "/ask question=…", a custom_id."""
    data = payload.get("data") or {}
    if "custom_id" in data:
        return f"button {data['custom_id']}"
    parts = [f"/{data.get('name', '?')}"]
    options = list(data.get("options") or [])
    while options:
        option = options.pop(0)
        if "value" in option:
            parts.append(f"{option['name']}={str(option['value'])[:80]}")
        else:
            parts.append(str(option.get("name")))
            options[:0] = option.get("options") or []
    return " ".join(parts)


class Replies:
    """Acknowledges and answers interactions (and replies to messages) for the whole bot.

    `defer_after`: seconds of work after which an interaction is deferred. `busy`: whether
    questions are already queued, in which case it is deferred at once (waiting first would
    push the acknowledgement past the deadline under a burst). `journal`: where deferrals are
    written until their answer is delivered (none: a restart loses them).
    """

    def __init__(
        self,
        *,
        defer_after: float = 1.0,
        busy: Callable[[], bool] = lambda: False,
        journal: InteractionJournal | None = None,
    ) -> None:
        self.defer_after = defer_after
        self._busy = busy
        self.journal = journal
        self.closing = False
        """Shutting down: new interactions are refused (see `bot.intake`), not started."""
        self._payloads: dict[int, tuple[float, dict[str, Any]]] = {}
        self._pruned = 0.0
        self._resuming: dict[int, Deferral] = {}
        self._owed: set[int] = set()
        """Interactions deferred by this process whose answer is not yet delivered."""
        self._responding: dict[int, tuple[discord.Interaction, asyncio.Timeout]] = {}
        """The first response of each interaction while it is on its way."""
        RATE_LIMITS.replies.add(self)

    def rate_limited(self, webhook_id: int) -> None:
        """discord.py got a 429 for this webhook id and sleeps out its retry_after. If it is
        an interaction's first response and still on its way `ACK_PATIENCE` seconds after
        the interaction was created, it is given up then."""
        responding = self._responding.get(webhook_id)
        if responding is not None:
            interaction, scope = responding
            # Its request sleeps, holding the interaction's lock: cut it short in time.
            patience = max(ACK_PATIENCE - _age(interaction), 0.0)
            scope.reschedule(asyncio.get_running_loop().time() + patience)

    # -- where interactions come from (bot.intake) ---------------------------------------------

    def arrived(self, payload: dict[str, Any]) -> None:
        """An interaction has arrived: keep its payload, for the journal if it is deferred."""
        now = time.monotonic()
        if now - self._pruned > PAYLOAD_KEEP:  # those never deferred nor answered (a bug)
            self._payloads = {
                i: kept for i, kept in self._payloads.items() if now - kept[0] < PAYLOAD_KEEP
            }
            self._pruned = now
        self._payloads[int(payload["id"])] = (now, payload)

    def resuming(self, owed: Owed) -> None:
        """An interaction an earlier process deferred is about to arrive again: it is already
        acknowledged, and only its answer is owed."""
        self._resuming[owed.id] = owed.deferral  # type: ignore[assignment]

    def resumed(self, interaction: discord.Interaction) -> bool:
        """Was this interaction deferred by an earlier process (it has been charged, asked
        and acknowledged once already)?"""
        self._adopt(interaction)
        return bool(interaction.extras.get(RESUMED))

    @property
    def owed(self) -> int:
        """Deferred interactions of this process whose answer is not yet delivered."""
        return len(self._owed)

    def _adopt(self, interaction: discord.Interaction) -> None:
        how = self._resuming.pop(interaction.id, None)
        if how is not None:
            interaction.extras[DEFERRED] = how
            interaction.extras[RESUMED] = True
            self._owed.add(interaction.id)

    def _acknowledged(self, interaction: discord.Interaction) -> bool:
        self._adopt(interaction)
        return interaction.response.is_done() or DEFERRED in interaction.extras

    # -- acknowledging -------------------------------------------------------------------------

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
        if self._acknowledged(interaction):
            return
        how: Deferral = "update" if update else "private" if ephemeral else "public"
        try:
            await self._promise(interaction, how)  # before the deferral goes out
            await self._first_response(interaction, how, None)
        except BaseException:
            await self._settle(interaction)  # never acknowledged: nothing is owed
            raise

    async def _first_response(
        self,
        interaction: discord.Interaction,
        how: Deferral,
        response: Callable[[], Awaitable[object]] | None,
    ) -> bool:
        """Send the first response (`response`, or else the deferral `how`); True if that was
        the answer itself. One held back by a 429 past `ACK_PATIENCE` seconds after the
        interaction was created is given up (`rate_limited`) for the deferral `how`: False, and
        the answer must follow as an edit."""
        deferral = self._deferral(interaction, how)
        first = response or deferral
        # Sent from this very task (another task would wait its turn on a busy loop); a scope
        # without a deadline, given one only if a 429 holds the response back.
        scope = asyncio.timeout(None)
        try:
            async with scope:
                self._responding[interaction.id] = (interaction, scope)
                try:
                    await first()
                finally:
                    self._responding.pop(interaction.id, None)
        except TimeoutError:
            if not scope.expired():
                raise  # not the scope's own deadline
            # Given up (`rate_limited`): it was waiting out a 429 past Discord's deadline.
            log.warning(
                "the first response to interaction %s is held back by a 429 past Discord's "
                "deadline: deferring instead",
                interaction.id,
            )
            if response is not None:
                await self._promise(interaction, how)
            try:
                await deferral()
            except discord.HTTPException as exc:
                if exc.code != ALREADY_ACKNOWLEDGED:  # else the first one went through
                    raise
            response = None
        if response is None:
            interaction.extras[DEFERRED] = how
            self._owed.add(interaction.id)
            return False
        return True

    @staticmethod
    def _deferral(
        interaction: discord.Interaction, how: Deferral
    ) -> Callable[[], Awaitable[object]]:
        if how == "update":
            return lambda: interaction.response.defer()
        return lambda: interaction.response.defer(ephemeral=how == "private", thinking=True)

    async def _promise(self, interaction: discord.Interaction, how: Deferral) -> None:
        """Commit the deferral about to be sent to the journal. A journal that fails is
        logged and does not stop the deferral: the answer matters more than its insurance."""
        kept = self._payloads.pop(interaction.id, None)
        if self.journal is None or kept is None:
            return
        owed = Owed(
            id=interaction.id,
            application_id=interaction.application_id,
            token=interaction.token,
            created_at=interaction.created_at.timestamp(),
            deferred_at=time.time(),
            deferral=how,
            asked=describe(kept[1]),
            payload=kept[1],
        )
        try:
            await self.journal.record(owed)
        except StorageError as exc:
            log.error("interaction %s not journaled: %s", interaction.id, exc)

    async def _delivered(self, interaction: discord.Interaction) -> None:
        """The answer a deferral promised has been delivered."""
        interaction.extras[DEFERRED] = None
        if interaction.id in self._owed:
            await self._settle(interaction)

    async def _settle(self, interaction: discord.Interaction) -> None:
        """Nothing is owed for this interaction any more: off the journal."""
        self._payloads.pop(interaction.id, None)
        self._owed.discard(interaction.id)
        if self.journal is not None:
            try:
                await self.journal.settled(interaction.id)
            except StorageError as exc:
                log.error("interaction %s answered but still journaled: %s", interaction.id, exc)

    def _deferred(self, interaction: discord.Interaction) -> Deferral | None:
        self._adopt(interaction)
        return interaction.extras.get(DEFERRED)

    # -- answering -----------------------------------------------------------------------------

    async def send(self, interaction: discord.Interaction, **kwargs: Any) -> None:
        """The answer: the first response, or the message a deferral promised; a follow-up
        message if the interaction was answered already."""
        _no_view(kwargs)
        if not self._acknowledged(interaction):
            how: Deferral = "private" if kwargs.get("ephemeral") else "public"
            answer = interaction.response.send_message
            if await self._first_response(interaction, how, lambda: answer(**kwargs)):
                self._payloads.pop(interaction.id, None)
                return
        if self._deferred(interaction) in ("public", "private"):
            await interaction.edit_original_response(**_as_edit(kwargs))
            await self._delivered(interaction)
        else:
            await interaction.followup.send(**kwargs)

    async def update(self, interaction: discord.Interaction, **kwargs: Any) -> None:
        """Change the message the clicked component is on (a page turn, the next paragraph)."""
        _no_view(kwargs)
        if not self._acknowledged(interaction):
            edit = interaction.response.edit_message
            if await self._first_response(interaction, "update", lambda: edit(**kwargs)):
                self._payloads.pop(interaction.id, None)
                return
        await interaction.edit_original_response(**kwargs)
        await self._delivered(interaction)

    async def acknowledge(self, interaction: discord.Interaction) -> None:
        """A click that changes nothing (a greyed-out placeholder): acknowledged, and done."""
        if not self._acknowledged(interaction):
            self._payloads.pop(interaction.id, None)  # nothing will be owed: not journaled
            await self._first_response(interaction, "update", None)
            self._owed.discard(interaction.id)
        await self._delivered(interaction)

    async def send_private(self, interaction: discord.Interaction, text: str) -> None:
        """A short message only the user sees, whatever state the interaction is in."""
        if not self._acknowledged(interaction):
            answer = interaction.response.send_message
            if await self._first_response(
                interaction, "private", lambda: answer(text, ephemeral=True)
            ):
                self._payloads.pop(interaction.id, None)
                return
        deferred = self._deferred(interaction)
        if deferred == "private":
            await interaction.edit_original_response(content=text, embeds=[], view=None)
            await self._delivered(interaction)
            return
        if deferred == "public":
            # A public "thinking…" would show the note to everyone: remove it first.
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                log.debug("could not delete the deferred response", exc_info=True)
        await interaction.followup.send(text, ephemeral=True)
        await self._delivered(interaction)

    async def reply(self, message: discord.Message, **kwargs: Any) -> discord.Message:
        """Answer a message (a mention, a question in a study thread) as a reply."""
        return await message.reply(mention_author=False, **_no_view(kwargs))
