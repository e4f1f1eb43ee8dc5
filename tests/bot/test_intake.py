"""Nothing acknowledged is lost to a crash: `histbot run` killed with SIGKILL in the middle
of a burst of /ask, then started again, answers every interaction it had deferred (the
token lasts 15 minutes), once; and nothing is replayed twice or after its token expired."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from pathlib import Path

from bot.storage.journal import InteractionJournal, Owed
from standin import Discord, InteractionRecord
from tests.bot.helpers import bot_process, exited, stop_process, wait_for_process_bot

QUESTIONS = [
    "Who was the first head of the Cheka?",
    "When was Andres Nin kidnapped?",
    "Who succeeded Dzerzhinsky?",
    "Who was Yagoda?",
    "Who infiltrated Trotsky's compound in Mexico?",
    "What happened at the show trials?",
    "Who was Beria?",
    "When did Dzerzhinsky die?",
]


def owed(record: InteractionRecord) -> bool:
    """Acknowledged with "thinking…" and not (yet) answered."""
    return record.acked and record.ack_type == 5 and record.loading


def answered(record: InteractionRecord) -> bool:
    return record.acked and not record.loading


async def burst(standin: Discord, size: int) -> list[InteractionRecord]:
    """`size` /ask from two members in two channels, all within a fraction of a second."""
    records = []
    for i in range(size):
        records.append(
            await standin.send_slash(
                "ask",
                question=QUESTIONS[i % len(QUESTIONS)],
                user=standin.alice if i % 2 else standin.bob,
                channel=standin.channel if i % 3 else standin.channel2,
            )
        )
    return records


def journaled(data_dir: Path) -> list[int]:
    with sqlite3.connect(data_dir / "interactions.sqlite3") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM owed")]
    db.close()
    return ids


async def test_sigkill_mid_burst_then_restart_answers_every_acknowledged_once(
    standin: Discord, tmp_path: Path
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "bot.log"
    first = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 1)
        records = await burst(standin, 40)
        # Kill it once some answers are out and others are still owed.
        await standin.server.wait_until(
            lambda: sum(map(answered, records)) >= 3 and sum(map(owed, records)) >= 5,
            30,
            "a burst half answered",
        )
        first.send_signal(signal.SIGKILL)
        await exited(first, within=10)
    finally:
        stop_process(first)
    owed_at_kill = [r for r in records if owed(r)]
    assert len(owed_at_kill) >= 5
    assert {r.id for r in owed_at_kill} <= set(journaled(data_dir))

    second = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 2)
        await standin.server.wait_until(
            lambda: not any(map(owed, records)), 30, "every owed answer"
        )
        await asyncio.sleep(0.5)  # anything sent twice would arrive by now
        for record in owed_at_kill:
            messages = standin.bot_messages(record.channel_id)
            mine = [m for m in messages if m.id == record.original_message_id]
            (answer,) = mine
            question = record.payload["data"]["options"][0]["value"]
            assert answer.embeds and question in answer.text, answer  # its own answer
            assert record.followup_ids == []  # one answer, not a second message
            assert record.double_acks == 0
        assert journaled(data_dir) == []
        assert "owed" in log.read_text()
        # The restarted bot answers new questions as usual.
        reply = await standin.slash("ask", question="Who was Yagoda?", timeout=10)
        assert "Yagoda" in reply.embeds[0]["description"]
        standin.assert_healthy()
    finally:
        assert stop_process(second) == 0


async def test_an_owed_interaction_is_answered_once_and_not_after_its_token_expired(
    standin: Discord, tmp_path: Path
) -> None:
    """What a journal left by a crash holds: one interaction still answerable, one whose
    token expired. The next start answers the first, once, and only logs the second;
    nothing is left for a start after it."""
    data_dir, log = tmp_path / "data", tmp_path / "bot.log"
    # Two interactions acknowledged with a deferral and never answered, as a crash leaves
    # them: one fresh, one deferred 20 minutes ago.
    live = await asked_while_no_bot_ran(standin, "Who succeeded Dzerzhinsky?")
    old = await asked_while_no_bot_ran(standin, "Who was Beria?")
    async with InteractionJournal(data_dir / "interactions.sqlite3") as journal:
        for record, age in ((live, 5.0), (old, 20 * 60.0)):
            await standin.defer_as_the_bot(record)
            when = time.time() - age
            await journal.record(
                Owed(record.id, standin.application_id, record.token, when, when, "public",
                     "/ask", record.payload)
            )  # fmt: skip

    threads = {"HISTBOT_SEARCH_PROCESSES": "0"}  # quicker to start; answers are the same
    second = bot_process(standin, data_dir, log, **threads)
    try:
        await wait_for_process_bot(standin, 1)
        await standin.server.wait_until(lambda: answered(live), 15, "the owed answer")
        answer = standin.world.messages[live.original_message_id]
        assert answer["embeds"] and "Dzerzhinsky" in json.dumps(answer["embeds"])
    finally:
        assert stop_process(second) == 0
    assert owed(old)  # never tried: its token had expired
    assert "expired before it could be answered" in log.read_text()
    assert journaled(data_dir) == []
    assert len([c for c in live.calls if c.method == "PATCH"]) == 1  # answered once


async def asked_while_no_bot_ran(standin: Discord, question: str) -> InteractionRecord:
    """/ask as Discord sends it (no bot has synced commands to the stand-in yet: the command
    is named, as discord.py looks it up)."""
    data = {
        "id": "1",
        "name": "ask",
        "type": 1,
        "options": [{"name": "question", "type": 3, "value": question}],
    }
    return await standin.server.start_interaction(
        type=2,
        user_id=standin.alice.id,
        channel_id=standin.channel.id,
        data=data,
        command_name="ask",
    )
