"""Reading a plain-text source into the structure a reader sees.

A text is a sequence of sections (an optional untitled opening, then one per heading), each a
sequence of blocks: prose paragraphs and block quotations with their attribution. The rules
are about typography, not about any one text:

* paragraphs are either one per line, or hard-wrapped lines separated by blank lines;
* a long line that stops mid-sentence was broken by a page break and continues on the next;
* a heading is a short line that does not read as a sentence (or a Markdown `#` line);
* a block quotation is a paragraph set in quote marks (or Markdown `>`); a quotation
  paragraph that does not close its quote mark continues into the next one;
* a short line starting with a dash right after a quotation is its attribution.
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
    display_text,
    fold,
    split_sentences,
)

MAX_HEADING_CHARS = 90
MAX_HEADING_WORDS = 14
SHORT_HEADING_WORDS = 8
MAX_ATTRIBUTION_CHARS = 240
_TERMINAL = ".!?:;…" + CLOSING_QUOTES + ")]"
_CHAPTER = re.compile(
    r"^(chapter|part|book|section)\s+([0-9]+|[ivxlcdm]+|[a-z]+)\b|^[ivxlcdm]+\.?$|^[0-9]+\.?$",
    re.IGNORECASE,
)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*$")


@dataclass(slots=True)
class Block:
    """A paragraph or a block quotation as printed."""

    text: str
    is_quotation: bool = False
    attribution: str = ""
    introduction: str = ""


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class ParsedText:
    title_lines: list[str]
    sections: list[Section]


@dataclass(slots=True)
class _Unit:
    text: str
    quoted: bool = False  # Markdown `>` or indented block
    heading: bool = False


def _split_units(raw: str) -> list[_Unit]:
    """Cut the file into paragraph-sized units, whatever its line layout."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    blocks: list[list[str]] = [[]]
    for line in lines:
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
    units: list[_Unit] = []
    for block in blocks:
        if wrapped:
            units.extend(_units_of_wrapped_block(block))
        else:
            units.extend(_unit_of_line(line) for line in block)
    return units


def _unit_of_line(line: str) -> _Unit:
    stripped = line.strip()
    heading = _MARKDOWN_HEADING.match(stripped)
    if heading:
        return _Unit(heading.group(1), heading=True)
    if stripped.startswith(">"):
        return _Unit(stripped.lstrip("> ").strip(), quoted=True)
    return _Unit(stripped)


def _units_of_wrapped_block(block: list[str]) -> Iterable[_Unit]:
    """A blank-line separated block of hard-wrapped lines is one paragraph.

    Its last line may be an attribution ("— Trotsky, My Life"); a block of `>` or indented
    lines is a block quotation.
    """
    lines = list(block)
    # A heading printed right above its first paragraph, with no blank line between: a short
    # line that is no sentence, over lines of full width.
    while len(lines) > 1 and _heads_block(lines[0].strip(), lines[1].strip()):
        heading = lines.pop(0).strip()
        markdown = _MARKDOWN_HEADING.match(heading)
        yield _Unit(markdown.group(1) if markdown else heading, heading=True)
    attribution = None
    if len(lines) > 1 and _is_attribution(lines[-1].strip()):
        attribution = lines.pop().strip()
    if len(lines) == 1:
        yield _unit_of_line(lines[0])
    else:
        quoted = all(line.lstrip().startswith(">") for line in lines) or all(
            line.startswith(("    ", "\t")) for line in lines
        )
        text = " ".join(
            line.strip().lstrip(">").strip() if quoted else line.strip() for line in lines
        )
        yield _Unit(re.sub(r"(\w)- (\w)", r"\1-\2", text), quoted=quoted)
    if attribution:
        yield _Unit(attribution)


def _heads_block(line: str, following: str) -> bool:
    if _MARKDOWN_HEADING.match(line):
        return True
    return (
        _looks_like_heading(line)
        and len(line.split()) <= SHORT_HEADING_WORDS
        and len(line) < 0.6 * len(following)
        and not following[:1].islower()  # "…a short first line\nof the same sentence"
    )


_SOURCE_LABEL = re.compile(r"^(source|from)\s*:\s*", re.IGNORECASE)
_BRACKETS = {"(": ")", "[": "]"}


def _is_attribution(text: str) -> bool:
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


def _attribution_text(text: str) -> str:
    text = text.strip()
    if text[:1] in _BRACKETS and text.endswith(_BRACKETS[text[0]]):
        return text[1:-1].strip()
    return _SOURCE_LABEL.sub("", text.lstrip("-" + DASHES).strip()).strip()


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    if not words or len(text) > MAX_HEADING_CHARS or len(words) > MAX_HEADING_WORDS:
        return False
    if _CHAPTER.match(text):
        return True
    if text[0] in OPENING_QUOTES or text[0] in DASHES or not any(ch.isalpha() for ch in text):
        return False
    sentences = split_sentences(text)
    if len(sentences) > 1 and all(len(s.split()) > 1 for s in sentences):
        return False  # "It began in 1936. Within two years…" (but "II. The Purges" is a heading)
    end = text.rstrip().rstrip(FOOTNOTE_MARKS)[-1:]
    if end in ".,;:!" or end in CLOSING_QUOTES:
        return bool(text.isupper())
    return text[0].isupper() or text[0].isdigit()


def _is_quotation(text: str) -> bool:
    """A whole paragraph set in quote marks (its own closing mark may be left for a later one)."""
    if not text or text[0] not in OPENING_QUOTES:
        return False
    if text.startswith("‘‘") or text.startswith("``"):
        body, closers = text[2:], ("’’", "''", "”")
    elif text[0] == '"':
        body, closers = text[1:], ('"',)
    else:
        body, closers = text[1:], ("”", "’’", "’") if text[0] == "‘" else ("”", "»")
    stripped = body.rstrip()
    trailing = stripped[len(stripped.rstrip(CLOSING_QUOTES)) :]
    if any(closer in trailing for closer in closers):
        return True
    # An open quote that never closes in this paragraph continues in the next one.
    return not any(closer in body for closer in closers)


def _closes(text: str) -> bool:
    return text.rstrip()[-1:] in CLOSING_QUOTES


def _ends_mid_sentence(text: str) -> bool:
    return text.rstrip().rstrip(FOOTNOTE_MARKS)[-1:] not in _TERMINAL


def parse_text(raw: str, *, title: str = "", subtitle: str = "") -> ParsedText:
    """Parse a source text. `title`/`subtitle` (from the manifest) are dropped from the body."""
    units = _split_units(raw)
    title_lines: list[str] = []
    expected = [fold(t) for t in (title, subtitle) if t]
    while units and expected and fold(display_text(units[0].text)) in expected:
        title_lines.append(display_text(units.pop(0).text))

    sections: list[Section] = []
    current: Section | None = None
    pending_quote: Block | None = None
    index = 0
    while index < len(units):
        unit = units[index]
        text = display_text(unit.text)
        index += 1
        if not text:
            continue
        # A long line that stops mid-sentence continues on the next line (a page break).
        while (
            not unit.heading
            and not unit.quoted
            and len(text) > MAX_HEADING_CHARS
            and _ends_mid_sentence(text)
            and index < len(units)
            and not units[index].heading
            and not _is_attribution(units[index].text.strip())
        ):
            text = f"{text} {display_text(units[index].text)}"
            index += 1
        if _is_attribution(text) and current and current.blocks and current.blocks[-1].is_quotation:
            current.blocks[-1].attribution = _attribution_text(text)
            pending_quote = None
            continue
        next_is_attribution = index < len(units) and _is_attribution(units[index].text.strip())
        if unit.heading or (_looks_like_heading(text) and not next_is_attribution):
            title = text.strip("#").strip()
            if current is not None and not current.blocks and _CHAPTER.fullmatch(current.title):
                # "CHAPTER IV" then "THE PURGES": one heading printed on two lines.
                current.title = f"{current.title}: {title}"
            else:
                current = Section(title=title)
                sections.append(current)
            pending_quote = None
            continue
        if current is None:
            current = Section(title="")
            sections.append(current)
        quoted = unit.quoted or _is_quotation(text)
        if quoted and pending_quote is not None:
            pending_quote.text = f"{pending_quote.text}\n{text}"
            if _closes(text) or unit.quoted:
                pending_quote = None
            continue
        if quoted:
            block = Block(text=text, is_quotation=True, introduction=_introduction(current))
            current.blocks.append(block)
            pending_quote = None if (_closes(text) or unit.quoted) else block
            continue
        pending_quote = None
        current.blocks.append(Block(text=text))
    return ParsedText(title_lines=title_lines, sections=[s for s in sections if s.blocks])


def _introduction(section: Section) -> str:
    """The last sentence of the paragraph before a quotation, when it leads into it."""
    if not section.blocks or section.blocks[-1].is_quotation:
        return ""
    previous = section.blocks[-1].text
    if previous.rstrip()[-1:] not in ":,":
        return ""
    sentences = split_sentences(previous)
    return sentences[-1] if sentences else ""
