"""HistBot without a gateway: intents, mentions policy, extensions, cooldowns, commands."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.app import Cooldowns, HistBot, walk_extensions
from bot.settings import Settings
from knowledge import Library


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(discord_token="fake", data_dir=tmp_path, **changes)


async def test_intents_follow_the_message_content_setting(tmp_path: Path, library: Library) -> None:
    off = HistBot(settings(tmp_path), library=library)
    on = HistBot(settings(tmp_path, message_content=True), library=library)
    try:
        assert off.intents.guilds and off.intents.guild_messages and off.intents.dm_messages
        assert not off.intents.message_content
        assert on.intents.message_content
        assert not off.intents.members and not off.intents.presences
    finally:
        await off.close()
        await on.close()


async def test_nothing_the_bot_sends_can_ping(tmp_path: Path, library: Library) -> None:
    bot = HistBot(settings(tmp_path), library=library)
    try:
        mentions = bot.allowed_mentions
        assert mentions is not None
        assert mentions.to_dict()["parse"] == []
        assert not mentions.replied_user
    finally:
        await bot.close()


def test_extensions_are_found_automatically() -> None:
    found = set(walk_extensions())
    assert {"bot.exts.ask", "bot.exts.search", "bot.exts.passages", "bot.exts.mentions"} <= found


async def test_commands_are_registered_with_limits(tmp_path: Path, library: Library) -> None:
    bot = HistBot(settings(tmp_path), library=library)
    try:
        for name in walk_extensions():
            await bot.load_extension(name)
        commands = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
        assert set(commands) >= {"ask", "search", "passage", "sources", "random", "help"}
        question = commands["ask"]["options"][0]
        assert (question["name"], question["min_length"], question["max_length"]) == (
            "question",
            1,
            1000,
        )
        assert commands["passage"]["options"][0]["autocomplete"] is True
        assert commands["ask"]["contexts"] == [0, 1, 2]
        for command in commands.values():
            assert 1 <= len(command["description"]) <= 100
    finally:
        await bot.close()


def test_cooldowns_per_user_and_kind() -> None:
    now = [100.0]
    cooldowns = Cooldowns(clock=lambda: now[0])
    assert cooldowns.hit("ask", 1, 5) == 0
    assert cooldowns.hit("ask", 1, 5) == pytest.approx(5)
    assert cooldowns.hit("ask", 2, 5) == 0
    assert cooldowns.hit("search", 1, 5) == 0
    now[0] += 5.1
    assert cooldowns.hit("ask", 1, 5) == 0
    cooldowns.reset("ask", 1)
    assert cooldowns.hit("ask", 1, 5) == 0
    assert cooldowns.hit("ask", 1, 0) == 0  # 0 disables


async def test_library_work_runs_off_the_event_loop(tmp_path: Path, library: Library) -> None:
    import threading

    bot = HistBot(settings(tmp_path), library=library)
    try:
        name = await bot.run_blocking(lambda: threading.current_thread().name)
        assert name.startswith("histbot-search")
        answer = await bot.ask("who succeeded Dzerzhinsky?")
        assert answer.hits
    finally:
        await bot.close()


def test_discord_version_supports_what_we_use() -> None:
    assert hasattr(discord.ui, "DynamicItem")
    assert hasattr(discord.app_commands, "allowed_contexts")
