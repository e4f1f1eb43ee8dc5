"""Which library answers where: the shipped texts everywhere, and in a server that added
texts of its own (`/library add`), one library of the shipped texts and that server's.

    libraries = ServerLibraries(shipped, sources_dir, uploads, cache_dir, budget_bytes)
    libraries.get(None)                          the shipped library
    libraries.get(Scope(guild_id, revision))     that server's library, loaded on first use

A server's library is loaded on demand: its texts are read from upload storage and its index
opened from the cache (`Library.from_texts`: memory-mapped arrays, shared between processes
through the page cache). Loaded libraries are kept, most recently used first, while their
estimated size stays within `budget_bytes`; beyond it the least recently used are dropped,
and loaded again when a question needs them. The same class runs in the bot process (called
on its look-up threads) and in every search worker, each with its own budget. It imports
nothing of Discord.

A scope names a server's texts at one revision (storage bumps it on every add and remove),
so a library loaded before a text was added is never used after it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.uploads import UploadStore
from knowledge import Library, Source
from knowledge.sources import read_manifest, read_text

log = logging.getLogger(__name__)

LIBRARY_OVERHEAD_BYTES = 200_000
"""A loaded library's own memory beyond its sections: the Library and index objects, the
maps of some forty cached files, the answering model's arrays."""
SECTION_OVERHEAD_BYTES = 1_000
"""Per section: its row of the passage store's table, its SectionInfo and look-up entries.
A library's passages, their words and its index are memory-mapped files (page cache, shared
by every process and reclaimable), so they are not counted. `benchmarks/server_libraries.py`
prints the estimate beside the resident memory the libraries add."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A server's own texts at one revision: which library answers there."""

    guild_id: int
    revision: int


class NotIndexed(Exception):
    """The scope's index is not in the cache yet: build it (`ServerLibraries.build`) in a
    process that may spend the CPU, then `get` again."""


def estimated_bytes(library: Library) -> int:
    """Roughly the memory a loaded library holds of its own (its passages and index are
    memory-mapped, shared between processes: not counted)."""
    return LIBRARY_OVERHEAD_BYTES + SECTION_OVERHEAD_BYTES * len(library.sections())


class ServerLibraries:
    """The shipped library and servers' libraries, loaded on first use, least recently used
    dropped beyond a memory budget. Thread-safe."""

    def __init__(
        self,
        shipped: Library,
        sources_dir: Path,
        uploads: UploadStore | None,
        cache_dir: Path,
        budget_bytes: int,
        *,
        shipped_cache_dir: Path | None = None,
    ) -> None:
        self.shipped = shipped
        self.shipped_cache_dir = Path(shipped_cache_dir or cache_dir)
        self.vectors_dir = self.shipped_cache_dir / "vectors"
        """Sentence vectors by text, shared with the shipped library's."""
        """Where the shipped library's index is cached (worker processes open it there)."""
        self.sources_dir = Path(sources_dir)
        self.uploads = uploads
        self.cache_dir = Path(cache_dir)
        self.budget_bytes = budget_bytes
        self._loaded: OrderedDict[int, tuple[Scope, Library, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}
        self._shipped_texts: list[tuple[Source, str]] | None = None
        self.loads = 0
        """Server libraries loaded since start (each first use, and each after an eviction)."""

    # -- where the texts come from -------------------------------------------------------

    def shipped_texts(self) -> list[tuple[Source, str]]:
        """The shipped texts, read once (and only when a server first needs them)."""
        with self._lock:
            if self._shipped_texts is None:
                sources = read_manifest(self.sources_dir)
                self._shipped_texts = [(source, read_text(source)) for source in sources]
            return self._shipped_texts

    def texts(self, guild_id: int) -> list[tuple[Source, str]]:
        """A server's library's texts: the shipped ones, then the server's own."""
        own = self.uploads.texts(guild_id) if self.uploads is not None else []
        return [*self.shipped_texts(), *own]

    def cache_of(self, guild_id: int) -> Path:
        """Each server's index has its own cache folder (a cache folder keeps one index)."""
        return self.cache_dir / str(guild_id)

    # -- libraries -------------------------------------------------------------------------

    def loaded(self, scope: Scope | None) -> Library | None:
        """The scope's library if it is loaded (a dictionary look-up: safe on the event loop)."""
        if scope is None:
            return self.shipped
        with self._lock:
            entry = self._loaded.get(scope.guild_id)
            if entry is None or entry[0] != scope:
                return None
            self._loaded.move_to_end(scope.guild_id)
            return entry[1]

    def get(self, scope: Scope | None, *, build: bool = True) -> Library:
        """The scope's library: loaded, or loaded now from the cache (and, with `build`,
        parsed and indexed if the cache lacks it; without, NotIndexed)."""
        library = self.loaded(scope)
        if library is not None:
            return library
        assert scope is not None
        with self._lock:
            loading = self._loading.setdefault(scope.guild_id, threading.Lock())
        with loading:  # one load per server at a time; a second caller waits and reuses it
            library = self.loaded(scope)
            if library is not None:
                return library
            texts = self.texts(scope.guild_id)
            if not build and not Library.is_cached(texts, self.cache_of(scope.guild_id)):
                raise NotIndexed(scope)
            library = Library.from_texts(
                texts, self.cache_of(scope.guild_id), encode_limit=0, vectors_dir=self.vectors_dir
            )
            self._keep(scope, library)
            return library

    def build(self, guild_id: int, extra: Sequence[tuple[Source, str]] = ()) -> Library:
        """Parse and index a server's texts (plus `extra`, a text about to be added) into the
        cache, without keeping the library loaded: for the indexing worker process. Sentence
        vectors are made afterwards (`bot.worker.make_vectors`): a book takes minutes."""
        return Library.from_texts(
            [*self.texts(guild_id), *extra],
            self.cache_of(guild_id),
            encode_limit=0,
            vectors_dir=self.vectors_dir,
        )

    def _keep(self, scope: Scope, library: Library) -> None:
        size = estimated_bytes(library)
        with self._lock:
            self.loads += 1
            self._loaded[scope.guild_id] = (scope, library, size)
            self._loaded.move_to_end(scope.guild_id)
            while len(self._loaded) > 1 and self.loaded_bytes > self.budget_bytes:
                guild_id, (_, dropped, dropped_size) = self._loaded.popitem(last=False)
                log.info(
                    "dropped server %s's library (%d passages, ~%d MB) to stay within %d MB",
                    guild_id,
                    len(dropped.passages),
                    dropped_size // 2**20,
                    self.budget_bytes // 2**20,
                )

    def forget(self, guild_id: int) -> None:
        """Drop a server's loaded library (its texts changed)."""
        with self._lock:
            self._loaded.pop(guild_id, None)

    @property
    def loaded_bytes(self) -> int:
        """The estimated size of the server libraries loaded now."""
        return sum(size for _, _, size in self._loaded.values())

    @property
    def loaded_servers(self) -> list[int]:
        """Servers whose libraries are loaded, least recently used first."""
        with self._lock:
            return list(self._loaded)
