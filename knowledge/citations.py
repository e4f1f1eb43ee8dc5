"""How a passage is cited: one place, so the CLI, the bot and transcripts agree."""

from __future__ import annotations

from knowledge.models import Passage


def format_location(passage: Passage) -> str:
    """Source, section and paragraph: "Title, section 3 “Heading”, paragraph 4"; in a book,
    its divisions: "Title, vol. 1, ch. IV, para. 3".

    Only the opening of a text can be untitled (paragraphs before any heading, or a whole
    text without headings); it is cited by paragraph alone."""
    if passage.divisions:
        return f"{passage.source_title}, {', '.join(passage.divisions)}, para. {passage.paragraph}"
    if not passage.section_title:
        return f"{passage.source_title}, paragraph {passage.paragraph}"
    section = f"section {passage.section} “{passage.section_title}”"
    return f"{passage.source_title}, {section}, paragraph {passage.paragraph}"


def format_quoting(passage: Passage) -> str:
    """For a block quotation: whom it quotes and where it was printed; else ""."""
    quotation = passage.quotation
    if quotation is None:
        return ""
    speaker, attribution = quotation.speaker, quotation.attribution
    if speaker and attribution:
        if attribution.lower().startswith("quoted in") or speaker in attribution:
            return f"quoting {speaker}, {attribution}"
        return f"quoting {speaker}, from {attribution}"
    if speaker or attribution:
        return f"quoting {speaker or attribution}"
    return "a quotation"


def format_citation(passage: Passage) -> str:
    quoting = format_quoting(passage)
    location = format_location(passage)
    return f"{location}; {quoting}" if quoting else location
