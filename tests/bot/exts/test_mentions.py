"""Questions in messages end to end: mentions, replies to answers (follow-ups), DMs, threads."""

from __future__ import annotations

from typing import Any

import pytest

from bot.bot import HistBot
from knowledge import Library
from standin import Discord
from tests.bot.helpers import StartBot, assert_silent


async def test_mention_asks_a_question(standin: Discord, bot: HistBot) -> None:
    (reply,) = await standin.say("who was Yagoda?", mention_bot=True)
    assert reply.embeds[0]["title"] == "who was Yagoda?"
    assert "**Yagoda**" in reply.embeds[0]["description"]
    assert reply.button_labels == ["Full passage", "Context", "Other matches"]
    assert reply.reference_id is not None
    assert_silent(reply)
    # its buttons work like /ask's
    full = await standin.click(reply, "Full passage", user=standin.bob)
    assert full.ephemeral


async def test_mention_with_everyone_pings_nobody(standin: Discord, bot: HistBot) -> None:
    (reply,) = await standin.say("@everyone who was Yagoda?", mention_bot=True)
    assert_silent(reply)
    assert "@everyone" not in reply.text


async def test_bare_mention_gets_a_hint(standin: Discord, bot: HistBot) -> None:
    (reply,) = await standin.say(standin.bot.mention)
    assert "Ask me a question" in reply.content
    assert_silent(reply)


async def test_plain_messages_are_ignored(standin: Discord, bot: HistBot) -> None:
    assert await standin.say("who was Yagoda?", expect_reply=False) == []


async def test_reply_to_an_answer_is_a_follow_up(
    standin: Discord,
    bot: HistBot,
    library: Library,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (first,) = await standin.say("who was Yagoda?", mention_bot=True)
    asked: list[tuple[str, str]] = []
    answer = library.answer

    def spy(question: str, limit: int = 5, context: str = "", by_words: bool = False) -> Any:
        asked.append((question, context))
        return answer(question, limit, context, by_words)

    monkeypatch.setattr(library, "answer", spy)
    (follow_up,) = await standin.say("was he arrested?", reply_to=first)
    # The context is the earlier answer as it was shown: its question, then its quote.
    ((question, context),) = asked
    assert question == "was he arrested?"
    assert context.startswith("who was Yagoda? ")
    assert first.embeds[0]["description"].replace("**", "")[:40] in context.replace("**", "")
    assert follow_up.reference_id is not None
    assert follow_up.embeds, follow_up.text
    assert_silent(follow_up)


async def test_follow_up_with_only_pronouns_is_about_the_earlier_answer(
    standin: Discord,
    bot: HistBot,
) -> None:
    (first,) = await standin.say("who was Yagoda?", mention_bot=True)
    (reply,) = await standin.say("what happened to him?", reply_to=first)
    assert reply.embeds, reply.content
    assert "Yagoda" in reply.embeds[0]["description"]
    assert_silent(reply)


async def test_reply_without_ping_needs_message_content(
    standin: Discord,
    start_bot: StartBot,
) -> None:
    await start_bot(message_content=False)
    (first,) = await standin.say("who was Yagoda?", mention_bot=True)
    silent = await standin.say(
        "was he arrested?", reply_to=first, reply_ping=False, expect_reply=False
    )
    assert silent == []


async def test_reply_without_ping_with_message_content(
    standin: Discord,
    start_bot: StartBot,
) -> None:
    await start_bot(message_content=True)
    (first,) = await standin.say("who was Yagoda?", mention_bot=True)
    (follow_up,) = await standin.say("was he arrested?", reply_to=first, reply_ping=False)
    assert follow_up.embeds


async def test_direct_messages(standin: Discord, bot: HistBot) -> None:
    dm = standin.dm(standin.alice)
    reply = await standin.slash("ask", question="who was Yagoda?", channel=dm)
    assert "Yagoda" in reply.embeds[0]["description"]
    (answer,) = await standin.say("who was Beria?", channel=dm)
    assert answer.embeds
    full = await standin.click(answer, "Full passage")
    assert full.embeds


async def test_threads(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("ask", question="who was Yagoda?", channel=standin.thread)
    assert reply.embeds and reply.channel_id == standin.thread.id
    (answer,) = await standin.say("who was Beria?", channel=standin.thread, mention_bot=True)
    assert answer.channel_id == standin.thread.id
