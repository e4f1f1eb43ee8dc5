"""Starting histbot: logging, the dependencies the bot is given, and the connection.

    run_bot(settings, library)         `histbot run`: the bot, until SIGTERM or SIGINT
    sync_commands(settings, library)   `histbot sync`: register the slash commands and exit

The library is loaded by the caller (so unreadable texts fail with one line before anything
else starts, after the data dir was checked and locked: `bot.datadir`); the session store,
the interaction journal and the search workers are opened and started here, before logging
in to Discord, and passed into `HistBot`. A signal drains the bot before it exits
(`bot.shutdown`); while it runs it keeps a heartbeat for health checks (`bot.health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import discord
import yarl

from bot import health
from bot.bot import HistBot
from bot.replies import WEBHOOK_LOGGER
from bot.searching import Searcher
from bot.settings import DISCORD_API_V10, Settings
from bot.shutdown import Shutdown
from bot.storage import SqliteSessionStore
from bot.storage.journal import InteractionJournal
from bot.uploads import SqliteUploadStore
from knowledge import Library

YOUNG_GC_THRESHOLD = 10_000
"""Allocations (net of frees) between collections of the youngest generation (CPython: 700)."""


class _WithoutVoiceWarnings(logging.Filter):
    """histbot has no voice: discord.py's warnings about voice libraries are only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


def setup_logging(level: str) -> None:
    """Log to stderr at `level`; discord.py's own logs at INFO at most (never the token)."""
    root = logging.getLogger()
    if not any(getattr(h, "histbot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.histbot = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("discord").setLevel(max(logging.INFO, getattr(logging, level, 20)))
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    # Its 429 warnings are how the bot learns that a callback is held back (bot.replies).
    logging.getLogger(WEBHOOK_LOGGER).setLevel(logging.WARNING)
    client_log = logging.getLogger("discord.client")
    if not any(isinstance(f, _WithoutVoiceWarnings) for f in client_log.filters):
        client_log.addFilter(_WithoutVoiceWarnings())


@contextlib.asynccontextmanager
async def histbot(
    settings: Settings,
    library: Library,
    *,
    processes: bool = True,
    journal: bool = True,
    sync_on_start: bool | None = None,
) -> AsyncIterator[HistBot]:
    """A HistBot with its session store, upload store and interaction journal open (each
    checked) and its search workers started; all of them closed on the way out, the workers
    first. `processes=False` answers on threads whatever the settings say (and with the
    shipped texts only); `journal=False` keeps no journal (a bot that answers nothing:
    `histbot sync`)."""
    uploads = SqliteUploadStore(settings.uploads_database_path)
    await asyncio.to_thread(uploads.open)
    searcher = (
        Searcher.for_settings(library, settings, uploads)
        if processes
        else Searcher.on_threads(library, settings.search_workers)
    )
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(SqliteSessionStore(settings.database_path))
        owed = (
            await stack.enter_async_context(InteractionJournal(settings.journal_path))
            if journal
            else None
        )
        await stack.enter_async_context(searcher)
        bot = HistBot(
            settings,
            searcher=searcher,
            store=store,
            uploads=uploads,
            journal=owed,
            sync_on_start=sync_on_start,
        )
        async with bot:
            yield bot


async def log_in(bot: HistBot, settings: Settings) -> None:
    """Log in to the REST API at `discord_api_base` (every route, webhooks and interaction
    callbacks included, is built on discord.py's Route.BASE)."""
    base = settings.discord_api_base.rstrip("/")
    discord.http.Route.BASE = base
    await bot.login(_token(settings))
    if base != DISCORD_API_V10:
        # discord.py connects to Discord's gateway address without asking REST for it;
        # behind another API base (a proxy, a stand-in), ask it where the gateway is.
        _, url, _ = await bot.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


def freeze_startup_heap() -> None:
    """Leave what start-up made (modules, the library, discord.py's state: some 90,000
    objects that live as long as the process) out of every later garbage collection, and
    collect the young generation less often.

    CPython's cyclic collector scans every tracked object in a full collection, and a burst
    of interactions triggers several: measured under a 1,000-question burst on the 2-core
    test machine, the collector took about a second of the event loop's five, each full
    collection 0.1-0.25 s. `gc.freeze` moves the objects alive now to a permanent
    generation the collector never scans. The interactions in flight (each some 150
    objects: tasks, coroutines, payloads, requests) live for seconds, so a young
    generation of 700 objects was collected every few interactions and promoted them all
    to be scanned again; at 10,000 the collector took about a third of that time.
    Reference counting still frees nearly everything the moment it is unused."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise RuntimeError("no Discord token configured (DISCORD_TOKEN)")
    return settings.discord_token.get_secret_value()


def run_bot(settings: Settings, library: Library) -> None:
    """Run the bot until SIGTERM or SIGINT (Ctrl+C), then drain it and return."""
    setup_logging(settings.log_level)

    async def main() -> None:
        async with histbot(settings, library) as bot:
            shutdown = Shutdown(bot, settings.shutdown_timeout_seconds)
            with shutdown.handling_signals():
                heartbeat = asyncio.ensure_future(health.beat(bot, settings.heartbeat_path))
                try:
                    await log_in(bot, settings)
                    freeze_startup_heap()
                    if not bot.is_closed():
                        await bot.connect()
                    await shutdown.finished()
                finally:
                    heartbeat.cancel()
                    health.stopped(settings.heartbeat_path)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def sync_commands(settings: Settings, library: Library) -> None:
    """Register the slash commands (dev guilds or global) and exit, without connecting."""
    setup_logging(settings.log_level)

    async def main() -> None:
        async with histbot(
            settings, library, processes=False, journal=False, sync_on_start=False
        ) as bot:
            await log_in(bot, settings)  # loads the extensions, and so the commands
            await bot.sync_app_commands()

    asyncio.run(main())
