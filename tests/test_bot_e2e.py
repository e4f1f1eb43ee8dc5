"""End to end: the real discord.py client (HistBot) against the loopback Discord stand-in.

Every test asserts what a person in the channel (or the clicker alone) would see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import HistBot
from bot.rendering.text import GENERIC_ERROR
from bot.settings import Settings
from knowledge import Library
from standin import Discord, Reply
from tests.conftest import SEEDS, write_sources

EPHEMERAL = 1 << 6
StartBot = Callable[..., Awaitable[HistBot]]


@pytest.fixture
def start_bot(standin: Discord, library: Library, tmp_path: Path) -> StartBot:
    """Start a HistBot on the stand-in; keyword arguments change its settings."""

    async def start(*, library: Library = library, **changes: Any) -> HistBot:
        values: dict[str, Any] = {
            "discord_token": "fake",
            "discord_api_base": standin.api_base,
            "sources_dir": SEEDS,
            "data_dir": tmp_path,
            "ask_cooldown_seconds": 0,
            "search_cooldown_seconds": 0,
            "search_processes": 0,  # threads: quick to start; one test below uses processes
            "dev_guild_ids": [],
            "sync_commands_on_start": True,
        }
        values.update(changes)
        bot = HistBot(Settings(**values), library=library)
        await standin.start_client(bot, "fake")
        return bot

    return start


@pytest.fixture
async def bot(start_bot: StartBot) -> HistBot:
    return await start_bot()


def fields(reply: Reply | Any, index: int = 0) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[index].get("fields", [])}


def assert_silent(reply: Reply | Any) -> None:
    """Nothing the bot sent can ping anyone."""
    assert reply.allowed_mentions is not None
    assert reply.allowed_mentions.get("parse") == []
    assert reply.pinged_user_ids == []


# -- start-up -----------------------------------------------------------------------------------


async def test_start_up_syncs_the_commands(standin: Discord, bot: HistBot) -> None:
    commands = {c["name"]: c for c in standin.commands()}
    assert {"ask", "search", "passage", "sources", "random", "help"} <= set(commands)
    ask = commands["ask"]
    assert ask["description"].startswith("Ask a question")
    question, private = ask["options"]
    assert (question["name"], question["type"], question["required"]) == ("question", 3, True)
    assert (question["min_length"], question["max_length"]) == (1, 1000)
    assert (private["name"], private["type"], private.get("required", False)) == (
        "private",
        5,
        False,
    )
    ref = commands["passage"]["options"][0]
    assert ref["autocomplete"] is True and ref["max_length"] == 100
    assert commands["search"]["options"][0]["max_length"] == 1000
    assert set(ask["contexts"]) == {0, 1, 2}
    assert standin.commands(guild=True) == []
    standin.assert_healthy()


async def test_dev_guild_sync_is_instant(standin: Discord, start_bot: StartBot) -> None:
    await start_bot(dev_guild_ids=[standin.guild_id])
    names = {c["name"] for c in standin.commands(guild=True)}
    assert {"ask", "search", "passage"} <= names


# -- /ask ---------------------------------------------------------------------------------------


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


async def test_quotations_cite_whom_they_quote(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("ask", question="what did Khrushchev say about Beria?")
    assert "quoting Khrushchev" in fields(reply)["Citation"]


async def test_full_passage_context_and_other_matches(
    standin: Discord,
    bot: HistBot,
) -> None:
    answer = await standin.slash("ask", question="who was Yagoda?")
    ref = answer.embeds[0]["footer"]["text"].split("ref ")[1].split(" ")[0]
    passage = bot.library.passage(ref)

    full = await standin.click(answer, "Full passage", user=standin.bob)
    assert full.ephemeral
    assert full.embeds[0]["title"] == passage.section_title
    assert passage.text[:40] in full.embeds[0]["description"]
    assert fields(full)["Citation"] == passage.citation
    previous, following = bot.library.previous(ref), bot.library.next(ref)
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


async def test_slow_answer_is_deferred_then_shown(standin: Discord, bot: HistBot) -> None:
    bot.defer_after = 0
    reply = await standin.slash("ask", question="who was Yagoda?")
    assert reply.ack_type == 5
    assert not reply.loading and not reply.ephemeral
    assert "Yagoda" in reply.embeds[0]["description"]
    assert reply.button_labels == ["Full passage", "Context", "Other matches"]
    standin.assert_healthy()


async def test_error_after_a_public_deferral_stays_private(
    standin: Discord,
    bot: HistBot,
) -> None:
    bot.defer_after = 0
    reply = await standin.slash("ask", question="what was it?")
    assert reply.ack_type == 5
    assert reply.deleted  # the public "thinking…" is gone
    assert reply.followups[0].ephemeral
    assert "only common words" in reply.followups[0].content


async def test_cooldown_gets_a_friendly_private_message(
    standin: Discord,
    start_bot: StartBot,
) -> None:
    await start_bot(ask_cooldown_seconds=60, search_cooldown_seconds=60)
    first = await standin.slash("ask", question="who was Yagoda?")
    assert not first.ephemeral
    second = await standin.slash("ask", question="who was Beria?")
    assert second.ephemeral and "Easy there" in second.content
    other_user = await standin.slash("ask", question="who was Beria?", user=standin.bob)
    assert not other_user.ephemeral
    search = await standin.slash("search", query="Beria")
    assert not search.ephemeral
    again = await standin.slash("search", query="Beria")
    assert again.ephemeral and "Easy there" in again.content
    mention = await standin.say("who was Beria?", mention_bot=True)
    assert "Easy there" in mention[0].content


async def test_failing_handler_gets_a_short_private_error(
    standin: Discord,
    bot: HistBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("index on fire")

    monkeypatch.setattr(bot.library, "answer", broken)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        reply = await standin.slash("ask", question="who was Yagoda?")
    assert reply.ephemeral and reply.content == GENERIC_ERROR
    assert "index on fire" not in reply.content
    record = next(r for r in caplog.records if r.exc_info)
    assert "index on fire" in str(record.exc_info[1])
    standin.assert_healthy()


async def test_failing_button_gets_a_short_private_error(
    standin: Discord,
    bot: HistBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = await standin.slash("ask", question="who was Yagoda?")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("passages on fire")

    monkeypatch.setattr(bot.library, "passage", broken)
    reply = await standin.click(answer, "Context")
    assert reply.ephemeral and reply.content == GENERIC_ERROR


# -- /search ------------------------------------------------------------------------------------


async def test_search_pages_only_for_the_invoker(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("search", query="Stalin")
    first = reply.embeds[0]
    assert first["title"] == "Search: Stalin"
    assert "**1.**" in first["description"] and "**6.**" not in first["description"]
    assert first["footer"]["text"].startswith("histbot · page 1/")
    assert reply.button_labels == ["◀ Previous", "Next ▶"]
    assert reply.buttons[0]["disabled"] is True

    stranger = await standin.click(reply, "Next ▶", user=standin.bob)
    assert stranger.ephemeral and "Only the person who searched" in stranger.content
    assert reply.embeds[0]["footer"]["text"].startswith("histbot · page 1/")

    turned = await standin.click(reply, "Next ▶")
    assert turned.ack_type == 7
    assert "**6.**" in turned.embeds[0]["description"]
    assert "page 2/" in turned.embeds[0]["footer"]["text"]
    back = await standin.click(reply, "◀ Previous")
    assert "page 1/" in back.embeds[0]["footer"]["text"]
    standin.assert_healthy()


async def test_search_buttons_are_disabled_when_the_view_times_out(
    standin: Discord,
    bot: HistBot,
) -> None:
    bot.view_timeout = 0.3
    reply = await standin.slash("search", query="Stalin")
    assert not reply.buttons[1]["disabled"]
    await standin.server.wait_until(
        lambda: all(b.get("disabled") for b in reply.buttons), 5.0, "buttons to be disabled"
    )
    assert reply.edited


async def test_turning_a_page_restarts_the_timeout(
    standin: Discord,
    bot: HistBot,
) -> None:
    bot.view_timeout = 1.0
    reply = await standin.slash("search", query="Stalin")
    await asyncio.sleep(0.6)
    await standin.click(reply, "Next ▶")
    await asyncio.sleep(0.6)  # 1.2 s after /search, 0.6 s after the page turn
    assert not any(b.get("disabled") for b in reply.buttons)
    await standin.server.wait_until(
        lambda: all(b.get("disabled") for b in reply.buttons), 5.0, "buttons to be disabled"
    )


async def test_search_with_nothing_found(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("search", query="Waterloo Napoleon")
    assert reply.ephemeral
    assert "Nothing in the texts matches" in reply.embeds[0]["description"]


# -- /passage and autocomplete ------------------------------------------------------------------


async def test_passage_with_previous_and_next(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("passage", ref="3.9")
    assert not reply.ephemeral
    passage = bot.library.passage("guardians:3.9")
    assert reply.embeds[0]["title"] == "Dzerzhinsky and the Cheka"
    assert reply.embeds[0]["description"].startswith("With Menzhinsky gone")
    assert fields(reply)["Citation"] == passage.citation
    assert reply.button_labels == ["◀ 3.8", "4.1 ▶"]

    # Someone else's click does not change the message for everyone: they get a private copy.
    peek = await standin.click(reply, "4.1 ▶", user=standin.bob)
    assert peek.ephemeral and "ref guardians:4.1" in peek.embeds[0]["footer"]["text"]
    assert "ref guardians:3.9" in reply.embeds[0]["footer"]["text"]

    moved = await standin.click(reply, "4.1 ▶")
    assert moved.ack_type == 7
    assert "ref guardians:4.1" in reply.embeds[0]["footer"]["text"]
    assert reply.button_labels == ["◀ 3.9", "4.2 ▶"]


async def test_first_passage_has_no_previous(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("passage", ref="guardians:1.1")
    assert reply.buttons[0]["disabled"] is True
    assert reply.buttons[1]["disabled"] is False


async def test_unknown_reference_shows_suggestions(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("passage", ref="guardians:3.99")
    assert reply.ephemeral
    assert reply.content.startswith("No passage")
    assert "Did you mean" in reply.content and "`guardians:3.9`" in reply.content
    vague = await standin.slash("passage", ref="not a reference")
    assert vague.ephemeral and "/sources" in vague.content


async def test_autocomplete_references_and_titles(standin: Discord, bot: HistBot) -> None:
    choices = await standin.autocomplete("passage", "ref", "3.")
    assert 1 <= len(choices) <= 25
    assert all(c["value"].startswith("guardians:3.") for c in choices)
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)

    by_title = await standin.autocomplete("passage", "ref", "kirov")
    assert by_title[0]["value"] == "guardians:4.1"
    assert "Kirov" in by_title[0]["name"]

    everything = await standin.autocomplete("passage", "ref", "")
    assert len(everything) == 25


# -- /sources, /random, /help -------------------------------------------------------------------


async def test_sources(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("sources")
    embed = reply.embeds[0]
    assert embed["title"] == "From Guardians to Executioners"
    assert "51 passages" in embed["description"] or "passages" in embed["description"]
    assert "Section 3 “Dzerzhinsky and the Cheka” — 9 passages" in embed["description"]


async def test_random_is_a_study_prompt(standin: Discord, bot: HistBot) -> None:
    import random

    bot.rng = random.Random(7)
    expected = bot.library.random_passage(random.Random(7))
    reply = await standin.slash("random")
    embed = reply.embeds[0]
    assert embed["title"].startswith("Study prompt")
    assert f"ref {expected.ref}" in embed["footer"]["text"]
    assert fields(reply)["Citation"] == expected.citation
    assert "Discuss" in fields(reply)
    assert reply.button_labels[0] == "Context"


async def test_help(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("help")
    assert reply.ephemeral
    info = fields(reply)
    assert "/ask" in info["Commands"] and "/passage" in info["Commands"]
    assert "/study start" in info["Study sessions"] and "/study end" in info["Study sessions"]
    assert "How to cite" in info


# -- messages: mentions, follow-ups, DMs, threads -----------------------------------------------


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
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (first,) = await standin.say("who was Yagoda?", mention_bot=True)
    ref = first.embeds[0]["footer"]["text"].split("ref ")[1].split(" ")[0]
    asked: list[tuple[str, str]] = []
    answer = bot.library.answer

    def spy(question: str, limit: int = 5, context: str = "") -> Any:
        asked.append((question, context))
        return answer(question, limit, context)

    monkeypatch.setattr(bot.library, "answer", spy)
    (follow_up,) = await standin.say("was he arrested?", reply_to=first)
    assert asked == [("was he arrested?", bot.library.passage(ref).text)]
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


async def test_claimed_messages_are_left_alone(standin: Discord, bot: HistBot) -> None:
    seen: list[int] = []

    async def claim(message: Any) -> bool:
        seen.append(message.id)
        return True

    bot.add_message_claim(claim)
    try:
        assert await standin.say("who was Yagoda?", mention_bot=True, expect_reply=False) == []
        assert seen
    finally:
        bot.remove_message_claim(claim)


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


# -- restarts -----------------------------------------------------------------------------------


async def test_buttons_work_after_a_restart(standin: Discord, start_bot: StartBot) -> None:
    first = await start_bot()
    answer = await standin.slash("ask", question="who was Yagoda?")
    results = await standin.slash("search", query="Stalin")
    await first.close()
    await start_bot()
    full = await standin.click(answer, "Full passage")
    assert full.ephemeral and "Yagoda" in full.embeds[0]["description"]
    # /search pages search again for the query their message carries.
    turned = await standin.click(results, "Next ▶")
    assert turned.ack_type == 7 and "page 2/" in turned.embeds[0]["footer"]["text"]
    assert "**6.**" in turned.embeds[0]["description"]
    stranger = await standin.click(results, "◀ Previous", user=standin.bob)
    assert stranger.ephemeral and "Only the person who searched" in stranger.content


# -- texts with Markdown, mentions and a passage longer than an embed ----------------------------

LONG = " ".join(
    f"Sentence {i} says that *Stalin* met @everyone at meeting number {i}." for i in range(200)
)
AWKWARD_TEXT = f"""The Test Text
A Subtitle
Opening paragraph of the text that is long enough to count as prose for the parser here.
The Long Chapter
{LONG}
A short closing paragraph about the _Comintern_ and <@123456789012345678> in 1935.
"""


async def test_long_passages_are_paginated_and_sources_escaped(
    standin: Discord,
    start_bot: StartBot,
    tmp_path: Path,
) -> None:
    folder = write_sources(tmp_path / "texts", {"test": ("The Test Text", AWKWARD_TEXT)})
    await start_bot(library=Library.load(folder), sources_dir=folder)

    answer = await standin.slash("ask", question="whom did Stalin meet at meeting number 7?")
    assert_silent(answer)
    quote = answer.embeds[0]["description"]
    assert "@everyone" not in quote and "\\*" in quote
    assert len(quote) <= 4096

    reply = await standin.slash("passage", ref="test:2.1")
    assert_silent(reply)
    first = reply.embeds[0]
    assert "page 1/" in first["footer"]["text"]
    assert len(first["description"]) <= 4096
    assert "\\*Stalin\\*" in first["description"] and "@everyone" not in first["description"]
    assert reply.button_labels == ["◀ 1.1", "2.2 ▶", "◀ Page", "Page ▶"]
    assert reply.buttons[2]["disabled"] and not reply.buttons[3]["disabled"]
    pages = int(first["footer"]["text"].split("page 1/")[1])
    assert pages >= 3

    turned = await standin.click(reply, "Page ▶")
    assert turned.ack_type == 7
    assert "page 2/" in reply.embeds[0]["footer"]["text"]
    assert not reply.buttons[2]["disabled"]

    closing = await standin.slash("passage", ref="test:2.2")
    text = closing.embeds[0]["description"]
    assert "\\_Comintern\\_" in text and "<@123456789012345678>" not in text
    assert_silent(closing)
    standin.assert_healthy()


# -- `histbot sync` -----------------------------------------------------------------------------


async def test_sync_commands_registers_and_exits(standin: Discord, tmp_path: Path) -> None:
    from bot.app import sync_commands

    settings = Settings(
        discord_token="fake",
        discord_api_base=standin.api_base,
        sources_dir=SEEDS,
        data_dir=tmp_path,
        dev_guild_ids=[standin.guild_id],
    )
    await asyncio.wait_for(asyncio.to_thread(sync_commands, settings), 30)
    assert {"ask", "search", "passage"} <= {c["name"] for c in standin.commands(guild=True)}
    assert standin.frames(direction="recv", op=2) == []  # never connected to the gateway


# -- searches in worker processes ---------------------------------------------------------------


async def test_questions_are_answered_by_worker_processes(
    standin: Discord,
    start_bot: StartBot,
) -> None:
    bot = await start_bot(search_processes=1)
    assert bot.searcher is not None and bot.searcher.in_processes
    replies = await asyncio.gather(
        standin.slash("ask", question="Who infiltrated Trotsky's compound in Mexico?"),
        standin.slash("ask", question="When was Andres Nin kidnapped?"),
        standin.slash("search", query="Yezhov"),
    )
    assert "Ramon Mercader" in replies[0].embeds[0]["description"]
    assert "1937" in replies[1].embeds[0]["description"]
    assert replies[2].embeds and "Yezhov" in replies[2].text
    assert standin.late_acks() == [] and standin.double_acks() == []


# -- faults: Discord misbehaving, the user still gets exactly one answer -------------------------


async def test_429_on_the_interaction_callback_is_retried_in_time(
    standin: Discord,
    bot: HistBot,
) -> None:
    standin.fail_next("POST", "/interactions/{id}/{token}/callback", status=429, retry_after=0.5)
    reply = await standin.slash("ask", question="Who was the first head of the Cheka?")
    assert "Felix Dzerzhinsky" in reply.embeds[0]["description"]
    callbacks = [c for c in reply.interaction.calls if c.path.endswith("/callback")]
    assert [c.status for c in callbacks] == [429, 200]
    assert reply.ack_latency is not None and 0.5 <= reply.ack_latency < 3.0
    assert standin.late_acks() == [] and standin.double_acks() == []


async def test_500_on_the_deferred_answer_is_survived(
    standin: Discord,
    bot: HistBot,
) -> None:
    bot.defer_after = 0.0  # acknowledge first, then deliver the answer by editing
    standin.fail_next("PATCH", "/webhooks/{app}/{token}/messages/@original", status=500)
    reply = await standin.slash("ask", question="When was Andres Nin kidnapped?", timeout=10)
    assert reply.ack_type == 5
    edits = [c for c in reply.interaction.calls if c.method == "PATCH"]
    assert [c.status for c in edits] == [500, 200]
    assert "May 1937" in reply.embeds[0]["description"]
    assert len(reply.messages) == 1  # answered once, not twice


async def test_dropped_connection_resumes_and_the_next_question_is_answered(
    standin: Discord,
    bot: HistBot,
) -> None:
    assert await standin.drop_connection(1006) == "resumed"
    reply = await standin.slash("ask", question="who was andres nin")
    assert "POUM" in reply.embeds[0]["description"]
    assert len(standin.server.identifies) == 1


async def test_question_sent_while_disconnected_is_answered_once_after_resume(
    standin: Discord,
    bot: HistBot,
) -> None:
    assert await standin.drop_connection(1006, wait=False) == "sent"
    record = await standin.send_slash("ask", question="Who infiltrated Trotsky's compound?")
    reply = await standin.wait_answer(record, timeout=10)
    assert "Ramon Mercader" in reply.embeds[0]["description"]
    assert standin.double_acks() == [] and len(reply.messages) == 1


async def test_invalid_session_leads_to_a_fresh_identify(
    standin: Discord,
    bot: HistBot,
) -> None:
    assert await standin.invalidate_session(resumable=False, timeout=15) == "identified"
    assert len(standin.server.identifies) == 2
    reply = await standin.slash("ask", question="Who was Kirov?")
    assert "Leningrad" in reply.embeds[0]["description"]
    standin.assert_healthy()


async def test_mentions_in_a_question_are_not_searched_for(
    standin: Discord,
    bot: HistBot,
) -> None:
    reply = await standin.slash("ask", question="@everyone <@&42> who was Yagoda?")
    assert "Yagoda" in reply.embeds[0]["description"]
    assert not reply.embeds[0]["description"].startswith("Not in the sources")
    assert_silent(reply)
