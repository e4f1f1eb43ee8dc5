"""Answering questions in worker processes.

A search is pure-Python CPU work. On a thread it holds the GIL, and under a burst of
questions the event loop then waits its turn to acknowledge interactions: Discord's 3-second
limit is missed. In worker processes searches use the other cores and the loop only parses
events and sends acknowledgements. Each worker loads the library itself, from the index cache
the bot wrote at start-up, so nothing large crosses a process boundary but answers.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from knowledge import Answer, Hit, Library

log = logging.getLogger(__name__)
T = TypeVar("T")
PARENT_CHECK_SECONDS = 0.5
_library: Library | None = None


def _load(sources_dir: str, cache_dir: str, parent_pid: int) -> None:
    global _library
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    _library = Library.load(Path(sources_dir), cache_dir=Path(cache_dir))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose bot was killed (SIGKILL, out of memory) must not live on as an orphan."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return _library is not None


def _answer(question: str, limit: int, context: str) -> Answer:
    assert _library is not None, "worker library not loaded"
    return _library.answer(question, limit, context)


def _search(query: str, limit: int) -> list[Hit]:
    assert _library is not None, "worker library not loaded"
    return _library.search(query, limit)


class Searcher:
    """`answer` and `search` of a library, run on an executor: worker processes, or threads."""

    def __init__(
        self,
        library: Library,
        executor: Executor,
        *,
        workers: int,
        make_pool: Callable[[], Executor] | None = None,
    ) -> None:
        self.library = library
        self.executor = executor
        self.workers = workers
        self._make_pool = make_pool
        self.pending = 0
        """Questions submitted and not yet answered: a queue means new ones should defer."""

    @classmethod
    def on_threads(cls, library: Library, executor: Executor, workers: int) -> Searcher:
        return cls(library, executor, workers=workers)

    @classmethod
    def in_worker_processes(
        cls, library: Library, sources_dir: Path, cache_dir: Path, workers: int
    ) -> Searcher:
        def make_pool() -> Executor:
            # "spawn": a fork of a process running an event loop and threads is not safe.
            return ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_load,
                initargs=(str(sources_dir), str(cache_dir), os.getpid()),
            )

        return cls(library, make_pool(), workers=workers, make_pool=make_pool)

    @property
    def in_processes(self) -> bool:
        return self._make_pool is not None

    async def warm_up(self) -> None:
        """Start every worker (and load its library) before the first question arrives."""
        if self.in_processes:
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(self.executor, _ready) for _ in range(self.workers))
            )

    async def _run(
        self, in_process: Callable[..., T], in_thread: Callable[..., T], *args: object
    ) -> T:
        loop = asyncio.get_running_loop()
        self.pending += 1
        try:
            if self._make_pool is None:
                return await loop.run_in_executor(self.executor, in_thread, *args)
            executor = self.executor
            try:
                return await loop.run_in_executor(executor, in_process, *args)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): start a fresh pool and try once more,
                # rather than failing every question until the bot restarts. Every question
                # that was waiting sees the same broken pool: only the first replaces it.
                if self.executor is executor:
                    log.warning("a search worker died; starting new workers")
                    self._replace_pool()
                return await loop.run_in_executor(self.executor, in_process, *args)
        finally:
            self.pending -= 1

    def _replace_pool(self) -> None:
        assert self._make_pool is not None
        broken = self.executor
        self.executor = self._make_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    async def answer(self, question: str, limit: int = 5, context: str = "") -> Answer:
        return await self._run(_answer, self.library.answer, question, limit, context)

    async def search(self, query: str, limit: int = 25) -> list[Hit]:
        return await self._run(_search, self.library.search, query, limit)

    @property
    def busy(self) -> bool:
        """More questions waiting than workers to take them."""
        return self.pending >= self.workers

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
