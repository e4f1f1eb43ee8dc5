"""HistBot: start-up (intents, what it may ping, extensions, command sync), its one error
handler, and its connection to Discord surviving drops and invalid sessions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.bot import HistBot, walk_extensions
from bot.rendering.text import GENERIC_ERROR
from bot.searching import Searcher
from bot.settings import Settings
from bot.storage import SqliteSessionStore
from knowledge import Library
from standin import Discord
from tests.bot.helpers import StartBot


@pytest.fixture
async def offline_bot(tmp_path: Path, library: Library) -> AsyncIterator[Callable[..., HistBot]]:
    """HistBots that never connect (their dependencies real, the store never opened)."""
    made: list[HistBot] = []
    searcher = Searcher.on_threads(library)

    def make(**changes: Any) -> HistBot:
        settings = Settings(_env_file=None, discord_token="fake", data_dir=tmp_path, **changes)
        store = SqliteSessionStore(settings.database_path)
        made.append(HistBot(settings, searcher=searcher, store=store))
        return made[-1]

    yield make
    for bot in made:
        await bot.close()
    searcher.shutdown()


async def test_intents_follow_the_message_content_setting(offline_bot) -> None:
    off, on = offline_bot(), offline_bot(message_content=True)
    assert off.intents.guilds and off.intents.guild_messages and off.intents.dm_messages
    assert not off.intents.message_content
    assert on.intents.message_content
    assert not off.intents.members and not off.intents.presences


async def test_nothing_the_bot_sends_can_ping(offline_bot) -> None:
    mentions = offline_bot().allowed_mentions
    assert mentions is not None
    assert mentions.to_dict()["parse"] == []
    assert not mentions.replied_user


def test_extensions_are_found_by_name() -> None:
    found = set(walk_extensions())
    assert found == {
        "bot.exts.ask",
        "bot.exts.search",
        "bot.exts.passages",
        "bot.exts.mentions",
        "bot.exts.study",
        "bot.exts.library",
    }


async def test_commands_are_registered_with_limits(offline_bot) -> None:
    bot = offline_bot()
    for name in walk_extensions():
        await bot.load_extension(name)
    commands = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
    assert set(commands) == {
        "ask",
        "search",
        "passage",
        "sources",
        "random",
        "help",
        "study",
        "library",
    }
    question = commands["ask"]["options"][0]
    assert (question["name"], question["min_length"], question["max_length"]) == (
        "question",
        1,
        1000,
    )
    assert commands["passage"]["options"][0]["autocomplete"] is True
    assert commands["ask"]["contexts"] == [0, 1, 2]
    library = {o["name"]: o for o in commands["library"]["options"]}
    # A server's texts: in servers the bot is in only.
    assert (commands["library"]["contexts"], commands["library"]["integration_types"]) == (
        [0],
        [0],
    )
    assert set(library) == {"add", "list", "remove"}
    file, title = library["add"]["options"]
    assert (file["name"], file["type"], file["required"]) == ("file", 11, True)
    assert (title["name"], title.get("required", False), title["max_length"]) == (
        "title",
        False,
        200,
    )
    assert library["remove"]["options"][0]["autocomplete"] is True
    for command in commands.values():
        assert 1 <= len(command["description"]) <= 100


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


async def test_failing_handler_gets_a_short_private_error(
    standin: Discord,
    bot: HistBot,
    library: Library,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("index on fire")

    monkeypatch.setattr(library, "answer", broken)
    with caplog.at_level(logging.ERROR, logger="bot.bot"):
        reply = await standin.slash("ask", question="who was Yagoda?")
    assert reply.ephemeral and reply.content == GENERIC_ERROR
    assert "index on fire" not in reply.content
    record = next(r for r in caplog.records if r.exc_info)
    assert "index on fire" in str(record.exc_info[1])
    standin.assert_healthy()


async def test_failing_button_gets_a_short_private_error(
    standin: Discord,
    bot: HistBot,
    library: Library,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = await standin.slash("ask", question="who was Yagoda?")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("passages on fire")

    monkeypatch.setattr(library, "passage", broken)
    reply = await standin.click(answer, "Context")
    assert reply.ephemeral and reply.content == GENERIC_ERROR


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
    # discord.py pauses 5 s before identifying again, for Discord's identify rate limit; the
    # stand-in has none, so this bot does not wait.
    async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
        pass

    bot.before_identify_hook = identify_at_once  # type: ignore[method-assign]
    assert await standin.invalidate_session(resumable=False, timeout=15) == "identified"
    assert len(standin.server.identifies) == 2
    reply = await standin.slash("ask", question="Who was Kirov?")
    assert "Leningrad" in reply.embeds[0]["description"]
    standin.assert_healthy()
