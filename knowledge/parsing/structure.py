"""A book's outline: volume, part, book and chapter, read off its headings.

Each section learns its place ("vol. 1", "ch. IV") so a citation can name it. The rules are
those of book typography:

* a labelled heading ("VOLUME ONE", "Book I.", "Chapter IV: …", "XXIX.--Of the Huns") opens
  its level and closes every level below it; an unlabelled heading is a section below them;
* a heading that repeats the open chapter's label ("Chapter I: …--Part II.", or a bare
  "PART II." before the chapter goes on) continues that chapter: one section, one count of
  paragraphs;
* an unlabelled heading right under a chapter heading is its subtitle;
* numbering that starts again (BOOK I after BOOK VIII) with no higher level between starts a
  new work, named by the title printed before it: two works in one volume stay apart;
* front matter is not text: the title page's short lines, contents, lists of illustrations,
  transcribers' notes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from knowledge.parsing.blocks import Section
from knowledge.parsing.units import FRONT_MATTER, PROLOGUE
from knowledge.text import fold

_NUMBER_WORDS = {
    word: value
    for value, words in enumerate(
        (
            "one first",
            "two second",
            "three third",
            "four fourth",
            "five fifth",
            "six sixth",
            "seven seventh",
            "eight eighth",
            "nine ninth",
            "ten tenth",
            "eleven eleventh",
            "twelve twelfth",
            "thirteen thirteenth",
            "fourteen fourteenth",
            "fifteen fifteenth",
            "sixteen sixteenth",
            "seventeen seventeenth",
            "eighteen eighteenth",
            "nineteen nineteenth",
            "twenty twentieth",
        ),
        start=1,
    )
    for word in words.split()
}
_KINDS = {
    "volume": ("volume", 0),
    "vol.": ("volume", 0),
    "part": ("part", 1),
    "book": ("book", 2),
    "chapter": ("chapter", 3),
    "chap.": ("chapter", 3),
    "canto": ("canto", 3),
    "letter": ("letter", 3),
    "lecture": ("lecture", 3),
    "act": ("act", 3),
    "section": ("section", 4),
    "scene": ("scene", 4),
}
_CITED_AS = {"volume": "vol.", "chapter": "ch.", "section": "sec."}
_NUMERAL = rf"[0-9]+|[ivxlcdm]+|{'|'.join(_NUMBER_WORDS)}"
_LABELLED = re.compile(
    rf"^(?P<kind>{'|'.join(re.escape(k) for k in _KINDS)})\s+(the\s+)?(?P<number>{_NUMERAL})\b"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"^(?P<number>[0-9]+|[ivxlcdm]+)\s*(\.|:|--|—|–|$)(?P<rest>.*)$", re.I)
_ROMAN = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$", re.IGNORECASE)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_PART_SUFFIX = re.compile(
    r"[\s.,:;—–-]*\(?\b(part|pt\.?)\s+([0-9]+|[ivxlc]+)\)?\.?$|[\s.,:;—–-]*\(?continued\)?\.?$",
    re.IGNORECASE,
)
_TITLE_PAGE_WORDS = 30
_SUBDIVIDED_RANK = 3  # chapters and below take a printed subtitle


@dataclass(frozen=True, slots=True)
class Heading:
    kind: str  # "volume", "part", "book", "chapter", …; "numbered" for a bare numeral; ""
    rank: int  # 0 is outermost; unlabelled headings rank below every label
    numeral: str  # as printed ("IV", "1"); a number word as digits ("ONE" -> "1")
    value: int
    title: str  # the heading without its label

    @property
    def labelled(self) -> bool:
        return bool(self.kind)


def classify(text: str) -> Heading:
    """ "Chapter IV: The Cruelty …" -> chapter IV titled "The Cruelty …"."""
    text = text.strip()
    match = _LABELLED.match(text)
    if match and _is_numeral(match.group("number")):
        kind, rank = _KINDS[match.group("kind").lower()]
        return Heading(kind, rank, *_numeral(match.group("number")), _rest(match.group("rest")))
    match = _NUMBERED.match(text)
    number = match.group("number") if match else ""
    if match and _is_numeral(number) and not (number.isdigit() and len(number) > 3):  # no years
        return Heading("numbered", 3, *_numeral(match.group("number")), _rest(match.group("rest")))
    return Heading("", 9, "", 0, text.rstrip("."))


def _is_numeral(word: str) -> bool:
    return word.isdigit() or word.lower() in _NUMBER_WORDS or bool(_ROMAN.match(word))


def _numeral(word: str) -> tuple[str, int]:
    if word.isdigit():
        return word, int(word)
    if word.lower() in _NUMBER_WORDS:
        value = _NUMBER_WORDS[word.lower()]
        return str(value), value
    values = [_ROMAN_VALUES[ch] for ch in word.lower()]
    value = sum(
        -v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values)
    )
    return word.upper(), value


def _rest(rest: str) -> str:
    return rest.strip().lstrip(".:—–-").strip().rstrip(".").strip()


def _continuation_key(heading: Heading) -> str:
    return fold(_PART_SUFFIX.sub("", heading.title))


def outline(sections: list[Section], *, is_book: bool) -> list[Section]:
    """The sections worth citing, each with its divisions; continuations merged."""
    for section in sections:
        if FRONT_MATTER.match(section.title.strip()):
            section.blocks = []
    headings = [classify(s.title) for s in sections]
    if any(h.kind == "chapter" for h in headings):  # then a bare numeral is a section in one
        headings = [
            Heading("section", 4, h.numeral, h.value, h.title) if h.kind == "numbered" else h
            for h in headings
        ]
    # A labelled heading with no text under it (a line of the contents) opens nothing.
    headings = [
        h if not h.labelled or _has_text(sections, headings, i) else _unlabelled(h)
        for i, h in enumerate(headings)
    ]
    kept: list[tuple[Section, Heading]] = []
    open_at: dict[int, tuple[Section, Heading]] = {}
    for position, (section, heading) in enumerate(zip(sections, headings, strict=True)):
        if kept and _continues(heading, open_at, headings[position + 1 :]):
            kept[-1][0].blocks += section.blocks
            opened = open_at.get(heading.rank)
            if opened is not None and heading.title:
                opened[0].title = _PART_SUFFIX.sub("", opened[0].title)
            continue
        if (
            not heading.labelled
            and kept
            and not kept[-1][0].blocks
            and kept[-1][1].labelled
            and kept[-1][1].rank >= _SUBDIVIDED_RANK
        ):
            kept[-1][0].blocks += section.blocks  # a chapter's subtitle
            continue
        if heading.labelled:
            open_at = {r: o for r, o in open_at.items() if r < heading.rank}
            open_at[heading.rank] = (section, heading)
        kept.append((section, heading))
    _drop_front_matter(kept, is_book=is_book)
    _assign_divisions(kept)
    return [section for section, _ in kept if section.blocks]


def _has_text(sections: list[Section], headings: list[Heading], position: int) -> bool:
    """Whether text follows a heading before the next heading of its level or above."""
    if sections[position].blocks:
        return True
    rank = headings[position].rank
    for section, heading in zip(sections[position + 1 :], headings[position + 1 :], strict=True):
        if heading.labelled and heading.rank <= rank:
            return False
        if section.blocks:
            return True
    return False


def _unlabelled(heading: Heading) -> Heading:
    return Heading("", 9, "", 0, heading.title)


def _continues(
    heading: Heading, open_at: dict[int, tuple[Section, Heading]], following: list[Heading]
) -> bool:
    """ "Chapter I: …--Part II." while chapter I is open; a bare "PART II." inside a chapter
    that the next labelled heading continues."""
    if not heading.labelled:
        return False
    current = open_at.get(heading.rank, (None, None))[1]
    if current is not None and current.kind == heading.kind and current.value == heading.value:
        return _continuation_key(current) in ("", _continuation_key(heading)) or not heading.title
    chapter = open_at.get(3, (None, None))[1]
    if heading.kind == "part" and not heading.title and chapter is not None:
        upcoming = next((h for h in following if h.labelled), None)
        return upcoming is not None and (upcoming.kind, upcoming.value) == (
            chapter.kind,
            chapter.value,
        )
    return False


def _drop_front_matter(kept: list[tuple[Section, Heading]], *, is_book: bool) -> None:
    """An e-text's title page: the short lines before its first real section."""
    if not is_book:
        return
    first = next(
        (
            position
            for position, (section, heading) in enumerate(kept)
            if (heading.labelled and heading.kind != "volume")
            or PROLOGUE.match(section.title.strip())
            or any(len(b.text.split()) >= _TITLE_PAGE_WORDS for b in section.blocks)
        ),
        0,
    )
    for section, _ in kept[:first]:
        section.blocks = []


def _assign_divisions(kept: list[tuple[Section, Heading]]) -> None:
    """Each section's labels, outermost first, with the work it belongs to when a volume
    holds several."""
    if not any(h.labelled for _, h in kept):
        return  # an article: cited by section title, as before
    open_at: dict[int, Heading] = {}
    last_value: dict[int, int] = {}
    first_at: dict[int, int] = {}
    works: list[int] = []  # work number of each kept section
    work_titles: list[str] = [""]
    for position, (section, heading) in enumerate(kept):
        if heading.labelled:
            if heading.value <= last_value.get(heading.rank, 0):  # numbering starts again
                if len(work_titles) == 1:
                    work_titles[0] = _work_title(kept, first_at[heading.rank])
                work_titles.append(_work_title(kept, position))
            first_at.setdefault(heading.rank, position)
            open_at = {r: h for r, h in open_at.items() if r < heading.rank}
            open_at[heading.rank] = heading
            last_value = {r: v for r, v in last_value.items() if r < heading.rank}
            last_value[heading.rank] = heading.value
        labels = [_cited(h) for _, h in sorted(open_at.items())]
        if not heading.labelled and heading.title:
            labels.append(f"“{_display(heading.title)}”")
        section.divisions = tuple(labels)
        works.append(len(work_titles) - 1)
    if len(work_titles) > 1:
        for (section, _), work in zip(kept, works, strict=True):
            title = work_titles[work] or f"work {work + 1}"
            volume = [d for d in section.divisions[:1] if d.startswith("vol.")]
            section.divisions = (*volume, title, *section.divisions[len(volume) :])


def _work_title(kept: list[tuple[Section, Heading]], position: int) -> str:
    """The unlabelled title printed with no text under it right before `position`."""
    for section, heading in reversed(kept[max(0, position - 4) : position]):
        if section.blocks:
            return ""
        if not heading.labelled and heading.title:
            return _display(heading.title)
    return ""


def _cited(heading: Heading) -> str:
    name = _CITED_AS.get(heading.kind, "ch." if heading.kind == "numbered" else heading.kind)
    numeral = str(heading.value) if heading.kind == "volume" else heading.numeral
    return f"{name} {numeral}"


def _display(title: str) -> str:
    title = title.strip().rstrip(".")
    return string.capwords(title) if title.isupper() else title
