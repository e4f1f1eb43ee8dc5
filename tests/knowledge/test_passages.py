"""The passages as the index cache keeps them (memory-mapped arrays, each Passage made when
asked for): the same passages the texts were cut into, found by reference and section
without making them all, and a damaged file rebuilt with one warning line."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from knowledge import Library, Passage
from knowledge.passages import PassageStore
from knowledge.sources import cut_passages, read_manifest, read_text
from knowledge.text import words

REPO = Path(__file__).resolve().parents[2]
BOOKS = REPO / "benchmarks" / "data" / "books"
SEEDS = REPO / "seeds"


@pytest.fixture(scope="module")
def cut() -> list[Passage]:
    """The two Gutenberg books' passages, as parsing cuts them (notes, quotations, parts)."""
    sources = read_manifest(BOOKS)
    return cut_passages(sources, [read_text(source) for source in sources])


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Library:
    cache = tmp_path_factory.mktemp("books-cache")
    Library.load(BOOKS, cache_dir=cache, encode_limit=0)  # built and cached...
    return Library.load(BOOKS, cache_dir=cache, encode_limit=0)  # ...and opened


def test_cached_passages_are_the_passages_cut_from_the_texts(
    books: Library, cut: list[Passage]
) -> None:
    assert isinstance(books.passages, PassageStore)
    assert len(books.passages) == len(cut) > 1000
    assert list(books.passages) == cut
    assert any(p.notes for p in cut) and any(p.quotation for p in cut)
    assert any(p.divisions for p in cut)
    assert books.passages[-1] == cut[-1] and books.passages[10:13] == cut[10:13]
    with pytest.raises(IndexError):
        books.passages[len(cut)]


def test_references_sections_and_neighbours_as_the_passages_say(
    books: Library, cut: list[Passage]
) -> None:
    rng = random.Random(4)
    for passage in rng.sample(cut, 200):
        assert books.passage(passage.ref) == passage
        before = books.previous(passage.ref)
        assert before == (cut[passage.position - 1] if before else None)
    grouped: dict[tuple[str, int], list[Passage]] = {}
    for passage in cut:
        grouped.setdefault((passage.source_id, passage.section), []).append(passage)
    assert [
        (s.source_id, s.number, s.title, s.passage_count, s.first_ref) for s in books.sections()
    ] == [
        (src, number, group[0].section_title, len(group), group[0].ref)
        for (src, number), group in grouped.items()
    ]
    assert [ref for ref, _ in books.complete("gibbon:2", 40)] == [
        p.ref for p in cut if p.ref.startswith("gibbon:2")
    ][:40]
    assert books.complete("herodotus:1.1")[0][0] == "herodotus:1.1"


def test_a_hit_shows_the_passage_words_the_question_matched(library: Library) -> None:
    """Bold words are read off the index's tokens; they are what tokenising the passage
    again would find."""
    for question in ("Who succeeded Dzerzhinsky?", "When did the Cheka become the GPU?"):
        for hit in library.search(question, limit=5):
            terms = set(library._ranked_hits(question, 5)[0].terms)
            expected = sorted({t.surface for t in words(hit.passage.text) if t.term in terms})
            assert list(hit.matched_terms) == expected and expected


def test_a_store_refuses_passages_it_could_not_give_back(cut: list[Passage]) -> None:
    renamed = dataclasses.replace(cut[0], ref="gibbon:99.1")
    with pytest.raises(ValueError, match=r"gibbon:99\.1"):
        PassageStore.from_passages([renamed])
    assert list(PassageStore.from_passages(cut[:50])) == cut[:50]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(0, path.stat().st_size // 2)])


def _out_of_range(path: Path) -> None:
    values = np.load(path)
    values[-1] = 10**6
    np.save(path, values)


def _foreign_version(path: Path) -> None:
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["version"] = 0
    path.write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("passages.json", _foreign_version),
        ("passages.json", lambda path: path.write_text("{", encoding="utf-8")),
        ("passage-text.bin", _truncate),
        ("passage-text-offsets.npy", _truncate),
        ("passage-notes.bin", lambda path: path.unlink()),
        ("passage-section.npy", _out_of_range),
        ("passage-quotation.npy", _out_of_range),
        ("corpus-token_surfaces.npy", _truncate),
        ("corpus-surface_blob.npy", _truncate),
        ("word-rows.npy", lambda path: path.write_bytes(b"damaged")),
    ],
)
def test_a_damaged_cache_file_is_rebuilt_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, damage
) -> None:
    cache = tmp_path / "cache"
    expected = list(Library.load(SEEDS, cache_dir=cache, encode_limit=0).passages)
    (folder,) = cache.glob("index-*")
    damage(folder / name)  # (never while a library maps it: damaged in place, that is SIGBUS)
    with caplog.at_level(logging.WARNING):
        again = Library.load(SEEDS, cache_dir=cache, encode_limit=0)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rebuilding the index" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert list(again.passages) == expected
    assert again.answer("Who succeeded Dzerzhinsky?").best is not None
