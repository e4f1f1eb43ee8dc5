"""A whole study session end to end with several members: start, read on, questions, a quiz
with concurrent votes, a restart in the middle (old buttons keep working), the end with its
Markdown transcript."""

from __future__ import annotations

import asyncio
import copy

from bot.storage import SqliteSessionStore
from standin import Discord, Msg
from tests.bot.exts.study.helpers import last_bot_message, session_thread
from tests.bot.helpers import StartBot, private


async def test_whole_session_with_restart(standin: Discord, start_bot: StartBot):
    bot = await start_bot(message_content=True)
    settings = bot.settings
    alice, bob, carol = standin.alice, standin.bob, standin.mod
    dave = await standin.add_member("dave")
    study = next(c for c in standin.commands() if c["name"] == "study")
    assert study["dm_permission"] is False
    assert [o["name"] for o in study["options"]] == [
        "start",
        "next",
        "goto",
        "ask",
        "quiz",
        "reveal",
        "scores",
        "end",
    ]

    # -- start: a new thread with the first passage of section 3 -----------------------------
    started = await standin.slash(
        "study start", user=alice, channel=standin.channel, source="guardians", section="3"
    )
    assert not started.messages[0].ephemeral
    thread = session_thread(standin, started)
    assert any(int(t["id"]) == thread for t in standin.threads(standin.channel))
    first = last_bot_message(standin, thread)
    assert "guardians:3.1" in first.text
    assert "From Guardians to Executioners, section 3" in first.text
    assert first.button_labels == ["Next passage"]

    # A second session in the same channel, or in the session's thread, is refused.
    again = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "already running" in private(again)
    again = await standin.slash("study start", user=bob, channel=thread)
    assert "already running" in private(again)

    # -- reading on: the button (once), then /study next ------------------------------------
    stale_copy = Msg(standin.server, copy.deepcopy(first.raw))  # what a slow client still shows
    # Only the session's people may press its buttons: bob has not joined the thread yet.
    outsider = await standin.click(first, "Next passage", user=bob)
    assert "Only members of this study session's thread" in private(outsider)
    assert first.button_labels == ["Next passage"]  # nothing moved
    await standin.join_thread(thread, bob)
    pressed = await standin.click(first, "Next passage", user=bob)
    assert "guardians:3.2" in pressed.text
    assert first.button_labels == []  # the used button is taken off its message
    stale = await standin.click(stale_copy, "Next passage", user=carol)
    assert "already moved on to guardians:3.2" in private(stale)
    nxt = await standin.slash("study next", user=alice, channel=thread)
    assert "guardians:3.3" in nxt.text
    assert nxt.button_labels == ["Next passage"]

    # -- questions: /study ask, a mention, a plain message (message content on) -------------
    asked = await standin.slash(
        "study ask", user=bob, channel=thread, question="Who was the first head of the Cheka?"
    )
    assert "Dzerzhinsky" in asked.text
    replies = await standin.say(
        "What was Dzerzhinsky called?", user=carol, channel=thread, mention_bot=True
    )
    assert replies and replies[0].embeds
    replies = await standin.say("When was the Cheka established?", user=alice, channel=thread)
    assert replies and replies[0].embeds
    # /ask inside the session thread is answered as anywhere else, and recorded.
    via_ask = await standin.slash("ask", user=dave, channel=thread, question="Who was Yagoda?")
    assert via_ask.embeds
    # Outside a session thread, a plain message without a mention is left alone.
    assert (
        await standin.say("just chatting", user=bob, channel=standin.channel2, expect_reply=False)
        == []
    )

    # -- a quiz: four choices, concurrent votes, each member counted once -------------------
    quiz = await standin.slash("study quiz", user=alice, channel=thread)
    labels = quiz.button_labels
    assert len(labels) == 4 and [label[:2] for label in labels] == ["A.", "B.", "C.", "D."]
    assert "`_____`" in quiz.text
    async with SqliteSessionStore(settings.database_path) as peek:
        session = await peek.active_session(thread)
        assert session is not None
        record = (await peek.quizzes(session.id))[-1]
    right = labels[record.question.answer_index]
    wrong = labels[(record.question.answer_index + 1) % 4]
    votes = await asyncio.gather(
        standin.click(quiz, right, user=alice),
        standin.click(quiz, wrong, user=bob),
        standin.click(quiz, right, user=bob),
        standin.click(quiz, right, user=carol),
    )
    assert "Right" in private(votes[0])
    bob_texts = [private(votes[1]), private(votes[2])]
    assert sum("already answered" in t for t in bob_texts) == 1, bob_texts
    assert record.question.citation in private(votes[0])  # the reveal shows the citation
    assert "Right" in private(votes[3])
    twice = await standin.click(quiz, right, user=alice)
    assert "already answered" in private(twice)

    # The host-only things are refused for others.
    refused = await standin.slash("study end", user=bob, channel=thread)
    assert "Only the host" in private(refused)

    # -- restart: stop the bot, start a new one on the same database --------------------------
    await bot.close()
    bot = await start_bot(message_content=True)

    late_vote = await standin.click(quiz, wrong, user=dave)  # a button from before the restart
    assert "Not this time" in private(late_vote)
    resumed = await standin.click(nxt, "Next passage", user=dave)
    assert "guardians:3.4" in resumed.text
    scores = await standin.slash("study scores", user=bob, channel=thread)
    assert "alice — 1/1" in scores.text and "dave — 0/1" in scores.text

    # -- end (a moderator may end someone else's session): summary and transcript ------------
    ended = await standin.slash("study end", user=carol, channel=thread)
    assert "Study session ended" in ended.text
    for name in ("alice", "bob", "carol", "dave"):
        assert name in ended.text
    files = [f for m in ended.messages for f in m.files]
    assert len(files) == 1 and files[0].filename.endswith(".md")
    transcript = files[0].data.decode()
    assert transcript.startswith("# Study session: From Guardians to Executioners — section 3")
    for ref in ("guardians:3.1", "guardians:3.2", "guardians:3.3", "guardians:3.4"):
        assert f"Read `{ref}`" in transcript
    assert "**Q:** Who was the first head of the Cheka?" in transcript
    assert "**Q:** What was Dzerzhinsky called?" in transcript
    assert "**Q:** When was the Cheka established?" in transcript
    assert "### Quiz 1" in transcript
    assert f"**Answer:** {right}" in transcript
    assert record.question.sentence in transcript and record.question.citation in transcript
    assert transcript.count("✓") == 2 and transcript.count("✗") == 2  # alice, carol; bob, dave
    assert "| alice | 1 | 1 |" in transcript and "| bob | 0 | 1 |" in transcript
    assert "**Q:** Who was Yagoda?" in transcript
    # Nobody was pinged by anything the bot posted (allowed_mentions none).
    assert all(not m.pinged_user_ids for m in standin.bot_messages(thread))

    # After the end: old buttons and commands get a clear answer, nothing changes.
    closed = await standin.click(quiz, right, user=dave)
    assert "closed" in private(closed)
    old_next = await standin.click(resumed, "Next passage", user=alice)
    assert "ended" in private(old_next)
    none_here = await standin.slash("study next", user=alice, channel=thread)
    assert "There is no study session here" in private(none_here)
    standin.assert_healthy()
