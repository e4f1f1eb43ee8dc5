"""Questions answered in worker processes, and what happens when a worker dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from bot.searching import Searcher
from knowledge import Library
from tests.conftest import SEEDS


async def test_a_killed_worker_is_replaced_and_the_question_still_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = Library.load(SEEDS, cache_dir=tmp_path)
    searcher = Searcher.in_worker_processes(library, SEEDS, tmp_path, workers=1)
    try:
        await searcher.warm_up()
        first = await searcher.answer("When was Andres Nin kidnapped?")
        assert first.best is not None and "May 1937" in first.best.quote

        workers = multiprocessing.active_children()
        assert workers
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            worker.join(timeout=5)

        again = await searcher.answer("Who infiltrated Trotsky's compound in Mexico?")
        assert again.best is not None and "Ramon Mercader" in again.best.quote
        hits = await searcher.search("Yezhov")
        assert hits and "Yezhov" in hits[0].passage.text
        assert searcher.pending == 0
        assert "a search worker died" in caplog.text
    finally:
        searcher.shutdown()
