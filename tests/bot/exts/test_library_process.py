"""`histbot run` in its own process, killed with SIGKILL in the middle of adding a text and
started again: the text is there whole, or not at all."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from knowledge import Source
from knowledge.sources import cut_passages
from standin import Attachment, Discord
from tests.bot.exts.study.test_process import bot_process, wait_for_process_bot

CHAPTERS = 40
QUESTION = "Who was the last deputy to leave the hall?"


def long_text(marker: str) -> str:
    """A book of CHAPTERS chapters whose last paragraph names `marker`: found only if the
    whole text was stored."""
    chapters = [
        f"Chapter {n}\n\n"
        + "\n\n".join(
            f"In the year {1700 + n} the assembly of province {n} debated question {p} on "
            f"taxes, grain and the rights of the towns, and voted on it the following day."
            for p in range(40)
        )
        for n in range(1, CHAPTERS + 1)
    ]
    ending = f"Epilogue\n\nThe last deputy to leave the hall was {marker}, who locked the doors."
    body = "\n\n".join(chapters)
    return f"The Long Assembly\n\n{body}\n\n{ending}\n"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(10)


async def test_a_bot_killed_mid_upload_keeps_the_whole_text_or_nothing(
    standin: Discord, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "bot.log"
    text = long_text("Jean-Sylvain Bailly")
    passages = len(cut_passages([Source("assembly", "The Long Assembly", Path("a.txt"))], [text]))

    first = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 1)
        # Killed while the file is still downloading (it is served slowly).
        slow = Attachment("slow.txt", text.encode(), chunk_delay=0.2)
        await standin.send_slash("library add", user=standin.owner, file=slow, title="Slow")
        await standin.server.wait_until(
            lambda: standin.server.attachment_downloads, 30, "the download to start"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first)

    second = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 2)
        listed = await standin.slash("library list", user=standin.owner, timeout=30)
        assert "No texts added here yet" in listed.text, log.read_text()
        # Acknowledged ("Added"): it must survive whatever happens next.
        added = await standin.slash(
            "library add",
            user=standin.owner,
            file=Attachment("assembly.txt", text.encode()),
            title="The Long Assembly",
            timeout=60,
        )
        assert added.text.startswith("Added **The Long Assembly**")
        # Killed once another file has arrived: while it is read, indexed or stored.
        other = text.replace(
            "The last deputy to leave the hall was Jean-Sylvain Bailly, who locked the doors.",
            "The first deputy to come back the next morning was Honoré Mirabeau.",
        )
        await standin.send_slash(
            "library add",
            user=standin.owner,
            file=Attachment("sequel.txt", other.encode()),
            title="The Sequel",
        )
        await standin.server.wait_until(
            lambda: len(standin.server.attachment_downloads) == 3, 30, "the download"
        )
        await asyncio.sleep(0.3)
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    finally:
        stop(second)

    third = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 3)
        listed = await standin.slash("library list", user=standin.owner, timeout=30)
        assert "Slow" not in listed.text
        assert f"**The Long Assembly** · `the-long-assembly` · {passages:,} passages" in (
            listed.text
        )
        answer = await standin.slash("ask", question=QUESTION, timeout=60)
        assert "Jean-Sylvain Bailly" in answer.text, log.read_text()
        sequel = await standin.slash("search", query="Mirabeau", timeout=60)
        if "The Sequel" in listed.text:  # stored: all of it, and searchable
            assert listed.text.count(f"{passages:,} passages") == 2
            assert "the-sequel:" in sequel.text
        else:  # not stored: nothing of it anywhere
            assert "the-sequel:" not in sequel.text
    finally:
        third.terminate()
        try:
            third.wait(10)
        except subprocess.TimeoutExpired:
            stop(third)
