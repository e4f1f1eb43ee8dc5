"""Retrieval quality and latency on a question set with gold evidence.

    python benchmarks/retrieval.py                      # ../shared/eval/dev.jsonl on seeds/
    python benchmarks/retrieval.py --k1 1.5 --b 0.6     # try other BM25 parameters
    python benchmarks/retrieval.py --grid               # sweep variant/k1/b and print a table

Each line of the question file is {"id", "q", "evidence": [...], "answer": [...], "type"};
questions with no evidence are ones the texts do not answer. Figures, overall and by type:

* hit@1, hit@3, MRR@5 — the gold evidence is inside the passage ranked 1st / in the top 3;
* quote-has-answer — the quote shown (not the whole passage) contains a gold answer;
* answered — share of answerable questions answered; abstained — share of unanswerable ones
  on which the library said it cannot answer;
* latency p50/p99 per question.

The same run scores a baseline — plain rank-bm25 over the raw lines of the texts with
`str.split()` tokens — so every figure has something to be compared with.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rank_bm25 import BM25Okapi

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge import BM25Params, Library  # noqa: E402
from knowledge.sources import read_manifest, read_text  # noqa: E402
from knowledge.text import display_text, fold  # noqa: E402

DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "dev.jsonl"


def normalise(text: str) -> str:
    """Compare evidence and passages the way a reader would: quotes, case, spacing folded."""
    text = fold(display_text(text))
    for old, new in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(old, new)
    return " ".join(text.split())


@dataclass
class Tally:
    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_rank: float = 0.0
    quote_has_answer: int = 0
    answered: int = 0
    unanswerable: int = 0
    abstained: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("questions", "hit1", "hit3", "quote_has_answer", "answered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reciprocal_rank += other.reciprocal_rank
        self.unanswerable += other.unanswerable
        self.abstained += other.abstained
        self.latencies += other.latencies

    def row(self) -> dict[str, float | int | str]:
        n = self.questions or 1
        lat = sorted(self.latencies) or [0.0]
        return {
            "n": self.questions + self.unanswerable,
            "hit@1": round(self.hit1 / n, 3) if self.questions else "-",
            "hit@3": round(self.hit3 / n, 3) if self.questions else "-",
            "MRR@5": round(self.reciprocal_rank / n, 3) if self.questions else "-",
            "quote_has_answer": round(self.quote_has_answer / n, 3) if self.questions else "-",
            "answered": round(self.answered / n, 3) if self.questions else "-",
            "abstained": round(self.abstained / self.unanswerable, 3) if self.unanswerable else "-",
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2),
        }


def load_questions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def grade(item: dict, ranked_texts: list[str], quote: str, answered: bool, seconds: float) -> Tally:
    tally = Tally(latencies=[seconds])
    evidence = [normalise(e) for e in item.get("evidence", [])]
    if not evidence:
        tally.unanswerable = 1
        tally.abstained = int(not answered)
        return tally
    tally.questions = 1
    tally.answered = int(answered)
    ranks = [
        rank
        for rank, text in enumerate(ranked_texts[:5], start=1)
        if any(e in normalise(text) for e in evidence)
    ]
    if ranks:
        tally.hit1 = int(ranks[0] == 1)
        tally.hit3 = int(ranks[0] <= 3)
        tally.reciprocal_rank = 1.0 / ranks[0]
    answers = [normalise(a) for a in item.get("answer", [])]
    tally.quote_has_answer = int(answered and any(a in normalise(quote) for a in answers))
    return tally


def evaluate_library(library: Library, questions: list[dict]) -> dict[str, Tally]:
    by_type: dict[str, Tally] = defaultdict(Tally)
    for item in questions:
        started = time.perf_counter()
        answer = library.answer(item["q"], limit=5)
        seconds = time.perf_counter() - started
        quote = answer.hits[0].quote if answer.hits else ""
        tally = grade(item, [h.passage.text for h in answer.hits], quote, answer.answered, seconds)
        by_type[item.get("type", "all")].add(tally)
    return by_type


def evaluate_baseline(sources_dir: Path, questions: list[dict]) -> dict[str, Tally]:
    """Plain rank-bm25 over raw lines, whitespace tokens, never abstaining."""
    lines = [
        line.strip()
        for source in read_manifest(sources_dir)
        for line in read_text(source).splitlines()
        if line.strip()
    ]
    bm25 = BM25Okapi([line.split() for line in lines])
    by_type: dict[str, Tally] = defaultdict(Tally)
    for item in questions:
        started = time.perf_counter()
        ranked = bm25.get_top_n(item["q"].split(), lines, n=5)
        seconds = time.perf_counter() - started
        by_type[item.get("type", "all")].add(
            grade(item, ranked, ranked[0] if ranked else "", True, seconds)
        )
    return by_type


def total(by_type: dict[str, Tally]) -> Tally:
    overall = Tally()
    for tally in by_type.values():
        overall.add(tally)
    return overall


def print_table(title: str, by_type: dict[str, Tally]) -> None:
    rows = {"ALL": total(by_type).row()} | {k: v.row() for k, v in sorted(by_type.items())}
    columns = list(next(iter(rows.values())))
    print(f"\n{title}")
    print(f"{'type':<13}" + "".join(f"{c:>17}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<13}" + "".join(f"{row[c]!s:>17}" for c in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--sources", type=Path, default=REPO / "seeds")
    parser.add_argument("--variant", default=BM25Params().variant)
    parser.add_argument("--k1", type=float, default=BM25Params().k1)
    parser.add_argument("--b", type=float, default=BM25Params().b)
    parser.add_argument("--grid", action="store_true", help="sweep BM25 parameters")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show", action="store_true", help="print every question's outcome")
    args = parser.parse_args(argv)
    if not args.questions.exists():
        print(f"question file not found: {args.questions}", file=sys.stderr)
        return 2
    questions = load_questions(args.questions)

    if args.grid:
        print(f"{'variant':<10}{'k1':>6}{'b':>6}{'hit@1':>8}{'hit@3':>8}{'MRR@5':>8}{'abst':>8}")
        for variant, k1, b in itertools.product(
            ("okapi", "bm25l", "bm25plus"), (0.9, 1.2, 1.5, 2.0), (0.3, 0.5, 0.75, 0.9)
        ):
            lib = Library.load(args.sources, params=BM25Params(variant=variant, k1=k1, b=b))
            row = total(evaluate_library(lib, questions)).row()
            print(
                f"{variant:<10}{k1:>6}{b:>6}{row['hit@1']!s:>8}{row['hit@3']!s:>8}"
                f"{row['MRR@5']!s:>8}{row['abstained']!s:>8}"
            )
        return 0

    params = BM25Params(variant=args.variant, k1=args.k1, b=args.b)
    library = Library.load(args.sources, params=params)
    ours = evaluate_library(library, questions)
    baseline = evaluate_baseline(args.sources, questions)
    if args.show:
        for item in questions:
            answer = library.answer(item["q"])
            top = answer.hits[0] if answer.hits else None
            mark = "A" if answer.answered else "-"
            ref = top.ref if top else "none"
            print(f"{item['id']} {mark} {ref:<16} {item['q'][:60]:<60} | {answer.reason}")
    if args.json:
        print(
            json.dumps(
                {
                    "params": str(params),
                    "histbot": {k: v.row() for k, v in ours.items()} | {"ALL": total(ours).row()},
                    "baseline": {"ALL": total(baseline).row()},
                }
            )
        )
        return 0
    print(f"{len(questions)} questions from {args.questions.name}; {params}")
    print_table("histbot", ours)
    print_table("baseline: rank-bm25 over raw lines, str.split() tokens", baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
