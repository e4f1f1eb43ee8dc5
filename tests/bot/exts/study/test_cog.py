"""/study start and the commands around it end to end: bad inputs, races, permissions,
sessions whose thread was deleted, texts to choose from, autocomplete."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.rendering.text import STORAGE_UNAVAILABLE
from bot.settings import Settings
from bot.storage import SqliteSessionStore
from knowledge import Library
from standin import Discord
from tests.bot.exts.study.helpers import last_bot_message, session_thread
from tests.bot.helpers import StartBot, private
from tests.bot.storage.helpers import delete_database
from tests.conftest import write_sources


async def test_bad_inputs(standin: Discord, start_bot: StartBot):
    bot = await start_bot(message_content=True)
    settings = bot.settings
    alice, bob = standin.alice, standin.bob

    offered = await standin.autocomplete("study start", "section", "cheka", source="guardians")
    assert [c["value"] for c in offered][:1] == ["guardians:3"]
    offered = await standin.autocomplete("study start", "source", "guard")
    assert [c["value"] for c in offered] == ["guardians"]

    unknown = await standin.slash("study start", user=alice, source="nosuchtext")
    assert "No source called 'nosuchtext'" in private(unknown)
    unknown = await standin.slash("study start", user=alice, source="guardians", section="99")
    assert "No section" in private(unknown)
    assert not standin.threads(standin.channel) or all(
        "Study" not in t["name"] for t in standin.threads(standin.channel)
    )

    # Two members start a session in the same channel at the same moment: one wins.
    racing = await asyncio.gather(
        standin.slash("study start", user=alice, channel=standin.channel),
        standin.slash("study start", user=bob, channel=standin.channel),
    )
    won = [r for r in racing if "Study session started" in r.text]
    lost = [r for r in racing if r not in won]
    assert len(won) == 1 and len(lost) == 1
    assert "already running" in private(lost[0])
    assert len([t for t in standin.threads(standin.channel) if "Study" in t["name"]]) == 1
    loser = lost[0].interaction.user_id
    refused = await standin.slash("study end", user=loser, channel=session_thread(standin, won[0]))
    assert "Only the host" in private(refused)

    outside = await standin.slash("study quiz", user=alice, channel=standin.channel2)
    assert "There is no study session here" in private(outside)

    # A session started inside an existing thread runs there.
    started = await standin.slash(
        "study start", user=alice, channel=standin.thread, section="Cheka"
    )
    assert "guardians:3.1" in started.text
    nxt = await standin.slash("study goto", user=bob, channel=standin.thread, ref="9.9")
    assert "No passage" in private(nxt)
    went = await standin.slash("study goto", user=bob, channel=standin.thread, ref="4.2")
    assert "guardians:4.2" in went.text

    # Ending someone else's session without Manage Threads is refused.
    refused = await standin.slash("study end", user=bob, channel=standin.thread)
    assert "Only the host" in private(refused)

    # A session whose thread was deleted (THREAD_DELETE seen): the session is closed, and the
    # next start in that channel works.
    started = await standin.slash("study start", user=bob, channel=standin.channel2)
    thread = session_thread(standin, started)
    payload = standin.world.channels.pop(thread)
    await standin.server.dispatch(
        "THREAD_DELETE",
        {k: payload[k] for k in ("id", "guild_id", "parent_id", "type")},
        guild_id=standin.guild_id,
    )
    store = bot.store
    await standin.server.wait_until(
        lambda: ended_reason(settings, thread) == "thread deleted", 5, "the session to be closed"
    )
    assert await store.active_session(standin.channel2.id) is None
    restarted = await standin.slash("study start", user=alice, channel=standin.channel2)
    second = session_thread(standin, restarted)
    assert second != thread

    # A thread deleted while the bot was not looking (no event): noticed on the next command.
    standin.world.channels.pop(second)
    orphan = await standin.slash("study next", user=alice, channel=standin.channel2)
    assert "thread was deleted" in private(orphan)
    assert ended_reason(settings, second) == "thread deleted"
    again = await standin.slash("study start", user=alice, channel=standin.channel2)
    assert session_thread(standin, again) not in (thread, second)
    standin.assert_healthy()


def ended_reason(settings: Settings, thread: int) -> str | None:
    with sqlite3.connect(settings.database_path) as db:
        row = db.execute(
            "SELECT end_reason FROM sessions WHERE thread_id = ?", (thread,)
        ).fetchone()
    return row[0] if row else None


class SlowStartStore(SqliteSessionStore):
    """A session store on a real file whose session starts take half a second while `slow`."""

    slow = True

    async def start_session(self, **fields):
        if self.slow:
            await asyncio.sleep(0.5)
        return await super().start_session(**fields)


async def test_a_start_that_fails_while_waiting_frees_the_channel(
    standin: Discord, start_bot: StartBot, tmp_path: Path
):
    """A /study start waiting for another one in the same channel, whose acknowledgement
    fails (an expired interaction, an outage), leaves no lock behind: the channel still
    works."""
    store = SlowStartStore(tmp_path / "data" / "histbot.sqlite3")
    bot = await start_bot(message_content=True, store=store)
    bot.replies.defer_after = 0.05
    alice, bob = standin.alice, standin.bob
    first = await standin.send_slash("study start", user=alice, channel=standin.channel)
    await asyncio.sleep(0.2)  # alice's start has been acknowledged and holds the channel
    standin.fail_next(
        "POST",
        "/interactions/{id}/{token}/callback",
        status=404,
        body={"message": "Unknown interaction", "code": 10062},
    )
    failed = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "something went wrong" in private(failed)
    won = await standin.wait_answer(first)
    assert "Study session started" in won.text
    store.slow = False

    ended = await standin.slash("study end", user=alice, channel=session_thread(standin, won))
    assert "Study session ended" in ended.text
    again = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "Study session started" in again.text
    assert len(bot.get_cog("Study")._starting) == 0  # no idle locks kept
    standin.assert_healthy()


RAIL = """\
    A Railway History
    Beginnings
    The Northern Railway Company opened its first line in 1841 between Millbrook and Ashford.
    Its engineer, Thomas Whitcombe, had surveyed the route for the Board of Trade in 1838.
    Growth
    By 1856 the line carried 12,000 passengers a week, and Harriet Lamb joined its board.
"""

BASTILLE = """\
    The Fall of the Bastille
    Morning
    On 14 July 1789 a crowd gathered before the fortress. The governor refused to hand over the powder.
    Afternoon
    After hours of fighting, Bernard-René de Launay surrendered the fortress to the crowd.
"""


async def test_start_with_several_texts_opens_the_chosen_section(
    standin: Discord, start_bot: StartBot, tmp_path: Path
):
    folder = write_sources(
        tmp_path / "texts",
        {"rail": ("A Railway History", RAIL), "bastille": ("The Fall of the Bastille", BASTILLE)},
    )
    library = Library.load(folder)
    assert [s.id for s in library.sources] == ["rail", "bastille"]
    await start_bot(library=library, message_content=True)
    alice = standin.alice

    # Without a source, every text's sections are offered, each with its own value.
    offered = await standin.autocomplete("study start", "section", "")
    values = [c["value"] for c in offered]
    assert values == ["rail:1", "rail:2", "bastille:1", "bastille:2"]
    assert "Afternoon" in offered[3]["name"] and "bastille" in offered[3]["name"]
    offered = await standin.autocomplete("study start", "section", "after")
    assert [c["value"] for c in offered] == ["bastille:2"]
    offered = await standin.autocomplete("study start", "section", "2", source="bastille")
    assert [c["value"] for c in offered] == ["bastille:2"]

    # The picked value opens that text's section, not the first text's.
    started = await standin.slash(
        "study start", user=alice, channel=standin.channel, section="bastille:2"
    )
    thread = session_thread(standin, started)
    first = last_bot_message(standin, thread)
    assert "bastille:2.1" in first.text and "The Fall of the Bastille" in first.text
    await standin.slash("study end", user=alice, channel=thread)

    # Typed by hand: a title finds its text; a plain number is the first text's (or the
    # given source's) section.
    cases = [
        ({"section": "Afternoon"}, "bastille:2.1"),
        ({"section": "2"}, "rail:2.1"),
        ({"section": "2", "source": "bastille"}, "bastille:2.1"),
        ({"section": "Morning", "source": "bastille"}, "bastille:1.1"),
        ({}, "rail:1.1"),
    ]
    for options, ref in cases:
        started = await standin.slash("study start", user=alice, channel=standin.channel, **options)
        thread = session_thread(standin, started)
        assert ref in last_bot_message(standin, thread).text, (options, ref)
        await standin.slash("study end", user=alice, channel=thread)

    # A picked value that contradicts the source option is refused.
    refused = await standin.slash(
        "study start", user=alice, channel=standin.channel, source="rail", section="bastille:2"
    )
    assert "not in rail" in private(refused)
    standin.assert_healthy()


async def test_goto_autocomplete_runs_off_the_event_loop(
    standin: Discord, start_bot: StartBot, library: Library, monkeypatch: pytest.MonkeyPatch
):
    await start_bot(message_content=True)
    calls: list[tuple[str, bool]] = []
    real = library.complete

    def complete(text: str, limit: int = 25):
        calls.append((text, threading.current_thread() is threading.main_thread()))
        return real(text, limit)

    monkeypatch.setattr(library, "complete", complete)
    offered = await standin.autocomplete("study goto", "ref", "guardians:4.")
    assert [c["value"] for c in offered][:2] == ["guardians:4.1", "guardians:4.2"]
    await standin.autocomplete("study goto", "ref", "x" * 500)  # a long input is cut
    assert calls and all(not on_loop for _, on_loop in calls)  # on a worker thread
    assert all(len(text) <= 100 for text, _ in calls)


async def test_a_database_deleted_while_running_is_noticed_not_written_into(
    standin: Discord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
):
    bot = await start_bot()
    path = bot.settings.database_path
    started = await standin.slash("study start", channel=standin.channel)
    thread = session_thread(standin, started)
    delete_database(path)

    refused = await standin.slash("study start", channel=standin.channel2)
    assert refused.ephemeral and refused.content == STORAGE_UNAVAILABLE
    assert standin.threads(standin.channel2) == []  # no session half-started
    nxt = await standin.slash("study next", channel=thread)
    assert nxt.content == STORAGE_UNAVAILABLE
    assert not path.exists()  # nothing went into a file nobody would open again
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and str(path) in errors[0] and "was deleted" in errors[0]
    answer = await standin.slash("ask", question="who was Yagoda?", channel=thread)
    assert "**Yagoda**" in answer.embeds[0]["description"]
