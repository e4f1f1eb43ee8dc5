"""Which library answers where: the shipped one, or a server's own, loaded on first use from
the index cache and dropped (least recently used first) beyond the memory budget."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.libraries import NotIndexed, Scope, ServerLibraries, estimated_bytes
from bot.searching import Searcher
from bot.uploads import SqliteUploadStore, Upload
from knowledge import Library
from tests.conftest import SEEDS

TEXT = """\
The Oath

On 20 June 1789 the deputies of the Third Estate, locked out of their hall, gathered in a
tennis court at Versailles and swore not to separate until France had a constitution.
"""


def add(store: SqliteUploadStore, guild_id: int, source_id: str, text: str = TEXT) -> int:
    item = Upload(
        guild_id,
        source_id,
        source_id.title(),
        f"{source_id}.txt",
        len(text),
        1,
        1,
        7,
        "olga",
        "2024-05-01T12:00:00+00:00",
    )
    return store.add(item, text.encode(), text, max_texts=10, max_passages=1000)


@pytest.fixture
def store(tmp_path: Path) -> SqliteUploadStore:
    opened = SqliteUploadStore(tmp_path / "library.sqlite3")
    opened.open()
    return opened


def libraries(library: Library, store: SqliteUploadStore, tmp_path: Path, budget: int):
    return ServerLibraries(library, SEEDS, store, tmp_path / "servers", budget)


def test_a_server_with_texts_of_its_own_gets_its_own_library(
    library: Library, store: SqliteUploadStore, tmp_path: Path
) -> None:
    servers = libraries(library, store, tmp_path, 2**30)
    assert servers.get(None) is library
    first = Scope(1, add(store, 1, "oath"))
    own = servers.get(first)
    assert [s.id for s in own.sources] == ["guardians", "oath"]
    assert own.answer("Where did the deputies swear not to separate?").best.ref == "oath:1.1"
    assert servers.get(first) is own and servers.loads == 1  # kept, not loaded again

    second = Scope(1, add(store, 1, "again", TEXT.replace("The Oath", "The Oath Again")))
    assert servers.loaded(second) is None  # a new revision: the loaded library is stale
    assert [s.id for s in servers.get(second).sources] == ["guardians", "oath", "again"]
    assert servers.loaded_servers == [1]


def test_least_recently_used_libraries_are_dropped_beyond_the_budget(
    library: Library, store: SqliteUploadStore, tmp_path: Path
) -> None:
    scopes = [Scope(guild, add(store, guild, "oath")) for guild in (1, 2, 3)]
    one = estimated_bytes(libraries(library, store, tmp_path, 2**30).get(scopes[0]))
    servers = libraries(library, store, tmp_path, int(2.5 * one))  # room for two
    for scope in scopes:
        servers.get(scope)
    assert servers.loaded_servers == [2, 3] and servers.loaded_bytes <= servers.budget_bytes
    servers.get(scopes[1])  # used again: now the most recent
    servers.get(scopes[0])  # loaded again, dropping server 3
    assert servers.loaded_servers == [2, 1] and servers.loads == 4

    tiny = libraries(library, store, tmp_path, 1)  # over budget with one: keeps that one
    tiny.get(scopes[0])
    assert tiny.loaded_servers == [1]


def test_loading_without_building_leaves_the_cpu_work_to_the_caller(
    library: Library, store: SqliteUploadStore, tmp_path: Path
) -> None:
    scope = Scope(1, add(store, 1, "oath"))
    servers = libraries(library, store, tmp_path, 2**30)
    with pytest.raises(NotIndexed):
        servers.get(scope, build=False)
    assert not Library.is_cached(servers.texts(1), servers.cache_of(1))
    servers.build(1)  # what the indexing worker does
    assert Library.is_cached(servers.texts(1), servers.cache_of(1))
    assert servers.get(scope, build=False).source("oath").title == "Oath"


def test_a_server_is_loaded_once_however_many_ask_at_once(
    library: Library, store: SqliteUploadStore, tmp_path: Path
) -> None:
    scope = Scope(1, add(store, 1, "oath"))
    servers = libraries(library, store, tmp_path, 2**30)
    with ThreadPoolExecutor(8) as pool:
        loaded = list(pool.map(lambda _: servers.get(scope), range(8)))
    assert all(lib is loaded[0] for lib in loaded) and servers.loads == 1


async def test_indexing_runs_in_a_worker_process_even_when_searches_run_on_threads(
    library: Library, store: SqliteUploadStore, tmp_path: Path
) -> None:
    """Parsing a book holds the CPU for seconds: never on a thread of the bot's process."""
    searcher = Searcher.on_threads(library, libraries=libraries(library, store, tmp_path, 2**30))
    try:
        assert not searcher.in_processes
        assert await searcher.index(os.getpid) != os.getpid()
    finally:
        searcher.shutdown()
