"""Paragraph-sized units into sections of blocks: the structure a reader sees.

A text is a sequence of sections (an optional untitled opening, then one per heading; empty
ones are kept here, as the outline reads them), each a
sequence of blocks: prose paragraphs and block quotations with their attribution. The rules
are about typography, not about any one text:

* paragraphs are either one per line, or hard-wrapped lines separated by blank lines;
* a long line that stops mid-sentence was broken by a page break and continues on the next;
* a heading is a short line that does not read as a sentence (or a Markdown `#` line);
* a block quotation is a paragraph set in quote marks (or Markdown `>`); a quotation
  paragraph that does not close its quote mark continues into the next one; indentation
  alone makes none (books indent verse, summaries and whole bodies of text);
* a short line starting with a dash right after a quotation is its attribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.parsing.units import (
    CHAPTER,
    FRONT_MATTER,
    MAX_HEADING_CHARS,
    PROLOGUE,
    Unit,
    attribution_text,
    ends_mid_sentence,
    is_attribution,
    is_title_cased,
    looks_like_heading,
)
from knowledge.text import CLOSING_QUOTES, OPENING_QUOTES, display_text, fold, split_sentences


@dataclass(slots=True)
class Block:
    """A paragraph or a block quotation as printed."""

    text: str
    is_quotation: bool = False
    attribution: str = ""
    introduction: str = ""
    notes: list[str] = field(default_factory=list)
    """The footnotes the block cites, in the order it cites them."""


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    divisions: tuple[str, ...] = ()
    """Where the section sits in a book, outermost first, as cited: ("vol. 1", "ch. IV")."""


@dataclass(slots=True)
class ParsedText:
    title_lines: list[str]
    sections: list[Section]


def is_quotation(text: str) -> bool:
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


def _continues(text: str, following: Unit) -> bool:
    """A long line that stops mid-sentence continues on the next line (a page break)."""
    following_text = following.text.strip()
    return (
        len(text) > MAX_HEADING_CHARS
        and ends_mid_sentence(text)
        and not following.heading
        and not is_attribution(following_text)
        and not (following_text[:1].isupper() and looks_like_heading(following_text))
    )


def assemble(units: list[Unit], *, title: str = "", subtitle: str = "") -> ParsedText:
    """Sections of blocks from units. `title`/`subtitle` (from the manifest) are dropped."""
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
        notes = list(unit.notes)
        index += 1
        if not text:
            continue
        while (
            not unit.heading
            and not unit.quoted
            and index < len(units)
            and _continues(text, units[index])
        ):
            text = f"{text} {display_text(units[index].text)}"
            notes += units[index].notes
            index += 1
        if is_attribution(text) and current and current.blocks and current.blocks[-1].is_quotation:
            current.blocks[-1].attribution = attribution_text(text)
            pending_quote = None
            continue
        next_is_attribution = index < len(units) and is_attribution(units[index].text.strip())
        if unit.heading or (
            not unit.quoted
            and looks_like_heading(text, lines=unit.lines)
            and not next_is_attribution
        ):
            title = text.strip("#").strip()
            if (
                current is not None
                and not current.blocks
                and CHAPTER.fullmatch(current.title)
                and not CHAPTER.match(title)
                and not PROLOGUE.match(title)
                and not FRONT_MATTER.match(title)
            ):
                # "CHAPTER IV" then "THE PURGES": one heading printed on two lines.
                current.title = f"{current.title}: {title}"
            else:
                current = Section(title=title)
                sections.append(current)
            pending_quote = None
            continue
        if current is not None and current.title and not current.blocks and is_title_cased(text):
            continue  # a chapter's argument in title case under its heading: not prose
        if current is None:
            current = Section(title="")
            sections.append(current)
        quoted = unit.quoted or is_quotation(text)
        if quoted and pending_quote is not None:
            pending_quote.text = f"{pending_quote.text}\n{text}"
            pending_quote.notes += notes
            if _closes(text) or unit.quoted:
                pending_quote = None
            continue
        if quoted:
            block = Block(text, True, introduction=_introduction(current), notes=notes)
            current.blocks.append(block)
            pending_quote = None if (_closes(text) or unit.quoted) else block
            continue
        pending_quote = None
        current.blocks.append(Block(text=text, notes=notes))
    return ParsedText(title_lines=title_lines, sections=sections)


def _introduction(section: Section) -> str:
    """The last sentence of the paragraph before a quotation, when it leads into it."""
    if not section.blocks or section.blocks[-1].is_quotation:
        return ""
    previous = section.blocks[-1].text
    if previous.rstrip()[-1:] not in ":,":
        return ""
    sentences = split_sentences(previous)
    return sentences[-1] if sentences else ""
