"""knowledge.bm25 against rank-bm25 and bm25s on one generated corpus, in one run.

    pip install -e ".[bench]"                   # bm25s, the benchmark-only comparison
    python benchmarks/bm25_scale.py             # 10,000 and 100,000 documents
    python benchmarks/bm25_scale.py --sizes 20000 --queries 300

The corpus is generated (deterministic): documents of 60-120 terms drawn from a Zipfian
vocabulary of 200,000 made-up words, so term frequencies look like a text's; queries of 3-8
terms come from the same distribution. Every system gets the same token lists and the same
BM25+ parameters (k1=1.5, b=0.9, delta=0.5) and returns its best 30 documents per query.

Every measurement runs in a fresh subprocess so their memory cannot mix: one builds the index
(into a folder, for the two that have an on-disk format), the next opens it warm (the files
are still in the page cache) and answers the queries. Figures:
- build s / +build MB: seconds to index the in-memory token lists (generating them is not
  counted), and the peak memory the build needed above those lists;
- imports: RSS of the fresh process after importing the system, before opening anything;
- open s / RSS open: seconds to load the built index from disk, and RSS right after;
- p50 / p99 ms: wall time of one query's top 30, queries one at a time as a bot asks them;
- RSS MB / private: after all the queries; private leaves out file pages (memory-mapped
  arrays) that every process mapping the same files shares: what one more worker adds.
rank-bm25 has no on-disk format (it is built in the measuring process, so it has no open
figure) and scores every document in a Python loop per query term: it runs at 10,000
documents only. At 100,000 a query takes about 0.25 s (measured once on this machine), so
the 1,000 queries alone would take four minutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

K1, B, DELTA = 1.5, 0.9, 0.5
VOCABULARY = 200_000
ZIPF_EXPONENT = 1.1
SYLLABLES = "ka ro vi len mar to sha bel gor ni dov ste pan ilo ver zu min ast ra ko".split()
RANK_BM25_LIMIT = 10_000  # larger corpora: rank-bm25 takes seconds per query


def word(rank: int) -> str:
    """A made-up word for a vocabulary rank (distinct ranks, distinct words)."""
    syllables = []
    while True:
        rank, digit = divmod(rank, len(SYLLABLES))
        syllables.append(SYLLABLES[digit])
        if rank == 0:
            return "".join(syllables)
        rank -= 1


def zipf_sampler(seed: int):
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT)
    cumulative /= cumulative[-1]
    return rng, lambda n: np.searchsorted(cumulative, rng.random(n), side="right")


def corpus(size: int, seed: int = 7) -> Iterator[list[str]]:
    words = [word(r) for r in range(VOCABULARY)]
    rng, draw = zipf_sampler(seed)
    for start in range(0, size, 1000):
        lengths = rng.integers(60, 121, size=min(1000, size - start))
        ranks = draw(int(lengths.sum())).tolist()
        at = 0
        for length in lengths.tolist():
            yield [words[r] for r in ranks[at : at + length]]
            at += length


def queries(count: int, seed: int = 11) -> list[list[str]]:
    rng, draw = zipf_sampler(seed)
    return [[word(r) for r in draw(int(rng.integers(3, 9))).tolist()] for _ in range(count)]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def private_mb() -> float:
    """Resident memory that is not shared file pages: what one more worker would add."""
    info = psutil.Process().memory_info()
    return (info.rss - info.shared) / 2**20


# -- the systems: build(tokens, folder) and open(folder) -> search(query, k) -------------------


def build_histbot(tokens: list[list[str]], folder: Path) -> None:
    from knowledge.bm25 import BM25Index, BM25Params

    BM25Index.build(tokens, BM25Params(K1, B, DELTA), folder=folder)


def open_histbot(folder: Path):
    from knowledge.bm25 import BM25Index

    index = BM25Index.open(folder)
    return lambda query, k: index.top(Counter(query), k)


def build_bm25s(tokens: list[list[str]], folder: Path) -> None:
    import bm25s

    index = bm25s.BM25(method="bm25+", k1=K1, b=B, delta=DELTA)
    index.index(tokens, show_progress=False)
    index.save(folder, show_progress=False)


def open_bm25s(folder: Path):
    import bm25s

    index = bm25s.BM25.load(folder, mmap=True, show_progress=False)
    vocabulary = index.vocab_dict

    def search(query: list[str], k: int):
        known = [t for t in query if t in vocabulary] or [""]  # bm25s refuses unknown words
        return index.retrieve([known], k=k, show_progress=False, n_threads=0)

    return search


def build_rank_bm25(tokens: list[list[str]], folder: Path) -> None:
    pass  # no on-disk format: built where it is measured


def open_rank_bm25(tokens: list[list[str]]):
    from rank_bm25 import BM25Plus

    index = BM25Plus(tokens, k1=K1, b=B, delta=DELTA)

    def search(query: list[str], k: int):
        scores = index.get_scores(query)
        best = np.argpartition(-scores, k)[:k]
        return best[np.argsort(-scores[best], kind="stable")]

    return search


SYSTEMS = {
    "histbot": (build_histbot, open_histbot),
    "bm25s": (build_bm25s, open_bm25s),
    "rank-bm25": (build_rank_bm25, open_rank_bm25),
}
MODULES = {"histbot": "knowledge.bm25", "bm25s": "bm25s", "rank-bm25": "rank_bm25"}


# -- the measuring subprocesses ---------------------------------------------------------------


def measure_build(system: str, size: int, folder: Path) -> dict:
    tokens = list(corpus(size))
    before = rss_mb()
    start = time.perf_counter()
    SYSTEMS[system][0](tokens, folder)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"build_s": seconds, "build_extra_mb": max(peak - before, 0.0)}


def measure_serve(system: str, size: int, folder: Path, count: int, k: int) -> dict:
    asked = queries(count)
    tokens = list(corpus(size)) if system == "rank-bm25" else None
    importlib.import_module(MODULES[system])
    imports = rss_mb()
    start = time.perf_counter()
    search = SYSTEMS[system][1](tokens if system == "rank-bm25" else folder)
    opened = time.perf_counter() - start
    del tokens
    after_open = rss_mb()
    latencies = []
    for query in asked:
        start = time.perf_counter()
        search(query, k)
        latencies.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "imports_mb": imports,
        "open_s": opened,
        "rss_open_mb": after_open,
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "rss_mb": rss_mb(),
        "private_mb": private_mb(),
    }


COLUMNS = [  # (heading, key, format); a missing figure prints as "-"
    ("build s", "build_s", ".2f"),
    ("+build MB", "build_extra_mb", ".0f"),
    ("imports", "imports_mb", ".0f"),
    ("open s", "open_s", ".3f"),
    ("RSS open", "rss_open_mb", ".0f"),
    ("p50 ms", "p50_ms", ".3f"),
    ("p99 ms", "p99_ms", ".3f"),
    ("RSS MB", "rss_mb", ".0f"),
    ("private", "private_mb", ".0f"),
]


def table_row(first: str, second: str, figures: dict) -> str:
    cells = [
        f"{figures[key]:>{len(heading)}{spec}}" if key in figures else f"{'-':>{len(heading)}}"
        for heading, key, spec in COLUMNS
    ]
    return " ".join([f"{first:<10}", f"{second:>8}", *cells])


def run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument(
        "--worker", nargs=4, metavar=("PHASE", "SYSTEM", "SIZE", "FOLDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        phase, system, size, folder = args.worker
        if phase == "build":
            result = measure_build(system, int(size), Path(folder))
        else:
            result = measure_serve(system, int(size), Path(folder), args.queries, args.k)
        print(json.dumps(result))
        return

    print(" ".join([f"{'system':<10}", f"{'docs':>8}", *(h for h, _, _ in COLUMNS)]))
    with tempfile.TemporaryDirectory(prefix="bm25-bench-") as scratch:
        for size in args.sizes:
            for system in SYSTEMS:
                if system == "rank-bm25" and size > RANK_BM25_LIMIT:
                    print(
                        f"{system:<10} {size:>8,}  skipped: a Python loop over every document"
                        " per query term, about 0.25 s a query here"
                    )
                    continue
                folder = Path(scratch) / f"{system}-{size}"
                built = run("build", system, str(size), str(folder))
                served = run(
                    "serve",
                    system,
                    str(size),
                    str(folder),
                    "--queries",
                    str(args.queries),
                    "--k",
                    str(args.k),
                )
                if system == "rank-bm25":  # built inside the serving process: no open figure
                    built = {"build_s": served.pop("open_s")}
                print(table_row(system, f"{size:,}", built | served), flush=True)


if __name__ == "__main__":
    main()
