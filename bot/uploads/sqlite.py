"""`SqliteUploadStore`: the `UploadStore` protocol on one SQLite file.

Each text is one row holding the file as uploaded and the text read from it, written in one
`BEGIN IMMEDIATE` transaction together with the server's revision: a bot stopped at any
moment (even SIGKILL) leaves the whole text or nothing. WAL mode with `synchronous=FULL`:
a committed text survives a crash. The schema is a list of migrations tracked in
`PRAGMA user_version`, as for the session database.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.uploads.records import Upload, UploadRefused, UploadStorageError
from knowledge import Source

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: texts and each server's revision.
    (
        """
        CREATE TABLE texts (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            guild_id      INTEGER NOT NULL,
            source_id     TEXT NOT NULL,
            title         TEXT NOT NULL,
            title_key     TEXT NOT NULL,
            filename      TEXT NOT NULL,
            size          INTEGER NOT NULL,
            passages      INTEGER NOT NULL,
            sections      INTEGER NOT NULL,
            added_by      INTEGER NOT NULL,
            added_by_name TEXT NOT NULL,
            added_at      TEXT NOT NULL,
            original      BLOB NOT NULL,
            text          TEXT NOT NULL,
            UNIQUE (guild_id, source_id),
            UNIQUE (guild_id, title_key)
        )
        """,
        """
        CREATE TABLE revisions (
            guild_id INTEGER PRIMARY KEY,
            revision INTEGER NOT NULL
        )
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
_FIELDS = ", ".join(Upload.__dataclass_fields__)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteUploadStore:
    """`UploadStore` on one SQLite file; a connection per call, so any thread or process may
    use it (writers wait up to 5 s for each other)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        except sqlite3.Error as exc:
            raise UploadStorageError(
                f"cannot open the upload database {self.path}: {exc}"
            ) from None
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            yield db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise UploadStorageError(f"cannot use the upload database {self.path}: {exc}") from None
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- schema ------------------------------------------------------------------------------

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UploadStorageError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise UploadStorageError(
                    f"{self.path} has schema version {version}, newer than this histbot "
                    f"({SCHEMA_VERSION}); upgrade histbot or use another HISTBOT_DATA_DIR"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # -- writes ------------------------------------------------------------------------------

    def add(
        self, upload: Upload, original: bytes, text: str, *, max_texts: int, max_passages: int
    ) -> int:
        with self._transaction() as db:
            texts, passages = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(passages), 0) FROM texts WHERE guild_id = ?",
                (upload.guild_id,),
            ).fetchone()
            if texts >= max_texts:
                count = f"{texts} text" + ("" if texts == 1 else "s")
                raise UploadRefused(
                    f"this server already has {count} of its own, the most it may have. "
                    "Remove one with /library remove first."
                )
            if passages + upload.passages > max_passages:
                raise UploadRefused(
                    f"{upload.title} has {upload.passages:,} passages; with the "
                    f"{passages:,} this server's texts already have, that is over the limit "
                    f"of {max_passages:,}."
                )
            _refuse_duplicate(db, upload)
            db.execute(
                f"INSERT INTO texts ({_FIELDS}, title_key, original, text) "
                f"VALUES ({', '.join('?' * len(Upload.__dataclass_fields__))}, ?, ?, ?)",
                (
                    *(getattr(upload, name) for name in Upload.__dataclass_fields__),
                    upload.title.casefold(),
                    original,
                    text,
                ),
            )
            return _bump(db, upload.guild_id)

    def remove(self, guild_id: int, source_id: str) -> tuple[Upload, int | None]:
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_FIELDS} FROM texts WHERE guild_id = ? AND source_id = ?",
                (guild_id, source_id),
            ).fetchone()
            if row is None:
                raise UploadRefused(f"This server has no text of its own with id {source_id!r}.")
            db.execute(
                "DELETE FROM texts WHERE guild_id = ? AND source_id = ?", (guild_id, source_id)
            )
            revision = _bump(db, guild_id)
            left = db.execute("SELECT 1 FROM texts WHERE guild_id = ?", (guild_id,)).fetchone()
            return Upload(*row), revision if left else None

    # -- reads -------------------------------------------------------------------------------

    def uploads(self, guild_id: int) -> list[Upload]:
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {_FIELDS} FROM texts WHERE guild_id = ? ORDER BY id", (guild_id,)
            ).fetchall()
        return [Upload(*row) for row in rows]

    def texts(self, guild_id: int) -> list[tuple[Source, str]]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT source_id, title, filename, text FROM texts WHERE guild_id = ? ORDER BY id",
                (guild_id,),
            ).fetchall()
        return [
            (Source(id=source_id, title=title, file=Path(filename)), text)
            for source_id, title, filename, text in rows
        ]

    def revisions(self) -> dict[int, int]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT guild_id, revision FROM revisions "
                "WHERE guild_id IN (SELECT guild_id FROM texts)"
            ).fetchall()
        return {int(guild_id): int(revision) for guild_id, revision in rows}


def _refuse_duplicate(db: sqlite3.Connection, upload: Upload) -> None:
    row = db.execute(
        "SELECT source_id, title FROM texts "
        "WHERE guild_id = ? AND (source_id = ? OR title_key = ?)",
        (upload.guild_id, upload.source_id, upload.title.casefold()),
    ).fetchone()
    if row is not None:
        raise UploadRefused(
            f"this server already has a text titled {row[1]!r} (id {row[0]!r}): "
            "pick another title, or remove that one first."
        )


def _bump(db: sqlite3.Connection, guild_id: int) -> int:
    db.execute(
        "INSERT INTO revisions (guild_id, revision) VALUES (?, 1) "
        "ON CONFLICT (guild_id) DO UPDATE SET revision = revision + 1",
        (guild_id,),
    )
    return int(
        db.execute("SELECT revision FROM revisions WHERE guild_id = ?", (guild_id,)).fetchone()[0]
    )
