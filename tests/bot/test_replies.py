"""Every interaction acknowledged within Discord's 3 seconds and answered once: deferred when
slow, errors kept private after a public deferral, Discord's own faults survived."""

from __future__ import annotations

from bot.bot import HistBot
from standin import Discord


async def test_slow_answer_is_deferred_then_shown(standin: Discord, bot: HistBot) -> None:
    bot.replies.defer_after = 0
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
    bot.replies.defer_after = 0
    reply = await standin.slash("ask", question="what was it?")
    assert reply.ack_type == 5
    assert reply.deleted  # the public "thinking…" is gone
    assert reply.followups[0].ephemeral
    assert "only common words" in reply.followups[0].content


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
    bot.replies.defer_after = 0.0  # acknowledge first, then deliver the answer by editing
    standin.fail_next("PATCH", "/webhooks/{app}/{token}/messages/@original", status=500)
    reply = await standin.slash("ask", question="When was Andres Nin kidnapped?", timeout=10)
    assert reply.ack_type == 5
    edits = [c for c in reply.interaction.calls if c.method == "PATCH"]
    assert [c.status for c in edits] == [500, 200]
    assert "May 1937" in reply.embeds[0]["description"]
    assert len(reply.messages) == 1  # answered once, not twice


async def test_a_long_429_on_the_callback_does_not_make_the_ack_late(
    standin: Discord,
    bot: HistBot,
) -> None:
    """discord.py waits out a 429's retry_after (here 5 s) before trying the callback again,
    past Discord's 3 s. The stalled answer is given up for a deferral sent in time, and the
    answer follows as an edit of it."""
    standin.fail_next("POST", "/interactions/{id}/{token}/callback", status=429, retry_after=5)
    reply = await standin.slash("ask", question="Who was the first head of the Cheka?", timeout=8)
    assert reply.ack_latency is not None and reply.ack_latency < 3.0
    callbacks = [c for c in reply.interaction.calls if c.path.endswith("/callback")]
    assert [(c.status, (c.json or {}).get("type")) for c in callbacks] == [(429, 4), (200, 5)]
    assert not reply.loading and "Dzerzhinsky" in reply.embeds[0]["description"]
    assert len(reply.messages) == 1
    assert standin.late_acks() == [] and standin.double_acks() == []
    standin.assert_healthy()
