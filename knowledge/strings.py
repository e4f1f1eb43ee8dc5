"""Tables of strings as flat arrays: one UTF-8 blob plus offsets, memory-mappable.

A dict or a list of str would be rebuilt and held by every worker process; these arrays are
mapped from the index folder and shared through the page cache. A sorted table also has each
string's first 8 bytes as a fixed-width key, so a lookup is one vectorised searchsorted that
narrows to the strings sharing those bytes (usually one) and a binary search over the rest.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from knowledge.files import RangeReader

ENCODING = ("utf-8", "surrogatepass")  # byte order == code point order, so sorting agrees
PREFIX_BYTES = 8
PREFIX_DTYPE = np.dtype(f"S{PREFIX_BYTES}")  # zero-padded, so its order agrees with the strings'


class StringTable:
    """Strings by position: table[i] is the i-th string's UTF-8 bytes."""

    def __init__(self, blob: np.ndarray | RangeReader, offsets: np.ndarray) -> None:
        # Slices of memoryviews are cheap, of arrays not; a RangeReader reads its slices.
        self._blob = blob if isinstance(blob, RangeReader) else memoryview(blob)
        self._offsets = memoryview(offsets)  # indexing one gives a Python int

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]])

    def text(self, i: int) -> str:
        return self[i].decode(*ENCODING)

    @staticmethod
    def encode(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(blob, offsets) of the strings, in the order given."""
        encoded = [s.encode(*ENCODING) for s in strings]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return np.frombuffer(b"".join(encoded), np.uint8).copy(), offsets


class SortedStrings(StringTable):
    """A sorted StringTable that finds a string's position."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, prefixes: np.ndarray) -> None:
        super().__init__(blob, offsets)
        self._prefixes = prefixes

    def find(self, strings: Sequence[str]) -> list[int | None]:
        """Each string's position, or None where the table lacks it."""
        keys = [s.encode(*ENCODING) for s in strings]
        prefixes = np.array([key[:PREFIX_BYTES] for key in keys], dtype=PREFIX_DTYPE)
        starts = np.searchsorted(self._prefixes, prefixes, side="left").tolist()
        ends = np.searchsorted(self._prefixes, prefixes, side="right").tolist()
        found: list[int | None] = []
        for key, lo, hi in zip(keys, starts, ends, strict=True):
            i = bisect.bisect_left(self, key, lo, hi) if hi - lo > 1 else lo
            found.append(i if i < hi and self[i] == key else None)
        return found

    def starting_with(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` strings that start with `prefix`, in order."""
        key = prefix.encode(*ENCODING)
        found: list[str] = []
        for i in range(bisect.bisect_left(self, key), len(self)):
            value = self[i]
            if not value.startswith(key) or len(found) >= limit:
                break
            found.append(value.decode(*ENCODING))
        return found

    @staticmethod
    def encode_sorted(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(blob, offsets, prefixes) of strings already in sorted order."""
        blob, offsets = StringTable.encode(strings)
        prefixes = np.array([s.encode(*ENCODING)[:PREFIX_BYTES] for s in strings], PREFIX_DTYPE)
        return blob, offsets, prefixes
