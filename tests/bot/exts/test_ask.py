"""/ask end to end: the quote, its citation and buttons, as the channel sees them; the
"not found" answer; questions that cannot be asked."""

from __future__ import annotations

import pytest

from bot.bot import HistBot
from bot.rendering.text import STORAGE_UNAVAILABLE
from knowledge import Library
from standin import Discord
from tests.bot.exts.study.helpers import session_thread
from tests.bot.helpers import EPHEMERAL, StartBot, assert_silent, fields
from tests.bot.storage.helpers import damage_table


async def test_ask_answers_with_quote_citation_and_buttons(
    standin: Discord,
    bot: HistBot,
) -> None:
    reply = await standin.slash("ask", question="who was Yagoda?")
    assert reply.ack_type == 4 and not reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"] == "who was Yagoda?"
    assert embed["description"].startswith("> ")
    assert "**Yagoda**" in embed["description"]
    info = fields(reply)
    assert info["Citation"].startswith("From Guardians to Executioners, section ")
    assert ", paragraph " in info["Citation"]
    assert "/passage ref:guardians:" in info["Reference"]
    assert "ref guardians:" in embed["footer"]["text"]
    assert reply.button_labels == ["Full passage", "Context", "Other matches"]
    assert_silent(reply)
    standin.assert_healthy()


async def test_ask_privately(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("ask", question="who was Yagoda?", private=True)
    assert reply.ephemeral and reply.flags & EPHEMERAL
    assert "Yagoda" in reply.embeds[0]["description"]


async def test_everyone_in_a_question_pings_nobody(standin: Discord, bot: HistBot) -> None:
    role = f"<@&{standin.moderator_role_id}>"
    question = f"@everyone @here {role} {standin.bob.mention} who was Yagoda?"
    reply = await standin.slash("ask", question=question)
    assert_silent(reply)
    text = reply.text
    assert "@everyone" not in text and "@here" not in text
    assert role not in text and standin.bob.mention not in text
    assert "who was Yagoda?" in text


async def test_invisible_characters_are_neither_searched_for_nor_shown(
    standin: Discord, bot: HistBot
) -> None:
    """An RTL override would turn the title around; a zero-width space cuts a word in two."""
    reply = await standin.slash("ask", question="who was \u202eYago\u200bda?\u202c")
    assert reply.embeds[0]["title"] == "who was Yagoda?"
    assert "**Yagoda**" in reply.embeds[0]["description"]
    other = await standin.click(reply, "Other matches")
    assert not any(ch in other.text for ch in "\u202e\u200b\u202c")
    search = await standin.slash("search", query="\u202eYago\u200bda")
    assert search.embeds[0]["title"] == "Search: Yagoda"
    assert search.embeds[0]["footer"]["text"].endswith("Yagoda")
    refused = await standin.slash("passage", ref="\u202enot\u200b-a-ref")
    assert not any(ch in refused.text for ch in "\u202e\u200b")


async def test_mentions_in_a_question_are_not_searched_for(
    standin: Discord,
    bot: HistBot,
) -> None:
    reply = await standin.slash("ask", question="@everyone <@&42> who was Yagoda?")
    assert "Yagoda" in reply.embeds[0]["description"]
    assert not reply.embeds[0]["description"].startswith("Not in the sources")
    assert_silent(reply)


async def test_quotations_cite_whom_they_quote(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash(
        "ask", question="What did Beria do when Stalin showed signs of consciousness?"
    )
    assert "quoting Khrushchev" in fields(reply)["Citation"]


async def test_full_passage_context_and_other_matches(
    standin: Discord,
    bot: HistBot,
    library: Library,
) -> None:
    answer = await standin.slash("ask", question="who was Yagoda?")
    ref = answer.embeds[0]["footer"]["text"].split("ref ")[1].split(" ")[0]
    passage = library.passage(ref)

    full = await standin.click(answer, "Full passage", user=standin.bob)
    assert full.ephemeral
    assert full.embeds[0]["title"] == passage.section_title
    assert passage.text[:40] in full.embeds[0]["description"]
    assert fields(full)["Citation"] == passage.citation
    previous, following = library.previous(ref), library.next(ref)
    assert full.button_labels == [f"◀ {previous.short_ref}", f"{following.short_ref} ▶"]

    # Paging inside one's own private copy edits it in place.
    moved = await standin.click(full, f"{following.short_ref} ▶", user=standin.bob)
    assert moved.ack_type == 7
    assert f"ref {following.ref}" in moved.embeds[0]["footer"]["text"]

    context = await standin.click(answer, "Context")
    assert context.ephemeral
    text = context.embeds[0]["description"]
    assert f"`{previous.ref}`" in text and f"`{ref}`" in text and f"`{following.ref}`" in text
    assert text.index("**Before**") < text.index("**This passage**") < text.index("**After**")

    others = await standin.click(answer, "Other matches")
    assert others.ephemeral
    assert others.embeds[0]["title"].startswith("Other matches")
    assert "**1.**" in others.embeds[0]["description"]
    assert ref not in [b["label"].removeprefix("Open ") for b in others.buttons]
    assert others.button_labels and all(b.startswith("Open ") for b in others.button_labels)
    standin.assert_healthy()


async def test_not_answered_offers_closest_places(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("ask", question="when did Stalin invade Poland?")
    embed = reply.embeds[0]
    assert embed["title"] == "Not found in the texts"
    assert "not an answer" in embed["description"]
    assert "Closest sections" in fields(reply)
    assert "Closest passages (not answers)" in fields(reply)
    assert "Full passage" not in reply.button_labels
    assert reply.button_labels and all(b.startswith("Open ") for b in reply.button_labels)
    opened = await standin.click(reply, reply.button_labels[0])
    assert opened.ephemeral and "ref guardians:" in opened.embeds[0]["footer"]["text"]


async def test_texts_that_never_mention_it(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("ask", question="What did Napoleon say at Waterloo?")
    assert reply.embeds[0]["title"] == "Not found in the texts"
    assert "Napoleon" in reply.embeds[0]["description"]


async def test_unusable_question_is_answered_privately(
    standin: Discord,
    bot: HistBot,
) -> None:
    reply = await standin.slash("ask", question="what was it?")
    assert reply.ephemeral
    assert reply.content.startswith("The question has only common words")
    assert [m for m in standin.bot_messages(standin.channel) if not m.ephemeral] == []


async def test_a_damaged_session_database_leaves_ask_working(
    standin: Discord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A page of the study database goes bad while the bot runs: every question is still
    answered (in channels, DMs, threads, the session's own thread, by mention), study
    commands say plainly that session storage is unavailable, and the log names the file."""
    bot = await start_bot(message_content=True)
    started = await standin.slash("study start", channel=standin.channel)
    thread = session_thread(standin, started)
    damage_table(bot.settings.database_path)

    for channel in (standin.channel, standin.dm(standin.alice), standin.thread, thread):
        reply = await standin.slash("ask", question="who was Yagoda?", channel=channel)
        assert "**Yagoda**" in reply.embeds[0]["description"], channel
        assert not reply.ephemeral
    (mention,) = await standin.say("who was Kirov?", mention_bot=True, channel=thread)
    assert "Leningrad" in mention.embeds[0]["description"]

    broken = await standin.slash("study next", channel=thread)
    assert broken.ephemeral and broken.content == STORAGE_UNAVAILABLE
    assert "`/ask`" in broken.content
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(str(bot.settings.database_path) in m and "malformed" in m for m in logged)
    assert not any(r.exc_info for r in caplog.records if r.levelname == "ERROR")
    standin.assert_healthy()
