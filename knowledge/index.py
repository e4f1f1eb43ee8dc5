"""The library's index: BM25 over the passages, their analysed words, and its on-disk cache.

One pass over the passages, as they are cut from the texts, stores each (knowledge.passages)
and tokenises it once (knowledge.corpus); the BM25 index of their text (body, headings, a
quotation's speaker and attribution) and the answering stage's arrays are both made from
those tokens. A passage's footnotes get a BM25 index of their own, so a question can find a
passage through its notes at a lower weight without a note ever being a passage.

Everything is written as plain arrays into one folder named by a hash of the texts, the
manifest and this format; opening it maps the arrays, so every worker process shares them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge import semantic
from knowledge.bm25 import BM25Index, BM25Params, IndexCacheError, load_mapped
from knowledge.corpus import Corpus, CorpusBuilder
from knowledge.models import Passage
from knowledge.passages import PassageStore, PassageWriter

log = logging.getLogger(__name__)

INDEX_FORMAT = 25
"""Bump when parsing, tokenisation or the index layout change: older caches are then ignored."""
NOTES_WEIGHT = 0.5
"""How much a match in a passage's footnotes counts against one in its text."""


def headings_of(passage: Passage) -> str:
    """What a passage is also found by: its section title and, for a quotation, who says it,
    where it was printed and the sentence introducing it."""
    parts = [passage.section_title]
    if passage.quotation is not None:
        q = passage.quotation
        parts += [q.speaker, q.attribution, q.introduction]
    return " ".join(part for part in parts if part)


@dataclass(slots=True)
class SearchIndex:
    """BM25 over passage texts and over their notes, the analysed corpus, and (once made)
    every sentence's vector."""

    text: BM25Index
    notes: BM25Index
    corpus: Corpus
    word_terms: np.ndarray
    """Per corpus word: its row in `text`'s vocabulary, or -1 (stop words, words no passage
    body holds)."""
    word_rows: np.ndarray
    """Per corpus word: the row of its term, stop words included ("became" is found by
    "becoming"), or -1: which words of a passage show as matching a question."""
    folder: Path | None = None
    """Where it is cached (None: in memory only)."""
    vectors_dir: Path | None = None
    """Where its texts' sentence vectors are cached, by text (libraries sharing a text, a
    server's and the shipped one say, share a folder)."""
    vectors: semantic.SentenceVectors | None = None
    """Per sentence of the corpus: its unit vector (knowledge.semantic), or None."""

    def missing_vectors(self) -> list[int]:
        """The texts (by number) whose sentences have no cached vectors yet."""
        if self.vectors_dir is None:
            return [] if self.vectors is not None else list(range(len(self.corpus.texts)))
        where = self.vectors_dir
        return [
            number
            for number, (key, count) in enumerate(self.corpus.texts)
            if semantic.open_vectors(where, key, count) is None
        ]

    def missing_sentences(self) -> int:
        return sum(self.corpus.texts[n][1] for n in self.missing_vectors())

    def add_vectors(self, passages: Sequence[Passage]) -> None:
        """Encode the sentences of every text that has no vectors yet (minutes for a book:
        the caller decides when) and keep them, in the cache when there is one."""
        owner, source_of = self.corpus.unit_passage, self.corpus.passage_source
        missing = set(self.missing_vectors())
        parts: dict[int, np.ndarray] = {}
        for number in sorted(missing):
            key, count = self.corpus.texts[number]
            sentences = (
                passages[int(owner[u])].text[int(a) : int(b)]
                for u in np.flatnonzero(source_of == number).tolist()
                for a, b in self.corpus.sentence_spans(u)
            )
            if self.vectors_dir is not None:
                semantic.write_vectors(self.vectors_dir, key, sentences, count)
            else:
                blocks = list(semantic.encode_all(sentences))
                parts[number] = np.vstack(blocks) if blocks else np.zeros((0, semantic.DIMENSIONS))
        if self.vectors_dir is not None:
            self.pick_up_vectors()
        else:
            self.vectors = semantic.SentenceVectors([parts[n] for n in range(len(parts))])

    def pick_up_vectors(self) -> bool:
        """Map the texts' vectors once every one is cached (another process may write them
        after this index was opened)."""
        if self.vectors is None and self.vectors_dir is not None:
            where, found = self.vectors_dir, []
            for key, count in self.corpus.texts:
                part = semantic.open_vectors(where, key, count)
                if part is None:
                    return False
                found.append(part)
            self.vectors = semantic.SentenceVectors(found)
        return self.vectors is not None

    @property
    def size(self) -> int:
        return self.text.size

    @property
    def typical_idf(self) -> float:
        """The median idf of the library's terms: how much a word it lacks weighs."""
        return self.text.median_idf()

    def idf(self, term: str) -> float | None:
        return self.text.idf(term)

    def has_term(self, term: str) -> bool:
        return self.text.term_id(term) is not None

    def candidates(self, weighted_terms: dict[str, float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k passages holding a query term that score best on text and (at NOTES_WEIGHT)
        notes, best first (ties: reading order).

        Scores are summed into one array over the whole library, as bm25s does: a common
        word's postings are tens of thousands of units, and merging them into a sorted union
        first cost more than scoring everything."""
        terms = list(weighted_terms)
        found = [
            (index, row)
            for index in (self.text, self.notes)
            for row in index.term_ids(terms)
            if row is not None
        ]
        if not found or k <= 0:
            return np.empty(0, np.int64), np.empty(0)
        held = np.zeros(self.text.size, dtype=bool)
        for index, row in found:
            held[index.row_postings(row)] = True
        doc_ids = np.flatnonzero(held)
        scores = self.text.scores(weighted_terms)[doc_ids]
        if any(index is self.notes for index, _ in found):  # else the notes add 0 everywhere
            scores += NOTES_WEIGHT * self.notes.scores(weighted_terms)[doc_ids]
        k = min(k, len(doc_ids))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((doc_ids[best], -scores[best]))]
        return doc_ids[best], scores[best]

    # -- what a hit shows ---------------------------------------------------------------------

    def term_rows(self, terms: Iterable[str]) -> np.ndarray:
        """The rows of the terms the library holds (for `matched_words`)."""
        return np.array([row for row in self.text.term_ids(list(terms)) if row is not None])

    def matched_words(self, passage: int, rows: np.ndarray) -> tuple[str, ...]:
        """The words of passage number `passage` (in the library) whose terms are in `rows`
        (`term_rows`), as printed, sorted: what a hit shows in bold."""
        words, spellings = self.corpus.passage_tokens(passage)
        found = np.unique(spellings[np.isin(self.word_rows[words], rows)])
        return tuple(sorted({self.corpus.surfaces.text(i) for i in found.tolist()}))

    # -- building, storing, opening -----------------------------------------------------------

    @classmethod
    def build(
        cls,
        passages: Iterable[Passage],
        params: BM25Params,
        folder: Path | None = None,
        store: PassageWriter | None = None,
    ) -> SearchIndex:
        """Index the passages unit by unit (knowledge.corpus: a long paragraph is several
        units), tokenising each once, in one pass (passages may be a generator); each passage
        is handed to `store` on the way."""
        builder = CorpusBuilder()
        sources: dict[str, int] = {}
        for number, passage in enumerate(passages):
            if store is not None:
                store.add(passage)
            source = sources.setdefault(passage.source_id, len(sources))
            notes = " ".join(passage.notes)
            builder.add(number, passage.text, headings_of(passage), source, notes)
        built = builder.finish()
        del builder
        corpus = built.corpus
        text, notes_index = (
            BM25Index.from_occurrences(
                postings.vocabulary,
                postings.rows,
                postings.units,
                corpus.size,
                params,
                folder=folder / name if folder else None,
            )
            for name, postings in (("text", built.text), ("notes", built.notes))
        )
        if folder is not None:
            corpus.save(folder)
            np.save(folder / "word-terms.npy", built.word_terms, allow_pickle=False)
            np.save(folder / "word-rows.npy", built.word_rows, allow_pickle=False)
        return cls(text, notes_index, corpus, built.word_terms, built.word_rows, folder)

    def unit_text(self, unit: int, passages: Sequence[Passage]) -> str:
        """The text of a unit: its sentences, as its passage prints them."""
        spans = self.corpus.sentence_spans(unit)
        text = passages[int(self.corpus.unit_passage[unit])].text
        return text[int(spans[0][0]) : int(spans[-1][1])] if len(spans) else ""

    @classmethod
    def open(cls, folder: Path) -> SearchIndex:
        text, notes, corpus = (
            BM25Index.open(folder / "text"),
            BM25Index.open(folder / "notes"),
            Corpus.open(folder),
        )
        try:
            word_terms, word_rows = (
                load_mapped(folder / f"word-{name}.npy") for name in ("terms", "rows")
            )
        except (OSError, ValueError) as error:
            raise IndexCacheError(f"{folder}: unreadable word arrays ({error})") from error
        words = len(corpus.words)
        if (
            len(word_terms) != words
            or len(word_rows) != words
            or not notes.size == text.size == corpus.size
        ):
            raise IndexCacheError(f"{folder}: index parts of different libraries")
        return cls(text, notes, corpus, word_terms, word_rows, folder)


def read_beside(folder: Path | None, name: str, version: int) -> dict | None:
    """A JSON file made later from the library and kept in its index folder (`write_beside`),
    or None: absent, or (with one warning line) damaged or of another version."""
    if folder is None:
        return None
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("rebuilding %s: %s", folder / name, error)
        return None
    if not isinstance(data, dict) or data.get("version") != version:
        log.warning("rebuilding %s: not version %s", folder / name, version)
        return None
    return data


def write_beside(folder: Path | None, name: str, version: int, data: dict) -> None:
    """Keep `data` as JSON in the index folder (atomically); a folder that cannot be written
    costs only the cache (one warning line)."""
    if folder is None:
        return
    try:
        fd, staging = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**data, "version": version}, handle, ensure_ascii=False)
            os.replace(staging, folder / name)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    except OSError as error:
        log.warning("could not keep %s in %s: %s", name, folder, error)


def content_key(parts: Iterable[bytes | Path], params: BM25Params) -> str:
    """A hash of the parts, this format and the parameters. A Path part stands for its
    file's bytes, read in pieces (a warm start need not hold a book in memory to check its
    cache): a plain text file and its text, encoded, give the same key."""
    digest = hashlib.sha256(f"histbot-index-{INDEX_FORMAT}-{params}".encode())
    for part in parts:
        if isinstance(part, Path):
            with part.open("rb") as handle:
                digest.update(os.fstat(handle.fileno()).st_size.to_bytes(8, "little"))
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        else:
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()[:32]


def cache_folder(cache_dir: Path, name: str, key: str) -> Path:
    """Where the index of library `name` (its texts' ids) with content key `key` is cached."""
    return cache_dir / f"index-{name}-{key}"


def load_or_build(
    cache_dir: Path | None,
    name: str,
    key: str,
    passages_of: Callable[[], Iterable[Passage]],
    params: BM25Params,
    vectors_dir: Path | None = None,
) -> tuple[PassageStore, SearchIndex]:
    """The cached passages and index for `key`, or build them (and cache them when possible).

    `name` says which library it is (its texts' ids): building replaces that library's older
    caches only, so several libraries can share a cache folder. A cache that cannot be used
    (truncated, foreign, of another format) is rebuilt with one warning line; a data folder
    that cannot be written only costs the cache. `passages_of` may give the passages one by
    one: they are stored and indexed as they come. Sentence vectors already made for its
    texts (in `vectors_dir`) are picked up."""
    passages, index = _load_or_build(cache_dir, name, key, passages_of, params)
    index.vectors_dir = vectors_dir
    index.pick_up_vectors()
    return passages, index


def _load_or_build(
    cache_dir: Path | None,
    name: str,
    key: str,
    passages_of: Callable[[], Iterable[Passage]],
    params: BM25Params,
) -> tuple[PassageStore, SearchIndex]:
    if cache_dir is not None:
        folder = cache_folder(cache_dir, name, key)
        if folder.exists():
            try:
                return _open_cached(folder)
            except IndexCacheError as error:
                log.warning("rebuilding the index: %s", error)
        try:
            return _build_cached(cache_dir, folder, passages_of, params)
        except OSError as error:
            log.warning("could not write the index cache in %s: %s", cache_dir, error)
    writer = PassageWriter(None)
    index = SearchIndex.build(passages_of(), params, store=writer)
    return writer.finish(), index


def _open_cached(folder: Path) -> tuple[PassageStore, SearchIndex]:
    index = SearchIndex.open(folder)
    passages = PassageStore.open(folder)
    units = index.corpus.unit_passage
    if len(units) and int(units[-1]) != len(passages) - 1:
        raise IndexCacheError(f"{folder}: passages and index disagree")
    return passages, index


def _build_cached(
    cache_dir: Path,
    folder: Path,
    passages_of: Callable[[], Iterable[Passage]],
    params: BM25Params,
) -> tuple[PassageStore, SearchIndex]:
    """Build into a staging folder, then rename it into place (readers never see half)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-", dir=cache_dir))
    try:
        writer = PassageWriter(staging)
        SearchIndex.build(passages_of(), params, staging, store=writer)
        writer.finish()
        _sync_files(staging)
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    library = folder.name.rsplit("-", 1)[0]
    for old in cache_dir.glob(f"{library}-*"):  # this library's older caches: no growth
        if old != folder:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return _open_cached(folder)


def _sync_files(folder: Path) -> None:
    """Every file of the folder on disk before its rename makes it visible (the BM25 parts
    sync their own)."""
    for path in folder.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
