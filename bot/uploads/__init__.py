"""Texts added from Discord (`/library add`): stored per server, behind one small interface.

    records    what storage hands out (`Upload`) and the refusals it raises
    protocol   `UploadStore`, the interface the bot and the worker processes use
    sqlite     `SqliteUploadStore`: the protocol on its own SQLite file (library.sqlite3)

The store is synchronous on purpose: worker processes read a server's texts from it when
they load that server's library, and the bot calls it on a thread (`asyncio.to_thread`).
Each call opens its own connection, so threads and processes share nothing but the file.

Why its own file, not the session database: uploads are large (up to the upload limit per
text) and rare, sessions small and frequent; a damaged or locked sessions file must not cost
the server's texts, nor a 10 MB insert hold up a quiz vote.
"""

from bot.uploads.protocol import UploadStore
from bot.uploads.records import Upload, UploadRefused, UploadStorageError
from bot.uploads.sqlite import SCHEMA_VERSION, SqliteUploadStore

__all__ = [
    "SCHEMA_VERSION",
    "SqliteUploadStore",
    "Upload",
    "UploadRefused",
    "UploadStorageError",
    "UploadStore",
]
