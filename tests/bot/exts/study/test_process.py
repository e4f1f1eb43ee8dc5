"""`histbot run` in its own process, killed with SIGKILL in the middle of a session and
started again: nothing a member saw acknowledged is lost, old buttons still work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from standin import Discord
from tests.bot.exts.study.helpers import last_bot_message, session_thread
from tests.bot.helpers import StartBot, private

REPO = Path(__file__).resolve().parents[4]

LAUNCH = """
import sys, yarl, discord.gateway
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[1])
from bot.cli import main
raise SystemExit(main(["run"]))
"""


def bot_process(standin: Discord, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """`histbot run` in its own process, pointed at the stand-in."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": "standin-token",
        "DISCORD_API_BASE": standin.api_base,
        "HISTBOT_SOURCES_DIR": str(REPO / "seeds"),
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_LOG_LEVEL": "WARNING",
        "HISTBOT_SEARCH_PROCESSES": "1",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCH, standin.gateway_url],
            cwd=data_dir.parent,  # no stray .env
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def wait_for_process_bot(standin: Discord, identifies: int) -> None:
    await standin.wait_for_bot(identifies=identifies, timeout=30)
    await standin.server.wait_until(
        lambda: len(standin.server.command_syncs) >= identifies, 30, "the command sync"
    )
    # discord.py waits for the guilds before on_ready; interactions are handled meanwhile, but
    # give the new process its GUILD_CREATE before the first click.
    await standin.server.wait_until(
        lambda: len(standin.frames(direction="send", t="GUILD_CREATE")) >= identifies,
        30,
        "GUILD_CREATE",
    )


async def test_bot_process_killed_mid_session(
    standin: Discord, start_bot: StartBot, tmp_path: Path
):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "bot.log"
    alice, bob = standin.alice, standin.bob
    first = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 1)
        started = await standin.slash("study start", user=alice, channel=standin.channel)
        thread = session_thread(standin, started)
        opening = last_bot_message(standin, thread)
        second_passage = await standin.click(opening, "Next passage", user=alice)
        assert "guardians:1.2" in second_passage.text
        quiz = await standin.slash("study quiz", user=alice, channel=thread)
        assert len(quiz.button_labels) == 4
        voted = await standin.click(quiz, quiz.button_labels[0], user=alice)
        assert private(voted)  # acknowledged: alice saw her verdict...
        first.send_signal(signal.SIGKILL)  # ...and the bot dies right after
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)

    second = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 2)
        again = await standin.click(quiz, quiz.button_labels[0], user=alice)
        assert "already answered" in private(again), log.read_text()
        await standin.join_thread(thread, bob)
        bob_vote = await standin.click(quiz, quiz.button_labels[1], user=bob)
        assert "Not this time" in private(bob_vote) or "Right" in private(bob_vote)
        moved = await standin.click(second_passage, "Next passage", user=bob)
        assert "guardians:2.1" in moved.text
        ended = await standin.slash("study end", user=alice, channel=thread)
        transcript = next(f for m in ended.messages for f in m.files).data.decode()
        for ref in ("guardians:1.1", "guardians:1.2", "guardians:2.1"):
            assert f"Read `{ref}`" in transcript
        assert re.search(r"Answers: alice: A\. .*; bob: B\. ", transcript), transcript
    finally:
        second.terminate()
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
