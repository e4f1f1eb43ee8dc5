"""Load benchmark: bursts of /ask interactions against the real bot in its own process,
beside a minimal reference bot measured the same way in the same run.

    python benchmarks/load.py                      # bursts of 100, 500 and 1,000 within 1 s
    python benchmarks/load.py --sizes 50,200 --json results.json
    python benchmarks/load.py --fresh --sizes 100   # start-up on an empty data dir

Each bot runs in a child process against its own Discord stand-in (standin/, in this process
on loopback): histbot as ``histbot run`` (``DISCORD_API_BASE``, the gateway URL,
``HISTBOT_ASK_COOLDOWN=0``, a temporary ``HISTBOT_DATA_DIR`` prepared by ``histbot index``, so
its texts' sentence vectors are made as after the bot's first minute), and the reference,
``benchmarks/reference_bot.py``: /ask deferred, plain ``rank_bm25.BM25Okapi`` over the texts'
paragraphs in a thread, the best paragraph as the follow-up. For each burst size, histbot's
burst then the reference's: N INTERACTION_CREATE events spread evenly over one second
(questions from ``benchmarks/data/dev/dev.jsonl``), then a wait until every interaction is
answered or given up on. Printed per bot and burst: acknowledged within 3 s, ack latency
p50/p99, answer latency (dispatch to the answer reaching the stand-in) p50/p99/max, answers
delivered, errors, and the CPU time and peak RSS of the bot process with its workers.

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
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import Discord, InteractionRecord, StandinConfig, UserRef  # noqa: E402

DEV_SET = REPO / "benchmarks" / "data" / "dev" / "dev.jsonl"
REFERENCE_BOT = REPO / "benchmarks" / "reference_bot.py"
BOTS = ("histbot", "reference")
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

    bot: str
    size: int
    dispatch_seconds: float
    acked: int
    acked_in_time: int
    acked_in_time_share: float
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    ack_max_ms: float | None
    answer_p50_ms: float | None
    answer_p99_ms: float | None
    answer_max_ms: float | None
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


def answered(record: InteractionRecord) -> bool:
    """Acknowledged, and a visible answer arrived (a message response, the edit of a
    deferred one, or a follow-up)."""
    return record.acked and record.answered_at is not None


def finished(record: InteractionRecord) -> bool:
    """Nothing more will happen: answered, never acked by the deadline, or gone quiet."""
    if answered(record):
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
    name: str,
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
            lambda: all(finished(r) for r in records),
            timeout,
            f"{size} interactions to finish",
        )
    wall = time.monotonic() - started
    latencies = [r.ack_latency for r in records if r.ack_latency is not None]
    in_time = sum(1 for lat in latencies if lat <= ACK_DEADLINE)
    answers = [r.answer_latency for r in records if answered(r) and r.answer_latency is not None]
    ok = len(answers)
    codes: dict[str, int] = {}
    for call in (c for r in records for c in r.calls if c.status >= 400):
        code = call.response.get("code") if isinstance(call.response, dict) else None
        key = f"{call.status}/{code}" if code is not None else str(call.status)
        codes[key] = codes.get(key, 0) + 1
    return BurstResult(
        bot=name,
        size=size,
        dispatch_seconds=round(dispatch_seconds, 3),
        acked=len(latencies),
        acked_in_time=in_time,
        acked_in_time_share=round(in_time / size, 4),
        ack_p50_ms=_ms(percentile(latencies, 50)),
        ack_p99_ms=_ms(percentile(latencies, 99)),
        ack_max_ms=_ms(max(latencies) if latencies else None),
        answer_p50_ms=_ms(percentile(answers, 50)),
        answer_p99_ms=_ms(percentile(answers, 99)),
        answer_max_ms=_ms(max(answers) if answers else None),
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


@dataclass
class RunningBot:
    """A bot process under test and the stand-in it talks to."""

    name: str
    discord: Discord
    process: subprocess.Popen[bytes]
    log_path: Path
    users: list[UserRef]

    @property
    def proc(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


def bot_command(
    name: str, discord: Discord, data_dir: Path, sources: Path | None
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start bot ``name`` against ``discord``."""
    env = {
        **os.environ,
        "DISCORD_TOKEN": "load-benchmark-token",
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "PYTHONUNBUFFERED": "1",
    }
    if name == "reference":
        env["REFERENCE_GUILD_ID"] = str(discord.guild_id)
        if sources is not None:
            env["REFERENCE_SOURCES_DIR"] = str(sources)
        return [sys.executable, str(REFERENCE_BOT)], env
    env |= {
        "HISTBOT_DATA_DIR": str(data_dir),
        "HISTBOT_ASK_COOLDOWN": "0",
        "HISTBOT_SEARCH_COOLDOWN": "0",
        "HISTBOT_DEV_GUILD_IDS": str(discord.guild_id),
        "HISTBOT_LOG_LEVEL": "WARNING",
    }
    if sources is not None:
        env["HISTBOT_SOURCES_DIR"] = str(sources)
    return [sys.executable, "-c", BOOT], env


def spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a bot process with its output in ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    if bot.poll() is None:
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(15)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(5)


async def boot(
    name: str, args: argparse.Namespace, questions: list[str], tmp: Path, stack: AsyncExitStack
) -> RunningBot:
    """Start a stand-in and bot ``name`` against it; wait until it has answered a warm-up."""
    discord = await Discord.start(StandinConfig(heartbeat_interval_ms=args.heartbeat_ms))
    stack.push_async_callback(discord.stop)
    users = [discord.alice, discord.bob, discord.mod]
    users += [await discord.add_member(f"reader{i}") for i in range(args.users - len(users))]
    log_path = tmp / f"{name}.log"
    argv, env = bot_command(
        name, discord, tmp / f"{name}-data", Path(args.sources) if args.sources else None
    )
    if name == "histbot" and not args.fresh:
        # As deployed: `histbot index` makes the index and the texts' sentence vectors before
        # the bot starts, so the bursts meet the bot as it runs after its first minute.
        index = "from bot.cli import main; raise SystemExit(main(['index']))"
        made = await asyncio.create_subprocess_exec(
            sys.executable, "-c", index, cwd=REPO, env=env, stdout=subprocess.DEVNULL
        )
        if await made.wait():
            raise SystemExit("histbot index failed")
    process = spawn(argv, env, log_path)
    stack.callback(stop_bot, process)
    if args.show_log:
        stack.callback(
            lambda: print(
                f"--- {name} log\n{log_path.read_text(errors='replace')[-5000:]}", file=sys.stderr
            )
        )
    started = time.monotonic()
    ready = asyncio.ensure_future(discord.wait_for_bot(timeout=args.startup_timeout))
    while not ready.done():
        if process.poll() is not None:
            ready.cancel()
            raise SystemExit(
                f"{name} exited during start-up:\n{log_path.read_text(errors='replace')}"
            )
        await asyncio.wait({ready}, timeout=0.5)
    ready.result()
    warm = await discord.slash(
        "ask", question=questions[0], timeout=args.startup_timeout, settle=0.2
    )
    print(
        f"{name} ready in {time.monotonic() - started:.1f}s (pid {process.pid}); warm-up answer: "
        f"{warm.text[:70]!r}",
        flush=True,
    )
    return RunningBot(name, discord, process, log_path, users)


def print_table(results: list[BurstResult]) -> None:
    head = (
        f"{'burst':>6} {'bot':<9} {'acked<=3s':>14} {'ack p50':>8} {'ack p99':>8} "
        f"{'ans p50':>8} {'ans p99':>8} {'ans max':>8} {'answered':>9} {'errors':>7} "
        f"{'CPU s':>7} {'peak RSS MB':>11} {'wall s':>7}"
    )
    print("latencies in ms from dispatch; CPU and RSS of the bot process with its workers")
    print(head)
    print("-" * len(head))
    for r in results:
        share = f"{r.acked_in_time} ({r.acked_in_time_share:.1%})"
        print(
            f"{r.size:>6} {r.bot:<9} {share:>14} {_fmt(r.ack_p50_ms):>8} {_fmt(r.ack_p99_ms):>8} "
            f"{_fmt(r.answer_p50_ms):>8} {_fmt(r.answer_p99_ms):>8} {_fmt(r.answer_max_ms):>8} "
            f"{r.answered:>9} {r.errors:>7} {r.bot_cpu_seconds:>7.2f} {r.bot_peak_rss_mb:>11.1f} "
            f"{r.wall_seconds:>7.2f}"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


async def main_async(args: argparse.Namespace) -> list[BurstResult]:
    questions = load_questions(Path(args.questions))
    results: list[BurstResult] = []
    with tempfile.TemporaryDirectory(prefix="histbot-load-") as tmp:
        async with AsyncExitStack() as stack:
            bots = [await boot(name, args, questions, Path(tmp), stack) for name in BOTS]
            offset = 1
            for size in args.sizes:
                for bot in bots:  # the same questions for each bot, one bot at a time
                    result = await run_burst(
                        bot.name,
                        bot.discord,
                        bot.proc,
                        size,
                        questions,
                        bot.users,
                        offset,
                        args.burst_timeout,
                    )
                    results.append(result)
                    print(
                        f"{bot.name} burst {size}: {result.acked_in_time}/{size} acked within 3 s, "
                        f"{result.answered} answered, errors by HTTP status/Discord code: "
                        f"{result.error_codes or 'none'}",
                        flush=True,
                    )
                offset += size
                if exited := [b.name for b in bots if b.process.poll() is not None]:
                    print(f"bot process exited: {', '.join(exited)}", file=sys.stderr)
                    break
            for bot in bots:
                unknown = {f"{c.method} {c.route or c.path}" for c in bot.discord.unknown_routes}
                if unknown:
                    print(f"{bot.name}: unknown routes hit: {sorted(unknown)}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start histbot on an empty data dir (no `histbot index` first): start-up as on a "
        "first deploy, its sentence vectors made in the background during the bursts",
    )
    parser.add_argument(
        "--sizes", default="100,500,1000", help="comma-separated burst sizes (default 100,500,1000)"
    )
    parser.add_argument("--questions", default=str(DEV_SET), help="JSONL with a 'q' field per line")
    parser.add_argument(
        "--sources",
        default=None,
        help="folder of texts for both bots (histbot's HISTBOT_SOURCES_DIR; default seeds/)",
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
    histbot = [r for r in results if r.bot == "histbot"]
    return 0 if histbot and all(r.unanswered == 0 for r in histbot) else 1


if __name__ == "__main__":
    raise SystemExit(main())
