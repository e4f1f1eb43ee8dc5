"""Start-up and per-question time on the seed and on a generated library of many passages.

    python benchmarks/scale.py                   # seed + 100,000 generated passages
    python benchmarks/scale.py --passages 20000  # a smaller generated library

The generated text is made of the seed's own sentences, shuffled into new paragraphs under
new headings, with a share of words replaced by made-up names so the vocabulary grows the way
a real library's does. For each library it prints: cold start (parse + build + write cache),
warm start (load from the cache), peak memory, and per-question latency p50/p99 over the dev
questions — both for histbot's candidate-only scoring and for rank-bm25's `get_scores`, which
scores every passage.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge import Library  # noqa: E402
from knowledge.query import analyse  # noqa: E402
from knowledge.text import split_sentences  # noqa: E402

DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
SYLLABLES = "ka ro vi len mar to sha bel gor ni dov ste pan ilo ver zu min ast ra ko".split()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, passages: int, seed: int = 7) -> None:
    """Write a library of about `passages` paragraphs built from the seed's sentences."""
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(name: str, sources: Path, questions: list[str], full_scan_questions: int) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="histbot-cache-"))
    started = time.perf_counter()
    library = Library.load(sources, cache_dir=cache)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    library = Library.load(sources, cache_dir=cache)
    warm = time.perf_counter() - started
    cache_mb = sum(f.stat().st_size for f in cache.iterdir()) / 1e6

    latencies = []
    for question in questions:
        started = time.perf_counter()
        library.answer(question)
        latencies.append(time.perf_counter() - started)

    # rank-bm25's own way: score every passage for every query term.
    full = []
    for question in questions[:full_scan_questions]:
        query = analyse(question, library.index)
        started = time.perf_counter()
        library.index.bm25.get_scores([t for t in query.terms if library.index.has_term(t)])
        full.append(time.perf_counter() - started)
    return {
        "library": name,
        "passages": len(library.passages),
        "cold_start_s": round(cold, 2),
        "warm_start_s": round(warm, 2),
        "cache_mb": round(cache_mb, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "answer_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "answer_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "get_scores_p50_ms": round(statistics.median(full) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=Path, default=DEV)
    args = parser.parse_args(argv)
    questions = [json.loads(line)["q"] for line in args.questions.open(encoding="utf-8")]

    rows = [measure("seed", REPO / "seeds", questions, len(questions))]
    with tempfile.TemporaryDirectory(prefix="histbot-scale-") as tmp:
        generate(Path(tmp), args.passages)
        rows.append(measure(f"generated {args.passages:,}", Path(tmp), questions, 5))
    columns = list(rows[0])
    print("".join(f"{c:>18}" for c in columns))
    for row in rows:
        print("".join(f"{row[c]!s:>18}" for c in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
