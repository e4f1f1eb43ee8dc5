"""The /library commands: who may change a server's texts, the limits, and the order of an
addition (check, download, read and index in a worker, store, then switch the library)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import worker
from bot.exts.library._download import DownloadRefused, check_size, download
from bot.exts.library._messages import added_text, library_embed, removed_text
from bot.rendering.text import choices
from bot.uploads import Upload, UploadRefused, UploadStorageError, UploadStore
from knowledge import Source, SourceError
from knowledge.formats import READERS, SUPPORTED
from knowledge.sources import MAX_TITLE_CHARS, check_title, duplicate_of, source_id_for, title_for

if TYPE_CHECKING:
    from bot.bot import HistBot

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTOCOMPLETE_TIMEOUT = 2.0


class LibraryRefusal(app_commands.CheckFailure):
    """Told to the member privately by the bot's error handler; nothing was stored."""


class LibraryCog(commands.Cog, name="Library"):
    library = app_commands.Group(
        name="library",
        description="Texts of this server's own, searched here beside the shipped ones",
        # A server's texts belong to servers the bot is in: not DMs, not user installs.
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=False, private_channel=False
        ),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )

    def __init__(self, bot: HistBot) -> None:
        self.bot = bot
        self._changing: collections.defaultdict[int, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )
        """One addition or removal at a time per server: each one's index is built from
        the texts stored before it."""
        self._http: aiohttp.ClientSession | None = None

    async def cog_load(self) -> None:
        self._http = aiohttp.ClientSession()

    async def cog_unload(self) -> None:
        if self._http is not None:
            await self._http.close()

    @property
    def store(self) -> UploadStore:
        uploads = self.bot.uploads
        if uploads is None:
            raise LibraryRefusal("Texts can't be added to this bot: it has no upload storage.")
        return uploads

    async def _storage(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """A call of the upload store, on a thread; storage that fails (a damaged file, a
        full disk) is logged and told to the member in one sentence, nothing changed."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except UploadStorageError:
            log.exception("the upload store failed")
            raise LibraryRefusal(
                "This server's texts can't be read or stored right now; the error has been "
                "logged. Nothing was changed."
            ) from None

    def _require_librarian(self, interaction: discord.Interaction, what: str) -> None:
        """Manage Server, or the role the settings name; else a private refusal."""
        if interaction.permissions.manage_guild:
            return
        role = self.bot.settings.library_role.strip()
        roles = getattr(interaction.user, "roles", [])
        if role and any(r.name.casefold() == role.casefold() for r in roles):
            return
        who = "members with Manage Server" + (f" or the {role} role" if role else "")
        raise LibraryRefusal(f"Only {who} can {what} this server's texts.")

    # -- /library add ---------------------------------------------------------------------

    @library.command(name="add", description="Add a text that this server's questions search")
    @app_commands.describe(
        file="A .txt, .md, .html, .epub or .pdf (with a text layer) file",
        title="How citations name it (default: from the file name)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        title: app_commands.Range[str, 1, MAX_TITLE_CHARS] | None = None,
    ) -> None:
        self._require_librarian(interaction, "add to")
        settings = self.bot.settings
        guild_id = interaction.guild_id
        assert guild_id is not None  # the group is guild_only
        suffix = Path(file.filename).suffix.lower()
        if suffix not in READERS:
            raise LibraryRefusal(
                f"Nothing was added: {file.filename} is not a text I can read "
                f"({', '.join(SUPPORTED)})."
            )
        try:
            check_size(file.filename, file.size, settings.upload_max_bytes)
            name = check_title(title if title is not None else title_for(file.filename))
        except (DownloadRefused, SourceError) as refusal:
            raise LibraryRefusal(f"Nothing was added: {refusal}") from None
        upload = await self.bot.replies.compute(
            interaction, self._add(interaction, guild_id, file, name)
        )
        await self.bot.replies.send(interaction, content=added_text(upload))

    async def _add(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        file: discord.Attachment,
        title: str,
    ) -> Upload:
        settings, searcher, store = self.bot.settings, self.bot.searcher, self.store
        async with self._changing[guild_id]:
            stored = await self._storage(store.uploads, guild_id)
            if len(stored) >= settings.upload_max_texts:
                count = f"{len(stored)} text" + ("" if len(stored) == 1 else "s")
                raise LibraryRefusal(
                    f"Nothing was added: this server already has {count} of its own, the "
                    "most it may have. Remove one with /library remove first."
                )
            known = [*searcher.library.sources, *(u.source for u in stored)]
            source_id = source_id_for(title, {s.id for s in known})
            duplicate = duplicate_of(known, source_id, title)
            if duplicate:
                raise LibraryRefusal(f"Nothing was added: {duplicate}; pick another title.")
            passages_left = settings.upload_max_passages - sum(u.passages for u in stored)
            try:
                assert self._http is not None
                data = await download(
                    self._http, file.url, file.filename, file.size, settings.upload_max_bytes
                )
                source = Source(id=source_id, title=title, file=Path(file.filename))
                indexed = await searcher.index(
                    worker.index_upload, guild_id, source, data, passages_left
                )
                upload = Upload(
                    guild_id=guild_id,
                    source_id=source_id,
                    title=title,
                    filename=file.filename,
                    size=len(data),
                    passages=indexed.passages,
                    sections=indexed.sections,
                    added_by=interaction.user.id,
                    added_by_name=interaction.user.display_name,
                    added_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                revision = await self._storage(
                    store.add,
                    upload,
                    data,
                    indexed.text,
                    max_texts=settings.upload_max_texts,
                    max_passages=settings.upload_max_passages,
                )
            except (DownloadRefused, SourceError, UploadRefused) as refusal:
                raise LibraryRefusal(f"Nothing was added: {refusal}") from None
            except BrokenProcessPool:  # the file took the worker down (out of memory, say)
                raise LibraryRefusal(
                    f"Nothing was added: reading {file.filename} stopped the process that "
                    "reads files (is it very large or damaged?)."
                ) from None
            searcher.texts_changed(guild_id, revision)
            searcher.make_vectors_later(guild_id)
        log.info(
            "server %s added %s (%r, %d passages) by %s",
            guild_id,
            source_id,
            title,
            upload.passages,
            interaction.user.id,
        )
        return upload

    # -- /library list and remove -------------------------------------------------------

    @library.command(name="list", description="The texts this server added, and its limits")
    async def list_(self, interaction: discord.Interaction) -> None:
        settings = self.bot.settings
        uploads = await self._storage(self.store.uploads, interaction.guild_id or 0)
        embed = library_embed(
            uploads,
            len(self.bot.searcher.library.sources),
            settings.upload_max_texts,
            settings.upload_max_passages,
        )
        await self.bot.replies.send(interaction, embed=embed, ephemeral=True)

    @library.command(name="remove", description="Remove a text this server added")
    @app_commands.describe(source="The text's id (type to pick from this server's texts)")
    async def remove(
        self, interaction: discord.Interaction, source: app_commands.Range[str, 1, 100]
    ) -> None:
        self._require_librarian(interaction, "remove")
        guild_id = interaction.guild_id
        assert guild_id is not None
        searcher, store = self.bot.searcher, self.store

        async def work() -> Upload:
            async with self._changing[guild_id]:
                try:
                    upload, revision = await self._storage(
                        store.remove, guild_id, source.strip().lower()
                    )
                except UploadRefused as refusal:
                    raise LibraryRefusal(str(refusal)) from None
                searcher.texts_changed(guild_id, revision)
                try:  # index what is left now, so the next question need not wait for it
                    await searcher.index(worker.index_server, guild_id)
                except Exception:  # the first question there will index it instead
                    log.warning("could not index server %s's texts", guild_id, exc_info=True)
            log.info("server %s removed %s", guild_id, upload.source_id)
            return upload

        upload = await self.bot.replies.compute(interaction, work())
        await self.bot.replies.send(interaction, content=removed_text(upload))

    @remove.autocomplete("source")
    async def _remove_source(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            uploads = await asyncio.wait_for(
                asyncio.to_thread(self.store.uploads, interaction.guild_id or 0),
                AUTOCOMPLETE_TIMEOUT,
            )
        except Exception:
            log.warning("autocomplete of /library remove failed", exc_info=True)
            return []
        typed = current.strip().casefold()
        pairs = [
            (u.source_id, f"{u.source_id} — {u.title}")
            for u in uploads
            if typed in u.source_id or typed in u.title.casefold()
        ]
        return [app_commands.Choice(name=n, value=v) for n, v in choices(pairs)]
