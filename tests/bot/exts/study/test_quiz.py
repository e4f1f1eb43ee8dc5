"""Quizzes end to end: two started at the same moment are numbered apart."""

from __future__ import annotations

import asyncio
import re

from bot.storage import SqliteSessionStore
from standin import Discord
from tests.bot.exts.study.helpers import session_thread
from tests.bot.helpers import StartBot, private


async def test_two_quizzes_at_the_same_moment(standin: Discord, start_bot: StartBot):
    bot = await start_bot(message_content=True)
    settings = bot.settings
    alice, bob = standin.alice, standin.bob
    started = await standin.slash(
        "study start", user=alice, channel=standin.channel, source="guardians", section="3"
    )
    thread = session_thread(standin, started)
    for _ in range(3):
        await standin.slash("study next", user=alice, channel=thread)

    quizzes = await asyncio.gather(
        standin.slash("study quiz", user=alice, channel=thread),
        standin.slash("study quiz", user=bob, channel=thread),
    )
    titles = sorted(re.findall(r"Quiz (-?\d+)[:\s]", q.text)[-1] for q in quizzes)
    assert titles == ["1", "2"], [q.text for q in quizzes]
    second = next(q for q in quizzes if "Quiz 2: fill in the blank" in q.text)
    assert "Quiz 1: the answer is" in second.text  # it closes and reveals the first
    assert "Quiz 0" not in second.text
    async with SqliteSessionStore(settings.database_path) as peek:
        session = await peek.active_session(thread)
        assert session is not None
        asked = await peek.quizzes(session.id)
    assert [q.number for q in asked] == [1, 2]
    assert asked[0].question != asked[1].question
    standin.assert_healthy()


async def test_only_the_sessions_people_may_vote(standin: Discord, start_bot: StartBot):
    """Someone who has not joined the session's thread gets a private refusal and their
    click counts for nothing; posting in the thread (which joins it) lets them vote."""
    await start_bot(message_content=True)
    started = await standin.slash("study start", channel=standin.channel, section="3")
    thread = session_thread(standin, started)
    quiz = await standin.slash("study quiz", channel=thread)
    outsider = await standin.add_member("eve")

    refused = await standin.click(quiz, quiz.button_labels[0], user=outsider)
    assert "Only members of this study session's thread" in private(refused)
    scores = await standin.slash("study scores", channel=thread)
    assert "eve" not in scores.text

    await standin.post("count me in", user=outsider, channel=thread)
    voted = await standin.click(quiz, quiz.button_labels[0], user=outsider)
    assert "Right" in private(voted) or "Not this time" in private(voted)
    scores = await standin.slash("study scores", channel=thread)
    assert "eve — " in scores.text
    standin.assert_healthy()
