"""Cutting a text into paragraph-sized units, and telling what a unit looks like.

A file lays its paragraphs out either one per line, or as hard-wrapped lines between blank
lines; which one is read off the file as a whole. The tests here (heading, attribution) are
about typography only, so that every later stage asks the same questions the same way.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from knowledge.text import (
    CLOSING_QUOTES,
    DASHES,
    FOOTNOTE_MARKS,
    OPENING_QUOTES,
    split_sentences,
)

MAX_HEADING_CHARS = 90
MAX_LABELED_HEADING_CHARS = 160
MAX_HEADING_WORDS = 14
SHORT_HEADING_WORDS = 8
MAX_ATTRIBUTION_CHARS = 240
TERMINAL = ".!?:;…" + CLOSING_QUOTES + ")]"
_NUMBER = r"[0-9]+|[ivxlcdm]+\b|[a-z]+"
CHAPTER = re.compile(
    rf"^(chapter|part|book|section|volume)\s+({_NUMBER})\b|^[ivxlcdm]+\.?$|^[0-9]+\.?$",
    re.IGNORECASE,
)
# "Chapter I: The Extent …", "BOOK I. THE FIRST BOOK …", "XXIX.--Of the Huns": a label, a
# separator, then the title (which may be long).
_LABEL_THEN_TITLE = re.compile(
    r"^(?:(?:chapter|part|book|volume|section)\s+(?:[0-9]+|[ivxlcdm]+)\s*(?:\.\s*(?:--|—|–)?|:|--|—|–)"
    r"|(?:[ivxlcdm]+|[0-9]+)\s*\.?\s*(?:--|—|–))\s*(?P<title>\S.*)$",
    re.IGNORECASE,
)
# Headings of the matter before a book's text that is still text (a preface is read).
PROLOGUE = re.compile(
    r"^(preface|introduction|foreword|prologue|advertisement|dedication|(the )?(author|"
    r"editor|translator)['’]?s? (preface|introduction|note))\b",
    re.IGNORECASE,
)
# Headings of matter that is not text at all.
FRONT_MATTER = re.compile(
    r"^((table of )?contents|list of (illustrations|plates|maps|figures|tables)|illustrations"
    r"|(transcriber|preparer|producer)(['’]?s)?['’]? notes?|errata)\.?$",
    re.IGNORECASE,
)
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*$")
_OPENS_NOTE = re.compile(r"^\[\s*(foot)?note\s+\w{1,5}\s*\]?\s*[:.]", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^\[(illustration|picture|image|plate|figure|map)\b[^\]]*\]$", re.I)
_SOURCE_LABEL = re.compile(r"^(source|from)\s*:\s*", re.IGNORECASE)
_BRACKETS = {"(": ")", "[": "]"}


@dataclass(slots=True)
class Unit:
    """A paragraph-sized piece of the file, before it is known to be a heading or prose."""

    text: str
    quoted: bool = False  # Markdown `>` (indentation alone never makes a quotation)
    heading: bool = False  # Markdown `#`
    lines: int = 1
    notes: list[str] = field(default_factory=list)


def split_units(lines: list[str]) -> list[Unit]:
    """Cut the file into paragraph-sized units, whatever its line layout."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if _OPENS_NOTE.match(line) and blocks[-1]:
            blocks.append([])  # a note starts a paragraph of its own, blank line or not
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    blocks = [block for block in blocks if block]
    content_lengths = [len(line.strip()) for block in blocks for line in block]
    multi_line = sum(1 for block in blocks if len(block) > 1)
    wrapped = (
        len(blocks) > 1
        and multi_line >= max(1, len(blocks) // 4)
        and statistics.median(content_lengths) < 100
    )
    units: list[Unit] = []
    for block in blocks:
        if wrapped:
            units.extend(_units_of_wrapped_block(block))
        else:
            units.extend(_unit_of_line(line) for line in block)
    # Rules ("* * *", "-----") and picture placeholders ("[Illustration: …]") are not text.
    return [
        unit
        for unit in units
        if any(ch.isalnum() for ch in unit.text) and not _PLACEHOLDER.match(unit.text.strip())
    ]


def _unit_of_line(line: str) -> Unit:
    stripped = line.strip()
    heading = MARKDOWN_HEADING.match(stripped)
    if heading:
        return Unit(heading.group(1), heading=True)
    if stripped.startswith(">"):
        return Unit(stripped.lstrip("> ").strip(), quoted=True)
    return Unit(stripped)


def _units_of_wrapped_block(block: list[str]) -> Iterable[Unit]:
    """A blank-line separated block of hard-wrapped lines is one paragraph.

    Its last line may be an attribution ("— Trotsky, My Life"); a block of `>` lines is a
    block quotation.
    """
    lines = list(block)
    # A heading printed right above its first paragraph, with no blank line between: a short
    # line that is no sentence, over lines of full width.
    while len(lines) > 1 and _heads_block(lines[0].strip(), lines[1].strip()):
        heading = lines.pop(0).strip()
        markdown = MARKDOWN_HEADING.match(heading)
        yield Unit(markdown.group(1) if markdown else heading, heading=bool(markdown))
    attribution = None
    if (
        len(lines) > 1
        and lines[0].lstrip()[:1] in OPENING_QUOTES + ">"
        and is_attribution(lines[-1].strip())
    ):
        attribution = lines.pop().strip()
    if len(lines) == 1:
        yield _unit_of_line(lines[0])
    else:
        quoted = all(line.lstrip().startswith(">") for line in lines)
        text = " ".join(
            line.strip().lstrip(">").strip() if quoted else line.strip() for line in lines
        )
        yield Unit(re.sub(r"(\w)- (\w)", r"\1-\2", text), quoted=quoted, lines=len(lines))
    if attribution:
        yield Unit(attribution)


def _heads_block(line: str, following: str) -> bool:
    if MARKDOWN_HEADING.match(line):
        return True
    return (
        looks_like_heading(line)
        and len(line.split()) <= SHORT_HEADING_WORDS
        and len(line) < 0.6 * len(following)
        and not following[:1].islower()  # "…a short first line\nof the same sentence"
    )


def is_attribution(text: str) -> bool:
    """ "—Khrushchev Remembers", "-- Minutes, 1848", "(The Times, 14 November 1854)",
    "[Pravda, 1937]", "Source: Pravda, 12 March 1937"."""
    if len(text) > MAX_ATTRIBUTION_CHARS:
        return False
    if text[:1] in DASHES or text.startswith("--"):
        return len(text.lstrip("-" + DASHES).strip()) > 1
    if _SOURCE_LABEL.match(text):
        return len(_SOURCE_LABEL.sub("", text)) > 1
    closing = _BRACKETS.get(text[:1])
    return closing is not None and text.endswith(closing) and text.count(text[0]) == 1


def attribution_text(text: str) -> str:
    text = text.strip()
    if text[:1] in _BRACKETS and text.endswith(_BRACKETS[text[0]]):
        return text[1:-1].strip()
    return _SOURCE_LABEL.sub("", text.lstrip("-" + DASHES).strip()).strip()


def looks_like_heading(text: str, *, lines: int = 1) -> bool:
    """A short line that does not read as a sentence: a title, not a paragraph."""
    words = text.split()
    if not words:
        return False
    labeled = _LABEL_THEN_TITLE.match(text) if lines == 1 else None
    if labeled and len(text) <= MAX_LABELED_HEADING_CHARS:
        # "Chapter VI: Death Of Severus, Tyranny Of Caracalla, …--Part I.", not "Book II. It
        # tells how the war began. The city fell."
        return len(split_sentences(labeled.group("title"))) == 1
    if len(text) > MAX_HEADING_CHARS or len(words) > MAX_HEADING_WORDS:
        return False
    if CHAPTER.match(text):
        return True
    if text[0] in OPENING_QUOTES or text[0] in DASHES or not any(ch.isalpha() for ch in text):
        return False
    sentences = split_sentences(text)
    if len(sentences) > 1 and all(len(s.split()) > 1 for s in sentences):
        return False  # "It began in 1936. Within two years…" (but "II. The Purges" is a heading)
    end = text.rstrip().rstrip(FOOTNOTE_MARKS)[-1:]
    if end in ".,;:!" or end in CLOSING_QUOTES:
        title_case = lines == 1 and is_title_cased(text) and not any(c.isdigit() for c in text)
        return bool(text.isupper()) or (end == "." and title_case)
    return text[0].isupper() or text[0].isdigit()


_MINOR_WORDS = frozenset("a an the and or nor but of in on at to for by with from as".split())


def is_title_cased(text: str) -> bool:
    """ "Preface By The Editor." is a heading set in title case; "It ended." is a sentence."""
    words = re.findall(r"[^\W\d_]+", text)
    return bool(words) and all(w[0].isupper() or w in _MINOR_WORDS for w in words)


def ends_mid_sentence(text: str) -> bool:
    return text.rstrip().rstrip(FOOTNOTE_MARKS)[-1:] not in TERMINAL
