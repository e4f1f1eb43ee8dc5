"""What runs inside a search worker process (see `bot.searching`): the library, loaded once
from the index cache, and the calls the bot sends it.

It imports the knowledge library and nothing of Discord, so a worker starts light.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from knowledge import Answer, Hit, Library

PARENT_CHECK_SECONDS = 0.5
_library: Library | None = None


def load(sources_dir: str, cache_dir: str, parent_pid: int) -> None:
    """The worker's initializer: load the library, and watch the bot process."""
    global _library
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    _library = Library.load(Path(sources_dir), cache_dir=Path(cache_dir))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose bot was killed (SIGKILL, out of memory) must not live on as an orphan."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def ready() -> bool:
    return _library is not None


def answer(question: str, limit: int, context: str) -> Answer:
    assert _library is not None, "worker library not loaded"
    return _library.answer(question, limit, context)


def search(query: str, limit: int) -> list[Hit]:
    assert _library is not None, "worker library not loaded"
    return _library.search(query, limit)
