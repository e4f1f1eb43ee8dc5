"""Which section /study start names, and what its options offer as you type.

A section is picked from the autocomplete as "source:number" ("bastille:2"), unambiguous
across texts; typed by hand it can also be a number (of the given or the first text) or a
title.
"""

from __future__ import annotations

import re

from bot.exts.study._errors import StudyError
from bot.rendering.text import choices
from knowledge import Library, SectionInfo, UnknownReference

SECTION_VALUE = re.compile(r"^(?P<source>[a-z0-9][a-z0-9_-]*)\s*:\s*(?P<number>\d+)$", re.I)


def section_value(info: SectionInfo) -> str:
    """A section's autocomplete value: "source:number"."""
    return f"{info.source_id}:{info.number}"


def find_section(library: Library, source: str | None, section: str | None) -> SectionInfo:
    """The section /study start names: a picked value ("bastille:2"), or typed by hand, a
    number (in `source`, by default the first text) or a title (in `source`, or any text).
    With neither, the first section of `source` (or of the first text)."""
    source_id = source.strip().lower() if source and source.strip() else None
    if source_id is not None:
        library.source(source_id)  # UnknownReference for a source that does not exist
    wanted = (section or "").strip()
    if not wanted:
        return library.sections(source_id or library.sources[0].id)[0]
    picked = SECTION_VALUE.match(wanted)
    if picked and picked["source"].lower() in {s.id for s in library.sources}:
        named = picked["source"].lower()
        if source_id is not None and named != source_id:
            raise StudyError(f"Section {wanted} is not in {source_id}: pick one of its sections.")
        return library.find_section(named, picked["number"])
    if wanted.isdigit():
        return library.find_section(source_id or library.sources[0].id, wanted)
    return library.find_section(source_id, wanted)


def heading(library: Library, info: SectionInfo) -> str:
    """ "Title — section N “Heading”": how a session's section is named."""
    title = library.source(info.source_id).title
    return f"{title} — section {info.number}" + (f" “{info.title}”" if info.title else "")


def source_choices(library: Library, typed: str) -> list[tuple[str, str]]:
    """(name, value) of the texts whose id or title contains what is typed."""
    typed = typed.strip().lower()
    pairs = [
        (s.id, f"{s.id} — {s.title}")
        for s in library.sources
        if not typed or typed in s.id.lower() or typed in s.title.lower()
    ]
    return choices(pairs)


def section_choices(library: Library, source: str | None, typed: str) -> list[tuple[str, str]]:
    """(name, value) of the sections (of `source`, or of every text) matching what is typed."""
    try:
        sections = library.sections(source or None)
    except UnknownReference:
        sections = library.sections()
    typed = typed.strip().lower()
    pairs = [
        (section_value(s), f"{s.number} — {s.title or 'untitled'} ({s.source_id})")
        for s in sections
        if not typed
        or typed in str(s.number)
        or typed in s.title.lower()
        or typed in section_value(s)
    ]
    return choices(pairs)
