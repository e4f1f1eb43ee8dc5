"""BM25+ scoring over a term-major sparse matrix, stored as plain memory-mapped arrays.

The scores are exactly rank-bm25's `BM25Plus.get_scores` (its idf, k1, b and delta), but
computed the way bm25s does: every posting's weight is precomputed at build time in a CSR
matrix (row = term, columns = documents), so a question costs a few row reads, one scatter-add
and a partial sort, whatever the library's size; no Python loop runs over documents.

The index lives in a folder of `.npy` arrays plus `meta.json`, opened with
`np.load(mmap_mode="r")`: every worker process maps the same files, the page cache holds one
copy, and a warm start reads only the pages a question touches.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

from knowledge.files import load_mapped
from knowledge.strings import PREFIX_DTYPE, SortedStrings

FORMAT = "histbot-bm25"
FORMAT_VERSION = 1
"""Bump when the layout or the meaning of an array changes: older folders then fail to open."""

META = "meta.json"


class IndexCacheError(Exception):
    """An index folder that cannot be used (missing, truncated, foreign or inconsistent);
    the message is one line naming the folder, and the caller rebuilds."""


@dataclass(frozen=True)
class BM25Params:
    """rank-bm25's BM25Plus parameters (its defaults differ: b=0.75, delta=1)."""

    k1: float = 1.5
    b: float = 0.9
    delta: float = 0.5

    def __post_init__(self) -> None:
        if not (self.k1 >= 0 and 0 <= self.b <= 1 and self.delta >= 0):
            raise ValueError(f"BM25 parameters out of range: {self}")


class BM25Index:
    """Documents' BM25+ scores for weighted query terms; build once, open memory-mapped."""

    # name -> dtype of every array on disk; shapes are checked against meta.json.
    _DTYPES: ClassVar[dict[str, np.dtype]] = {
        "vocabulary": np.dtype(np.uint8),  # sorted terms, UTF-8, concatenated
        "vocabulary_offsets": np.dtype(np.int64),  # term t is vocabulary[off[t]:off[t+1]]
        "vocabulary_prefixes": PREFIX_DTYPE,  # term t's first 8 bytes, for searchsorted
        "indptr": np.dtype(np.int64),  # term t's postings are [indptr[t], indptr[t+1])
        "doc_ids": np.dtype(np.int32),  # per posting: the document, ascending in a row
        "tf": np.dtype(np.int32),  # per posting: the term's count in the document
        "weights": np.dtype(np.float64),  # per posting: idf * (k1+1) tf / (tf + k1 norm)
    }

    def __init__(self, arrays: Mapping[str, np.ndarray], params: BM25Params, size: int) -> None:
        self.params = params
        self.size = size
        self._indptr = arrays["indptr"]
        self._doc_ids = arrays["doc_ids"]
        self._tf = arrays["tf"]
        self._weights = arrays["weights"]
        self._median_idf: float | None = None
        self._terms = SortedStrings(
            arrays["vocabulary"], arrays["vocabulary_offsets"], arrays["vocabulary_prefixes"]
        )

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        documents: Iterable[Sequence[str]],
        params: BM25Params,
        *,
        folder: Path | None = None,
    ) -> BM25Index:
        """Index documents (lists of terms, repeats = term frequency) in one streaming pass.

        Only compact typed arrays of (term id, doc id, tf) grow while reading, never a list per
        document. With `folder`, the arrays are written there atomically and the returned
        index is the memory-mapped one, so the builder shares pages with other readers too.
        """
        from scipy import sparse  # building only: a process that opens an index never needs it

        vocabulary: dict[str, int] = {}
        # C ints: np.intc below. Per posting 12 bytes, against ~100 for a tuple of ints.
        term_ids, doc_ids, tfs, lengths = array("i"), array("i"), array("i"), array("q")
        for doc_id, document in enumerate(documents):
            if isinstance(document, str):
                raise TypeError(f"document {doc_id} is a string, not a sequence of terms")
            counts = Counter(document)
            lengths.append(len(document))
            term_ids.extend([vocabulary.setdefault(t, len(vocabulary)) for t in counts])
            doc_ids.extend(repeat(doc_id, len(counts)))
            tfs.extend(counts.values())
        size = len(lengths)
        arrays, rank = _vocabulary_arrays(vocabulary)
        del vocabulary
        # scipy's COO -> CSR is a linear, stable counting sort: documents stay ascending.
        rows = rank[np.frombuffer(term_ids, np.intc)]
        matrix = sparse.csr_array(
            (np.frombuffer(tfs, np.intc), (rows, np.frombuffer(doc_ids, np.intc))),
            shape=(len(rank), size),
        )
        del term_ids, doc_ids, tfs, rank, rows  # the build's peak is the CSR and the weights only
        arrays |= _posting_arrays(matrix, np.frombuffer(lengths, np.int64), params)
        return cls._finished(arrays, params, size, folder)

    @classmethod
    def from_occurrences(
        cls,
        vocabulary: Sequence[str],
        rows: np.ndarray,
        docs: np.ndarray,
        size: int,
        params: BM25Params,
        *,
        folder: Path | None = None,
    ) -> BM25Index:
        """Index `size` documents given as term occurrences, all at once: the term at
        position rows[i] of `vocabulary` (sorted, each term occurring somewhere) occurs in
        document docs[i]; repeats are its frequency. The same index as `build` gives for the
        same documents, made without a Python loop (the library's index, from its corpus)."""
        from scipy import sparse  # building only: a process that opens an index never needs it

        if list(vocabulary) != sorted(set(vocabulary)):
            raise ValueError("the vocabulary must be sorted, without repeats")
        arrays, _ = _vocabulary_arrays(dict(zip(vocabulary, range(len(vocabulary)), strict=True)))
        rows = np.asarray(rows, dtype=np.intc)
        docs = np.asarray(docs, dtype=np.intc)
        # Built from COO: scipy sums the repeats (term frequencies) and sorts each row.
        matrix = sparse.csr_array(
            (np.ones(len(rows), np.intc), (rows, docs)), shape=(len(vocabulary), size)
        )
        lengths = np.bincount(docs, minlength=size).astype(np.int64)
        arrays |= _posting_arrays(matrix, lengths, params)
        return cls._finished(arrays, params, size, folder)

    @classmethod
    def _finished(
        cls, arrays: dict[str, np.ndarray], params: BM25Params, size: int, folder: Path | None
    ) -> BM25Index:
        if folder is None:
            for values in arrays.values():
                values.flags.writeable = False  # postings() hands out views, as when mapped
            return cls(arrays, params, size)
        _write_atomically(Path(folder), arrays, _meta(params, size, arrays))
        return cls.open(Path(folder))

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path) -> BM25Index:
        """Map a folder written by `build`; cheap checks only (O(1) reads per array), so a
        warm start stays fast, but any truncated, foreign or mismatched file is refused."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
                raise IndexCacheError(
                    f"{folder}: index format {meta.get('format')!r} version "
                    f"{meta.get('version')!r}, expected {FORMAT!r} version {FORMAT_VERSION}"
                )
            params = BM25Params(**meta["params"])
            size, n_terms, nnz, n_bytes = (
                int(meta[k]) for k in ("documents", "terms", "postings", "vocabulary_bytes")
            )
            shapes = {
                "vocabulary": n_bytes,
                "vocabulary_offsets": n_terms + 1,
                "vocabulary_prefixes": n_terms,
                "indptr": n_terms + 1,
                "doc_ids": nnz,
                "tf": nnz,
                "weights": nnz,
            }
            arrays = {name: _load(folder, name, t, shapes[name]) for name, t in cls._DTYPES.items()}
        except IndexCacheError:
            raise
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise IndexCacheError(f"{folder}: unreadable BM25 index ({message})") from error
        ends = (arrays["indptr"], nnz), (arrays["vocabulary_offsets"], n_bytes)
        if any(a[0] != 0 or a[-1] != end for a, end in ends):
            raise IndexCacheError(f"{folder}: BM25 index arrays disagree with {META}")
        return cls(arrays, params, size)

    # -- queries --------------------------------------------------------------------------

    def term_id(self, term: str) -> int | None:
        """The term's row, or None if no document holds it."""
        return self._terms.find([term])[0]

    def term_ids(self, terms: Sequence[str]) -> list[int | None]:
        """Each term's row (None where no document holds it), in one vectorised lookup."""
        return self._terms.find(list(terms))

    def terms_starting_with(self, prefix: str, limit: int = 50) -> list[str]:
        return self._terms.starting_with(prefix, limit)

    def doc_freq(self, term: str) -> int:
        t = self.term_id(term)
        return 0 if t is None else int(self._indptr[t + 1] - self._indptr[t])

    def idf(self, term: str) -> float | None:
        """rank-bm25's BM25Plus idf, log((N + 1) / df); None for a term no document holds."""
        df = self.doc_freq(term)
        return math.log((self.size + 1) / df) if df else None

    def median_idf(self) -> float:
        """The median idf over the vocabulary (0 for an empty index)."""
        if self._median_idf is None:
            doc_freq = np.diff(self._indptr)
            self._median_idf = (
                float(np.median(np.log((self.size + 1) / doc_freq))) if len(doc_freq) else 0.0
            )
        return self._median_idf

    def postings(self, term: str) -> np.ndarray:
        """Ids of the documents holding the term, ascending."""
        return self._row(term, self._doc_ids)

    def row_postings(self, row: int) -> np.ndarray:
        """Ids of the documents holding the term in row `row` (see `term_ids`), ascending."""
        return np.asarray(self._doc_ids[self._indptr[row] : self._indptr[row + 1]])

    def term_frequencies(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document ids, how often the term occurs in each)."""
        return self._row(term, self._doc_ids), self._row(term, self._tf)

    def scores(
        self, weighted_terms: Mapping[str, float], doc_ids: np.ndarray | None = None
    ) -> np.ndarray:
        """Sum over terms of weight x rank-bm25's per-term BM25+ score, for every document
        (doc_ids None) or for the given ones, in their order.

        rank-bm25 adds idf * delta for every query term to every document, holding the term
        or not; that is one constant added to all scores here.
        """
        rows = self._rows(weighted_terms)
        shift = self.params.delta * sum(w * self._idf_of_row(t) for t, w in rows)
        if doc_ids is None:
            result = np.full(self.size, shift)
            for t, w in rows:
                lo, hi = self._indptr[t], self._indptr[t + 1]
                # numpy >= 1.25's add.at: measured faster than fancy-index += or bincount.
                np.add.at(result, self._doc_ids[lo:hi], w * self._weights[lo:hi])
            return result
        wanted = np.asarray(doc_ids, dtype=np.int64).reshape(-1)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= self.size):
            raise IndexError(f"document ids must lie in [0, {self.size})")
        result = np.full(wanted.size, shift)
        for t, w in rows:
            lo, hi = self._indptr[t], self._indptr[t + 1]
            row = self._doc_ids[lo:hi]
            at = np.minimum(np.searchsorted(row, wanted), hi - lo - 1)
            held = row[at] == wanted
            result[held] += w * self._weights[lo + at[held]]
        return result

    def top(self, weighted_terms: Mapping[str, float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best k (document ids, scores), best first, ties broken by the lower id.

        The k-th best score of any sample is at most the k-th best overall, so a strided
        sample's gives a floor that leaves few candidates; the partial sort runs on those.
        All candidates above the k-th best, then the lowest ids equal to it, are the answer,
        so the tie rule holds at the cut too.
        """
        scores = self.scores(weighted_terms)
        k = min(max(k, 0), self.size)
        if k == 0:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        sample = scores[:: max(1, self.size // (64 * k))]
        floor = np.partition(sample, sample.size - k)[sample.size - k]
        candidates = np.flatnonzero(scores >= floor)
        held = scores[candidates]
        cut = np.partition(held, held.size - k)[held.size - k]
        above = candidates[held > cut]
        chosen = np.concatenate([above, candidates[held == cut][: k - above.size]])
        chosen = chosen[np.lexsort((chosen, -scores[chosen]))]
        return chosen, scores[chosen]

    # -- internals ------------------------------------------------------------------------

    def _rows(self, weighted_terms: Mapping[str, float]) -> list[tuple[int, float]]:
        """(row, weight) of the query terms some document holds; the others score 0."""
        for term, weight in weighted_terms.items():
            if not math.isfinite(weight):
                raise ValueError(f"weight of {term!r} is not a finite number: {weight!r}")
        found = self._terms.find(list(weighted_terms))
        weights = weighted_terms.values()
        return [(t, float(w)) for t, w in zip(found, weights, strict=True) if t is not None]

    def _idf_of_row(self, t: int) -> float:
        return math.log((self.size + 1) / int(self._indptr[t + 1] - self._indptr[t]))

    def _row(self, term: str, values: np.ndarray) -> np.ndarray:
        t = self.term_id(term)
        if t is None:
            return values[:0].copy()
        return np.asarray(values[self._indptr[t] : self._indptr[t + 1]])


def _vocabulary_arrays(vocabulary: dict[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The vocabulary's arrays, sorted, and each build-time id's row in that order."""
    sorted_terms = sorted(vocabulary)
    rank = np.empty(len(sorted_terms), np.int32)
    rank[[vocabulary[t] for t in sorted_terms]] = np.arange(len(sorted_terms), dtype=np.int32)
    blob, offsets, prefixes = SortedStrings.encode_sorted(sorted_terms)
    return {
        "vocabulary": blob,
        "vocabulary_offsets": offsets,
        "vocabulary_prefixes": prefixes,
    }, rank


def _posting_arrays(
    matrix: sparse.csr_array, lengths: np.ndarray, params: BM25Params
) -> dict[str, np.ndarray]:
    """The CSR's arrays, and each posting's weight: rank-bm25's BM25Plus term score less its
    delta part (idf * delta does not depend on tf; `scores` adds it for every query term).

    Computed in place, so the build holds one float array per posting, not four.
    """
    size = len(lengths)
    indptr = matrix.indptr.astype(np.int64, copy=False)
    doc_ids = matrix.indices.astype(np.int32, copy=False)
    tf = matrix.data.astype(np.int32, copy=False)
    avgdl = float(lengths.sum()) / size if size else 1.0
    doc_freq = np.diff(indptr)
    idf = np.log((size + 1) / np.maximum(doc_freq, 1))  # rank-bm25: log((N + 1) / df)
    norm = params.k1 * (1 - params.b + params.b * lengths / (avgdl or 1.0))
    weights = norm[doc_ids]
    weights += tf
    np.divide(tf, weights, out=weights)  # tf / (tf + k1 * (1 - b + b * dl / avgdl))
    weights *= np.repeat(idf * (params.k1 + 1), doc_freq)
    return {"indptr": indptr, "doc_ids": doc_ids, "tf": tf, "weights": weights}


def _meta(params: BM25Params, size: int, arrays: Mapping[str, np.ndarray]) -> dict:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "params": asdict(params),
        "documents": size,
        "terms": len(arrays["indptr"]) - 1,
        "postings": len(arrays["doc_ids"]),
        "vocabulary_bytes": len(arrays["vocabulary"]),
    }


def _load(folder: Path, name: str, dtype: np.dtype, length: int) -> np.ndarray:
    path = folder / f"{name}.npy"
    loaded = load_mapped(path)
    if loaded.dtype != dtype or loaded.shape != (length,):
        raise IndexCacheError(
            f"{path}: {loaded.dtype}{list(loaded.shape)}, expected {dtype}[{length}]"
        )
    return loaded


def _write_synced(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write and fsync: on disk before the folder's rename makes the file visible."""
    with open(path, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def _write_atomically(folder: Path, arrays: Mapping[str, np.ndarray], meta: dict) -> None:
    """Write into a sibling temporary folder, then rename it into place: readers see the old
    folder or the whole new one (files already mapped by others stay valid after removal)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, values in arrays.items():
            _write_synced(staging / f"{name}.npy", partial(np.save, arr=values, allow_pickle=False))
        _write_synced(staging / META, lambda file: file.write(json.dumps(meta).encode()))
        try:
            os.rename(staging, folder)
        except OSError:  # a folder is already there: move it aside, then take its place
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.rename(folder, retired / "index")
            os.rename(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
