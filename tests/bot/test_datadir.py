"""One histbot per data dir, and a data dir it can write: real `histbot run` processes, as an
operator starts them (a second instance by mistake, a read-only mount)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.datadir import DataDirError, DataDirLock
from standin import Discord
from tests.bot.helpers import bot_process, exited, stop_process, wait_for_process_bot
from tests.conftest import REPO


def only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


async def test_a_second_instance_is_refused_in_one_line(standin: Discord, tmp_path: Path):
    """The second process on a data dir says which process holds it and exits 1, without
    connecting; the first keeps answering every event exactly once."""
    data_dir = tmp_path / "data"
    threads = {"HISTBOT_SEARCH_PROCESSES": "0"}  # quicker to start; the same lock
    first = bot_process(standin, data_dir, tmp_path / "first.log", **threads)
    try:
        await wait_for_process_bot(standin, 1)
        second = bot_process(standin, data_dir, tmp_path / "second.log", **threads)
        code = await exited(second, within=30)
        line = only_line((tmp_path / "second.log").read_text())
        assert code == 1
        assert line == (
            f"histbot: error: another histbot (pid {first.pid}) is using the data dir "
            f"{data_dir}: it holds the lock {data_dir / 'histbot.lock'}. Stop it first, or "
            "give this one its own HISTBOT_DATA_DIR (see README, 'Several instances')"
        )
        assert len(standin.server.identifies) == 1  # the second never connected

        reply = await standin.slash("ask", question="who was Yagoda?", timeout=10)
        assert "Yagoda" in reply.embeds[0]["description"]
        answers = await standin.say("who was Kirov?", mention_bot=True, timeout=10, settle=0.5)
        assert len(answers) == 1
        assert standin.double_acks() == []
    finally:
        stop_process(first)


def test_the_lock_goes_with_its_process(tmp_path: Path) -> None:
    """Killed with SIGKILL, the owner leaves no stale lock: the kernel releases it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from bot.datadir import DataDirLock;"
            "DataDirLock(Path(sys.argv[1])).acquire(); print('locked', flush=True);"
            "time.sleep(60)",
            str(tmp_path),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirError, match=rf"\(pid {holder.pid}\)"):
            DataDirLock(tmp_path).acquire()
        holder.kill()
        holder.wait(10)
        with DataDirLock(tmp_path) as lock:
            assert lock.path.read_text() == f"{os.getpid()}\n"
    finally:
        holder.kill()
        holder.wait(10)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_a_read_only_data_dir_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    """A read-only mount (here a read-only tmpfs in a mount namespace of its own): one line
    naming the folder, before the texts are loaded or Discord is contacted."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    script = (
        f"mount -t tmpfs -o ro none {data_dir} || exit 99; exec {sys.executable} -m bot.cli run"
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "PYTHONPATH": str(REPO),
            "DISCORD_TOKEN": "not-a-real-token",
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # never reached
            "HISTBOT_DATA_DIR": str(data_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode == 99:
        pytest.skip("cannot mount a tmpfs here")
    assert result.returncode == 1
    assert only_line(result.stderr) == (
        f"histbot: error: cannot write to the data dir {data_dir}: Read-only file system"
    )
