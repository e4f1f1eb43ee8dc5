"""Starting a bot on the stand-in (in this process, or as `histbot run` in its own), and
reading what users see in its records."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.bot import HistBot
from bot.settings import Settings
from standin import Discord, Msg, Reply
from tests.conftest import REPO, SEEDS

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


LAUNCH = """
import sys, yarl, discord.gateway
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[1])
from bot.cli import main
raise SystemExit(main(["run"]))
"""


def bot_process(
    standin: Discord,
    data_dir: Path,
    log: Path,
    *,
    wrapper: Sequence[str] = (),
    **settings: str,
) -> subprocess.Popen[bytes]:
    """`histbot run` in its own process, pointed at the stand-in; `settings` are extra
    environment variables, `wrapper` a command it runs under (e.g. `unshare --pid --fork`)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": "standin-token",
        "DISCORD_API_BASE": standin.api_base,
        "HISTBOT_SOURCES_DIR": str(REPO / "seeds"),
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_LOG_LEVEL": "WARNING",
        "HISTBOT_SEARCH_PROCESSES": "1",
        **settings,
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*wrapper, sys.executable, "-c", LAUNCH, standin.gateway_url],
            cwd=data_dir.parent,  # no stray .env
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def wait_for_process_bot(standin: Discord, identifies: int) -> None:
    """Wait until the `identifies`-th bot process has connected, synced and has its guild."""
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


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`; its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


async def exited(process: subprocess.Popen[bytes], *, within: float) -> int:
    """The process's exit code, once it has exited (TimeoutError after `within` seconds)."""
    return await asyncio.wait_for(asyncio.to_thread(process.wait), within)
