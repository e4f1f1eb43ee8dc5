"""The libraries, off the event loop: questions and searches in worker processes, look-ups
on threads, texts added from Discord read and indexed in a worker process of their own.

A search is pure-Python CPU work. On a thread it holds the GIL, and under a burst of
questions the event loop then waits its turn to acknowledge interactions: Discord's 3-second
limit is missed. In worker processes searches use the other cores and the loop only parses
events and sends acknowledgements. Each worker loads the library itself (`bot.worker`), from
the index cache the bot wrote at start-up, so nothing large crosses a process boundary but
answers. Quick
look-ups (a passage, its neighbours, sections, autocomplete) run on a small thread pool.

Every call names the server it is made in (`guild_id`; None in DMs): a server that added
texts of its own is answered from its own library (`bot.libraries`), which the workers load
from the index cache on its first question — only the server's id and the revision of its
texts cross the process boundary. Indexing an added text runs in one more worker process,
started on first use, whatever `search_processes` says: parsing a book holds the CPU for
seconds, which a thread of the bot's own process would take from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from bot import worker
from bot.inputs import searchable
from bot.libraries import NotIndexed, Scope, ServerLibraries
from bot.settings import Settings
from bot.uploads import UploadStore
from knowledge import Answer, Hit, Library, Passage
from knowledge.quiz import QuizMaker

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUE_FOR_WORDS = 8
"""Questions waiting per worker beyond which a new one is answered by its words alone: about
0.15 s of work with sentence vectors, so a burst's last answers are not a second late."""


def _stop_now(pool: Executor) -> None:
    """Shut the indexing worker down without waiting for the work in hand.

    By the time the bot stops, what the indexing worker still does is background work:
    sentence vectors or a quiz vocabulary, each written whole or not at all and made again
    on the next start (an upload still being indexed was given the drain's time, and is
    stored whole or not at all too). Left running, Python's exit joins the worker, and
    a book's vectors take minutes: `docker stop` would end in SIGKILL. The worker's SIGTERM
    handler (`worker.load_indexer`) ends its job at the next batch, cleaning up."""
    # The pool's own table of its processes: the one handle on them before Python 3.14's
    # ProcessPoolExecutor.terminate_workers (a thread pool has none: nothing to end).
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):  # exited meanwhile
            process.terminate()


class WorkersFailed(RuntimeError):
    """The search worker processes could not start (one line, with the cause)."""


class Searcher:
    """The libraries' `answer` and `search` on worker processes (or threads), any other
    library call on threads, and indexing in a worker process; the event loop never runs
    library code. Each call names its server (`guild_id`), whose library answers it.

    Questions come from Discord: their mentions, @everyone and custom emoji are taken out
    (`bot.inputs.searchable`) before they reach the library.
    """

    def __init__(
        self,
        library: Library,
        *,
        threads: int = 2,
        workers: int = 0,
        make_pool: Callable[[], Executor] | None = None,
        libraries: ServerLibraries | None = None,
        worker_args: tuple[Any, ...] | None = None,
    ) -> None:
        self.library = library
        """The shipped library: what DMs, and servers without texts of their own, use."""
        self.libraries = libraries
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="histbot-search")
        self._make_pool = make_pool
        self.pool: Executor = make_pool() if make_pool is not None else self.threads
        self.workers = workers if make_pool is not None else threads
        self.pending = 0
        """Questions submitted and not yet answered: a queue means new ones should defer."""
        self.revisions: dict[int, int] = {}
        """Each server with texts of its own, and their revision (`bot.uploads`)."""
        self._worker_args = worker_args
        self._indexer: Executor | None = None
        self._background: set[asyncio.Future[Any]] = set()

    @classmethod
    def on_threads(
        cls, library: Library, threads: int = 2, *, libraries: ServerLibraries | None = None
    ) -> Searcher:
        return cls(
            library,
            threads=threads,
            libraries=libraries,
            worker_args=_worker_args(libraries) if libraries is not None else None,
        )

    @classmethod
    def in_worker_processes(
        cls,
        library: Library,
        sources_dir: Path,
        cache_dir: Path,
        workers: int,
        *,
        threads: int = 2,
        libraries: ServerLibraries | None = None,
    ) -> Searcher:
        args = (
            _worker_args(libraries)
            if libraries is not None
            else (str(sources_dir), str(cache_dir), os.getpid())
        )

        def make_pool() -> Executor:
            # "spawn": a fork of a process running an event loop and threads is not safe.
            return ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker.load,
                initargs=args,
            )

        return cls(
            library,
            threads=threads,
            workers=workers,
            make_pool=make_pool,
            libraries=libraries,
            worker_args=args,
        )

    @classmethod
    def for_settings(
        cls, library: Library, settings: Settings, uploads: UploadStore | None = None
    ) -> Searcher:
        """Worker processes if `search_processes` asks for them, else threads; with
        `uploads`, servers' own texts too."""
        libraries = (
            ServerLibraries(
                library,
                settings.sources_dir,
                uploads,
                settings.server_index_cache_dir,
                settings.library_memory_bytes,
                shipped_cache_dir=settings.index_cache_dir,
            )
            if uploads is not None
            else None
        )
        if settings.search_processes > 0:
            return cls.in_worker_processes(
                library,
                settings.sources_dir,
                settings.index_cache_dir,
                settings.search_processes,
                threads=settings.search_workers,
                libraries=libraries,
            )
        return cls.on_threads(library, settings.search_workers, libraries=libraries)

    async def __aenter__(self) -> Searcher:
        await self.warm_up()
        if self.library.needs_vectors:  # a library too large to encode while starting
            self.make_vectors_later()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def in_processes(self) -> bool:
        return self._make_pool is not None

    @property
    def busy(self) -> bool:
        """More questions waiting than workers to take them."""
        return self.pending >= self.workers

    @property
    def queued_deep(self) -> bool:
        """So many questions waiting that the next should be answered by its words alone.

        Encoding a question for the sentence vectors is about 15 of the 18 ms of CPU an
        answer takes; under a burst that makes the last questions wait seconds. The
        word-only decisions are fitted and calibrated on their own (held back: hit@1 0.81
        against 0.84, as many answered), so a queued question gets an answer as honest,
        a little less often right, and in a tenth of the time."""
        return self.pending >= QUEUE_FOR_WORDS * self.workers

    async def warm_up(self) -> None:
        """Read which servers have texts of their own; start every worker (and load the
        shipped library) before the first question arrives. WorkersFailed (one line, with the
        cause) if they cannot start."""
        if self.libraries is not None and self.libraries.uploads is not None:
            self.revisions = await asyncio.to_thread(self.libraries.uploads.revisions)
        if self.in_processes:
            loop = asyncio.get_running_loop()
            try:
                await asyncio.gather(
                    *(loop.run_in_executor(self.pool, worker.ready) for _ in range(self.workers))
                )
            except (BrokenProcessPool, OSError, RuntimeError) as exc:
                self.shutdown()
                cause = str(exc) or type(exc).__name__
                raise WorkersFailed(
                    f"the search worker processes could not start: {cause}"
                ) from None

    def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        self.threads.shutdown(wait=False, cancel_futures=True)
        if self.in_processes:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self._indexer is not None:
            _stop_now(self._indexer)

    # -- which library --------------------------------------------------------------------------

    def scope(self, guild_id: int | None) -> Scope | None:
        """Which library answers in `guild_id`: its own (at its texts' revision), or None for
        the shipped one."""
        if guild_id is None or self.libraries is None:
            return None
        revision = self.revisions.get(guild_id)
        return Scope(guild_id, revision) if revision is not None else None

    def texts_changed(self, guild_id: int, revision: int | None) -> None:
        """A server's texts were added or removed: its new revision (None: it has no texts of
        its own left); libraries loaded before are not used again."""
        if revision is None:
            self.revisions.pop(guild_id, None)
        else:
            self.revisions[guild_id] = revision
        if self.libraries is not None:
            self.libraries.forget(guild_id)

    async def library_of(self, guild_id: int | None) -> Library:
        """The library that answers in `guild_id`, loaded on first use (off the event loop;
        its index built in the indexing worker if the cache lacks it)."""
        scope = self.scope(guild_id)
        libraries = self.libraries
        if scope is None or libraries is None:
            return self.library
        loaded = libraries.loaded(scope)
        if loaded is not None:
            return loaded
        try:
            return await self.run(libraries.get, scope, build=False)
        except NotIndexed:
            await self.index(worker.index_server, scope.guild_id)
            return await self.run(libraries.get, scope, build=False)

    async def index(self, func: Callable[..., T], /, *args: Any) -> T:
        """Run `func` (one of `bot.worker`'s indexing calls) in the indexing worker process,
        started on first use; one text at a time."""
        loop = asyncio.get_running_loop()
        if self._indexer is None:
            if self._worker_args is None:
                raise RuntimeError("this searcher has no texts of servers to index")
            self._indexer = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker.load_indexer,
                initargs=self._worker_args,
            )
        indexer = self._indexer
        try:
            return await loop.run_in_executor(indexer, func, *args)
        except BrokenProcessPool:
            if self._indexer is indexer:
                log.warning("the indexing worker died; starting a new one")
                self._indexer = None
                indexer.shutdown(wait=False, cancel_futures=True)
            raise

    def make_vectors_later(self, guild_id: int | None = None) -> None:
        """In the background, encode the sentences of the library's texts that lack vectors
        (answers sharpen once they are made; until then they come from words alone)."""
        if self._worker_args is not None:
            work = self.index(worker.make_vectors, guild_id)
        elif guild_id is None:
            work = self.run(self.library.make_vectors)
        else:
            return
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._vectors_made)

    def _vectors_made(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.warning("sentence vectors could not be made: %s", task.exception())
        elif task.result():
            log.info("sentence vectors made for %s sentences", task.result())

    # -- questions and searches --------------------------------------------------------------

    async def answer(
        self, question: str, limit: int = 5, context: str = "", *, guild_id: int | None = None
    ) -> Answer:
        """library.answer in the library of `guild_id` (QueryError for a question that
        cannot be asked); by its words alone when questions queue up (`queued_deep`)."""
        by_words = self.queued_deep
        return await self._search(
            guild_id, "answer", searchable(question), limit, context, by_words
        )

    async def search(
        self, query: str, limit: int = 25, *, guild_id: int | None = None
    ) -> list[Hit]:
        return await self._search(guild_id, "search", searchable(query), limit)

    async def _search(self, guild_id: int | None, call: str, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        self.pending += 1
        try:
            library = await self.library_of(guild_id)  # loaded here too: its buttons need it
            if self._make_pool is None:
                return await loop.run_in_executor(self.pool, getattr(library, call), *args)
            in_process = getattr(worker, call)
            scope = self.scope(guild_id)
            pool = self.pool
            try:
                return await loop.run_in_executor(pool, in_process, scope, *args)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): start a fresh pool and try once more,
                # rather than failing every question until the bot restarts. Every question
                # that was waiting sees the same broken pool: only the first replaces it.
                if self.pool is pool:
                    log.warning("a search worker died; starting new workers")
                    self._replace_pool()
                return await loop.run_in_executor(self.pool, in_process, scope, *args)
        finally:
            self.pending -= 1

    def _replace_pool(self) -> None:
        assert self._make_pool is not None
        broken = self.pool
        self.pool = self._make_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    # -- quizzes -------------------------------------------------------------------------------

    async def quiz_maker(self, guild_id: int | None) -> QuizMaker:
        """The quiz maker of the library of `guild_id`. Its vocabulary, when not cached with
        the library's index yet, is made in the indexing worker process (a minute of CPU for
        a large library, which a thread here would take from the event loop), then read."""
        library = await self.library_of(guild_id)
        if not library.has_quiz_maker and self._worker_args is not None:
            await self.index(worker.make_quiz_vocabulary, guild_id)
        return await self.run(library.quiz_maker)

    # -- look-ups ------------------------------------------------------------------------------

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Any (library) call on the look-up threads, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, functools.partial(func, *args, **kwargs))

    async def passage(self, ref: str, *, guild_id: int | None = None) -> Passage:
        """library.passage in the library of `guild_id` (UnknownReference, with
        suggestions)."""
        library = await self.library_of(guild_id)
        return await self.run(library.passage, ref)

    async def around(
        self, ref: str, *, guild_id: int | None = None
    ) -> tuple[Passage, Passage | None, Passage | None]:
        """A passage with the paragraphs before and after it (None at a text's ends)."""
        library = await self.library_of(guild_id)

        def work() -> tuple[Passage, Passage | None, Passage | None]:
            return library.passage(ref), library.previous(ref), library.next(ref)

        return await self.run(work)


def _worker_args(libraries: ServerLibraries) -> tuple[Any, ...]:
    """What a worker process is started with: where the shipped texts, the index caches and
    the servers' texts are, and the memory budget for servers' libraries."""
    return (
        str(libraries.sources_dir),
        str(libraries.shipped_cache_dir),
        os.getpid(),
        libraries.uploads,
        str(libraries.cache_dir),
        libraries.budget_bytes,
    )
