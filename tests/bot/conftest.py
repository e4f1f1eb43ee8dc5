"""A HistBot on the Discord stand-in, with real dependencies: the library (worker processes
or threads), a session store, an upload store and an interaction journal on SQLite files,
settings for the
stand-in."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import pytest

from bot.bot import HistBot
from bot.searching import Searcher
from bot.storage import SessionStore, SqliteSessionStore
from bot.storage.journal import InteractionJournal
from bot.uploads import SqliteUploadStore
from knowledge import Library
from standin import Discord
from tests.bot.helpers import StartBot, bot_settings


@pytest.fixture
async def start_bot(standin: Discord, library: Library, tmp_path: Path) -> AsyncIterator[StartBot]:
    """Start a HistBot on the stand-in; keyword arguments change its settings, `library`
    and `store` replace its dependencies. Each start is a new bot (a restart, if one ran)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *, library: Library = library, store: SessionStore | None = None, **changes: Any
        ) -> HistBot:
            settings = bot_settings(standin, tmp_path, **changes)
            uploads = SqliteUploadStore(settings.uploads_database_path)
            uploads.open()
            searcher = await stack.enter_async_context(
                Searcher.for_settings(library, settings, uploads)
            )
            store = store or SqliteSessionStore(settings.database_path)
            await store.open()
            stack.push_async_callback(store.close)
            journal = await stack.enter_async_context(InteractionJournal(settings.journal_path))
            bot = HistBot(
                settings, searcher=searcher, store=store, uploads=uploads, journal=journal
            )
            stack.push_async_callback(bot.close)
            await standin.start_client(bot)
            return bot

        yield start


@pytest.fixture
async def bot(start_bot: StartBot) -> HistBot:
    return await start_bot()


@pytest.fixture
def restore_process_state() -> Iterator[None]:
    """`histbot run` sets up logging and points discord.py at its API base, as a process
    would: undo both after the test."""
    root, library = logging.getLogger(), logging.getLogger("discord")
    handlers, level, library_level = list(root.handlers), root.level, library.level
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    library.setLevel(library_level)
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
