"""Per-user cooldowns, shared by every way of asking; charged, and refunded for a question
that could not be asked."""

from __future__ import annotations

import pytest
from discord import app_commands

from bot.checks import Cooldowns
from knowledge import QueryError
from standin import Discord
from tests.bot.helpers import StartBot


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


def test_cooldowns_per_user_and_kind() -> None:
    now = [100.0]
    cooldowns = Cooldowns({"ask": 5, "search": 5}, clock=lambda: now[0])
    with cooldowns.spend("ask", 1):
        pass
    with pytest.raises(app_commands.CommandOnCooldown) as waiting, cooldowns.spend("ask", 1):
        pass
    assert waiting.value.retry_after == pytest.approx(5)
    with cooldowns.spend("ask", 2), cooldowns.spend("search", 1):
        pass  # another user, another kind
    now[0] += 5.1
    with cooldowns.spend("ask", 1):
        pass


def test_a_question_that_could_not_be_asked_is_refunded() -> None:
    cooldowns = Cooldowns({"ask": 60})
    with pytest.raises(QueryError), cooldowns.spend("ask", 1):
        raise QueryError("the question is empty")
    with pytest.raises(RuntimeError), cooldowns.spend("ask", 1):
        raise RuntimeError("an answer that failed still counts")
    with pytest.raises(app_commands.CommandOnCooldown), cooldowns.spend("ask", 1):
        pass


def test_zero_seconds_switches_a_cooldown_off() -> None:
    cooldowns = Cooldowns({"ask": 0})
    for _ in range(3):
        with cooldowns.spend("ask", 1):
            pass
