"""What runs inside a worker process (see `bot.searching`): the libraries, loaded from the
index cache, and the calls the bot sends them.

Search workers answer questions and searches, each in the library of the server asked in
(`scope`: None for the shipped texts; a server's library is loaded on its first question
and kept within the memory budget, `bot.libraries`). The indexing worker reads and indexes
texts added from Discord, so that CPU work never runs in the bot's process.

It imports the knowledge library and nothing of Discord, so a worker starts light.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.libraries import Scope, ServerLibraries
from bot.uploads import UploadRefused, UploadStore
from knowledge import Answer, Hit, Library, Source
from knowledge.formats import read_document_bytes
from knowledge.sources import cut_passages

PARENT_CHECK_SECONDS = 0.5
INDEXER_NICENESS = 10
"""How much lower the indexing worker's CPU priority is than the searches' (os.nice)."""
_libraries: ServerLibraries | None = None
_failure: str | None = None


@dataclass(frozen=True, slots=True)
class Indexed:
    """A text read and indexed with its server's library, ready to be stored."""

    text: str
    passages: int
    sections: int


def load(
    sources_dir: str,
    cache_dir: str,
    parent_pid: int,
    uploads: UploadStore | None = None,
    servers_cache_dir: str | None = None,
    budget_bytes: int = 0,
) -> None:
    """The worker's initializer: load the shipped library, and watch the bot process.

    A failure is kept, not raised: raised here it would print a traceback in the worker and
    leave the bot only "a process in the pool terminated abruptly"; `ready` tells it."""
    global _libraries, _failure
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        # Never encode sentences here: the bot process or the indexing worker does.
        shipped = Library.load(Path(sources_dir), cache_dir=Path(cache_dir), encode_limit=0)
        shipped.warm_up()  # the first question is answered as quickly as the rest
        _libraries = ServerLibraries(
            shipped,
            Path(sources_dir),
            uploads,
            Path(servers_cache_dir or cache_dir),
            budget_bytes,
            shipped_cache_dir=Path(cache_dir),
        )
    except Exception as exc:
        _failure = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)


def load_indexer(*args: Any) -> None:
    """The indexing worker's initializer: `load`, at a lower CPU priority. Indexing an upload
    and making sentence vectors are background work (seconds to minutes, replies deferred);
    run at the searches' priority they would slow every answer on a machine with few cores.
    SIGTERM (the bot stopping, `bot.searching`) ends the job in hand as an exception, so
    what it was writing is removed rather than left half made."""
    with contextlib.suppress(OSError, AttributeError):  # no nice() on some platforms
        os.nice(INDEXER_NICENESS)
    signal.signal(signal.SIGTERM, _stop)
    load(*args)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose bot was killed (SIGKILL, out of memory) must not live on as an orphan."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _loaded() -> ServerLibraries:
    assert _libraries is not None, "worker library not loaded"
    return _libraries


def ready() -> bool:
    """True once the library is loaded; RuntimeError with why it could not be."""
    if _failure is not None:
        raise RuntimeError(_failure)
    return _libraries is not None


# -- search workers ----------------------------------------------------------------------------


def answer(scope: Scope | None, question: str, limit: int, context: str, by_words: bool) -> Answer:
    return _loaded().get(scope).answer(question, limit, context, by_words=by_words)


def search(scope: Scope | None, query: str, limit: int) -> list[Hit]:
    return _loaded().get(scope).search(query, limit)


# -- the indexing worker -----------------------------------------------------------------------


def index_upload(guild_id: int, source: Source, data: bytes, passages_left: int) -> Indexed:
    """Read an uploaded file and index it with the server's texts into the server's cache.

    SourceError (one line naming the file) for a file that cannot be read or has no
    paragraphs; UploadRefused for a text of more than `passages_left` passages, found by
    parsing it alone first, so a refused text never replaces the server's cached index."""
    text = read_document_bytes(Path(source.file.name), data)
    alone = len(cut_passages([source], [text]))
    if alone > passages_left:
        raise UploadRefused(
            f"{source.title} has {alone:,} passages, more than this server's texts may still "
            f"add ({passages_left:,} of the limit are left)."
        )
    library = _loaded().build(guild_id, [(source, text)])
    own = [p for p in library.passages if p.source_id == source.id]
    return Indexed(text, len(own), len({p.section for p in own}))


def make_vectors(guild_id: int | None) -> int:
    """Encode the sentences of a library's texts that have no vectors yet (the shipped one,
    or a server's); the search workers pick them up within seconds. The sentences encoded."""
    libraries = _loaded()
    library = libraries.shipped if guild_id is None else libraries.build(guild_id)
    if not library.needs_vectors:
        return 0
    count = library.index.missing_sentences()
    library.make_vectors()
    return count


def make_quiz_vocabulary(guild_id: int | None) -> None:
    """Make a library's quiz vocabulary (a read of every passage: a minute for 100,000) and
    keep it in its index cache, where the bot process reads it (not kept here)."""
    libraries = _loaded()
    library = libraries.shipped if guild_id is None else libraries.build(guild_id)
    library.quiz_maker(keep=False)


def index_server(guild_id: int) -> int:
    """Index a server's texts into its cache (after a removal, or when the cache lacks them);
    a server with no texts of its own left loses its cache. The passages indexed."""
    libraries = _loaded()
    if libraries.uploads is None or not libraries.uploads.texts(guild_id):
        shutil.rmtree(libraries.cache_of(guild_id), ignore_errors=True)
        return 0
    return len(libraries.build(guild_id).passages)
