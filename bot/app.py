"""histbot's Discord client: the bot object every extension receives, and how it starts.

    run_bot(settings)        # blocking; `histbot run`
    sync_commands(settings)  # register the slash commands and exit; `histbot sync`

`HistBot` owns the settings, the knowledge `Library` and the thread pool the library runs on
(its methods are synchronous CPU work and never run on the event loop). Extensions in
`bot/exts/` are loaded automatically; each is a module with an `async def setup(bot)`.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import pkgutil
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import exts
from bot.inputs import searchable
from bot.rendering.text import GENERIC_ERROR, error_text
from bot.searching import Searcher
from bot.settings import DISCORD_API_V10, Settings
from knowledge import Answer, Hit, KnowledgeError, Library, Passage, QueryError, UnknownReference

log = logging.getLogger(__name__)

T = TypeVar("T")
MessageClaim = Callable[[discord.Message], Awaitable[bool]]
"""An extension's claim on a plain message: True means "mine, the mention handler skips it"."""
AnswerHook = Callable[[discord.Interaction, str, Answer], Awaitable[None]]
"""Called with each /ask answer before it is sent (a study session records it there)."""

DEFERRED_KEY = "histbot_deferred"


class Cooldowns:
    """Per-user cooldowns by kind ("ask", "search"), shared by slash commands and mentions."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[tuple[str, int], float] = {}
        self._longest = 0.0

    def hit(self, kind: str, user_id: int, per: float) -> float:
        """0.0 and record the use if the user may go ahead; else the seconds left to wait."""
        if per <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get((kind, user_id))
        if last is not None and now - last < per:
            return per - (now - last)
        self._last[(kind, user_id)] = now
        self._longest = max(self._longest, per)
        if len(self._last) > 10_000:  # forget the users whose every cooldown is over
            self._last = {k: v for k, v in self._last.items() if now - v < self._longest}
        return 0.0

    def reset(self, kind: str, user_id: int) -> None:
        self._last.pop((kind, user_id), None)


def cooldown(kind: str) -> Callable[[T], T]:
    """App-command check: the per-user cooldown named by `kind` (its seconds from settings)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot = interaction.client
        if not isinstance(bot, HistBot):
            return True
        per = bot.cooldown_seconds(kind)
        retry = bot.cooldowns.hit(kind, interaction.user.id, per)
        if retry > 0:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, per), retry)
        return True

    return app_commands.check(predicate)


class HistTree(app_commands.CommandTree["HistBot"]):
    """The command tree, with histbot's one error handler for every app command."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.client.report_error(interaction, error)


class HistBot(commands.Bot):
    """The bot: settings, library, executor, and helpers extensions share."""

    def __init__(
        self,
        settings: Settings,
        *,
        library: Library | None = None,
        sync_on_start: bool | None = None,
    ) -> None:
        # histbot has no voice: discord.py's warnings about voice libraries are only noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = settings.message_content
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=HistTree,
            # Slash commands work in servers, threads, DMs and group DMs, and for user installs.
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
        )
        self.settings = settings
        self._library = library
        self.sync_on_start = (
            settings.sync_commands_on_start if sync_on_start is None else sync_on_start
        )
        self.executor = ThreadPoolExecutor(
            max_workers=settings.search_workers, thread_name_prefix="histbot-search"
        )
        self.searcher: Searcher | None = None
        """Answers questions and searches (in worker processes when configured)."""
        self.message_claims: list[MessageClaim] = []
        self.answer_hooks: list[AnswerHook] = []
        self.cooldowns = Cooldowns()
        self.rng = random.Random()
        self.view_timeout: float = 180.0
        """Seconds a /search view keeps its page buttons before they are disabled."""
        self.defer_after: float = 1.0
        """Seconds of work after which an interaction is deferred ("thinking…")."""
        self.autocomplete_timeout: float = 2.0

    # -- the library, off the event loop ----------------------------------------------------

    @property
    def library(self) -> Library:
        if self._library is None:
            raise RuntimeError("the library is not loaded yet")
        return self._library

    async def run_blocking(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run synchronous (library) work on the search executor, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    @property
    def search_engine(self) -> Searcher:
        if self.searcher is None:
            self.searcher = Searcher.on_threads(
                self.library, self.executor, self.settings.search_workers
            )
        return self.searcher

    async def ask(self, question: str, context: str = "", limit: int = 5) -> Answer:
        """library.answer off the loop (raises QueryError for an unusable question)."""
        return await self.search_engine.answer(searchable(question), limit, context)

    async def search(self, query: str, limit: int = 25) -> list[Hit]:
        return await self.search_engine.search(searchable(query), limit)

    async def passage(self, ref: str) -> Passage:
        """library.passage off the loop (raises UnknownReference with suggestions)."""
        return await self.run_blocking(self.library.passage, ref)

    async def around(self, ref: str) -> tuple[Passage, Passage | None, Passage | None]:
        """A passage with the paragraphs before and after it (None at a text's ends)."""

        def work() -> tuple[Passage, Passage | None, Passage | None]:
            lib = self.library
            return lib.passage(ref), lib.previous(ref), lib.next(ref)

        return await self.run_blocking(work)

    # -- plain messages ---------------------------------------------------------------------

    def add_message_claim(self, claim: MessageClaim) -> None:
        """Let an extension take over some plain messages (e.g. a study thread's)."""
        self.message_claims.append(claim)

    def remove_message_claim(self, claim: MessageClaim) -> None:
        if claim in self.message_claims:
            self.message_claims.remove(claim)

    async def is_claimed(self, message: discord.Message) -> bool:
        for claim in list(self.message_claims):
            try:
                if await claim(message):
                    return True
            except Exception:
                log.exception("message claim %r failed", claim)
        return False

    async def before_answer(
        self, interaction: discord.Interaction, question: str, answer: Answer
    ) -> None:
        """Let extensions record an answer before the user sees it (commit, then reply).

        A failing hook is the extension's bug: the error propagates to the one error
        handler, so the user is told instead of shown an answer that was not recorded."""
        for hook in list(self.answer_hooks):
            await hook(interaction, question, answer)

    def cooldown_seconds(self, kind: str) -> float:
        return {
            "ask": self.settings.ask_cooldown_seconds,
            "search": self.settings.search_cooldown_seconds,
        }.get(kind, 0.0)

    # -- answering interactions -------------------------------------------------------------

    async def compute(
        self,
        interaction: discord.Interaction,
        work: Callable[..., T] | Awaitable[T],
        /,
        *args: Any,
        ephemeral: bool = False,
    ) -> T:
        """Run library work off the loop; defer the interaction if it takes a while.

        `work` is a synchronous function (run on the thread pool with `args`) or an awaitable
        such as `bot.ask(question)`. Quick work (the usual case) lets the handler answer
        directly, so an error can still be shown privately; slow work shows "thinking…"
        within Discord's 3 seconds. When questions are already queued, the acknowledgement
        goes out at once: under a burst, waiting first would push it past the limit.
        """
        queued = self.searcher is not None and self.searcher.busy
        if callable(work):
            task = asyncio.ensure_future(self.run_blocking(work, *args))
        else:
            task = asyncio.ensure_future(work)
        if queued and not interaction.response.is_done():
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            interaction.extras[DEFERRED_KEY] = "private" if ephemeral else "public"
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done and not interaction.response.is_done():
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            interaction.extras[DEFERRED_KEY] = "private" if ephemeral else "public"
        return await task

    async def send(self, interaction: discord.Interaction, **kwargs: Any) -> None:
        """Answer an interaction: the first response, or the message a deferral promised.

        `view=None` means "no buttons" (discord.py itself wants the argument left out)."""
        if kwargs.get("view", ...) is None:
            del kwargs["view"]
        if not interaction.response.is_done():
            await interaction.response.send_message(**kwargs)
        elif interaction.extras.get(DEFERRED_KEY):
            interaction.extras[DEFERRED_KEY] = None
            kwargs.pop("ephemeral", None)
            await interaction.edit_original_response(**kwargs)
        else:
            await interaction.followup.send(**kwargs)

    async def send_private(self, interaction: discord.Interaction, text: str) -> None:
        """A short message only the user sees, whatever state the interaction is in."""
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if interaction.extras.get(DEFERRED_KEY) == "public":
            # A public "thinking…" would show the error to everyone: remove it first.
            interaction.extras[DEFERRED_KEY] = None
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                log.debug("could not delete the deferred response", exc_info=True)
        elif interaction.extras.get(DEFERRED_KEY) == "private":
            interaction.extras[DEFERRED_KEY] = None
            await interaction.edit_original_response(content=text, embeds=[], view=None)
            return
        await interaction.followup.send(text, ephemeral=True)

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """The one error path of interactions: a short private message; tracebacks to the log."""
        original = error
        while isinstance(original, app_commands.CommandInvokeError | commands.CommandInvokeError):
            original = original.original
        command = interaction.command.qualified_name if interaction.command else None
        if isinstance(original, app_commands.CommandOnCooldown):
            text = f"Easy there — you can do that again in {original.retry_after:.0f}s."
            if original.retry_after < 1:
                text = "Easy there — you can do that again in a moment."
        elif isinstance(original, UnknownReference):
            text = error_text(str(original), original.suggestions)
            if not original.suggestions:
                text += "\nStart typing in `ref` to pick from a list, or see `/sources`."
        elif isinstance(original, KnowledgeError):
            text = error_text(str(original))
            if isinstance(original, QueryError) and command in ("ask", "search"):
                self.cooldowns.reset(command, interaction.user.id)
        elif isinstance(original, app_commands.CheckFailure):
            text = error_text(str(original) or "You can't use that here.")
        else:
            log.error(
                "error handling interaction %s (command %s, user %s)",
                interaction.id,
                command or (interaction.data or {}).get("custom_id"),
                interaction.user.id,
                exc_info=original,
            )
            text = GENERIC_ERROR
        try:
            await self.send_private(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)

    # -- start-up ---------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        # Every REST route (webhooks and interaction callbacks included) is built on this.
        base = self.settings.discord_api_base.rstrip("/")
        discord.http.Route.BASE = base
        await super().login(token)
        if base != DISCORD_API_V10:
            # discord.py connects to Discord's gateway address without asking REST for it;
            # behind another API base (a proxy, a stand-in), ask it where the gateway is.
            _, url, _ = await self.http.get_bot_gateway()
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def setup_hook(self) -> None:
        if self._library is None:
            settings = self.settings
            self._library = await self.run_blocking(
                Library.load, settings.sources_dir, settings.index_cache_dir
            )
        if self.settings.search_processes > 0:
            self.searcher = Searcher.in_worker_processes(
                self.library,
                self.settings.sources_dir,
                self.settings.index_cache_dir,
                self.settings.search_processes,
            )
            await self.searcher.warm_up()
        for name in walk_extensions():
            await self.load_extension(name)
            log.debug("loaded extension %s", name)
        self.add_dynamic_items(*exts.button_classes())
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

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in event %s", event_method)

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError
    ) -> None:
        if isinstance(exception, commands.CommandNotFound):
            return  # a mention question, handled by the mentions extension
        original = getattr(exception, "original", exception)
        if isinstance(original, KnowledgeError):
            await context.reply(error_text(str(original)), mention_author=False)
            return
        log.error("error in prefix command %s", context.command, exc_info=original)
        await context.reply(GENERIC_ERROR, mention_author=False)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)
            if self.searcher is not None and self.searcher.in_processes:
                self.searcher.shutdown()


def walk_extensions() -> Iterator[str]:
    """Every module of bot/exts with a `setup` function (not starting with "_")."""
    for module in pkgutil.iter_modules(exts.__path__, f"{exts.__name__}."):
        if module.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        imported = importlib.import_module(module.name)
        if callable(getattr(imported, "setup", None)):
            yield module.name


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


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise RuntimeError("no Discord token configured (DISCORD_TOKEN)")
    return settings.discord_token.get_secret_value()


def run_bot(settings: Settings, library: Library | None = None) -> None:
    """Run the bot until it is stopped (Ctrl+C / SIGTERM).

    Pass the library loaded beforehand so that unreadable texts fail at start-up with a
    one-line error, before anything connects to Discord."""
    setup_logging(settings.log_level)
    bot = HistBot(settings, library=library)
    bot.run(_token(settings), log_handler=None)


def sync_commands(settings: Settings) -> None:
    """Register the slash commands (dev guilds or global) and exit, without connecting."""
    setup_logging(settings.log_level)

    async def main() -> None:
        bot = HistBot(settings, sync_on_start=False)
        async with bot:
            await bot.login(_token(settings))
            await bot.sync_app_commands()

    asyncio.run(main())
