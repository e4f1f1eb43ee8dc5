"""The library's index: BM25 over the passages, their analysed words, and its on-disk cache.

One pass over the passages tokenises each once and feeds both the BM25 index of their text
(body, headings, a quotation's speaker and attribution) and the corpus arrays the answering
stage reads. A passage's footnotes get a BM25 index of their own, so a question can find a
passage through its notes at a lower weight without a note ever being a passage.

Everything is written as plain arrays into one folder named by a hash of the texts, the
manifest and this format; opening it maps the arrays, so every worker process shares them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge import semantic
from knowledge.bm25 import BM25Index, BM25Params, IndexCacheError
from knowledge.corpus import Corpus, CorpusBuilder
from knowledge.models import Passage
from knowledge.text import terms

log = logging.getLogger(__name__)

INDEX_FORMAT = 24
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
        notes, best first (ties: reading order)."""
        held = [self.text.postings(t) for t in weighted_terms]
        held += [self.notes.postings(t) for t in weighted_terms]
        held = [ids for ids in held if len(ids)]
        if not held or k <= 0:
            return np.empty(0, np.int64), np.empty(0)
        doc_ids = np.unique(np.concatenate(held)).astype(np.int64)
        scores = self.text.scores(weighted_terms, doc_ids)
        if self.notes.size:
            scores += NOTES_WEIGHT * self.notes.scores(weighted_terms, doc_ids)
        k = min(k, len(doc_ids))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((doc_ids[best], -scores[best]))]
        return doc_ids[best], scores[best]

    # -- building, storing, opening -----------------------------------------------------------

    @classmethod
    def build(
        cls, passages: Sequence[Passage], params: BM25Params, folder: Path | None = None
    ) -> SearchIndex:
        """Index the passages unit by unit (knowledge.corpus: a long paragraph is several
        units), tokenising each once."""
        builder = CorpusBuilder()
        sources: dict[str, int] = {}

        def units() -> Iterator[list[str]]:
            for number, passage in enumerate(passages):
                source = sources.setdefault(passage.source_id, len(sources))
                yield from builder.add(number, passage.text, headings_of(passage), source)

        text = BM25Index.build(units(), params, folder=folder / "text" if folder else None)
        corpus = builder.finish()

        def notes() -> Iterator[list[str]]:
            last, found = -1, []
            for number in corpus.unit_passage.tolist():
                if number != last:
                    last, found = number, terms(" ".join(passages[number].notes))
                yield found

        notes_index = BM25Index.build(notes(), params, folder=folder / "notes" if folder else None)
        word_terms = _word_terms(corpus, text)
        if folder is not None:
            corpus.save(folder)
            np.save(folder / "word-terms.npy", word_terms, allow_pickle=False)
        return cls(text, notes_index, corpus, word_terms, folder)

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
            word_terms = np.load(folder / "word-terms.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise IndexCacheError(f"{folder}: unreadable word-terms.npy ({error})") from error
        if len(word_terms) != len(corpus.words) or notes.size != text.size != corpus.size:
            raise IndexCacheError(f"{folder}: index parts of different libraries")
        return cls(text, notes, corpus, word_terms, folder)


def _word_terms(corpus: Corpus, text: BM25Index) -> np.ndarray:
    rows = text.term_ids([corpus.term_of(w) for w in range(len(corpus.words))])
    return np.array([-1 if r is None else r for r in rows], dtype=np.int32)


def content_key(parts: Iterable[bytes], params: BM25Params) -> str:
    digest = hashlib.sha256(f"histbot-index-{INDEX_FORMAT}-{params}".encode())
    for part in parts:
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
    passages_of: Callable[[], list[Passage]],
    params: BM25Params,
    vectors_dir: Path | None = None,
) -> tuple[list[Passage], SearchIndex]:
    """The cached passages and index for `key`, or build them (and cache them when possible).

    `name` says which library it is (its texts' ids): building replaces that library's older
    caches only, so several libraries can share a cache folder. A cache that cannot be used
    (truncated, foreign, of another format) is rebuilt with one warning line; a data folder
    that cannot be written only costs the cache. Sentence vectors already made for its texts
    (in `vectors_dir`) are picked up."""
    passages, index = _load_or_build(cache_dir, name, key, passages_of, params)
    index.vectors_dir = vectors_dir
    index.pick_up_vectors()
    return passages, index


def _load_or_build(
    cache_dir: Path | None,
    name: str,
    key: str,
    passages_of: Callable[[], list[Passage]],
    params: BM25Params,
) -> tuple[list[Passage], SearchIndex]:
    if cache_dir is not None:
        folder = cache_folder(cache_dir, name, key)
        if folder.exists():
            try:
                return _open_cached(folder)
            except IndexCacheError as error:
                log.warning("rebuilding the index: %s", error)
        try:
            return _build_cached(cache_dir, folder, passages_of(), params)
        except OSError as error:
            log.warning("could not write the index cache in %s: %s", cache_dir, error)
    passages = passages_of()
    return passages, SearchIndex.build(passages, params)


def _open_cached(folder: Path) -> tuple[list[Passage], SearchIndex]:
    index = SearchIndex.open(folder)
    try:
        with (folder / "passages.pickle").open("rb") as handle:
            passages = pickle.load(handle)
    except Exception as error:  # a truncated or foreign file: rebuild rather than fail
        raise IndexCacheError(f"{folder}: unreadable passages ({error})") from error
    units_agree = (
        len(index.corpus.unit_passage) == 0 or index.corpus.unit_passage[-1] == len(passages) - 1
    )
    if not isinstance(passages, list) or not units_agree:
        raise IndexCacheError(f"{folder}: passages and index disagree")
    return passages, index


def _build_cached(
    cache_dir: Path, folder: Path, passages: list[Passage], params: BM25Params
) -> tuple[list[Passage], SearchIndex]:
    """Build into a staging folder, then rename it into place (readers never see half)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-", dir=cache_dir))
    try:
        SearchIndex.build(passages, params, staging)
        with (staging / "passages.pickle").open("wb") as handle:
            pickle.dump(passages, handle, protocol=pickle.HIGHEST_PROTOCOL)
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
