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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.bm25 import BM25Index, BM25Params, IndexCacheError
from knowledge.corpus import Corpus, CorpusBuilder
from knowledge.models import Passage
from knowledge.text import terms

log = logging.getLogger(__name__)

INDEX_FORMAT = 20
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


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """BM25 over passage texts and over their notes, and the analysed corpus."""

    text: BM25Index
    notes: BM25Index
    corpus: Corpus
    word_terms: np.ndarray
    """Per corpus word: its row in `text`'s vocabulary, or -1 (stop words, words no passage
    body holds)."""

    @property
    def size(self) -> int:
        return self.text.size

    def idf(self, term: str) -> float | None:
        return self.text.idf(term)

    def has_term(self, term: str) -> bool:
        return self.text.term_id(term) is not None

    def candidates(self, weighted_terms: dict[str, float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k passages scoring best on text and (at NOTES_WEIGHT) notes, best first."""
        scores = self.text.scores(weighted_terms)
        if self.notes.size:
            scores = scores + NOTES_WEIGHT * self.notes.scores(weighted_terms)
        k = min(k, self.size)
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return best, scores[best]

    # -- building, storing, opening -----------------------------------------------------------

    @classmethod
    def build(
        cls, passages: Sequence[Passage], params: BM25Params, folder: Path | None = None
    ) -> SearchIndex:
        builder = CorpusBuilder()
        source_number: dict[str, int] = {}
        documents = (
            builder.add(
                p.text, headings_of(p), source_number.setdefault(p.source_id, len(source_number))
            )
            for p in passages
        )
        text = BM25Index.build(documents, params, folder=folder / "text" if folder else None)
        notes = BM25Index.build(
            (terms(" ".join(p.notes)) for p in passages),
            params,
            folder=folder / "notes" if folder else None,
        )
        corpus = builder.finish()
        word_terms = _word_terms(corpus, text)
        if folder is not None:
            corpus.save(folder)
            np.save(folder / "word-terms.npy", word_terms, allow_pickle=False)
        return cls(text, notes, corpus, word_terms)

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
        return cls(text, notes, corpus, word_terms)


def _word_terms(corpus: Corpus, text: BM25Index) -> np.ndarray:
    rows = text.term_ids([corpus.term_of(w) for w in range(len(corpus.words))])
    return np.array([-1 if r is None else r for r in rows], dtype=np.int32)


def content_key(parts: Iterable[bytes], params: BM25Params) -> str:
    digest = hashlib.sha256(f"histbot-index-{INDEX_FORMAT}-{params}".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()[:32]


def cache_folder(cache_dir: Path, key: str) -> Path:
    """Where the index of the texts with content key `key` is cached."""
    return cache_dir / f"index-{key}"


def load_or_build(
    cache_dir: Path | None, key: str, passages_of: Callable[[], list[Passage]], params: BM25Params
) -> tuple[list[Passage], SearchIndex]:
    """The cached passages and index for `key`, or build them (and cache them when possible).

    A cache that cannot be used (truncated, foreign, of another format) is rebuilt with one
    warning line; a data folder that cannot be written only costs the cache."""
    if cache_dir is not None:
        folder = cache_folder(cache_dir, key)
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
    if not isinstance(passages, list) or len(passages) != index.size:
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
    for old in cache_dir.glob("index-*"):  # caches of older texts: the folder must not grow
        if old != folder:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return _open_cached(folder)
