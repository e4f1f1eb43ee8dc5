"""Stopping histbot: SIGTERM or SIGINT, and everything in hand answered before it exits.

On the first signal the bot stops taking new work (new interactions get a short "restarting"
note, see `bot.intake`; mentions likewise), waits until every handler discord.py started
has finished and every deferral of this process has had its answer, then closes the
gateway, the HTTP session and storage, and the process exits 0. The wait is bounded: the
process exits within `shutdown_timeout_seconds` of the signal, and whatever is still owed
then stays in the interaction journal for the next start to answer. A second signal stops
waiting.

The signal handlers are asyncio's (`loop.add_signal_handler`), installed before logging
in. A process with a handler receives SIGTERM even as PID 1 in a container, where the
kernel drops signals whose action is the default: `docker stop` works with or without an
init in front.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)

CLOSING_ALLOWANCE = 2.0
"""Seconds of the shutdown timeout kept for closing the gateway, the HTTP session, the
workers and storage after the drain."""
HANDLER_TASKS = (
    "CommandTree-invoker",  # an application command
    "discord.py: ",  # an event handler (on_message, on_interaction, ...)
    "discord-ui-view-dispatch-",  # a view's component callback
    "discord-ui-dynamic-item-",  # a dynamic item's (every histbot button's) callback
)
"""How discord.py names the tasks that run the bot's handlers."""


def _handlers_running() -> int:
    this = asyncio.current_task()
    return sum(
        1
        for task in asyncio.all_tasks()
        if task is not this and not task.done() and task.get_name().startswith(HANDLER_TASKS)
    )


def in_hand(bot: HistBot) -> int:
    """How much the bot is still doing: handlers running, answers owed, refusals and
    questions on their way."""
    return _handlers_running() + bot.replies.owed + len(bot.intake.refusing) + bot.searcher.pending


async def drain(bot: HistBot, seconds: float) -> int:
    """Stop taking new work and wait, `seconds` at most, until nothing is in hand; the
    number of answers still owed then (left in the journal for the next start)."""
    bot.replies.closing = True
    deadline = time.monotonic() + seconds
    # Polled: a task ending signals nothing.
    while in_hand(bot) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return bot.replies.owed


class Shutdown:
    """The signal handlers of a running bot, and the shutdown they start."""

    def __init__(self, bot: HistBot, timeout: float) -> None:
        self.bot = bot
        self.timeout = timeout
        self.task: asyncio.Task[None] | None = None
        self.signalled: float | None = None

    @contextlib.contextmanager
    def handling_signals(self) -> Iterator[Shutdown]:
        """SIGTERM and SIGINT start the shutdown while the block runs (main thread only)."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._signalled, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            installed.append(sig)
        try:
            yield self
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        if self.task is None:
            self.signalled = time.monotonic()
            log.info("%s: finishing what is in hand (at most %.0fs)", sig.name, self.timeout)
            self.task = asyncio.ensure_future(self.stop())
        elif not self.task.done():
            log.warning("%s again: stopping now", sig.name)
            self.task.cancel()  # the drain stops; the bot is closed all the same

    async def stop(self) -> None:
        """Drain (bounded), then close the bot: its `connect()` returns."""
        try:
            owed = await drain(self.bot, max(self.timeout - CLOSING_ALLOWANCE, 0.0))
            if owed:
                log.warning(
                    "%d answers still owed at the shutdown timeout: the next start gives them",
                    owed,
                )
        finally:
            await self.bot.close()

    async def finished(self) -> None:
        """Wait for a shutdown that has started (a cancelled one included) to end."""
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
