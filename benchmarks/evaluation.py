"""Grading answers against question sets with gold evidence: one definition of every figure.

Used by benchmarks/retrieval.py (the tables in the README), benchmarks/fit_answering.py (the
figures a fitted model records) and the test that checks the shipped model reproduces them.

A question set is JSON lines {"id", "q", "evidence": [...], "answer": [...], "type"};
questions with no evidence are ones the texts do not answer. Figures:

* hit@1, hit@3, MRR@5 — the gold evidence is inside the passage ranked 1st / in the top 3
  (a passage's footnotes count as part of it);
* quote — the quote shown (not the whole passage) contains a gold answer, and was answered;
* answered — share of answerable questions answered; abstained — share of unanswerable ones
  on which the library said it cannot answer;
* right source — the first passage is from the text the question is about (when known).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from knowledge import Library
from knowledge.text import display_text, fold

DATA = Path(__file__).resolve().parent / "data"
SQUAD = DATA / "squad-train"
HELD_BACK_ARTICLES = frozenset({"hellenistic", "middleages", "szlachta", "victoria"})
"""squad-train articles never fitted on: their figures are the honest ones. Every third
article in alphabetical order of id (the others are fitted on)."""
HELD_BACK_OTHER = frozenset({"Dutch Republic", "Ottoman Empire", "Roman Republic", "Warsaw Pact"})
"""Unanswerable questions' articles held back the same way (every third, alphabetically)."""


def normalise(text: str) -> str:
    """Compare evidence and passages the way a reader would: quotes, case, spacing folded."""
    text = fold(display_text(text))
    for old, new in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(old, new)
    return " ".join(text.split())


def load_questions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_held_back(item: dict) -> bool:
    return item.get("source") in HELD_BACK_ARTICLES or item.get("from_article") in HELD_BACK_OTHER


@dataclass
class Tally:
    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_rank: float = 0.0
    quote_has_answer: int = 0
    answered: int = 0
    right_source: int = 0
    with_source: int = 0
    unanswerable: int = 0
    abstained: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in (
            "questions", "hit1", "hit3", "reciprocal_rank", "quote_has_answer", "answered",
            "right_source", "with_source", "unanswerable", "abstained",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies

    def row(self) -> dict[str, float | int | str]:
        def share(count: float, of: int) -> float | str:
            return round(count / of, 3) if of else "-"

        lat = sorted(self.latencies) or [0.0]
        return {
            "n": self.questions + self.unanswerable,
            "hit@1": share(self.hit1, self.questions),
            "hit@3": share(self.hit3, self.questions),
            "MRR@5": share(self.reciprocal_rank, self.questions),
            "quote": share(self.quote_has_answer, self.questions),
            "answered": share(self.answered, self.questions),
            "abstained": share(self.abstained, self.unanswerable),
            "source": share(self.right_source, self.with_source),
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2),
        }


def grade(
    item: dict,
    ranked: list[tuple[str, str]],
    quote: str,
    answered: bool,
    seconds: float,
    top_source: str | None = None,
) -> Tally:
    """One question's figures; `ranked` is (passage text with its notes, source id), best first."""
    tally = Tally(latencies=[seconds])
    evidence = [normalise(e) for e in item.get("evidence", [])]
    if not evidence:
        tally.unanswerable = 1
        tally.abstained = int(not answered)
        return tally
    tally.questions = 1
    tally.answered = int(answered)
    if item.get("source") and top_source is not None:
        tally.with_source = 1
        tally.right_source = int(top_source == item["source"])
    ranks = [
        rank
        for rank, (text, _) in enumerate(ranked[:5], start=1)
        if any(e in normalise(text) for e in evidence)
    ]
    if ranks:
        tally.hit1 = int(ranks[0] == 1)
        tally.hit3 = int(ranks[0] <= 3)
        tally.reciprocal_rank = 1.0 / ranks[0]
    answers = [normalise(a) for a in item.get("answer", [])]
    tally.quote_has_answer = int(answered and any(a in normalise(quote) for a in answers))
    return tally


def evaluate(library: Library, questions: list[dict]) -> dict[str, Tally]:
    """Ask the library every question; tallies by question type."""
    by_type: dict[str, Tally] = defaultdict(Tally)
    for item in questions:
        started = time.perf_counter()
        answer = library.answer(item["q"], limit=5)
        seconds = time.perf_counter() - started
        ranked = [
            (" ".join((h.passage.text, *h.passage.notes)), h.passage.source_id) for h in answer.hits
        ]
        quote = answer.hits[0].quote if answer.hits else ""
        top_source = answer.hits[0].passage.source_id if answer.hits else None
        by_type[item.get("type", "all")].add(
            grade(item, ranked, quote, answer.answered, seconds, top_source)
        )
    return by_type


def total(by_type: dict[str, Tally]) -> Tally:
    overall = Tally()
    for tally in by_type.values():
        overall.add(tally)
    return overall


QUALITY = ("hit@1", "hit@3", "MRR@5", "quote", "answered", "abstained", "source")
"""The figures that do not depend on the machine (latencies do)."""


def quality(tally: Tally) -> dict[str, float | str]:
    row = tally.row()
    return {name: row[name] for name in QUALITY}
