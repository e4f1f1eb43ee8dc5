"""The library off the event loop: questions answered in worker processes (and what happens
when a worker dies), look-ups on threads."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.searching import Searcher, WorkersFailed
from knowledge import Library
from standin import Discord
from tests.bot.helpers import StartBot
from tests.conftest import SEEDS


async def test_a_dead_worker_is_replaced_and_no_question_lost(
    index_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker killed (SIGKILL, out of memory) while questions wait on it, or while idle:
    a new one takes over, once however many questions were waiting, and every question is
    answered."""
    library = Library.load(SEEDS, cache_dir=index_cache)
    searcher = Searcher.in_worker_processes(library, SEEDS, index_cache, workers=1)

    def kill_workers() -> None:
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGKILL)
            worker.join(timeout=5)

    try:
        await searcher.warm_up()
        first = await searcher.answer("When was Andres Nin kidnapped?")
        assert first.best is not None and "May 1937" in first.best.quote

        waiting = asyncio.gather(*(searcher.answer("Who was Kirov?") for _ in range(20)))
        await asyncio.sleep(0.02)
        kill_workers()
        answers = await waiting
        # Every one answered, as the library answers it (by words once questions queue up).
        expected = [library.answer("Who was Kirov?", by_words=w) for w in (False, True)]
        assert all(a.best is not None and a in expected for a in answers)
        assert answers[0] == expected[0]  # the first, with nothing queued, with vectors
        assert caplog.text.count("a search worker died") == 1

        kill_workers()  # while nothing waits
        again = await searcher.answer("Who infiltrated Trotsky's compound in Mexico?")
        assert again.best is not None and "Ramon Mercader" in again.best.quote
        hits = await searcher.search("Yezhov")
        assert hits and "Yezhov" in hits[0].passage.text
        assert searcher.pending == 0
        assert caplog.text.count("a search worker died") == 2
    finally:
        searcher.shutdown()


def test_workers_exit_when_the_bot_is_killed(tmp_path: Path, index_cache: Path) -> None:
    """SIGKILL the bot process: its search workers must not live on as orphans."""
    script = f"""
import asyncio, multiprocessing, sys
from pathlib import Path
from bot.searching import Searcher
from knowledge import Library

async def main():
    seeds = Path({str(SEEDS)!r})
    cache = Path({str(index_cache)!r})
    searcher = Searcher.in_worker_processes(Library.load(seeds, cache_dir=cache), seeds, cache, 1)
    await searcher.warm_up()
    print(*[p.pid for p in multiprocessing.active_children()], flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    bot = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout is not None
        workers = [int(pid) for pid in bot.stdout.readline().split()]
        assert workers
        bot.kill()
        bot.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        bot.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is dead too
        return stat.read().split()[2] != "Z"


async def test_library_work_runs_off_the_event_loop(library: Library) -> None:
    async with Searcher.on_threads(library) as searcher:
        name = await searcher.run(lambda: threading.current_thread().name)
        assert name.startswith("histbot-search")
        answer = await searcher.answer("<@123> @everyone who succeeded Dzerzhinsky?")
        assert answer.question == "who succeeded Dzerzhinsky?"  # Discord's syntax taken out
        assert answer.best is not None and "Menzhinsky" in answer.best.quote


async def test_questions_are_answered_by_worker_processes(
    standin: Discord,
    start_bot: StartBot,
) -> None:
    bot = await start_bot(search_processes=1)
    assert bot.searcher is not None and bot.searcher.in_processes
    replies = await asyncio.gather(
        standin.slash("ask", question="Who infiltrated Trotsky's compound in Mexico?"),
        standin.slash("ask", question="When was Andres Nin kidnapped?"),
        standin.slash("search", query="Yezhov"),
    )
    assert "Ramon Mercader" in replies[0].embeds[0]["description"]
    assert "1937" in replies[1].embeds[0]["description"]
    assert replies[2].embeds and "Yezhov" in replies[2].text
    assert standin.late_acks() == [] and standin.double_acks() == []


async def test_workers_that_cannot_start_are_one_line(
    tmp_path: Path, library: Library, capfd: pytest.CaptureFixture[str]
) -> None:
    """A worker that cannot load the library says why (naming the path), once, in one line:
    no traceback from the worker, no "process terminated abruptly"."""
    missing = tmp_path / "moved-away"
    searcher = Searcher.in_worker_processes(library, missing, tmp_path / "cache", workers=1)
    with pytest.raises(WorkersFailed) as caught:
        async with searcher:
            pass
    message = str(caught.value)
    assert message.startswith("the search worker processes could not start: ")
    assert str(missing) in message and "\n" not in message
    assert "Traceback" not in capfd.readouterr().err
