"""The interaction journal on a real file: what is owed survives the process, is checked
when opened, and a journal deleted under the bot is started afresh."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.storage import StorageUnavailable
from bot.storage.journal import InteractionJournal, Owed
from tests.bot.storage.helpers import damage_table, delete_database
from tests.conftest import REPO


def owed(interaction_id: int, **changes: object) -> Owed:
    values: dict[str, object] = dict(
        id=interaction_id,
        application_id=7,
        token=f"token-{interaction_id}",
        created_at=time.time() - 1,
        deferred_at=time.time(),
        deferral="public",
        asked="/ask question=who was Yagoda?",
        payload={"id": str(interaction_id), "type": 2, "data": {"name": "ask"}},
    )
    values.update(changes)
    return Owed(**values)  # type: ignore[arg-type]


async def test_what_is_owed_until_it_is_settled(tmp_path: Path) -> None:
    async with InteractionJournal(tmp_path / "interactions.sqlite3") as journal:
        await journal.record(owed(1))
        await journal.record(owed(2, deferral="private"))
        await journal.settled(1)
        await journal.attempt(2)
        (left,) = await journal.owed()
    expected = owed(2, deferral="private", attempts=1)
    assert (left.id, left.deferral, left.attempts, left.payload) == (
        expected.id,
        expected.deferral,
        expected.attempts,
        expected.payload,
    )
    assert left.expires_at() == pytest.approx(left.created_at + 15 * 60)


async def test_records_of_one_loop_iteration_are_committed_together_before_they_return(
    tmp_path: Path,
) -> None:
    path = tmp_path / "interactions.sqlite3"

    def committed() -> set[int]:
        with contextlib.closing(sqlite3.connect(path)) as other:  # another connection
            return {row[0] for row in other.execute("SELECT id FROM owed")}

    async with InteractionJournal(path) as journal:
        seen: dict[int, set[int]] = {}

        async def record(interaction_id: int) -> None:
            await journal.record(owed(interaction_id))
            seen[interaction_id] = committed()

        await asyncio.gather(record(1), record(2), record(3))
        assert seen == {1: {1, 2, 3}, 2: {1, 2, 3}, 3: {1, 2, 3}}

        recording = asyncio.ensure_future(journal.record(owed(4)))
        await asyncio.sleep(0)  # its entry waits for the end of the iteration
        assert not recording.done()
        await journal.settled(4)  # settled in the same iteration: not left behind
        await recording
        assert committed() == {1, 2, 3}


def test_a_record_survives_sigkill_right_after_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "interactions.sqlite3"
    writer = textwrap.dedent(
        f"""
        import asyncio, os, signal, time
        from pathlib import Path
        from bot.storage.journal import InteractionJournal, Owed

        async def main():
            journal = InteractionJournal(Path({str(path)!r}))
            await journal.open()
            await journal.record(Owed(5, 7, "t", time.time(), time.time(), "public", "/ask", {{}}))
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    result = subprocess.run([sys.executable, "-c", writer], cwd=REPO, timeout=30)
    assert result.returncode == -9

    async def read() -> list[int]:
        async with InteractionJournal(path) as journal:
            return [o.id for o in await journal.owed()]

    assert asyncio.run(read()) == [5]


async def test_a_damaged_journal_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "interactions.sqlite3"
    async with InteractionJournal(path) as journal:
        await journal.record(owed(1))
    damage_table(path, "owed")
    with pytest.raises(StorageUnavailable, match=r"interaction journal .* is damaged"):
        await InteractionJournal(path).open()


async def test_a_journal_deleted_under_the_bot_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "interactions.sqlite3"
    async with InteractionJournal(path, check_every=0) as journal:
        await journal.record(owed(1))
        delete_database(path)
        await journal.record(owed(2))
        assert [o.id for o in await journal.owed()] == [2]
    assert path.exists()
