"""/search end to end: five results a page, pages turned only by the person who searched."""

from __future__ import annotations

import asyncio

from bot.bot import HistBot
from standin import Discord


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
    bot.get_cog("Search").view_timeout = 0.3
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
    bot.get_cog("Search").view_timeout = 1.0
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
