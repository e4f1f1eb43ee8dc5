"""What is printed around a text but is not part of it: e-text headers, licences, indexes.

These work on lines, before paragraphs are cut: a licence or an index is laid out in lines
that the paragraph rules would otherwise glue together. Rules are about the conventions of
e-text publishing (Project Gutenberg's markers and licence, transcribers' diacritic codes),
never about one book.
"""

from __future__ import annotations

import re
import unicodedata

# Transcribers write a diacritic they cannot type as a code in brackets: "Act[)i]um" is
# "Actĭum", "[=a]" a macron, "[:u]" a diaeresis. Replaced by the letter they stand for.
_DIACRITIC_CODES = {
    ")": "\u0306",  # breve
    "=": "\u0304",  # macron
    "^": "\u0302",  # circumflex
    ":": "\u0308",  # diaeresis
    "'": "\u0301",  # acute
    "`": "\u0300",  # grave
    "~": "\u0303",  # tilde
    ",": "\u0327",  # cedilla
    "v": "\u030c",  # caron
}
_DIACRITIC = re.compile(r"\[([)=^:'`~,v])([A-Za-z])\]")

_START = re.compile(
    r"^\W*(\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT"
    r"|START OF THE PROJECT GUTENBERG)",
    re.IGNORECASE,
)
_END = re.compile(
    r"^\W*(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|END OF (THE )?PROJECT GUTENBERG"
    r"|END OF PROJECT GUTENBERG'?S)",
    re.IGNORECASE,
)
_MENTIONS_GUTENBERG = re.compile(r"project gutenberg|gutenberg\.org|gutenberg-tm", re.IGNORECASE)
# The catalogue fields of an e-text's header ("Title: …", "Release Date: …").
_HEADER_FIELD = re.compile(
    r"^\s*(title|author|translator|editor|illustrator|commentator|release date|posting date|"
    r"last updated|language|character set encoding|produced by|credits|ebook #?\d*)\s*:",
    re.IGNORECASE,
)
_PRODUCED_BY = re.compile(
    r"^\s*(produced by|e-?text prepared by|transcribed (from|by)|this (e-?text|ebook) was)",
    re.IGNORECASE,
)
_INDEX_HEADING = re.compile(
    r"^\s*((general|alphabetical|analytical)\s+)?index(\s+(of|to)\s+[\w ,.'’]+)?\.?\s*$",
    re.IGNORECASE,
)
# An index entry ends in the pages it points to: "Caesar, Julius, 12, 45-47; ii. 108."
_PAGE = r"(?:(?:pp?\.|[ivxl]+\.)\s*)?\d+(?:\s*[-–]\s*\d+)?"
_INDEX_ENTRY = re.compile(rf"(^|[,;:]\s*){_PAGE}(\s*[,;]\s*{_PAGE})*[.,]?\s*$")
_MIN_INDEX_LINES = 12


def normalise(raw: str) -> str:
    """One text form for every file: no BOM, "\\n" line ends, transcribers' codes resolved."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "[" in text:
        text = _DIACRITIC.sub(_with_diacritic, text)
    return text


def _with_diacritic(match: re.Match[str]) -> str:
    mark, letter = match.groups()
    return unicodedata.normalize("NFC", letter + _DIACRITIC_CODES[mark])


def strip_ebook_boilerplate(lines: list[str]) -> tuple[list[str], bool]:
    """Drop an e-text's header, licence and footer; say whether there were any.

    With START/END markers everything outside them goes. Without them, the opening paragraphs
    that name Project Gutenberg or are catalogue fields go, and so does everything from the
    first paragraph in the second half that names it (the licence at the end)."""
    if not any(_MENTIONS_GUTENBERG.search(line) for line in lines[:400] + lines[-400:]):
        return lines, False
    half = len(lines) // 2
    start = next((i for i, line in enumerate(lines[:half]) if _START.match(line)), None)
    end = next((i for i, line in enumerate(lines) if i > (start or 0) and _END.match(line)), None)
    opening = next((first for first, _ in _paragraphs(lines[:200])), None)
    if (
        start is None
        and end is None
        and not (opening is not None and _MENTIONS_GUTENBERG.search(lines[opening]))
    ):
        return lines, False  # a text that only mentions Project Gutenberg is no e-text
    if end is None:
        end = next(
            (i for i in range(half, len(lines)) if _MENTIONS_GUTENBERG.search(lines[i])),
            len(lines),
        )
        end = _paragraph_start(lines, end)
    body = lines[start + 1 : end] if start is not None else _without_header(lines[:end])
    return _without_producer_credit(body), True


def _paragraph_start(lines: list[str], index: int) -> int:
    while index > 0 and lines[index - 1].strip():
        index -= 1
    return index


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(first, past-last) line numbers of each blank-line separated paragraph."""
    spans, start = [], None
    for i, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = i
        elif not line.strip() and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _without_header(lines: list[str]) -> list[str]:
    """Without markers: the header is the opening paragraphs about the e-text itself."""
    cut = 0
    for first, last in _paragraphs(lines):
        paragraph = lines[first:last]
        about_the_etext = any(_MENTIONS_GUTENBERG.search(line) for line in paragraph) or all(
            _HEADER_FIELD.match(line) or line.startswith((" ", "\t")) for line in paragraph
        )
        if not about_the_etext:
            break
        cut = last
    return lines[cut:]


def _without_producer_credit(lines: list[str]) -> list[str]:
    """ "Produced by David Reed" and the like, in the first paragraphs after the header."""
    for first, last in _paragraphs(lines)[:3]:
        if _PRODUCED_BY.match(lines[first]):
            return lines[:first] + lines[last:]
    return lines


def is_index_entry(line: str) -> bool:
    return bool(_INDEX_ENTRY.search(line.strip())) and len(line.strip()) < 200


def strip_index(lines: list[str]) -> list[str]:
    """Drop a back-of-book index: from an "INDEX" heading in the last part of the text whose
    lines are mostly entries ending in page numbers, or a final run of such lines."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) < _MIN_INDEX_LINES * 2:
        return lines
    last_part = content[len(content) * 3 // 5 :]
    for i in last_part:
        if _INDEX_HEADING.match(lines[i]):
            following = [j for j in content if j > i][:60]
            entries = sum(1 for j in following if is_index_entry(lines[j]))
            if len(following) >= _MIN_INDEX_LINES and entries >= 0.5 * len(following):
                return lines[:i]
    # No heading: the longest final stretch, from an entry on, where most lines are entries.
    cut, entries = None, 0
    for seen, i in enumerate(reversed(content[len(content) // 2 :]), start=1):
        entries += is_index_entry(lines[i])
        if entries >= _MIN_INDEX_LINES and entries >= 0.8 * seen and is_index_entry(lines[i]):
            cut = i
    return lines[:cut] if cut is not None else lines
