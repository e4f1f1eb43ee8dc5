"""Loading the library: the manifest, the texts, and the passages cut from them."""

from __future__ import annotations

import json
import os
import re
import string
import tempfile
import tomllib
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from knowledge.errors import SourceError
from knowledge.formats import read_document
from knowledge.models import Passage, PassageKind, Quotation, Source
from knowledge.parsing import parse_text
from knowledge.quotations import find_speaker
from knowledge.text import word_forms, word_surfaces

MANIFEST_NAME = "sources.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_OPTIONAL_FIELDS = ("subtitle", "author", "publication", "year", "url", "licence")


def read_manifest(folder: Path) -> list[Source]:
    """The sources listed in `folder/sources.toml`, checked for everything loading needs."""
    if not folder.is_dir():
        raise SourceError(f"sources folder not found: {folder}")
    manifest = folder / MANIFEST_NAME
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"no {MANIFEST_NAME} in {folder}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"cannot read {manifest}: {exc}") from None
    entries = data.get("sources")
    if not isinstance(entries, list) or not entries:
        raise SourceError(f"{manifest} lists no [[sources]]")
    sources: list[Source] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{manifest}, source #{number}"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: not a table")
        source_id, file, title = (
            str(entry.get(key, "")).strip() for key in ("id", "file", "title")
        )
        if not _ID.match(source_id):
            raise SourceError(f"{where}: id {source_id!r} must be short lower-case letters/digits")
        if source_id in seen:
            raise SourceError(f"{where}: duplicate id {source_id!r}")
        if not file or not title:
            raise SourceError(f"{where}: 'file' and 'title' are required")
        path = (folder / file).resolve()
        if folder.resolve() not in path.parents:
            raise SourceError(f"{where}: file {file!r} is outside the sources folder")
        seen.add(source_id)
        optional = {key: str(entry.get(key, "") or "").strip() for key in _OPTIONAL_FIELDS}
        sources.append(Source(id=source_id, title=title, file=path, **optional))
    return sources


def read_text(source: Source) -> str:
    """The source's text as the parser reads it, from any supported format.

    Raises SourceError (one line naming the text and its path) for a file that cannot be."""
    try:
        return read_document(source.file)
    except SourceError as exc:
        raise SourceError(f"text of {source.id!r}: {exc}") from None


# -- naming and adding texts (`histbot add`, texts added from Discord) ------------------------

MAX_TITLE_CHARS = 200


def source_id_for(name: str, taken: Collection[str] = ()) -> str:
    """A source id made from a title or file name, not one of `taken`: "The Fall of the
    Bastille" -> "the-fall-of-the-bastille" (then "-2", "-3" … if taken)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:32].rstrip("-") or "text"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[: 32 - len(suffix)].rstrip("-") + suffix
    return candidate


def check_source_id(source_id: str) -> str:
    """`source_id` if it can name a source (it is typed in references), else SourceError."""
    if not _ID.match(source_id):
        raise SourceError(
            f"id {source_id!r} must be 1-32 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return source_id


def title_for(file_name: str) -> str:
    """A title made from a file name when none is given: "fall_of-the-bastille.txt" ->
    "Fall Of The Bastille"; a name already in mixed case keeps its case."""
    stem = " ".join(re.sub(r"[-_.]+", " ", Path(file_name).stem).split())
    return (string.capwords(stem) if stem.islower() else stem) or "Untitled"


def check_title(title: str) -> str:
    """The title cleaned of surrounding and repeated spaces, or SourceError."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise SourceError("the title is empty")
    if len(cleaned) > MAX_TITLE_CHARS:
        raise SourceError(f"the title is over {MAX_TITLE_CHARS} characters")
    return cleaned


def duplicate_of(sources: Sequence[Source], source_id: str, title: str) -> str | None:
    """Why a new text cannot join `sources` (its id or title is taken), or None."""
    for source in sources:
        if source.id == source_id:
            return f"a text with id {source_id!r} is already in the library ({source.title})"
        if source.title.casefold() == title.casefold():
            return f"a text titled {title!r} is already in the library (id {source.id!r})"
    return None


def add_source(
    folder: Path, file: Path, *, title: str | None = None, source_id: str | None = None
) -> Source:
    """Copy `file` into the sources `folder` and add its entry to the manifest.

    The text is read and parsed first (SourceError, one line naming the file, for anything
    `read_text` or the parser refuses); the file is copied under a temporary name and
    renamed, then the manifest is replaced in one rename, so a failure leaves the folder as
    it was."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"sources folder not found: {folder}")
    sources = read_manifest(folder) if (folder / MANIFEST_NAME).exists() else []
    title = check_title(title if title is not None else title_for(file.name))
    taken = {s.id for s in sources}
    if source_id is None:
        source_id = source_id_for(title, taken)
    problem = duplicate_of(sources, check_source_id(source_id), title)
    if problem:
        raise SourceError(problem)
    text = read_document(file)
    target = folder / file.name
    if target.exists() and not target.samefile(file):
        raise SourceError(f"a file named {file.name!r} is already in {folder}")
    source = Source(id=source_id, title=title, file=target.resolve())
    cut_passages([source], [text])  # SourceError for a text with no paragraphs
    copied = not target.exists()
    try:
        if copied:
            _write_atomically(target, file.read_bytes())
        _add_entry(folder / MANIFEST_NAME, {"id": source_id, "file": file.name, "title": title})
    except OSError as exc:
        if copied:
            target.unlink(missing_ok=True)
        raise SourceError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return source


def _add_entry(manifest: Path, entry: dict[str, str]) -> None:
    """Append a [[sources]] table to the manifest, replacing the file in one rename."""
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in entry.items()]
    old = manifest.read_text(encoding="utf-8") if manifest.exists() else ""
    new = "\n".join([old.rstrip(), "", "[[sources]]", *lines, ""]).lstrip()
    # A JSON string is a valid TOML basic string; check the whole file reads back anyway.
    tomllib.loads(new)
    _write_atomically(manifest, new.encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, synced, then renamed into place."""
    fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


class _LowercaseWords:
    """Words that occur in lower case somewhere in the texts (folded): capitalised, they are
    not names. Only a quotation's speaker needs them, so they are gathered on the first
    question asked of them, in one pass over the texts that finds words as `words` does but
    normalises each distinct one once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts
        self._words: frozenset[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._words is None:
            lower: set[str] = set()
            for text in self._texts:
                for chunk in _pieces(text):  # a book's words at once would be a huge list
                    lower.update(w for w in word_surfaces(chunk) if w[:1].islower())
            self._words = frozenset(folded for w in lower if (folded := word_forms(w)[0]))
        return word in self._words


def _pieces(text: str, size: int = 1 << 20) -> Iterator[str]:
    """The text in pieces of about `size` characters, cut at line ends (no word spans one)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def cut_passages(sources: Sequence[Source], texts: Sequence[str]) -> list[Passage]:
    """Parse every text and number its paragraphs: refs are `<source>:<section>.<paragraph>`."""
    return list(iter_passages(sources, texts))


def iter_passages(sources: Sequence[Source], texts: Sequence[str]) -> Iterator[Passage]:
    """`cut_passages`, one passage at a time (an index is built without holding them all)."""
    common = _LowercaseWords(texts)
    position = 0
    for source, raw in zip(sources, texts, strict=True):
        parsed = parse_text(raw, title=source.title, subtitle=source.subtitle)
        if not parsed.sections:
            raise SourceError(f"text of {source.id!r} has no paragraphs: {source.file}")
        for section_number, section in enumerate(parsed.sections, start=1):
            previous_text = ""
            for paragraph, block in enumerate(section.blocks, start=1):
                quotation = None
                if block.is_quotation:
                    speaker = find_speaker(block.introduction, previous_text, common)
                    quotation = Quotation(
                        speaker=speaker,
                        attribution=block.attribution,
                        introduction=block.introduction,
                    )
                yield Passage(
                    ref=f"{source.id}:{section_number}.{paragraph}",
                    source_id=source.id,
                    source_title=source.title,
                    section=section_number,
                    section_title=section.title,
                    paragraph=paragraph,
                    text=block.text,
                    kind=PassageKind.QUOTATION if block.is_quotation else PassageKind.PROSE,
                    quotation=quotation,
                    position=position,
                    divisions=section.divisions,
                    notes=tuple(block.notes),
                )
                position += 1
                previous_text = block.text
