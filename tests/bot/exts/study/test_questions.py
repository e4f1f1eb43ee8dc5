"""Questions in a session end to end: answered as /ask answers them, follow-ups on pronouns
only, and a question that could not be asked costs no cooldown."""

from __future__ import annotations

from standin import Discord
from tests.bot.exts.study.helpers import session_thread
from tests.bot.helpers import StartBot, private


async def test_study_ask_answers_as_ask_and_follows_up_only_on_pronouns(
    standin: Discord, start_bot: StartBot
):
    await start_bot(message_content=True)
    alice = standin.alice
    started = await standin.slash("study start", user=alice, channel=standin.channel, section="3")
    thread = session_thread(standin, started)
    first = await standin.slash("study ask", user=alice, channel=thread, question="Who was Yagoda?")
    assert "Yagoda" in first.text

    # A question of its own is answered exactly as /ask answers it, whatever came before.
    question = "What happened at the show trials?"
    in_session = await standin.slash("study ask", user=alice, channel=thread, question=question)
    plain = await standin.slash("ask", user=alice, channel=standin.channel2, question=question)
    assert in_session.text == plain.text
    assert "show" in in_session.text and "trials" in in_session.text

    # A follow-up about "him" is about the last answer's subject.
    await standin.slash("study ask", user=alice, channel=thread, question="Who was Yagoda?")
    follow_up = await standin.slash(
        "study ask", user=alice, channel=thread, question="What happened to him?"
    )
    assert "Yagoda" in follow_up.text
    alone = await standin.slash(
        "ask", user=alice, channel=standin.channel2, question="What happened to him?"
    )
    assert "only common words" in private(alone)
    standin.assert_healthy()


async def test_a_rejected_question_does_not_use_up_the_cooldown(
    standin: Discord, start_bot: StartBot
):
    await start_bot(message_content=True, ask_cooldown_seconds=60)
    alice, bob = standin.alice, standin.bob
    started = await standin.slash("study start", user=alice, channel=standin.channel)
    thread = session_thread(standin, started)

    rejected = await standin.slash("study ask", user=alice, channel=thread, question="the of and")
    assert "only common words" in private(rejected)
    answered = await standin.slash(
        "study ask", user=alice, channel=thread, question="Who was Yagoda?"
    )
    assert "Yagoda" in answered.text
    again = await standin.slash("study ask", user=alice, channel=thread, question="Who was Beria?")
    assert "Easy there" in private(again)  # an answered question does count

    # The same in the thread's messages.
    replies = await standin.say("the of and", user=bob, channel=thread)
    assert replies and "only common words" in replies[0].text
    replies = await standin.say("Who was Yagoda?", user=bob, channel=thread)
    assert replies and replies[0].embeds
    standin.assert_healthy()


async def test_a_mention_in_a_session_thread_is_answered_once_and_recorded(
    standin: Discord, start_bot: StartBot
) -> None:
    bot = await start_bot()  # without message content: only mentions reach the bot
    started = await standin.slash("study start", channel=standin.channel)
    thread = session_thread(standin, started)
    replies = await standin.say("who was Yagoda?", channel=thread, mention_bot=True)
    assert len(replies) == 1 and "Yagoda" in replies[0].embeds[0]["description"]
    assert await standin.say("who was Beria?", channel=thread, expect_reply=False) == []
    session = await bot.store.active_session(thread)
    asked = [e.data for e in await bot.store.events(session.id) if e.kind == "question"]
    assert [(q["question"], q["via"]) for q in asked] == [("who was Yagoda?", "mention")]
