"""/passage, /sources, /random and /help end to end, and passages longer than an embed."""

from __future__ import annotations

import random
from pathlib import Path

from bot.bot import HistBot
from knowledge import Library
from standin import Discord
from tests.bot.helpers import StartBot, assert_silent, fields
from tests.conftest import write_sources

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


async def test_passage_with_previous_and_next(
    standin: Discord, bot: HistBot, library: Library
) -> None:
    reply = await standin.slash("passage", ref="3.9")
    assert not reply.ephemeral
    passage = library.passage("guardians:3.9")
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


async def test_sources(standin: Discord, bot: HistBot) -> None:
    reply = await standin.slash("sources")
    embed = reply.embeds[0]
    assert embed["title"] == "From Guardians to Executioners"
    assert "51 passages" in embed["description"] or "passages" in embed["description"]
    assert "Section 3 “Dzerzhinsky and the Cheka” — 9 passages" in embed["description"]


async def test_random_is_a_study_prompt(standin: Discord, bot: HistBot, library: Library) -> None:

    bot.get_cog("Passages").rng = random.Random(7)
    expected = library.random_passage(random.Random(7))
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
    assert "/library add" in info["Commands"]
    assert "/study start" in info["Study sessions"] and "/study end" in info["Study sessions"]
    assert "How to cite" in info


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
