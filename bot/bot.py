"""HistBot: the Discord client histbot runs as — start-up, extension loading, one error
handler.

What it works with is made beforehand and passed in (as discord.py's
examples/advanced_startup.py passes its database pool; see `bot.startup`), and reaches the
extensions through the bot:

    bot.settings    the Settings
    bot.searcher    the library, off the event loop (`bot.searching.Searcher`)
    bot.store       study-session storage (`bot.storage.SessionStore`)
    bot.uploads     the texts servers added (`bot.uploads.UploadStore`; None: /library
                    cannot add any)
    bot.cooldowns   per-user cooldowns (`bot.checks.Cooldowns`)
    bot.replies     how interactions are acknowledged and answered (`bot.replies.Replies`),
                    with the interaction journal (`bot.storage.journal`) if one is given
    bot.intake      where interactions come in; answers what an earlier run left owed

Extensions are the modules and packages of `bot/exts` with an `async def setup(bot)`,
loaded by name.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterator
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import Cooldowns
from bot.intake import Intake
from bot.rendering.text import GENERIC_ERROR, STORAGE_UNAVAILABLE, error_text
from bot.replies import Replies
from bot.searching import Searcher
from bot.settings import Settings
from bot.storage import SessionStore, StorageUnavailable
from bot.storage.journal import InteractionJournal
from bot.uploads import UploadStore
from knowledge import KnowledgeError, UnknownReference

log = logging.getLogger(__name__)

EXTENSIONS = "bot.exts"


class HistTree(app_commands.CommandTree["HistBot"]):
    """The command tree, with histbot's one error handler for every app command."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.client.report_error(interaction, error)


class HistBot(commands.Bot):
    """The bot: its dependencies, its extensions, and how a failure is told to the user."""

    def __init__(
        self,
        settings: Settings,
        *,
        searcher: Searcher,
        store: SessionStore,
        uploads: UploadStore | None = None,
        journal: InteractionJournal | None = None,
        sync_on_start: bool | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = settings.message_content
        replies = Replies(busy=lambda: searcher.busy, journal=journal)
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: histbot has no prefix commands
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=HistTree,
            # Slash commands work in servers, threads, DMs and group DMs, and for user installs.
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            # Nothing reads discord.py's cache of recent messages (its edit and reaction
            # events); kept, it holds the last 1,000 messages (every answer, with its embed
            # and buttons: some 70 objects each) for the garbage collector to scan.
            max_messages=None,
        )
        self.settings = settings
        self.searcher = searcher
        self.store = store
        self.uploads = uploads
        self.sync_on_start = (
            settings.sync_commands_on_start if sync_on_start is None else sync_on_start
        )
        self.cooldowns = Cooldowns(
            {"ask": settings.ask_cooldown_seconds, "search": settings.search_cooldown_seconds}
        )
        self.replies = replies
        self.intake = Intake(self, self.replies, journal)

    async def setup_hook(self) -> None:
        for name in walk_extensions():
            await self.load_extension(name)
            log.debug("loaded extension %s", name)
        await self.intake.load_owed()  # before the gateway brings new interactions
        if self.sync_on_start:
            await self.sync_app_commands()

    async def sync_app_commands(self) -> None:
        """Sync to the dev guilds (instant) when configured, else globally."""
        if self.settings.dev_guild_ids:
            for guild_id in self.settings.dev_guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (%s) in %d guilds",
            self.user,
            self.user and self.user.id,
            len(self.guilds),
        )
        await self.intake.resume()  # once: later readies (reconnects) find nothing owed

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: messages are left to the extensions that listen for them."""

    # -- the one error handler ---------------------------------------------------------------

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Every failure of a command or button: a short private message; unexpected errors
        go to the log with their traceback, and the user sees only that one was logged."""
        original = error
        while isinstance(original, app_commands.CommandInvokeError | commands.CommandInvokeError):
            original = original.original
        text = user_message(original)
        if text is None:
            log.error(
                "error handling interaction %s (command %s, user %s)",
                interaction.id,
                interaction.command.qualified_name
                if interaction.command
                else (interaction.data or {}).get("custom_id"),
                interaction.user.id,
                exc_info=original,
            )
            text = GENERIC_ERROR
        try:
            await self.replies.send_private(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in event %s", event_method)


def user_message(error: BaseException) -> str | None:
    """What to tell the user about an expected failure; None for a bug."""
    if isinstance(error, app_commands.CommandOnCooldown):
        if error.retry_after < 1:
            return "Easy there — you can do that again in a moment."
        return f"Easy there — you can do that again in {error.retry_after:.0f}s."
    if isinstance(error, UnknownReference):
        text = error_text(str(error), error.suggestions)
        if not error.suggestions:
            text += "\nStart typing in `ref` to pick from a list, or see `/sources`."
        return text
    if isinstance(error, KnowledgeError):
        return error_text(str(error))
    if isinstance(error, StorageUnavailable):  # logged, with the file, where it was found
        return STORAGE_UNAVAILABLE
    if isinstance(error, app_commands.CheckFailure):
        return error_text(str(error) or "You can't use that here.")
    return None


def walk_extensions(package: str = EXTENSIONS) -> Iterator[str]:
    """Every extension in `package`: a module or package not starting with "_" that has a
    `setup` function. Found by name, so the bot does not import its extensions' code."""
    root = importlib.import_module(package)
    for module in pkgutil.iter_modules(root.__path__, f"{package}."):
        if module.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        if callable(getattr(importlib.import_module(module.name), "setup", None)):
            yield module.name
