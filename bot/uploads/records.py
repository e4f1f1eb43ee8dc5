"""What upload storage hands out, and what it refuses (each message one sentence a user can
read)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge import Source


class UploadStorageError(Exception):
    """The upload database cannot be opened or used (one line naming the file)."""


class UploadRefused(Exception):
    """A text that cannot be added or removed as asked; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A text added to one server's library."""

    guild_id: int
    source_id: str
    """Its id in references ("bastille:2.3"); unique among the server's and shipped texts."""
    title: str
    filename: str
    """The file's name as uploaded (its type decides how it was read)."""
    size: int
    """Bytes of the file as uploaded."""
    passages: int
    sections: int
    added_by: int
    added_by_name: str
    added_at: str
    """ISO 8601, UTC."""

    @property
    def source(self) -> Source:
        return Source(id=self.source_id, title=self.title, file=Path(self.filename))
