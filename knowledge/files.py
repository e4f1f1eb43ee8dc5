"""How a process reads the index folder's arrays: mapped, or a range at a time.

What every question scans (a BM25 term's postings, the vocabularies) is memory-mapped: the
page cache holds one copy for every process. What a question reads a few hundred bytes of,
here and there (its candidates' tokens, the passages it shows), is read with pread: mapped,
each read would map a large page-cache folio around it (megabytes on current kernels), and
after a few thousand questions every worker would hold the whole file as its own resident
memory. Read, it costs a system call per range and holds nothing.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np


def load_mapped(path: Path) -> np.ndarray:
    """An .npy file memory-mapped read-only, as a plain ndarray over the mapping: every slice
    of a np.memmap is a new memmap object (a microsecond each, thousands per question)."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


class RangeReader:
    """A one-dimensional array in a file (an .npy, or raw bytes), read by ranges with pread:
    reader[a:b] and reader.gather(starts, counts) give new arrays. Thread-safe."""

    def __init__(self, path: Path, *, raw_dtype: np.dtype | None = None) -> None:
        """An .npy file, or (with `raw_dtype`) a file of raw items of that type."""
        with open(path, "rb") as handle:
            if raw_dtype is None:
                version = np.lib.format.read_magic(handle)
                shape, fortran, dtype = (
                    np.lib.format.read_array_header_1_0(handle)
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0(handle)
                )
                if len(shape) != 1 or fortran or dtype.hasobject:
                    raise ValueError(f"{path}: not a one-dimensional array of numbers")
                start, length = handle.tell(), shape[0]
            else:
                dtype = np.dtype(raw_dtype)
                start, length = 0, os.fstat(handle.fileno()).st_size // dtype.itemsize
            size = os.fstat(handle.fileno()).st_size
        if size != start + length * dtype.itemsize:
            raise ValueError(f"{path}: {size} bytes, expected {start + length * dtype.itemsize}")
        self.dtype, self._start, self._length = dtype, start, length
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self._length

    @property
    def shape(self) -> tuple[int]:
        return (self._length,)

    def __getitem__(self, key: slice | int) -> np.ndarray:
        if isinstance(key, slice):
            lo, hi, step = key.indices(self._length)
            if step != 1:
                raise IndexError("a RangeReader reads contiguous ranges only")
            return self.gather(np.array([lo]), np.array([max(hi - lo, 0)]))
        index = int(key) + (self._length if int(key) < 0 else 0)
        if not 0 <= index < self._length:
            raise IndexError("index out of range")
        return self.gather(np.array([index]), np.array([1]))[0]

    def gather(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The items of ranges [start, start + count), end to end."""
        out = np.empty(int(np.sum(counts)), dtype=self.dtype)
        view, size = memoryview(out).cast("B"), self.dtype.itemsize
        at = 0
        pairs = zip(np.asarray(starts).tolist(), np.asarray(counts).tolist(), strict=True)
        for start, count in pairs:
            if count <= 0:
                continue
            if start < 0 or start + count > self._length:
                raise IndexError("range out of the array")
            wanted = count * size
            got = os.preadv(self._fd, [view[at : at + wanted]], self._start + start * size)
            if got != wanted:
                raise OSError(f"short read: {got} of {wanted} bytes")
            at += wanted
        return out


def gather(values: np.ndarray | RangeReader, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The items of ranges [start, start + count) of an array or a RangeReader, end to end."""
    if isinstance(values, RangeReader):
        return values.gather(starts, counts)
    return np.asarray(values)[ranges(starts, counts)]


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of range(start, start + count) for each pair, vectorised."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if not total:
        return np.zeros(0, np.int64)
    begins = np.cumsum(counts) - counts
    return np.repeat(np.asarray(starts, dtype=np.int64) - begins, counts) + np.arange(total)
