"""The BM25 index over passages, and its on-disk cache.

rank-bm25 scores every document for every query (`get_scores`), which is linear in the
library. We keep an inverted index of our own (term -> passages that contain it) and ask
rank-bm25 to score only those candidates (`get_batch_scores`), so a question costs what its
terms' postings cost, not what the library costs.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import logging
import math
import os
import pickle
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from knowledge.models import Passage
from knowledge.text import STOP_WORDS, split_sentences, terms, words

log = logging.getLogger(__name__)

MAX_CANDIDATES = 5_000
"""Upper bound (roughly) on passages scored for one question, whatever the library's size."""

# Bump when parsing, tokenisation or index layout change: old caches are then ignored.
INDEX_FORMAT = 19  # passages carry divisions and notes


@dataclass(frozen=True, slots=True)
class BM25Params:
    """Ranking parameters, chosen by measurement with benchmarks/retrieval.py."""

    variant: str = "bm25plus"
    k1: float = 1.5
    b: float = 0.9
    delta: float = 0.5  # BM25L / BM25+ only

    def build(self, corpus: list[list[str]]) -> BM25Okapi | BM25L | BM25Plus:
        if self.variant == "okapi":
            return BM25Okapi(corpus, k1=self.k1, b=self.b)
        if self.variant == "bm25l":
            return BM25L(corpus, k1=self.k1, b=self.b, delta=self.delta)
        if self.variant == "bm25plus":
            return BM25Plus(corpus, k1=self.k1, b=self.b, delta=self.delta)
        raise ValueError(f"unknown BM25 variant {self.variant!r}")


def bigrams(sequence: Sequence[str]) -> list[str]:
    """Adjacent content terms as one term, in either order ("first head", "Dzerzhinsky’s
    successor" ~ "succeeded Dzerzhinsky"): rewards words that stand together."""
    return [pair(a, b) for a, b in itertools.pairwise(sequence)]


def pair(a: str, b: str) -> str:
    return f"{a}_{b}" if a <= b else f"{b}_{a}"


def passage_terms(passage: Passage) -> list[str]:
    """What a passage is indexed under: its words and word pairs, its section title, and for
    a quotation who says it, where it is printed and the sentence that introduces it."""
    body = terms(passage.text)
    result = body + terms(passage.section_title)
    for sentence in split_sentences(passage.text):
        result += bigrams(terms(sentence))
    if passage.quotation is not None:
        q = passage.quotation
        result += terms(f"{q.speaker} {q.attribution} {q.introduction}")
    return result


def _vocabulary(passages: Sequence[Passage]) -> tuple[frozenset[str], dict[str, str]]:
    """In one pass over the words: the names (terms always written capitalised where a
    sentence does not start: Beria, NKVD), and the folded words -> their terms (for typo
    tolerance on names)."""
    capitalised: set[str] = set()
    lowercase: set[str] = set()
    surface_terms: dict[str, str] = {}
    for passage in passages:
        text = passage.text
        for token in words(text):
            if len(token.folded) >= 4 and token.folded not in STOP_WORDS:
                surface_terms.setdefault(token.folded, token.term)
            if token.surface[:1].islower():
                lowercase.add(token.term)
                continue
            before = text[: token.start].rstrip(" “”‘’\"'([—-")
            if before and before[-1] not in ".!?:;\n":
                capitalised.add(token.term)
        for token in words(passage.section_title):
            if len(token.folded) >= 4 and token.folded not in STOP_WORDS:
                surface_terms.setdefault(token.folded, token.term)
    return frozenset(capitalised - lowercase), surface_terms


class SearchIndex:
    """BM25 over the passages, plus the postings and vocabulary queries are checked against."""

    def __init__(self, passages: Sequence[Passage], params: BM25Params | None = None) -> None:
        self.params = params or BM25Params()
        corpus = [passage_terms(p) or ["\x00empty"] for p in passages]
        self.bm25 = self.params.build(corpus)
        postings: dict[str, list[int]] = defaultdict(list)
        for doc_id, doc in enumerate(corpus):
            for term in set(doc):
                postings[term].append(doc_id)
        self.postings: dict[str, np.ndarray] = {
            term: np.asarray(ids, dtype=np.int32) for term, ids in postings.items()
        }
        # Folded surface words -> their index term, for typo tolerance on names.
        self.names, self.surface_terms = _vocabulary(passages)
        self.vocabulary = sorted(term for term in self.postings if "_" not in term)
        self.size = len(corpus)
        self.max_idf = max(self.bm25.idf.values(), default=1.0)
        idfs = sorted(self.bm25.idf.values())
        self.typical_idf = idfs[len(idfs) // 2] if idfs else 1.0
        """The median idf: how much a word the library lacks weighs in a question."""

    def family(self, term: str) -> list[str]:
        """Library terms derived from the same root ("succeed" -> "successor", "success").

        Snowball removes inflections, not derivations; a shared prefix of most of the word
        catches the derivations a question and a text so often differ by."""
        if len(term) < 5 or not term.isalpha():
            return []
        prefix = term[: max(5, math.ceil(0.7 * len(term)))]
        start = bisect.bisect_left(self.vocabulary, prefix)
        found = []
        for candidate in self.vocabulary[start : start + 50]:
            if not candidate.startswith(prefix):
                break
            if candidate != term:
                found.append(candidate)
        return found

    def has_term(self, term: str) -> bool:
        return term in self.postings

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term the library lacks counts as the rarest."""
        return float(self.bm25.idf.get(term, self.max_idf))

    def candidates(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """Passages worth scoring: those holding the query terms that can add most to a score.

        Terms are taken by the most they can contribute (weight x idf), and their postings
        gathered until MAX_CANDIDATES; a passage holding only the commonest words of a long
        question cannot outrank one holding its rare words, so it is not scored at all."""
        present = [t for t in weighted_terms if t in self.postings and weighted_terms[t] > 0]
        present.sort(key=lambda t: weighted_terms[t] * self.idf(t), reverse=True)
        arrays: list[np.ndarray] = []
        gathered = 0
        for term in present:
            postings = self.postings[term]
            if arrays and gathered + len(postings) > MAX_CANDIDATES:
                continue
            arrays.append(postings)
            gathered += len(postings)
        if not arrays:
            return np.empty(0, dtype=np.int32)
        return np.unique(np.concatenate(arrays))

    def score(self, weighted_terms: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of the passages containing any query term: (doc ids, scores)."""
        doc_ids = self.candidates(weighted_terms)
        if doc_ids.size == 0:
            return doc_ids, np.empty(0)
        id_list = doc_ids.tolist()
        total = np.zeros(len(id_list))
        for term, weight in weighted_terms.items():
            if term in self.postings and weight > 0:
                total += weight * np.asarray(self.bm25.get_batch_scores([term], id_list))
        return doc_ids, total


def content_key(parts: Iterable[bytes], params: BM25Params) -> str:
    digest = hashlib.sha256(f"histbot-index-{INDEX_FORMAT}-{params}".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()[:32]


def load_cached(cache_dir: Path, key: str) -> tuple[list[Passage], SearchIndex] | None:
    path = cache_dir / f"index-{key}.pickle"
    try:
        with path.open("rb") as handle:
            passages, index = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: rebuild rather than fail
        log.warning("ignoring unreadable index cache %s: %s", path, exc)
        return None
    if not isinstance(index, SearchIndex) or len(passages) != index.size:
        log.warning("ignoring inconsistent index cache %s", path)
        return None
    return passages, index


def store_cached(cache_dir: Path, key: str, passages: list[Passage], index: SearchIndex) -> None:
    """Write atomically, and drop caches of older texts so the folder does not grow."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((passages, index), handle, protocol=pickle.HIGHEST_PROTOCOL)
        final = cache_dir / f"index-{key}.pickle"
        os.replace(tmp, final)
        for old in cache_dir.glob("index-*.pickle"):
            if old != final:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only data folder must not stop the bot
        log.warning("could not write index cache in %s: %s", cache_dir, exc)


def folded_phrase(text: str) -> str:
    """Words of a text, folded and space-joined: for exact phrase matching."""
    return " ".join(token.folded for token in words(text))
