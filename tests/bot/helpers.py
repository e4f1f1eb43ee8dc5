"""Starting a bot on the stand-in, and reading what users see in its records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.bot import HistBot
from bot.settings import Settings
from standin import Discord, Msg, Reply
from tests.conftest import SEEDS

EPHEMERAL = 1 << 6

StartBot = Callable[..., Awaitable[HistBot]]


def bot_settings(standin: Discord, tmp_path: Path, **changes: Any) -> Settings:
    """Settings for a bot on the stand-in: no cooldowns, questions answered on threads (quick
    to start; tests of worker processes ask for them)."""
    values: dict[str, Any] = {
        "discord_token": "standin-token",
        "discord_api_base": standin.api_base,
        "sources_dir": SEEDS,
        "data_dir": tmp_path / "data",
        "ask_cooldown_seconds": 0,
        "search_cooldown_seconds": 0,
        "search_processes": 0,
        "dev_guild_ids": [],
        "sync_commands_on_start": True,
    }
    values.update(changes)
    return Settings(_env_file=None, **values)


def fields(reply: Reply | Msg, index: int = 0) -> dict[str, str]:
    """An embed's fields, by name."""
    return {f["name"]: f["value"] for f in reply.embeds[index].get("fields", [])}


def footer_ref(reply: Reply | Msg) -> str:
    """The passage reference an answer or passage shows in its footer."""
    return reply.embeds[0]["footer"]["text"].split("ref ")[1].split(" ")[0]


def assert_silent(reply: Reply | Msg | Any) -> None:
    """Nothing the bot sent can ping anyone."""
    assert reply.allowed_mentions is not None
    assert reply.allowed_mentions.get("parse") == []
    assert reply.pinged_user_ids == []


def private(reply: Reply) -> str:
    """The text of an interaction's answer, which must be visible only to its user."""
    messages = reply.messages
    assert messages, f"no answer: {reply!r}"
    assert all(m.ephemeral for m in messages), [m.raw.get("flags") for m in messages]
    return "\n".join(m.text for m in messages)


def public_messages(standin: Discord, channel: int) -> list[Msg]:
    return [m for m in standin.bot_messages(channel) if not m.ephemeral]
