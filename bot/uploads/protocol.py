"""`UploadStore`: what the bot and its worker processes need from upload storage.

A server database (PostgreSQL, say) can implement it when the bot runs as several shards;
each method is one transaction or one read, so the rules below hold wherever it runs.
"""

from __future__ import annotations

from typing import Protocol

from bot.uploads.records import Upload
from knowledge import Source


class UploadStore(Protocol):
    def open(self) -> None:
        """Create or migrate the storage (UploadStorageError if it cannot be used)."""
        ...

    def add(
        self, upload: Upload, original: bytes, text: str, *, max_texts: int, max_passages: int
    ) -> int:
        """Store the text, all of it or nothing, in one transaction; the server's new
        revision. UploadRefused, with nothing stored, if its id or title is taken in the
        server or the server would hold more than `max_texts` texts or `max_passages`
        passages of its own."""
        ...

    def remove(self, guild_id: int, source_id: str) -> tuple[Upload, int | None]:
        """Delete the text (UploadRefused if the server has none with that id); the upload
        and the server's new revision (None when it has no texts of its own left)."""
        ...

    def uploads(self, guild_id: int) -> list[Upload]:
        """The server's texts, oldest first (without their contents)."""
        ...

    def texts(self, guild_id: int) -> list[tuple[Source, str]]:
        """The server's texts as the library reads them, oldest first."""
        ...

    def revisions(self) -> dict[int, int]:
        """Every server that has texts of its own, and its revision: a number that changes
        whenever a text is added or removed there (so a loaded library knows it is stale)."""
        ...
