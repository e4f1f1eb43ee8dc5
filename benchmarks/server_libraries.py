"""Servers' own libraries loaded on demand: first-use load time, question latency and memory,
with and without the memory budget (`HISTBOT_LIBRARY_MEMORY_MB`).

    python benchmarks/server_libraries.py                   # 24 servers; budgets 8 and 3 MB
    python benchmarks/server_libraries.py --servers 48 --words 20000 --budget-mb 4

Each server has added one text of its own: about 50,000 consecutive words of the two
Gutenberg books in benchmarks/data/books/ (their e-text wrapping removed, as in
`book_cost.py`), each server's starting further on.
Every server's index is built first, as `/library add` builds it (the time is printed).
Then the books' questions are asked, each in every server whose text holds its evidence,
in a fixed shuffled order, three times over — through `bot.libraries.ServerLibraries`, the
class the bot and every search worker use. Each configuration runs in a fresh process:

    no budget     every server's library stays loaded once used (the baseline)
    budget        least recently used libraries dropped beyond the budget

Printed: loads (first uses, plus reloads after a drop), load time p50/max, question time
p50/p99 over all questions (a load included when the question caused one), how many
libraries are kept at the end and the budget's estimate of their size, the heap they added
(anonymous resident memory, RssAnon, from before the first question to the end: what the
budget bounds; Python keeps some freed memory for reuse), the mapped index files resident
(RssFile: page cache, shared by every process, reclaimable) and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.book_cost import book_paragraphs  # noqa: E402
from bot.libraries import ServerLibraries  # noqa: E402
from bot.uploads import SqliteUploadStore, Upload  # noqa: E402
from knowledge import Library, Source  # noqa: E402

BOOKS = REPO / "benchmarks" / "data" / "books"
SEEDS = REPO / "seeds"


def normalised(text: str) -> str:
    return " ".join(re.sub(r"\[\d+\]", " ", text).split()).lower()


def server_texts(servers: int, words: int) -> list[str]:
    """A text of about `words` words for each server: consecutive paragraphs of the books,
    each server's starting further on (wrapping round at the end), so they differ."""
    paragraphs = book_paragraphs()
    texts = []
    for server in range(servers):
        start = server * len(paragraphs) // servers
        chosen, count = [], 0
        while count < words:
            paragraph = paragraphs[(start + len(chosen)) % len(paragraphs)]
            chosen.append(paragraph)
            count += len(paragraph.split())
        texts.append("\n\n".join(chosen) + "\n")
    return texts


def questions_for(texts: list[str], passes: int) -> list[tuple[int, str]]:
    """(server, question) for each of the books' questions with evidence, asked in each
    server whose text holds the evidence, in a fixed shuffled order, `passes` times."""
    found = []
    shown = [normalised(text) for text in texts]
    for name in ("gibbon-decline-fall-vol1.jsonl", "herodotus-history-vol1.jsonl"):
        for line in (BOOKS / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if not item["evidence"]:  # a question the books do not answer
                continue
            evidence = normalised(item["evidence"][0])[:80]
            found += [(n, item["q"]) for n, text in enumerate(shown, start=1) if evidence in text]
    asked = found * passes
    random.Random(11).shuffle(asked)
    return asked


def prepare(folder: Path, servers: int, words: int) -> list[tuple[int, str]]:
    """The upload database and every server's index, built as `/library add` builds them."""
    store = SqliteUploadStore(folder / "library.sqlite3")
    store.open()
    shipped = Library.load(SEEDS, cache_dir=folder / "shipped")
    libraries = ServerLibraries(shipped, SEEDS, store, folder / "servers", 2**40)
    texts = server_texts(servers, words)
    build_seconds = []
    for server, text in enumerate(texts, start=1):
        source = Source(id="part", title=f"A Long History, part {server}", file=Path("part.txt"))
        started = time.perf_counter()
        library = libraries.build(server, [(source, text)])
        build_seconds.append(time.perf_counter() - started)
        own = [p for p in library.passages if p.source_id == "part"]
        upload = Upload(
            server,
            "part",
            source.title,
            "part.txt",
            len(text),
            len(own),
            len({p.section for p in own}),
            1,
            "bench",
            "2024-05-01T00:00:00+00:00",
        )
        store.add(upload, text.encode(), text, max_texts=10, max_passages=10**9)
    build_seconds.sort()
    print(
        f"{len(texts)} servers, each the shipped texts + ~{words:,} words of its "
        f"own; indexing each on add: p50 {build_seconds[len(texts) // 2]:.2f} s, "
        f"max {build_seconds[-1]:.2f} s"
    )
    return questions_for(texts, 3)


RUN = r"""
import json, resource, sys, time
from pathlib import Path
from bot.libraries import Scope, ServerLibraries
from bot.uploads import SqliteUploadStore
from knowledge import Library
folder, budget = Path(sys.argv[1]), int(sys.argv[2])
asked = json.loads(sys.argv[3])
def rss():
    # Resident memory: anonymous (the process's own heap) and file-backed (mapped index
    # files, shared through the page cache and reclaimable), in bytes.
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) * 1024 for k in ("RssAnon", "RssFile")}
store = SqliteUploadStore(folder / "library.sqlite3")
shipped = Library.load(Path(sys.argv[4]), cache_dir=folder / "shipped")
libraries = ServerLibraries(shipped, Path(sys.argv[4]), store, folder / "servers", budget)
libraries.shipped_texts()
shipped.answer("who was the first head of the Cheka?")
start_rss = rss()
loads, questions = [], []
for server, question in asked:
    before = libraries.loads
    started = time.perf_counter()
    library = libraries.get(Scope(server, 1))
    loaded = time.perf_counter()
    library.answer(question)
    done = time.perf_counter()
    if libraries.loads != before:
        loads.append(loaded - started)
    questions.append(done - started)
print(json.dumps({
    "loads": loads, "questions": questions, "start_rss": start_rss,
    "end_rss": rss(),
    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "estimated": libraries.loaded_bytes, "kept": len(libraries.loaded_servers),
}))
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def run(folder: Path, budget: int, asked: list[tuple[int, str]]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(folder), str(budget), json.dumps(asked), str(SEEDS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=24)
    parser.add_argument("--words", type=int, default=50_000, help="of each server's text")
    parser.add_argument(
        "--budget-mb", default="8,3", help="budgets to compare, comma-separated (MB)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="histbot-servers-") as name:
        folder = Path(name)
        asked = prepare(folder, args.servers, args.words)
        print(f"{len(asked)} questions (the books' questions, each in its server, 3 passes)\n")
        print(
            f"{'':<16} {'loads':>5} {'load p50/max ms':>16} {'question p50/p99 ms':>20} "
            f"{'kept':>4} {'estimated MB':>12} {'heap added MB':>13} {'mapped MB':>9} "
            f"{'peak RSS MB':>11}"
        )
        budgets = [float(b) for b in args.budget_mb.split(",")]
        configurations = [("no budget", 2**40 / 2**20)] + [(f"budget {b:g} MB", b) for b in budgets]
        for label, budget_mb in configurations:
            r = run(folder, int(budget_mb * 2**20), asked)
            mb = 2**20
            heap = (r["end_rss"]["RssAnon"] - r["start_rss"]["RssAnon"]) / mb
            print(
                f"{label:<16} {len(r['loads']):>5} "
                f"{percentile(r['loads'], 0.5) * 1000:>7.0f} / {max(r['loads']) * 1000:<6.0f} "
                f"{percentile(r['questions'], 0.5) * 1000:>9.0f} / "
                f"{percentile(r['questions'], 0.99) * 1000:<8.0f} {r['kept']:>4} "
                f"{r['estimated'] / mb:>12.1f} {heap:>13.1f} {r['end_rss']['RssFile'] / mb:>9.0f} "
                f"{r['peak_rss'] / mb:>11.0f}"
            )


if __name__ == "__main__":
    main()
