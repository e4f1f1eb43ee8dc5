"""The SQLite files histbot keeps open: checked when opened, watched while in use.

A file can be damaged (a bad disk, a copy taken mid-write), or deleted or replaced under a
running bot (an operator restoring a backup, a cleanup script). SQLite keeps writing to a
deleted file through its open descriptor, so without a check every later write would go
into a file nobody will ever open again. Each store therefore

* runs `PRAGMA quick_check` when it opens its file (`check_integrity`), and
* compares the path's device and inode with the ones it opened before each use
  (`FileWatch`), so a deleted or replaced file is noticed at the next read or write.

SQLite cannot tell a write-ahead log (`-wal`) left by the file that was there before from
its own: it would replay the old file's pages into the new one. A store that finds its file
gone or replaced therefore closes it and sets its `-wal` and `-shm` aside
(`FileWatch.let_go`) before it opens whatever the path names now.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Literal

import aiosqlite

from bot.storage.records import StorageError

log = logging.getLogger(__name__)

Change = Literal["deleted", "replaced"]


class StorageUnavailable(StorageError):
    """A store's file cannot be used right now (damaged, deleted, unreadable); the message
    names the file and what to do."""


def damaged(path: Path, what: str, detail: str) -> StorageUnavailable:
    return StorageUnavailable(
        f"the {what} {path} is damaged ({detail}): restore it from a backup, or move it "
        "aside and histbot starts an empty one (see README, 'Storage faults')"
    )


async def check_integrity(db: aiosqlite.Connection, path: Path, what: str) -> None:
    """`PRAGMA quick_check` (every page and index is well formed, in time linear in the
    file); StorageUnavailable naming the file if it is not."""
    try:
        async with db.execute("PRAGMA quick_check(3)") as cursor:
            rows = [str(row[0]) for row in await cursor.fetchall()]
    except sqlite3.DatabaseError as exc:
        raise damaged(path, what, str(exc)) from None
    if rows != ["ok"]:
        raise damaged(path, what, "quick_check: " + "; ".join(rows))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


class FileWatch:
    """Which file a path named when it was opened, and whether it still does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.watching = str(path) != ":memory:"
        self._opened = _identity(path) if self.watching else None

    def opened(self) -> None:
        """The path has just been (re)opened: remember the file it names now."""
        self._opened = _identity(self.path) if self.watching else None

    def change(self) -> Change | None:
        """ "deleted" or "replaced" if the path no longer names the file that was opened."""
        if not self.watching or self._opened is None:
            return None
        now = _identity(self.path)
        if now is None:
            return "deleted"
        return "replaced" if now != self._opened else None

    def let_go(self) -> None:
        """The file that was opened is gone (its connection closed): set aside the `-wal` and
        `-shm` it leaves at the path, so the next file there does not replay them. The log
        is kept, renamed, for whoever wants what the old file held last."""
        if not self.watching:
            return
        stamp = time.strftime("%Y%m%dT%H%M%S")
        wal = Path(f"{self.path}-wal")
        if wal.exists():
            kept = wal.with_name(f"{wal.name}.stale-{stamp}")
            wal.replace(kept)
            log.warning("set aside %s (it belonged to the file that was replaced) as %s", wal, kept)
        Path(f"{self.path}-shm").unlink(missing_ok=True)
