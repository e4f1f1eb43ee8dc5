"""Loading the library: the manifest, the texts, and the passages cut from them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

from knowledge.errors import SourceError
from knowledge.formats import read_document
from knowledge.models import Passage, PassageKind, Quotation, Source
from knowledge.parsing import parse_text
from knowledge.quotations import find_speaker
from knowledge.text import words

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


def _lowercase_words(texts: Sequence[str]) -> frozenset[str]:
    """Words that occur in lower case somewhere: capitalised, they are not names."""
    return frozenset(
        token.folded for text in texts for token in words(text) if token.surface[:1].islower()
    )


def cut_passages(sources: Sequence[Source], texts: Sequence[str]) -> list[Passage]:
    """Parse every text and number its paragraphs: refs are `<source>:<section>.<paragraph>`."""
    common = _lowercase_words(texts)
    passages: list[Passage] = []
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
                passages.append(
                    Passage(
                        ref=f"{source.id}:{section_number}.{paragraph}",
                        source_id=source.id,
                        source_title=source.title,
                        section=section_number,
                        section_title=section.title,
                        paragraph=paragraph,
                        text=block.text,
                        kind=PassageKind.QUOTATION if block.is_quotation else PassageKind.PROSE,
                        quotation=quotation,
                        position=len(passages),
                        divisions=section.divisions,
                        notes=tuple(block.notes),
                    )
                )
                previous_text = block.text
    return passages
