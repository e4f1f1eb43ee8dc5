"""The library, off the event loop: questions and searches in worker processes, look-ups on
threads.

A search is pure-Python CPU work. On a thread it holds the GIL, and under a burst of
questions the event loop then waits its turn to acknowledge interactions: Discord's 3-second
limit is missed. In worker processes searches use the other cores and the loop only parses
events and sends acknowledgements. Each worker loads the library itself (`bot.worker`), from
the index cache the bot wrote at start-up, so nothing large crosses a process boundary but
answers. Quick
look-ups (a passage, its neighbours, sections, autocomplete) run on a small thread pool.
"""

from __future__ import annotations

import asyncio
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
from bot.settings import Settings
from knowledge import Answer, Hit, Library, Passage

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkersFailed(RuntimeError):
    """The search worker processes could not start (one line, with the cause)."""


class Searcher:
    """A library's `answer` and `search` on worker processes (or threads), and any other
    library call on threads; the event loop never runs library code.

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
    ) -> None:
        self.library = library
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="histbot-search")
        self._make_pool = make_pool
        self.pool: Executor = make_pool() if make_pool is not None else self.threads
        self.workers = workers if make_pool is not None else threads
        self.pending = 0
        """Questions submitted and not yet answered: a queue means new ones should defer."""

    @classmethod
    def on_threads(cls, library: Library, threads: int = 2) -> Searcher:
        return cls(library, threads=threads)

    @classmethod
    def in_worker_processes(
        cls, library: Library, sources_dir: Path, cache_dir: Path, workers: int, *, threads: int = 2
    ) -> Searcher:
        def make_pool() -> Executor:
            # "spawn": a fork of a process running an event loop and threads is not safe.
            return ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker.load,
                initargs=(str(sources_dir), str(cache_dir), os.getpid()),
            )

        return cls(library, threads=threads, workers=workers, make_pool=make_pool)

    @classmethod
    def for_settings(cls, library: Library, settings: Settings) -> Searcher:
        """Worker processes if `search_processes` asks for them, else threads."""
        if settings.search_processes > 0:
            return cls.in_worker_processes(
                library,
                settings.sources_dir,
                settings.index_cache_dir,
                settings.search_processes,
                threads=settings.search_workers,
            )
        return cls.on_threads(library, settings.search_workers)

    async def __aenter__(self) -> Searcher:
        await self.warm_up()
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

    async def warm_up(self) -> None:
        """Start every worker (and load its library) before the first question arrives;
        WorkersFailed (one line, with the cause) if they cannot start."""
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
        self.threads.shutdown(wait=False, cancel_futures=True)
        if self.in_processes:
            self.pool.shutdown(wait=False, cancel_futures=True)

    # -- questions and searches --------------------------------------------------------------

    async def answer(self, question: str, limit: int = 5, context: str = "") -> Answer:
        """library.answer (QueryError for a question that cannot be asked)."""
        return await self._search(
            worker.answer, self.library.answer, searchable(question), limit, context
        )

    async def search(self, query: str, limit: int = 25) -> list[Hit]:
        return await self._search(worker.search, self.library.search, searchable(query), limit)

    async def _search(
        self, in_process: Callable[..., T], in_thread: Callable[..., T], *args: object
    ) -> T:
        loop = asyncio.get_running_loop()
        self.pending += 1
        try:
            if self._make_pool is None:
                return await loop.run_in_executor(self.pool, in_thread, *args)
            pool = self.pool
            try:
                return await loop.run_in_executor(pool, in_process, *args)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): start a fresh pool and try once more,
                # rather than failing every question until the bot restarts. Every question
                # that was waiting sees the same broken pool: only the first replaces it.
                if self.pool is pool:
                    log.warning("a search worker died; starting new workers")
                    self._replace_pool()
                return await loop.run_in_executor(self.pool, in_process, *args)
        finally:
            self.pending -= 1

    def _replace_pool(self) -> None:
        assert self._make_pool is not None
        broken = self.pool
        self.pool = self._make_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    # -- look-ups ------------------------------------------------------------------------------

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Any (library) call on the look-up threads, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, functools.partial(func, *args, **kwargs))

    async def passage(self, ref: str) -> Passage:
        """library.passage (UnknownReference, with suggestions)."""
        return await self.run(self.library.passage, ref)

    async def around(self, ref: str) -> tuple[Passage, Passage | None, Passage | None]:
        """A passage with the paragraphs before and after it (None at a text's ends)."""

        def work() -> tuple[Passage, Passage | None, Passage | None]:
            library = self.library
            return library.passage(ref), library.previous(ref), library.next(ref)

        return await self.run(work)
