"""`histbot run` in its own process, killed with SIGKILL in the middle of a session and
started again: nothing a member saw acknowledged is lost, old buttons still work."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from standin import Discord
from tests.bot.exts.study.helpers import last_bot_message, session_thread
from tests.bot.helpers import StartBot, bot_process, private, wait_for_process_bot


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
