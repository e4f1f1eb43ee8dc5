"""Load benchmark: bursts of /ask interactions against the real bot in its own process.

    python benchmarks/load.py                      # bursts of 100, 500 and 1,000 within 1 s
    python benchmarks/load.py --sizes 50,200 --json results.json

The Discord stand-in (standin/) runs in this process on loopback; the bot runs as
``histbot run`` in a child process pointed at it (``DISCORD_API_BASE``, the gateway URL,
``HISTBOT_ASK_COOLDOWN=0``, a temporary ``HISTBOT_DATA_DIR``). Each burst dispatches N
INTERACTION_CREATE events spread evenly over one second (questions from the dev set,
``../shared/eval/dev.jsonl``), waits until every interaction is answered or given up on, and
prints: acknowledged within 3 s (count, share), ack latency p50/p99/max, answers delivered,
errors, and the bot process's CPU time and peak RSS.

Discord needs an acknowledgement within 3 s; the stand-in refuses later ones with 404
Unknown interaction, exactly as Discord does, so "errors" counts what users would see fail.
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

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import Discord, InteractionRecord, StandinConfig, UserRef  # noqa: E402

DEV_SET = REPO.parent / "shared" / "eval" / "dev.jsonl"
ACK_DEADLINE = 3.0

# The bot process: discord.py's Client connects to DiscordWebSocket.DEFAULT_GATEWAY (it never
# asks GET /gateway/bot), so point that at the stand-in before `histbot run` starts, in case the
# bot does not do it itself.
BOOT = """
import os, sys
import yarl
import discord.gateway
url = os.environ.get("DISCORD_GATEWAY_URL")
if url:
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
from bot.cli import main
sys.exit(main(["run"]))
"""


@dataclass
class BurstResult:
    """What one burst measured; printed as a table row and written with --json."""

    size: int
    dispatch_seconds: float
    acked: int
    acked_in_time: int
    acked_in_time_share: float
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    ack_max_ms: float | None
    answered: int
    errors: int
    error_codes: dict[str, int]
    unanswered: int
    bot_cpu_seconds: float
    bot_peak_rss_mb: float
    standin_cpu_seconds: float
    wall_seconds: float


def load_questions(path: Path) -> list[str]:
    questions = [
        json.loads(line)["q"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if not questions:
        raise SystemExit(f"no questions in {path}")
    return questions


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every reported value was observed)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def answered(record: InteractionRecord, discord: Discord) -> bool:
    """Acknowledged, and a visible answer exists (a deferred message was resolved)."""
    if not record.acked:
        return False
    if record.ack_type == 5:
        return not record.loading
    return record.original_message_id is not None or bool(record.followup_ids)


def finished(record: InteractionRecord, discord: Discord) -> bool:
    """Nothing more will happen: answered, never acked by the deadline, or gone quiet."""
    if answered(record, discord):
        return record.in_flight == 0
    now = time.monotonic()
    if not record.acked:
        return now - record.created_at > ACK_DEADLINE + 2.0 and record.in_flight == 0
    return now - record.last_activity > 15.0 and record.in_flight == 0


def bot_processes(proc: psutil.Process) -> list[psutil.Process]:
    """The bot and its search worker processes."""
    with contextlib.suppress(psutil.Error):
        return [proc, *proc.children(recursive=True)]
    return [proc]


def _peak_rss(proc: psutil.Process) -> int:
    """Peak resident set size (VmHWM on Linux; the current RSS elsewhere)."""
    with contextlib.suppress(OSError), open(f"/proc/{proc.pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(psutil.Error):
        return proc.memory_info().rss
    return 0


def peak_rss_bytes(proc: psutil.Process) -> int:
    """Sum of the peaks of the bot and its workers (an upper bound of their joint peak)."""
    return sum(_peak_rss(p) for p in bot_processes(proc))


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of the bot and its search workers."""
    total = 0.0
    for p in bot_processes(proc):
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


async def run_burst(
    discord: Discord,
    proc: psutil.Process,
    size: int,
    questions: list[str],
    users: list[UserRef],
    offset: int,
    timeout: float,  # noqa: ASYNC109 - a burst's own patience, passed to wait_until
) -> BurstResult:
    """Dispatch ``size`` /ask interactions evenly over one second and measure the bot's answers."""
    cpu_before = cpu_seconds(proc)
    own = psutil.Process()
    own_before = sum(own.cpu_times()[:2])
    started = time.monotonic()
    records: list[InteractionRecord] = []
    for i in range(size):
        target = started + i / size
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        question = questions[(offset + i) % len(questions)]
        user = users[i % len(users)]
        channel = discord.channel if i % 2 == 0 else discord.channel2
        records.append(
            await discord.send_slash("ask", question=question, user=user, channel=channel)
        )
    dispatch_seconds = time.monotonic() - started
    with contextlib.suppress(TimeoutError):
        await discord.server.wait_until(
            lambda: all(finished(r, discord) for r in records),
            timeout,
            f"{size} interactions to finish",
        )
    wall = time.monotonic() - started
    latencies = [r.ack_latency for r in records if r.ack_latency is not None]
    in_time = sum(1 for lat in latencies if lat <= ACK_DEADLINE)
    ok = sum(1 for r in records if answered(r, discord))
    codes: dict[str, int] = {}
    for call in (c for r in records for c in r.calls if c.status >= 400):
        code = call.response.get("code") if isinstance(call.response, dict) else None
        key = f"{call.status}/{code}" if code is not None else str(call.status)
        codes[key] = codes.get(key, 0) + 1
    return BurstResult(
        size=size,
        dispatch_seconds=round(dispatch_seconds, 3),
        acked=len(latencies),
        acked_in_time=in_time,
        acked_in_time_share=round(in_time / size, 4),
        ack_p50_ms=_ms(percentile(latencies, 50)),
        ack_p99_ms=_ms(percentile(latencies, 99)),
        ack_max_ms=_ms(max(latencies) if latencies else None),
        answered=ok,
        errors=sum(codes.values()),
        error_codes=dict(sorted(codes.items())),
        unanswered=size - ok,
        bot_cpu_seconds=round(cpu_seconds(proc) - cpu_before, 2),
        bot_peak_rss_mb=round(peak_rss_bytes(proc) / 2**20, 1),
        standin_cpu_seconds=round(sum(own.cpu_times()[:2]) - own_before, 2),
        wall_seconds=round(wall, 2),
    )


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def start_bot(
    discord: Discord, data_dir: Path, log_path: Path, sources: Path | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISCORD_TOKEN": "load-benchmark-token",
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_SEARCH_COOLDOWN": "0",
        "HISTBOT_DEV_GUILD_IDS": str(discord.guild_id),
        "HISTBOT_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if sources is not None:
        env["HISTBOT_SOURCES_DIR"] = str(sources)
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", BOOT], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    if bot.poll() is None:
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(15)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(5)


def print_table(results: list[BurstResult]) -> None:
    head = (
        f"{'burst':>6} {'acked<=3s':>14} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'answered':>9} "
        f"{'errors':>7} {'bot CPU s':>9} {'peak RSS MB':>11} {'stand-in CPU s':>14} {'wall s':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        share = f"{r.acked_in_time} ({r.acked_in_time_share:.1%})"
        print(
            f"{r.size:>6} {share:>14} {_fmt(r.ack_p50_ms):>8} {_fmt(r.ack_p99_ms):>8} "
            f"{_fmt(r.ack_max_ms):>8} "
            f"{r.answered:>9} {r.errors:>7} {r.bot_cpu_seconds:>9.2f} {r.bot_peak_rss_mb:>11.1f} "
            f"{r.standin_cpu_seconds:>14.2f} {r.wall_seconds:>7.2f}"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


async def main_async(args: argparse.Namespace) -> list[BurstResult]:
    questions = load_questions(Path(args.questions))
    discord = await Discord.start(StandinConfig(heartbeat_interval_ms=args.heartbeat_ms))
    users = [discord.alice, discord.bob, discord.mod]
    users += [await discord.add_member(f"reader{i}") for i in range(args.users - len(users))]
    results: list[BurstResult] = []
    with tempfile.TemporaryDirectory(prefix="histbot-load-") as tmp:
        log_path = Path(tmp) / "bot.log"
        bot = start_bot(
            discord, Path(tmp) / "data", log_path, Path(args.sources) if args.sources else None
        )
        try:
            proc = psutil.Process(bot.pid)
            started = time.monotonic()
            ready = asyncio.ensure_future(discord.wait_for_bot(timeout=args.startup_timeout))
            while not ready.done():
                if bot.poll() is not None:
                    ready.cancel()
                    raise SystemExit(
                        f"the bot exited during start-up:\n{log_path.read_text(errors='replace')}"
                    )
                await asyncio.wait({ready}, timeout=0.5)
            ready.result()
            warm = await discord.slash(
                "ask", question=questions[0], timeout=args.startup_timeout, settle=0.2
            )
            print(
                f"bot ready in {time.monotonic() - started:.1f}s (pid {bot.pid}); warm-up answer: "
                f"{warm.text[:70]!r}",
                flush=True,
            )
            offset = 1
            for size in args.sizes:
                result = await run_burst(
                    discord, proc, size, questions, users, offset, args.burst_timeout
                )
                offset += size
                results.append(result)
                print(
                    f"burst {size}: {result.acked_in_time}/{size} acked within 3 s, "
                    f"{result.answered} answered, errors by HTTP status/Discord code: "
                    f"{result.error_codes or 'none'}",
                    flush=True,
                )
                if bot.poll() is not None:
                    print("the bot process exited", file=sys.stderr)
                    break
            unknown = {f"{c.method} {c.route or c.path}" for c in discord.unknown_routes}
            if unknown:
                print(f"unknown routes hit: {sorted(unknown)}", file=sys.stderr)
        finally:
            stop_bot(bot)
            await discord.stop()
            if args.show_log:
                print(log_path.read_text(errors="replace")[-5000:], file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="100,500,1000", help="comma-separated burst sizes (default 100,500,1000)"
    )
    parser.add_argument("--questions", default=str(DEV_SET), help="JSONL with a 'q' field per line")
    parser.add_argument(
        "--sources", default=None, help="HISTBOT_SOURCES_DIR for the bot (default: its own)"
    )
    parser.add_argument(
        "--users", type=int, default=50, help="distinct members sending the questions"
    )
    parser.add_argument(
        "--heartbeat-ms", type=int, default=41250, help="gateway heartbeat interval"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=180.0, help="seconds to wait for the bot"
    )
    parser.add_argument(
        "--burst-timeout", type=float, default=120.0, help="seconds to wait for a burst to finish"
    )
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument(
        "--show-log", action="store_true", help="print the tail of the bot's log at the end"
    )
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = asyncio.run(main_async(args))
    print()
    print_table(results)
    if args.json:
        Path(args.json).write_text(
            json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8"
        )
    return 0 if results and all(r.unanswered == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
