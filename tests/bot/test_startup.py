"""`histbot sync`: the commands registered without connecting to the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.startup import sync_commands
from knowledge import Library
from standin import Discord
from tests.bot.helpers import bot_settings


@pytest.mark.usefixtures("restore_process_state")
async def test_sync_commands_registers_and_exits(
    standin: Discord, tmp_path: Path, library: Library
) -> None:
    settings = bot_settings(standin, tmp_path, dev_guild_ids=[standin.guild_id])
    await asyncio.wait_for(asyncio.to_thread(sync_commands, settings, library), 30)
    assert {"ask", "search", "passage"} <= {c["name"] for c in standin.commands(guild=True)}
    assert standin.frames(direction="recv", op=2) == []  # never connected to the gateway
