"""Interactions acknowledged vs answered when the bot process is stopped or killed in the
middle of a burst of /ask, through the Discord stand-in.

    python benchmarks/restarts.py                  # bursts of 200, four scenarios
    python benchmarks/restarts.py --burst 100 --json restarts.json
    python benchmarks/restarts.py --compare ../old-checkout   # the same, for another bot

The bot runs as `histbot run` in a child process (one search worker), the stand-in in this
process. Each scenario dispatches a burst of /ask spread over one second and, once half of
it has been dispatched, stops the bot:

    sigterm, no drain      SIGTERM with HISTBOT_SHUTDOWN_TIMEOUT=0: it exits at once
                           (the baseline: what a bot that does not drain loses)
    sigterm, drain         SIGTERM with the default timeout (10 s): in hand is answered
    sigkill, no restart    SIGKILL and nothing after it (the baseline for the next row)
    sigkill, restart       SIGKILL, then `histbot run` again on the same data dir: it
                           answers what the killed one had acknowledged (the journal)

and counts, for the whole burst: acknowledged, answered, acknowledged but never answered
(left on "thinking…": the figure that must be 0), refused with "restarting, ask again"
(acknowledged and answered with that note), and never acknowledged (Discord shows "the
application did not respond"; after a kill nothing can acknowledge them). Also the
seconds from the signal to the exit, and the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import Discord, InteractionRecord, StandinConfig  # noqa: E402

RESTARTING = "histbot is restarting"
QUESTIONS = [
    json.loads(line)["q"]
    for line in (REPO / "benchmarks" / "data" / "dev" / "dev.jsonl").read_text().splitlines()
    if line.strip()
]
BOOT = """
import sys, yarl, discord.gateway
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[1])
from bot.cli import main
raise SystemExit(main(["run"]))
"""


@dataclass
class Outcome:
    scenario: str
    burst: int
    acknowledged: int
    answered: int
    acknowledged_unanswered: int
    refused_restarting: int
    never_acknowledged: int
    exit_code: int | None
    stop_seconds: float | None


def start_bot(
    discord: Discord, data_dir: Path, log: Path, repo: Path = REPO, **env: str
) -> subprocess.Popen[bytes]:
    """`histbot run` of the checkout `repo` (this one by default), at the stand-in."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "DISCORD_TOKEN": "restarts-benchmark",
        "DISCORD_API_BASE": discord.api_base,
        "HISTBOT_SOURCES_DIR": str(REPO / "seeds"),
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_SEARCH_PROCESSES": "1",
        "HISTBOT_LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", BOOT, discord.gateway_url],
            cwd=data_dir.parent,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def wait_ready(discord: Discord, identifies: int) -> None:
    await discord.wait_for_bot(identifies=identifies, timeout=60)
    await discord.server.wait_until(
        lambda: len(discord.frames(direction="send", t="GUILD_CREATE")) >= identifies,
        60,
        "GUILD_CREATE",
    )
    await asyncio.sleep(2.5)  # discord.py's wait for guilds before on_ready


def is_refusal(discord: Discord, record: InteractionRecord) -> bool:
    message = discord.world.messages.get(record.original_message_id or 0)
    return bool(message and RESTARTING in str(message.get("content")))


def outcome(
    scenario: str,
    discord: Discord,
    records: list[InteractionRecord],
    code: int | None,
    took: float | None,
) -> Outcome:
    acked = [r for r in records if r.acked]
    owed = [r for r in acked if r.ack_type == 5 and r.loading]
    return Outcome(
        scenario=scenario,
        burst=len(records),
        acknowledged=len(acked),
        answered=len(acked) - len(owed),
        acknowledged_unanswered=len(owed),
        refused_restarting=sum(is_refusal(discord, r) for r in acked),
        never_acknowledged=len(records) - len(acked),
        exit_code=code,
        stop_seconds=None if took is None else round(took, 2),
    )


async def burst_then(
    discord: Discord, bot: subprocess.Popen[bytes], size: int, sig: signal.Signals
) -> tuple[list[InteractionRecord], float]:
    """Dispatch `size` /ask over one second; send `sig` to the bot halfway; return the
    records and when the signal went."""
    records: list[InteractionRecord] = []
    started = time.monotonic()
    signalled = 0.0
    channels = [discord.channel, discord.channel2]
    users = [discord.alice, discord.bob, discord.mod]
    for i in range(size):
        delay = started + i / size - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if i == size // 2:
            bot.send_signal(sig)
            signalled = time.monotonic()
        records.append(
            await discord.send_slash(
                "ask",
                question=QUESTIONS[i % len(QUESTIONS)],
                user=users[i % len(users)],
                channel=channels[i % 2],
            )
        )
    return records, signalled


async def exit_of(bot: subprocess.Popen[bytes], within: float) -> int | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(bot.wait), within)
    except TimeoutError:
        bot.kill()
        await asyncio.to_thread(bot.wait)
        return None


async def settle(discord: Discord, seconds: float) -> None:
    """Let whatever is still on its way arrive (answers, a resumed bot's edits)."""
    await asyncio.sleep(seconds)
    with contextlib.suppress(TimeoutError):
        await discord.server.wait_until(lambda: discord.server.in_flight == 0, 10, "quiet")


async def scenario(name: str, size: int, workdir: Path, repo: Path = REPO) -> Outcome:
    discord = await Discord.start(StandinConfig(heartbeat_interval_ms=5000))
    run = Path(tempfile.mkdtemp(prefix=name.replace(" ", "-").replace(",", "") + "-", dir=workdir))
    data_dir, log = run / "data", run / "bot.log"
    data_dir.mkdir()
    sigterm = name.startswith("sigterm")
    env = {"HISTBOT_SHUTDOWN_TIMEOUT": "0"} if name == "sigterm, no drain" else {}
    bot = start_bot(discord, data_dir, log, repo, **env)
    try:
        await wait_ready(discord, 1)
        sig = signal.SIGTERM if sigterm else signal.SIGKILL
        records, signalled = await burst_then(discord, bot, size, sig)
        code = await exit_of(bot, 30)
        took = time.monotonic() - signalled
        if name == "sigkill, restart":
            again = start_bot(discord, data_dir, log, repo)
            try:
                await wait_ready(discord, 2)
                await settle(discord, 5.0)
            finally:
                again.send_signal(signal.SIGTERM)
                await exit_of(again, 30)
        else:
            await settle(discord, 2.0)
        return outcome(name, discord, records, code, took)
    finally:
        if bot.poll() is None:
            bot.kill()
        await discord.stop()


SCENARIOS = ("sigterm, no drain", "sigterm, drain", "sigkill, no restart", "sigkill, restart")


def print_table(outcomes: list[Outcome]) -> None:
    header = (
        f"{'scenario':<22}{'burst':>6}{'acked':>7}{'answered':>9}{'acked, unanswered':>19}"
        f"{'refused':>9}{'never acked':>13}{'exit':>6}{'stop s':>8}"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        print(
            f"{o.scenario:<22}{o.burst:>6}{o.acknowledged:>7}{o.answered:>9}"
            f"{o.acknowledged_unanswered:>19}{o.refused_restarting:>9}{o.never_acknowledged:>13}"
            f"{o.exit_code if o.exit_code is not None else '-':>6}"
            f"{o.stop_seconds if o.stop_seconds is not None else '-':>8}"
        )


async def main_async(args: argparse.Namespace, repo: Path) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="histbot-restarts-") as folder:
        return [await scenario(name, args.burst, Path(folder), repo) for name in args.scenarios]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=200, help="/ask per burst (200)")
    parser.add_argument(
        "--scenarios", type=lambda s: s.split(";"), default=list(SCENARIOS),
        help="';'-separated subset of: " + "; ".join(SCENARIOS),
    )  # fmt: skip
    parser.add_argument(
        "--compare", type=Path, help="also run the bot of this checkout (e.g. an older commit)"
    )
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args(argv)
    runs = {"this checkout": REPO, **({str(args.compare): args.compare} if args.compare else {})}
    results = {}
    for label, repo in runs.items():
        results[label] = asyncio.run(main_async(args, repo.resolve()))
        print(f"\n{label}:")
        print_table(results[label])
    if args.json:
        data = {label: [asdict(o) for o in outcomes] for label, outcomes in results.items()}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
