"""A session database that is damaged, deleted or replaced is named, never written into a void:
quick_check when opened, the file's identity checked before each use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.storage import SqliteSessionStore, StorageUnavailable
from tests.bot.storage.helpers import damage_table, delete_database, start


async def test_a_damaged_file_is_refused_when_opened_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        await start(store)
    damage_table(path)
    with pytest.raises(StorageUnavailable) as caught:
        await SqliteSessionStore(path).open()
    message = str(caught.value)
    assert str(path) in message and "damaged" in message and "restore it from a backup" in message


async def test_garbage_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "histbot.sqlite3"
    path.write_bytes(b"not a database at all " * 300)
    with pytest.raises(StorageUnavailable) as caught:
        await SqliteSessionStore(path).open()
    assert str(path) in str(caught.value) and "not a database" in str(caught.value)


async def test_damage_found_while_running_is_named(tmp_path: Path, caplog) -> None:
    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        session = await start(store)
        damage_table(path)
        with pytest.raises(StorageUnavailable) as caught:
            await store.active_session(session.thread_id)
        assert str(path) in str(caught.value) and "malformed" in str(caught.value)
    assert [r for r in caplog.records if r.levelname == "ERROR" and str(path) in r.getMessage()]


async def test_a_deleted_file_is_refused_not_written_into(tmp_path: Path, caplog) -> None:
    path = tmp_path / "histbot.sqlite3"
    async with SqliteSessionStore(path) as store:
        await start(store)
        delete_database(path)
        for _ in range(2):
            with pytest.raises(StorageUnavailable) as caught:
                await start(store, channel=20, thread=21)
            assert "was deleted while histbot was running" in str(caught.value)
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and str(path) in errors[0].getMessage()  # loud, once
    assert not path.exists()  # nothing was written to a file nobody would open


async def test_a_replaced_file_is_reopened(tmp_path: Path, caplog) -> None:
    path = tmp_path / "histbot.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    async with SqliteSessionStore(path) as store:
        first = await start(store)
        async with SqliteSessionStore(backup) as other:
            restored = await start(other, channel=30, thread=31)
        shutil.copyfile(backup, tmp_path / "incoming")
        (tmp_path / "incoming").replace(path)  # what restoring a backup does
        assert await store.active_session(restored.thread_id) is not None
        assert await store.active_session(first.thread_id) is None
        later = await start(store, channel=40, thread=41)
    async with SqliteSessionStore(path) as reopened:
        assert (await reopened.session(later.id)).thread_id == 41
    assert any("was replaced" in r.getMessage() for r in caplog.records)
