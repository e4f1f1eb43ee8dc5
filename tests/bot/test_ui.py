"""Buttons keep working after a restart: everything a click needs is in its custom id or in
the message it is on."""

from __future__ import annotations

from standin import Discord
from tests.bot.helpers import StartBot


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
