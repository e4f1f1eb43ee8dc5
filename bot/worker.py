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
_failure: str | None = None


def load(sources_dir: str, cache_dir: str, parent_pid: int) -> None:
    """The worker's initializer: load the library, and watch the bot process.

    A failure is kept, not raised: raised here it would print a traceback in the worker and
    leave the bot only "a process in the pool terminated abruptly"; `ready` tells it."""
    global _library, _failure
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        _library = Library.load(Path(sources_dir), cache_dir=Path(cache_dir))
    except Exception as exc:
        _failure = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose bot was killed (SIGKILL, out of memory) must not live on as an orphan."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def ready() -> bool:
    """True once the library is loaded; RuntimeError with why it could not be."""
    if _failure is not None:
        raise RuntimeError(_failure)
    return _library is not None


def answer(question: str, limit: int, context: str) -> Answer:
    assert _library is not None, "worker library not loaded"
    return _library.answer(question, limit, context)


def search(query: str, limit: int) -> list[Hit]:
    assert _library is not None, "worker library not loaded"
    return _library.search(query, limit)
