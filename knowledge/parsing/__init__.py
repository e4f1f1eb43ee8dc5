"""Reading a text into the structure a reader sees: sections of paragraphs and quotations.

One pass per concern, in the order a reader's eye would take them:

1. `boilerplate` — one line form (BOM, CRLF, transcribers' codes); an e-text's header,
   licence and footer, and a back-of-book index, are not the text;
2. `units` — paragraph-sized pieces, whichever way the file lays out its lines;
3. `footnotes` — notes out of the text, attached to the paragraphs citing them, markers gone;
4. `blocks` — headings, paragraphs, page-break joins, block quotations and attributions;
5. `structure` — the book's outline (volume, part, book, chapter), front matter dropped.
"""

from __future__ import annotations

from knowledge.parsing.blocks import Block, ParsedText, Section, assemble
from knowledge.parsing.boilerplate import normalise, strip_ebook_boilerplate, strip_index
from knowledge.parsing.footnotes import attach_notes
from knowledge.parsing.structure import outline
from knowledge.parsing.units import split_units

__all__ = ["Block", "ParsedText", "Section", "parse_text"]


def parse_text(raw: str, *, title: str = "", subtitle: str = "") -> ParsedText:
    """Parse a source text. `title`/`subtitle` (from the manifest) are dropped from the body."""
    lines, is_ebook = strip_ebook_boilerplate(normalise(raw).split("\n"))
    units = attach_notes(split_units(strip_index(lines)))
    parsed = assemble(units, title=title, subtitle=subtitle)
    parsed.sections = outline(parsed.sections, is_book=is_ebook)
    return parsed
