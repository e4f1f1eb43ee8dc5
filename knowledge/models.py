"""The typed values the knowledge library hands out.

They are frozen dataclasses: plain data that the Discord layer and the CLI render, and that
can be pickled into the on-disk index cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Source:
    """One text of the library, as described by its manifest entry."""

    id: str
    title: str
    file: Path
    subtitle: str = ""
    author: str = ""
    publication: str = ""
    year: str = ""
    url: str = ""
    licence: str = ""


class PassageKind(StrEnum):
    PROSE = "prose"
    QUOTATION = "quotation"


@dataclass(frozen=True, slots=True)
class Quotation:
    """What a block quotation passage quotes: who speaks, and where it was printed."""

    speaker: str = ""
    """Whom the passage quotes, e.g. "Khrushchev" (empty when the text does not say)."""
    attribution: str = ""
    """The attribution line as printed, without its dash, e.g. "Khrushchev Remembers"."""
    introduction: str = ""
    """The sentence of the text that introduces the quotation."""


@dataclass(frozen=True, slots=True)
class Passage:
    """A paragraph (or a whole block quotation) with everything a citation needs."""

    ref: str
    """Stable, typable reference: "<source id>:<section>.<paragraph>", e.g. "guardians:3.2"."""
    source_id: str
    source_title: str
    section: int
    section_title: str
    paragraph: int
    text: str
    kind: PassageKind = PassageKind.PROSE
    quotation: Quotation | None = None
    position: int = 0
    """Index of the passage in the whole library, in reading order."""
    divisions: tuple[str, ...] = ()
    """Where the passage's section sits in a book, outermost first, as cited:
    ("vol. 1", "ch. IV"); a volume holding two works starts with the work's title. Empty for
    a text without labelled parts (an article), which is cited by section title."""
    notes: tuple[str, ...] = ()
    """The footnotes the passage cites (their markers are not in `text`), for showing on
    demand and searching at lower weight."""

    @property
    def short_ref(self) -> str:
        """The reference without its source prefix ("3.2")."""
        return self.ref.split(":", 1)[1]

    @property
    def citation(self) -> str:
        """The citation as displayed to users."""
        return format_citation(self)


# -- how a passage is cited: one place, so the CLI, the bot and transcripts agree --------------


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


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage found for a query, with the sentences that best answer it."""

    passage: Passage
    score: float
    quote: str
    """The sentence or two of the passage shown to the user (exact text of the passage)."""
    matched_terms: tuple[str, ...] = ()
    """Words of the passage that matched the query, as they appear in the text (for bolding)."""

    @property
    def ref(self) -> str:
        return self.passage.ref

    @property
    def citation(self) -> str:
        return self.passage.citation


@dataclass(frozen=True, slots=True)
class SectionInfo:
    source_id: str
    number: int
    title: str
    passage_count: int
    first_ref: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of asking a question: the best hit and alternatives, or an honest abstention."""

    question: str
    answered: bool
    hits: tuple[Hit, ...] = ()
    """Best first. When `answered` is false these are the closest passages, not answers."""
    reason: str = ""
    """Why the library abstained (empty when answered)."""
    closest_sections: tuple[SectionInfo, ...] = field(default=())

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.answered and self.hits else None

    @property
    def alternatives(self) -> tuple[Hit, ...]:
        return self.hits[1:] if self.answered else self.hits
