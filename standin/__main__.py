"""Run the stand-in on its own: ``python -m standin --port 8765``.

Prints the settings a bot in another process needs (REST base, gateway URL, IDs), then
serves until interrupted. State counters are at ``GET /_standin/state``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .harness import Discord
from .server import StandinConfig


async def _main(args: argparse.Namespace) -> None:
    config = StandinConfig(
        host=args.host,
        port=args.port,
        heartbeat_interval_ms=args.heartbeat_interval,
        token=args.token,
    )
    standin = await Discord.start(config)
    print(f"DISCORD_API_BASE={standin.api_base}")
    print(f"DISCORD_GATEWAY_URL={standin.gateway_url}")
    print(f"STANDIN_STATE={standin.server.base_url}/_standin/state")
    print(
        f"GUILD_ID={standin.guild_id} CHANNEL_ID={standin.channel.id} "
        f"APPLICATION_ID={standin.application_id}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__)
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free one)")
    parser.add_argument(
        "--heartbeat-interval", type=int, default=41250, help="HELLO heartbeat_interval in ms"
    )
    parser.add_argument("--token", default=None, help="accept only this bot token (default: any)")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
