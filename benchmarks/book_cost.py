"""What a 300,000-word book costs to add: read, parse, index, open again — time and peak memory.

    python benchmarks/book_cost.py                 # a 300,000-word book
    python benchmarks/book_cost.py --words 100000  # a smaller one

The book is made deterministically from the two public-domain Gutenberg books in
benchmarks/data/books/: Gibbon's volume 1 and then Herodotus's, each without its e-text
header and licence, cut at the paragraph that reaches the word count. Each step runs in a
fresh process, so its peak memory (ru_maxrss) is its own; "imports" is a process that only
imports the library, the floor every figure includes. Steps:

    read         the file -> the text the parser reads (`read_document`)
    parse        + cut into passages (`cut_passages`)
    index        + parse, index and write the cache (`Library.from_texts`, cold): `histbot add`
    upload       what `/library add` costs in the indexing worker: the file's bytes read and
                 parsed alone (the passage limit), then indexed with the shipped texts
                 (`bot.worker.index_upload`)
    open         the cached library opened again (a restart, or a worker's first question)
    rank-bm25    the baseline, in the same run: paragraphs split on blank lines, `str.split`
                 tokens, `rank_bm25.BM25Okapi` — the index most people would start with
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOOKS = REPO / "benchmarks" / "data" / "books"
PARTS = ("gibbon-decline-fall-vol1.txt", "herodotus-history-vol1.txt")
START = re.compile(r"^\*\*\* ?START OF TH(IS|E) PROJECT GUTENBERG.*$", re.M)
END = re.compile(r"^(End of (the )?Project Gutenberg|\*\*\* ?END OF TH(IS|E) PROJECT).*$", re.M)


def body(text: str) -> str:
    """A Gutenberg file's text between its START and END markers."""
    start, end = START.search(text), END.search(text)
    return text[start.end() if start else 0 : end.start() if end else len(text)]


def book_paragraphs() -> list[str]:
    """Every paragraph of the two books' bodies, Gibbon's first."""
    paragraphs: list[str] = []
    for name in PARTS:
        text = (BOOKS / name).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        paragraphs += [p for p in re.split(r"\n\s*\n", body(text)) if p.strip()]
    return paragraphs


def make_book(words: int) -> str:
    """The books' bodies, in order, cut at the first paragraph that reaches `words`."""
    paragraphs: list[str] = []
    count = 0
    for paragraph in book_paragraphs():
        paragraphs.append(paragraph)
        count += len(paragraph.split())
        if count >= words:
            return "\n\n".join(paragraphs) + "\n"
    raise SystemExit(f"the books hold only {count:,} words; ask for fewer")


STEP = r"""
import json, os, resource, sys, time
from pathlib import Path
step, book, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
started = time.perf_counter()
result = {}
if step == "imports":
    import knowledge, knowledge.sources, rank_bm25  # noqa: F401
elif step == "rank-bm25":
    from rank_bm25 import BM25Okapi
    started = time.perf_counter()
    paragraphs = [p for p in book.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    index = BM25Okapi([p.split() for p in paragraphs])
    result["passages"] = len(paragraphs)
else:
    from knowledge import Library, Source
    from knowledge.formats import read_document
    from knowledge.sources import cut_passages
    source = Source(id="book", title="A Long History", file=book)
    if step == "upload":
        from bot import worker
        from bot.uploads import SqliteUploadStore
        store = SqliteUploadStore(work / "library.sqlite3")
        store.open()
        shipped, servers = str(work / "shipped"), str(work / "servers")
        worker.load(sys.argv[4], shipped, os.getppid(), store, servers, 2**30)
        started = time.perf_counter()
        indexed = worker.index_upload(1, source, book.read_bytes(), 10**9)
        result["passages"] = indexed.passages
    else:
        started = time.perf_counter()
        text = read_document(book)
        if step == "parse":
            result["passages"] = len(cut_passages([source], [text]))
        elif step in ("index", "open"):
            library = Library.from_texts([(source, text)], work / "cache")
            result["passages"] = len(library.passages)
result["seconds"] = time.perf_counter() - started
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""

STEPS = ("imports", "read", "parse", "index", "open", "upload", "rank-bm25")


def run_step(step: str, book: Path, work: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", STEP, step, str(book), str(work), str(REPO / "seeds")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="histbot-book-") as folder:
        work = Path(folder)
        book = work / "long-history.txt"
        text = make_book(args.words)
        book.write_text(text, encoding="utf-8")
        print(
            f"book: {len(text.split()):,} words, {len(text.encode()) / 2**20:.1f} MB "
            f"(Gibbon vol. 1 then Herodotus vol. 1, e-text wrapping removed)\n"
        )
        print(f"{'step':<10} {'passages':>9} {'seconds':>8} {'peak RSS MB':>12}")
        results = {}
        for step in STEPS:
            results[step] = figures = run_step(step, book, work)
            passages = f"{figures['passages']:,}" if "passages" in figures else ""
            seconds = f"{figures['seconds']:.2f}" if step != "imports" else ""
            print(f"{step:<10} {passages:>9} {seconds:>8} {figures['peak_mb']:>12.0f}")
        cache = sum(f.stat().st_size for f in (work / "cache").rglob("*") if f.is_file())
        print(f"\nindex cache on disk: {cache / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
