"""Study sessions end to end: the real discord.py client against the loopback stand-in.

A whole session with several members (start, next, questions, a quiz with concurrent votes,
end with the Markdown transcript), a restart in the middle (old buttons keep working, the
transcript stays complete), permissions and the bad inputs.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from bot.app import HistBot
from bot.exts.study import KeyedLocks
from bot.settings import Settings
from bot.storage import SqliteSessionStore
from knowledge import Library
from standin.harness import Discord, Msg, Reply
from tests.conftest import write_sources

REPO = Path(__file__).resolve().parent.parent


def make_settings(tmp_path: Path, standin: Discord) -> Settings:
    return Settings(
        _env_file=None,
        discord_token="standin-token",
        discord_api_base=standin.api_base,
        sources_dir=REPO / "seeds",
        data_dir=tmp_path / "data",
        ask_cooldown_seconds=0,
        search_cooldown_seconds=0,
        search_processes=0,
        message_content=True,
    )


async def start_bot(standin: Discord, settings: Settings, library: Library) -> HistBot:
    bot = HistBot(settings, library=library)
    await standin.start_client(bot)
    return bot


def text_of(reply: Reply | Msg) -> str:
    return reply.text


def private(reply: Reply) -> str:
    """The text of an interaction's answer, which must be visible only to its user."""
    messages = reply.messages
    assert messages, f"no answer: {reply!r}"
    assert all(m.ephemeral for m in messages), [m.raw.get("flags") for m in messages]
    return "\n".join(m.text for m in messages)


def session_thread(standin: Discord, reply: Reply) -> int:
    match = re.search(r"<#(\d+)>", reply.text)
    assert match, reply.text
    return int(match.group(1))


def last_bot_message(standin: Discord, channel: int) -> Msg:
    messages = [m for m in standin.bot_messages(channel) if not m.ephemeral]
    assert messages
    return messages[-1]


async def test_whole_session_with_restart(standin, tmp_path, library):
    settings = make_settings(tmp_path, standin)
    bot = await start_bot(standin, settings, library)
    alice, bob, carol = standin.alice, standin.bob, standin.mod
    dave = await standin.add_member("dave")
    study = next(c for c in standin.commands() if c["name"] == "study")
    assert study["dm_permission"] is False
    assert [o["name"] for o in study["options"]] == [
        "start",
        "next",
        "goto",
        "ask",
        "quiz",
        "reveal",
        "scores",
        "end",
    ]

    # -- start: a new thread with the first passage of section 3 -----------------------------
    started = await standin.slash(
        "study start", user=alice, channel=standin.channel, source="guardians", section="3"
    )
    assert not started.messages[0].ephemeral
    thread = session_thread(standin, started)
    assert any(int(t["id"]) == thread for t in standin.threads(standin.channel))
    first = last_bot_message(standin, thread)
    assert "guardians:3.1" in first.text
    assert "From Guardians to Executioners, section 3" in first.text
    assert first.button_labels == ["Next passage"]

    # A second session in the same channel, or in the session's thread, is refused.
    again = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "already running" in private(again)
    again = await standin.slash("study start", user=bob, channel=thread)
    assert "already running" in private(again)

    # -- reading on: the button (once), then /study next ------------------------------------
    stale_copy = Msg(standin.server, copy.deepcopy(first.raw))  # what a slow client still shows
    pressed = await standin.click(first, "Next passage", user=bob)
    assert "guardians:3.2" in pressed.text
    assert first.button_labels == []  # the used button is taken off its message
    stale = await standin.click(stale_copy, "Next passage", user=carol)
    assert "already moved on to guardians:3.2" in private(stale)
    nxt = await standin.slash("study next", user=alice, channel=thread)
    assert "guardians:3.3" in nxt.text
    assert nxt.button_labels == ["Next passage"]

    # -- questions: /study ask, a mention, a plain message (message content on) -------------
    asked = await standin.slash(
        "study ask", user=bob, channel=thread, question="Who was the first head of the Cheka?"
    )
    assert "Dzerzhinsky" in asked.text
    replies = await standin.say(
        "What was Dzerzhinsky called?", user=carol, channel=thread, mention_bot=True
    )
    assert replies and replies[0].embeds
    replies = await standin.say("When was the Cheka established?", user=alice, channel=thread)
    assert replies and replies[0].embeds
    # /ask inside the session thread is answered as anywhere else, and recorded.
    via_ask = await standin.slash("ask", user=dave, channel=thread, question="Who was Yagoda?")
    assert via_ask.embeds
    # Outside a session thread, a plain message without a mention is left alone.
    assert (
        await standin.say("just chatting", user=bob, channel=standin.channel2, expect_reply=False)
        == []
    )

    # -- a quiz: four choices, concurrent votes, each member counted once -------------------
    quiz = await standin.slash("study quiz", user=alice, channel=thread)
    labels = quiz.button_labels
    assert len(labels) == 4 and [label[:2] for label in labels] == ["A.", "B.", "C.", "D."]
    assert "`_____`" in quiz.text
    async with SqliteSessionStore(settings.database_path) as peek:
        session = await peek.active_session(thread)
        assert session is not None
        record = (await peek.quizzes(session.id))[-1]
    right = labels[record.question.answer_index]
    wrong = labels[(record.question.answer_index + 1) % 4]
    votes = await asyncio.gather(
        standin.click(quiz, right, user=alice),
        standin.click(quiz, wrong, user=bob),
        standin.click(quiz, right, user=bob),
        standin.click(quiz, right, user=carol),
    )
    assert "Right" in private(votes[0])
    bob_texts = [private(votes[1]), private(votes[2])]
    assert sum("already answered" in t for t in bob_texts) == 1, bob_texts
    assert record.question.citation in private(votes[0])  # the reveal shows the citation
    assert "Right" in private(votes[3])
    twice = await standin.click(quiz, right, user=alice)
    assert "already answered" in private(twice)

    # The host-only things are refused for others.
    refused = await standin.slash("study end", user=bob, channel=thread)
    assert "Only the host" in private(refused)

    # -- restart: stop the bot, start a new one on the same database --------------------------
    await bot.close()
    bot = await start_bot(standin, settings, library)

    late_vote = await standin.click(quiz, wrong, user=dave)  # a button from before the restart
    assert "Not this time" in private(late_vote)
    resumed = await standin.click(nxt, "Next passage", user=dave)
    assert "guardians:3.4" in resumed.text
    scores = await standin.slash("study scores", user=bob, channel=thread)
    assert "alice — 1/1" in scores.text and "dave — 0/1" in scores.text

    # -- end (a moderator may end someone else's session): summary and transcript ------------
    ended = await standin.slash("study end", user=carol, channel=thread)
    assert "Study session ended" in ended.text
    for name in ("alice", "bob", "carol", "dave"):
        assert name in ended.text
    files = [f for m in ended.messages for f in m.files]
    assert len(files) == 1 and files[0].filename.endswith(".md")
    transcript = files[0].data.decode()
    assert transcript.startswith("# Study session: From Guardians to Executioners — section 3")
    for ref in ("guardians:3.1", "guardians:3.2", "guardians:3.3", "guardians:3.4"):
        assert f"Read `{ref}`" in transcript
    assert "**Q:** Who was the first head of the Cheka?" in transcript
    assert "**Q:** What was Dzerzhinsky called?" in transcript
    assert "**Q:** When was the Cheka established?" in transcript
    assert "### Quiz 1" in transcript
    assert f"**Answer:** {right}" in transcript
    assert record.question.sentence in transcript and record.question.citation in transcript
    assert transcript.count("✓") == 2 and transcript.count("✗") == 2  # alice, carol; bob, dave
    assert "| alice | 1 | 1 |" in transcript and "| bob | 0 | 1 |" in transcript
    assert "**Q:** Who was Yagoda?" in transcript
    # Nobody was pinged by anything the bot posted (allowed_mentions none).
    assert all(not m.pinged_user_ids for m in standin.bot_messages(thread))

    # After the end: old buttons and commands get a clear answer, nothing changes.
    closed = await standin.click(quiz, right, user=dave)
    assert "closed" in private(closed)
    old_next = await standin.click(resumed, "Next passage", user=alice)
    assert "ended" in private(old_next)
    none_here = await standin.slash("study next", user=alice, channel=thread)
    assert "There is no study session here" in private(none_here)
    standin.assert_healthy()


async def test_bad_inputs(standin, tmp_path, library):
    settings = make_settings(tmp_path, standin)
    bot = await start_bot(standin, settings, library)
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
    store = bot.get_cog("Study").store
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


# discord.py connects a plain (unsharded) client to its default gateway URL: point it at the
# stand-in, as the harness does in-process, then run the bot exactly as `histbot run` does.
LAUNCH = """
import sys, yarl, discord.gateway
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[1])
from bot.cli import main
raise SystemExit(main(["run"]))
"""


def bot_process(standin: Discord, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """`histbot run` in its own process, pointed at the stand-in."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": "standin-token",
        "DISCORD_API_BASE": standin.api_base,
        "HISTBOT_SOURCES_DIR": str(REPO / "seeds"),
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCH, standin.gateway_url],
            cwd=data_dir.parent,  # no stray .env
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def wait_for_process_bot(standin: Discord, identifies: int) -> None:
    await standin.wait_for_bot(identifies=identifies, timeout=30)
    await standin.server.wait_until(
        lambda: len(standin.server.command_syncs) >= identifies, 30, "the command sync"
    )
    # discord.py waits for the guilds before on_ready; interactions are handled meanwhile, but
    # give the new process its GUILD_CREATE before the first click.
    await standin.server.wait_until(
        lambda: len(standin.frames(direction="send", t="GUILD_CREATE")) >= identifies,
        30,
        "GUILD_CREATE",
    )


async def test_bot_process_killed_mid_session(standin, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "bot.log"
    alice, bob = standin.alice, standin.bob
    first = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 1)
        started = await standin.slash("study start", user=alice, channel=standin.channel)
        thread = session_thread(standin, started)
        opening = last_bot_message(standin, thread)
        second_passage = await standin.click(opening, "Next passage", user=alice)
        assert "guardians:1.2" in second_passage.text
        quiz = await standin.slash("study quiz", user=alice, channel=thread)
        assert len(quiz.button_labels) == 4
        voted = await standin.click(quiz, quiz.button_labels[0], user=alice)
        assert private(voted)  # acknowledged: alice saw her verdict...
        first.send_signal(signal.SIGKILL)  # ...and the bot dies right after
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)

    second = bot_process(standin, data_dir, log)
    try:
        await wait_for_process_bot(standin, 2)
        again = await standin.click(quiz, quiz.button_labels[0], user=alice)
        assert "already answered" in private(again), log.read_text()
        bob_vote = await standin.click(quiz, quiz.button_labels[1], user=bob)
        assert private(bob_vote)
        moved = await standin.click(second_passage, "Next passage", user=bob)
        assert "guardians:2.1" in moved.text
        ended = await standin.slash("study end", user=alice, channel=thread)
        transcript = next(f for m in ended.messages for f in m.files).data.decode()
        for ref in ("guardians:1.1", "guardians:1.2", "guardians:2.1"):
            assert f"Read `{ref}`" in transcript
        assert re.search(r"Answers: alice: A\. .*; bob: B\. ", transcript), transcript
    finally:
        second.terminate()
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)


async def test_two_quizzes_at_the_same_moment(standin, tmp_path, library):
    settings = make_settings(tmp_path, standin)
    await start_bot(standin, settings, library)
    alice, bob = standin.alice, standin.bob
    started = await standin.slash(
        "study start", user=alice, channel=standin.channel, source="guardians", section="3"
    )
    thread = session_thread(standin, started)
    for _ in range(3):
        await standin.slash("study next", user=alice, channel=thread)

    quizzes = await asyncio.gather(
        standin.slash("study quiz", user=alice, channel=thread),
        standin.slash("study quiz", user=bob, channel=thread),
    )
    titles = sorted(re.findall(r"Quiz (-?\d+)[:\s]", q.text)[-1] for q in quizzes)
    assert titles == ["1", "2"], [q.text for q in quizzes]
    second = next(q for q in quizzes if "Quiz 2: fill in the blank" in q.text)
    assert "Quiz 1: the answer is" in second.text  # it closes and reveals the first
    assert "Quiz 0" not in second.text
    async with SqliteSessionStore(settings.database_path) as peek:
        session = await peek.active_session(thread)
        assert session is not None
        asked = await peek.quizzes(session.id)
    assert [q.number for q in asked] == [1, 2]
    assert asked[0].question != asked[1].question
    standin.assert_healthy()


async def test_a_start_that_fails_while_waiting_frees_the_channel(standin, tmp_path, library):
    """A /study start waiting for another one in the same channel, whose deferral fails
    (an expired interaction, an outage), leaves no lock behind: the channel still works."""
    settings = make_settings(tmp_path, standin)
    bot = await start_bot(standin, settings, library)
    bot.defer_after = 0.05
    cog = bot.get_cog("Study")
    alice, bob = standin.alice, standin.bob
    real_start, real_defer = cog.store.start_session, cog._defer

    async def slow_start(**fields):
        await asyncio.sleep(0.5)
        return await real_start(**fields)

    async def failing_defer(interaction, *, ephemeral=False):
        if interaction.user.id == bob.id:
            raise RuntimeError("the interaction expired")
        await real_defer(interaction, ephemeral=ephemeral)

    cog.store.start_session, cog._defer = slow_start, failing_defer
    first = await standin.send_slash("study start", user=alice, channel=standin.channel)
    await asyncio.sleep(0.2)  # alice's start holds the channel
    failed = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "something went wrong" in private(failed)
    won = await standin.wait_answer(first)
    assert "Study session started" in won.text
    cog.store.start_session, cog._defer = real_start, real_defer

    ended = await standin.slash("study end", user=alice, channel=session_thread(standin, won))
    assert "Study session ended" in ended.text
    again = await standin.slash("study start", user=bob, channel=standin.channel)
    assert "Study session started" in again.text
    assert len(cog._starting) == 0  # no idle locks kept
    standin.assert_healthy()


async def test_keyed_locks_never_leak_to_a_failed_or_cancelled_waiter():
    locks = KeyedLocks()
    order: list[str] = []

    async def worker(name: str, slow=None) -> None:
        async with locks.hold(1, slow=slow, after=0.01):
            order.append(name)
            await asyncio.sleep(0.05)

    async def fail() -> None:
        raise RuntimeError("could not acknowledge")

    first = asyncio.ensure_future(worker("first"))
    await asyncio.sleep(0)
    failing = asyncio.ensure_future(worker("failing", slow=fail))
    cancelled = asyncio.ensure_future(worker("cancelled"))
    waiting = asyncio.ensure_future(worker("waiting"))
    await asyncio.sleep(0.02)
    cancelled.cancel()
    results = await asyncio.gather(first, failing, cancelled, waiting, return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert order == ["first", "waiting"]
    assert len(locks) == 0
    async with locks.hold(1):  # free again
        assert len(locks) == 1


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


async def test_start_with_several_texts_opens_the_chosen_section(standin, tmp_path):
    folder = write_sources(
        tmp_path / "texts",
        {"rail": ("A Railway History", RAIL), "bastille": ("The Fall of the Bastille", BASTILLE)},
    )
    library = Library.load(folder)
    assert [s.id for s in library.sources] == ["rail", "bastille"]
    settings = make_settings(tmp_path, standin)
    await start_bot(standin, settings, library)
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


async def test_study_ask_answers_as_ask_and_follows_up_only_on_pronouns(standin, tmp_path, library):
    settings = make_settings(tmp_path, standin)
    await start_bot(standin, settings, library)
    alice = standin.alice
    started = await standin.slash("study start", user=alice, channel=standin.channel, section="3")
    thread = session_thread(standin, started)
    first = await standin.slash("study ask", user=alice, channel=thread, question="Who was Yagoda?")
    assert "guardians:3.9" in first.text

    # A question of its own is answered exactly as /ask answers it, whatever came before.
    question = "What happened at the show trials?"
    in_session = await standin.slash("study ask", user=alice, channel=thread, question=question)
    plain = await standin.slash("ask", user=alice, channel=standin.channel2, question=question)
    assert in_session.text == plain.text
    assert "guardians:4.3" in in_session.text

    # A follow-up about "him" is about the last answer's subject.
    await standin.slash("study ask", user=alice, channel=thread, question="Who was Yagoda?")
    follow_up = await standin.slash(
        "study ask", user=alice, channel=thread, question="What happened to him?"
    )
    assert "Yagoda" in follow_up.text
    alone = await standin.slash(
        "ask", user=alice, channel=standin.channel2, question="What happened to him?"
    )
    assert "only common words" in private(alone)
    standin.assert_healthy()


async def test_goto_autocomplete_runs_off_the_event_loop(standin, tmp_path, library, monkeypatch):
    settings = make_settings(tmp_path, standin)
    await start_bot(standin, settings, library)
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


async def test_a_rejected_question_does_not_use_up_the_cooldown(standin, tmp_path, library):
    settings = make_settings(tmp_path, standin).model_copy(update={"ask_cooldown_seconds": 60})
    await start_bot(standin, settings, library)
    alice, bob = standin.alice, standin.bob
    started = await standin.slash("study start", user=alice, channel=standin.channel)
    thread = session_thread(standin, started)

    rejected = await standin.slash("study ask", user=alice, channel=thread, question="the of and")
    assert "only common words" in private(rejected)
    answered = await standin.slash(
        "study ask", user=alice, channel=thread, question="Who was Yagoda?"
    )
    assert "Yagoda" in answered.text
    again = await standin.slash("study ask", user=alice, channel=thread, question="Who was Beria?")
    assert "Easy there" in private(again)  # an answered question does count

    # The same in the thread's messages.
    replies = await standin.say("the of and", user=bob, channel=thread)
    assert replies and "only common words" in replies[0].text
    replies = await standin.say("Who was Yagoda?", user=bob, channel=thread)
    assert replies and replies[0].embeds
    standin.assert_healthy()
