"""The library's passages as memory-mapped arrays: a Passage is made when one is asked for.

A list of 100,000 Passage objects is hundreds of megabytes in every worker process and
seconds to unpickle at each start. Here the texts are one UTF-8 blob with offsets (like
knowledge/strings.py's tables), a passage's section, paragraph, kind and quotation are small
integers, and what passages share (sources, sections with their titles and divisions) is one
small JSON table. Opening maps the files: every process shares one copy in the page cache,
and only the passages a question shows are ever read.

    store = PassageStore.open(folder)       # or PassageStore.from_passages(passages)
    store[3], len(store), store.locate("guardians", 3, 2)
"""

from __future__ import annotations

import json
import operator
import os
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.bm25 import IndexCacheError
from knowledge.errors import UnknownReference
from knowledge.files import RangeReader, load_mapped
from knowledge.models import Passage, PassageKind, Quotation
from knowledge.strings import ENCODING, StringTable

_REF = re.compile(
    r"^\s*(?:(?P<source>[a-z0-9][a-z0-9_-]{0,31})\s*:\s*)?"
    r"(?P<section>[0-9]{1,6})\s*[.:]\s*(?P<paragraph>[0-9]{1,6})\s*$",
    re.I,
)
"""A passage reference as people type it: "guardians:3.2", "3.2", "Guardians : 3:2"."""
FORMAT = "histbot-passages"
FORMAT_VERSION = 1
"""Bump when the layout or the meaning of a file changes: older folders then fail to open."""
META = "passages.json"
_KINDS = tuple(PassageKind)
_BLOBS = ("text", "notes", "quotations")  # passage-<name>.bin + passage-<name>-offsets.npy
_ARRAYS = {  # per passage
    "section": np.int32,  # its row of the sections table
    "paragraph": np.int32,
    "kind": np.uint8,  # index into PassageKind
    "quotation": np.int32,  # its quotation's number (three strings each), or -1
    "position": np.int32,
}


@dataclass(frozen=True, slots=True)
class SectionRow:
    """A section of one source, as the passages in it share it."""

    source: int  # index into the sources table
    number: int
    title: str
    divisions: tuple[str, ...]


class PassageStore(Sequence[Passage]):
    """The passages of a library, in reading order; each item is built on access."""

    def __init__(
        self,
        sources: list[tuple[str, str]],
        sections: list[SectionRow],
        arrays: dict[str, np.ndarray],
        tables: dict[str, StringTable],
    ) -> None:
        self.sources = sources
        """(source id, source title) of each source, in order."""
        self.sections = sections
        self._section = arrays["section"]
        self._paragraph = arrays["paragraph"]
        self._kind = arrays["kind"]
        self._quotation = arrays["quotation"]
        self._position = arrays["position"]
        self._note_starts = arrays["note_starts"]
        self._text, self._notes, self._quotations = (tables[name] for name in _BLOBS)
        self._size = len(self._section)
        # Sections are contiguous runs of passages (checked on writing): row r's passages are
        # [first[r], first[r + 1]).
        self.section_first = np.searchsorted(self._section, np.arange(len(sections) + 1))
        self._section_of = {(s.source, s.number): row for row, s in enumerate(sections)}
        self._source_of = {source_id: i for i, (source_id, _) in enumerate(sources)}

    # -- the Sequence ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> list[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | list[Passage]:
        if isinstance(index, slice):
            return [self._passage(i) for i in range(*index.indices(self._size))]
        i = operator.index(index)
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError("passage index out of range")
        return self._passage(i)

    def __iter__(self) -> Iterator[Passage]:
        for i in range(self._size):
            yield self._passage(i)

    def _passage(self, i: int) -> Passage:
        section = self.sections[int(self._section[i])]
        source_id, source_title = self.sources[section.source]
        paragraph = int(self._paragraph[i])
        quotation = int(self._quotation[i])
        n0, n1 = int(self._note_starts[i]), int(self._note_starts[i + 1])
        return Passage(
            ref=f"{source_id}:{section.number}.{paragraph}",
            source_id=source_id,
            source_title=source_title,
            section=section.number,
            section_title=section.title,
            paragraph=paragraph,
            text=self._text.text(i),
            kind=_KINDS[int(self._kind[i])],
            quotation=None
            if quotation < 0
            else Quotation(*(self._quotations.text(3 * quotation + k) for k in range(3))),
            position=int(self._position[i]),
            divisions=section.divisions,
            notes=tuple(self._notes.text(n) for n in range(n0, n1)),
        )

    # -- looking passages up without building them ----------------------------------------

    def text(self, i: int) -> str:
        return self._text.text(i)

    def source_id(self, i: int) -> str:
        return self.sources[self.sections[int(self._section[i])].source][0]

    def locate(self, source_id: str, section: int, paragraph: int) -> int | None:
        """The index of passage `source_id:section.paragraph`, or None."""
        row = self._section_of.get((self._source_of.get(source_id, -1), section))
        if row is None:
            return None
        lo, hi = int(self.section_first[row]), int(self.section_first[row + 1])
        guess = lo + paragraph - 1  # paragraphs are numbered 1, 2, ... within a section
        if lo <= guess < hi and self._paragraph[guess] == paragraph:
            return guess
        found = np.flatnonzero(np.asarray(self._paragraph[lo:hi]) == paragraph)
        return lo + int(found[0]) if len(found) else None

    def position_of(self, ref: str) -> int:
        """The index of the passage a typed reference names ("guardians:3.2", or "3.2" when
        one source has it); UnknownReference, with close references, when none or several do."""
        text = (ref or "").strip()
        match = _REF.match(text)
        if not match:
            example = self._passage(0).ref if self._size else "source:1.1"
            raise UnknownReference(
                f"{text[:40]!r} is not a passage reference; write it like {example} or 3.2",
                self.closest_refs(text.lower()),
            )
        section, paragraph = int(match.group("section")), int(match.group("paragraph"))
        wanted = (match.group("source") or "").lower()
        source_ids = [wanted] if wanted else [source_id for source_id, _ in self.sources]
        found = {
            source_id: position
            for source_id in source_ids
            if (position := self.locate(source_id, section, paragraph)) is not None
        }
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            refs = tuple(f"{source_id}:{section}.{paragraph}" for source_id in found)
            raise UnknownReference(
                f"{text!r} is in several sources; say which: {', '.join(refs)}", refs
            )
        raise UnknownReference(f"no passage {text!r}", self.closest_refs(text.lower()))

    def around(self, i: int, before: int, after: int) -> range:
        """Passage `i` and up to `before`/`after` passages around it in the same source."""
        lo, hi = max(0, i - before), min(self._size, i + after + 1)
        source = self.sections[int(self._section[i])].source
        while self.sections[int(self._section[lo])].source != source:
            lo += 1
        while self.sections[int(self._section[hi - 1])].source != source:
            hi -= 1
        return range(lo, hi)

    def section_refs(self, row: int) -> tuple[str, str, Iterator[tuple[int, int]]]:
        """A section's ref prefixes ("src:3.", "3.") and its (passage, paragraph) pairs."""
        section = self.sections[row]
        source_id = self.sources[section.source][0]
        lo, hi = int(self.section_first[row]), int(self.section_first[row + 1])
        pairs = zip(range(lo, hi), np.asarray(self._paragraph[lo:hi]).tolist(), strict=True)
        return f"{source_id}:{section.number}.", f"{section.number}.", pairs

    def refs(self) -> list[str]:
        """Every passage's reference, in order (built on the spot: for rare look-ups)."""
        return [
            f"{full}{paragraph}"
            for row in range(len(self.sections))
            for full, _, pairs in [self.section_refs(row)]
            for _, paragraph in pairs
        ]

    def closest_refs(self, typed: str, count: int = 3) -> tuple[str, ...]:
        """The references most like `typed` (rapidfuzz's ratio, with or without the source;
        50 at least), best first, ties to the earlier passage."""
        refs = self.refs()
        shorts = [ref.split(":", 1)[1] for ref in refs]
        scores = np.maximum(
            *(
                process.cdist([typed], pool, scorer=fuzz.ratio, dtype=np.float64)[0]
                for pool in (refs, shorts)
            )
        )
        best = np.lexsort((np.arange(len(refs)), -scores))[:count].tolist()
        return tuple(refs[i] for i in best if scores[i] >= 50)

    def starting(self, typed: str, limit: int) -> list[int]:
        """Up to `limit` passages whose reference, with or without its source, starts with
        `typed` (all, for ""), in reading order; only sections that can hold one are read."""
        found: list[int] = []
        for row in range(len(self.sections)):
            full, short, pairs = self.section_refs(row)
            if not any(typed.startswith(p) or p.startswith(typed) for p in (full, short)):
                continue
            for position, paragraph in pairs:
                refs = (f"{full}{paragraph}", f"{short}{paragraph}")
                if not typed or any(ref.startswith(typed) for ref in refs):
                    found.append(position)
                    if len(found) >= limit:
                        return found
        return found

    def section_summaries(self) -> Iterator[tuple[str, int, str, int, str]]:
        """(source id, number, title, passages, first reference) of every section with
        passages, in reading order."""
        for row, section in enumerate(self.sections):
            full, _, pairs = self.section_refs(row)
            first = next(pairs, None)
            if first is not None:
                count = int(self.section_first[row + 1] - self.section_first[row])
                yield (
                    full.split(":", 1)[0],
                    section.number,
                    section.title,
                    count,
                    f"{full}{first[1]}",
                )

    # -- building and storing -----------------------------------------------------------

    @classmethod
    def from_passages(cls, passages: Iterable[Passage]) -> PassageStore:
        """An in-memory store of passages (cut_passages' refs and positions)."""
        writer = PassageWriter(None)
        for passage in passages:
            writer.add(passage)
        return writer.finish()

    @classmethod
    def open(cls, folder: Path) -> PassageStore:
        """Map the store written into `folder`; IndexCacheError (one line) if it cannot be."""
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
                raise IndexCacheError(
                    f"{folder}: passages format {meta.get('format')!r} version "
                    f"{meta.get('version')!r}, expected {FORMAT_VERSION}"
                )
            count = int(meta["count"])
            arrays = {
                name: _load(folder / f"passage-{name}.npy", dtype, count)
                for name, dtype in _ARRAYS.items()
            }
            arrays["note_starts"] = _load(folder / "passage-note-starts.npy", np.int64, count + 1)
            tables = {
                name: _open_table(folder, name, int(meta[f"{name}_count"])) for name in _BLOBS
            }
            sources = [(str(i), str(t)) for i, t in meta["sources"]]
            sections = [
                SectionRow(int(s), int(n), str(t), tuple(d)) for s, n, t, d in meta["sections"]
            ]
        except IndexCacheError:
            raise
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise IndexCacheError(f"{folder}: unreadable passages ({message})") from error
        return _checked(folder, sources, sections, arrays, tables)


def _checked(
    folder: Path,
    sources: list[tuple[str, str]],
    sections: list[SectionRow],
    arrays: dict[str, np.ndarray],
    tables: dict[str, StringTable],
) -> PassageStore:
    """Checks that the files agree with each other and that every passage's section and
    quotation exist (a few reads of the small arrays: a damaged cache fails here, at start-up,
    not in the middle of a question)."""
    count, section, quotation = len(arrays["section"]), arrays["section"], arrays["quotation"]
    agree = (
        len(tables["text"]) == count
        and arrays["note_starts"][0] == 0
        and arrays["note_starts"][-1] == len(tables["notes"])
        and len(tables["quotations"]) % 3 == 0
        and all(0 <= s.source < len(sources) for s in sections)
        and (
            count == 0
            or (
                section[0] >= 0
                and section[-1] < len(sections)
                and bool(np.all(np.diff(section) >= 0))  # a section's passages are contiguous
                and quotation.min() >= -1
                and quotation.max() < len(tables["quotations"]) // 3
                and int(arrays["kind"].max()) < len(_KINDS)
                and bool(np.all(np.diff(arrays["note_starts"]) >= 0))
            )
        )
    )
    if not agree:
        raise IndexCacheError(f"{folder}: passage files disagree with {META}")
    return PassageStore(sources, sections, arrays, tables)


class PassageWriter:
    """Takes passages one by one, in reading order, and writes the store (streaming: the
    texts go straight to their file; only small integer arrays grow). With no folder, the
    store is kept in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._strings = {name: _StringsWriter(folder, name) for name in _BLOBS}
        self._arrays = {
            name: array("i" if dtype != np.uint8 else "B") for name, dtype in _ARRAYS.items()
        }
        self._note_starts = array("q", [0])
        self._sources: dict[str, tuple[int, str]] = {}
        self._sections: dict[tuple[int, int], int] = {}
        self._section_rows: list[SectionRow] = []
        self.count = 0

    def add(self, passage: Passage) -> None:
        source, title = self._sources.setdefault(
            passage.source_id, (len(self._sources), passage.source_title)
        )
        key = (source, passage.section)
        row = self._sections.setdefault(key, len(self._section_rows))
        if row == len(self._section_rows):
            self._section_rows.append(
                SectionRow(source, passage.section, passage.section_title, passage.divisions)
            )
        section = self._section_rows[row]
        canonical = (
            passage.ref == f"{passage.source_id}:{passage.section}.{passage.paragraph}"
            and title == passage.source_title
            and (section.title, section.divisions) == (passage.section_title, passage.divisions)
            and row >= len(self._section_rows) - 1  # a section's passages are contiguous
        )
        if not canonical:
            raise ValueError(f"passage {passage.ref!r} does not fit the store's layout")
        quotation = -1
        if passage.quotation is not None:
            q = passage.quotation
            quotation = self._strings["quotations"].count // 3
            for value in (q.speaker, q.attribution, q.introduction):
                self._strings["quotations"].add(value)
        values = {
            "section": row,
            "paragraph": passage.paragraph,
            "kind": _KINDS.index(passage.kind),
            "quotation": quotation,
            "position": passage.position,
        }
        for name, value in values.items():
            self._arrays[name].append(value)
        for note in passage.notes:
            self._strings["notes"].add(note)
        self._note_starts.append(self._strings["notes"].count)
        self._strings["text"].add(passage.text)
        self.count += 1

    def finish(self) -> PassageStore:
        """Close the files (and write the arrays and meta.json); the store, opened."""
        arrays = {name: _frozen(self._arrays[name], dtype) for name, dtype in _ARRAYS.items()}
        arrays["note_starts"] = _frozen(self._note_starts, np.int64)
        tables = {name: writer.finish() for name, writer in self._strings.items()}
        sources = [(source_id, title) for source_id, (_, title) in self._sources.items()]
        if self.folder is None:
            return _checked(Path("(memory)"), sources, self._section_rows, arrays, tables)
        for name, values in arrays.items():
            np.save(
                self.folder / f"passage-{name.replace('_', '-')}.npy", values, allow_pickle=False
            )
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "count": self.count,
            "sources": sources,
            "sections": [
                [s.source, s.number, s.title, list(s.divisions)] for s in self._section_rows
            ],
            **{f"{name}_count": writer.count for name, writer in self._strings.items()},
        }
        (self.folder / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return PassageStore.open(self.folder)


class _StringsWriter:
    """Strings appended to `<name>.bin` (or kept in memory), and their offsets."""

    def __init__(self, folder: Path | None, name: str) -> None:
        self.folder, self.name = folder, name
        self._file = open(folder / f"passage-{name}.bin", "wb") if folder is not None else None  # noqa: SIM115
        self._parts: list[bytes] = []
        self._offsets = array("q", [0])
        self.count = 0

    def add(self, value: str) -> None:
        encoded = value.encode(*ENCODING)
        if self._file is not None:
            self._file.write(encoded)
        else:
            self._parts.append(encoded)
        self._offsets.append(self._offsets[-1] + len(encoded))
        self.count += 1

    def finish(self) -> StringTable:
        offsets = _frozen(self._offsets, np.int64)
        if self._file is None:
            return StringTable(np.frombuffer(b"".join(self._parts), np.uint8), offsets)
        self._file.close()
        np.save(self.folder / f"passage-{self.name}-offsets.npy", offsets, allow_pickle=False)
        return StringTable(np.zeros(0, np.uint8), offsets)  # reopened, mapped, by open()


def _open_table(folder: Path, name: str, count: int) -> StringTable:
    offsets = _load(folder / f"passage-{name}-offsets.npy", np.int64, count + 1)
    path = folder / f"passage-{name}.bin"
    size = os.stat(path).st_size
    if offsets[0] != 0 or offsets[-1] != size or not np.all(np.diff(offsets) >= 0):
        raise IndexCacheError(f"{path}: {size} bytes, expected {int(offsets[-1])}")
    # Read a passage at a time, never mapped (knowledge.files): a question shows a few.
    return StringTable(RangeReader(path, raw_dtype=np.dtype(np.uint8)), offsets)


def _load(path: Path, dtype: type, length: int) -> np.ndarray:
    loaded = load_mapped(path)
    if loaded.dtype != np.dtype(dtype) or loaded.shape != (length,):
        raise IndexCacheError(
            f"{path}: {loaded.dtype}{list(loaded.shape)}, expected {np.dtype(dtype)}[{length}]"
        )
    return loaded


def _frozen(values: array, dtype: type) -> np.ndarray:
    return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.zeros(0, dtype)
