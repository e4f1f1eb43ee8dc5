"""Is histbot up? A heartbeat file the running bot rewrites, and the check that reads it.

histbot serves no port, so a container's HEALTHCHECK cannot ask it over HTTP. While it runs,
the bot rewrites `heartbeat` in the data dir every `INTERVAL` seconds with its state:
"ready" (connected to the gateway), "connecting" (starting, or reconnecting after a drop)
or "stopping" (draining after SIGTERM). The check passes while the file is fresh and says
"ready":

    python -m bot.health        exit 0 if healthy; else 1, with one line saying why

It imports only the settings, so it starts in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import HistBot

INTERVAL = 15.0
"""Seconds between heartbeats."""
STALE_AFTER = 4 * INTERVAL
"""A heartbeat older than this means the bot is stuck or gone."""


def state_of(bot: HistBot) -> str:
    if bot.replies.closing or bot.is_closed():
        return "stopping"
    connected = bot.ws is not None and bot.ws.open
    return "ready" if bot.is_ready() and connected else "connecting"


def write(path: Path, state: str) -> None:
    """Replace the heartbeat file in one step (a reader never sees half of it)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({"pid": os.getpid(), "state": state, "at": time.time()}))
    partial.replace(path)


def stopped(path: Path) -> None:
    """The bot has stopped: no heartbeat (a check then says it is not running)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


async def beat(bot: HistBot, path: Path) -> None:
    """Rewrite the heartbeat every `INTERVAL` seconds, and within a second of a change of
    state, until cancelled (run as a task beside the bot)."""
    written, last = "", 0.0
    while True:
        state = state_of(bot)
        if state != written or time.monotonic() - last >= INTERVAL:
            # A full or read-only disk shows up as a stale heartbeat.
            with contextlib.suppress(OSError):
                await asyncio.to_thread(write, path, state)
                written, last = state, time.monotonic()
        await asyncio.sleep(1.0)


def check(path: Path, now: float | None = None) -> str | None:
    """Why the bot whose heartbeat is at `path` is not healthy; None if it is."""
    try:
        beat = json.loads(path.read_text())
        age = (now or time.time()) - float(beat["at"])
        state = str(beat["state"])
    except FileNotFoundError:
        return f"no heartbeat at {path}: histbot is not running (or not yet started)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"cannot read the heartbeat {path}: {exc}"
    if age > STALE_AFTER:
        return f"the last heartbeat ({path}) is {age:.0f}s old: histbot is stuck or gone"
    if state != "ready":
        return f"histbot is {state}"
    return None


def main() -> int:
    from bot.settings import Settings, env_file_encoding

    try:
        settings = Settings(_env_file_encoding=env_file_encoding())  # type: ignore[call-arg]
    except Exception as exc:  # a setting the bot itself would refuse
        print(f"histbot health: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    problem = check(settings.heartbeat_path)
    if problem is not None:
        print(f"histbot health: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
