"""Footnotes: taken out of the running text and attached to the paragraph that cites them.

A note is printed either right after the paragraph citing it ("[Footnote 12: …]", "[12] …"),
or gathered under a heading such as "NOTES TO BOOK II" ("12 [ …]", "12. …"). The paragraph
cites it by a marker: "[12]", "{12}", a superscript "¹²", or — in some e-texts — a bare
number inside the sentence ("ruled over Upper Asia 3 for eight-and-twenty years"). Markers
are removed from the text so they reach no quote and satisfy no "how many" check, and the
note's text goes with the paragraph, to be shown on demand and searched at lower weight.

A bare number is taken for a marker only when it names a note of the same gathering and the
numbers so taken run in the notes' order (the longest such run), so "3 for eight-and-twenty"
loses its "3" and a date keeps its year.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

from knowledge.parsing.units import CHAPTER, Unit, looks_like_heading
from knowledge.text import display_text

_NOTES_HEADING = re.compile(r"^(foot|end)?notes(\s+(to|on|for|of)\b.*)?[.:]?$", re.IGNORECASE)
_LABEL = r"[0-9]{1,5}[a-z]?|[*†‡§]"
_BRACKETED_NOTE = re.compile(  # "[Footnote 12: …", "[Note 3. …", "[Footnote 1491]: …"
    r"^\[\s*(foot)?note\s*(?P<label>[^\s:.\]]{1,6})\s*(\]\s*[:.]?|[:.])\s*", re.IGNORECASE
)
_ENTRY_NOTES = (
    re.compile(rf"^\[(?P<label>{_LABEL})\]\s+(?=\S)"),  # "[12] text"
    re.compile(rf"^(foot)?note\s+(?P<label>{_LABEL})\s*[:.]\s+", re.I),  # "Footnote 12: text"
    re.compile(r"^(?P<label>[0-9]{1,5}[a-z]?)\s*\[\s*"),  # "12 [ text]"
)
_LISTED_NOTE = re.compile(r"^(?P<label>[0-9]{1,5}[a-z]?)[.)]\s+")  # "12. text", only under NOTES
_MARK = re.compile(r"\s?(\[(?P<bracket>[0-9]{1,5}[a-z]?|[*†‡§])\]|\{(?P<brace>[0-9]{1,5})\})")
_SUPERSCRIPT = re.compile(r"[¹²³⁴⁵⁶⁷⁸⁹⁰]+")
_SUPERSCRIPT_DIGITS = str.maketrans("¹²³⁴⁵⁶⁷⁸⁹⁰", "1234567890")
_UNITS_OF_MEASURE = frozenset("m cm mm km ft in yd mi sq".split())
_BARE_NUMBER = re.compile(r"(?<=[^\d\s])(\s)([0-9]{1,5}[a-z]?)(?=[\s,.;:!?)\]”’\"—–-]|$)")
_NOT_A_MARKER_AFTER = frozenset(
    "ch chap chapter book page p pp vol no part section sec line l ll cp see".split()
)
_MAX_NOTE_UNITS = 30


@dataclass(slots=True)
class _Note:
    label: str
    text: str
    after: int  # how many text units precede it
    claimed: bool = False


def attach_notes(units: list[Unit]) -> list[Unit]:
    """The units without notes, each with the notes it cites and without their markers."""
    text_units: list[Unit] = []
    placed: list[_Note] = []  # printed after the paragraph citing them
    gatherings: list[tuple[int, int, list[_Note]]] = []  # (first unit, past-last, notes)
    gathering_start = 0
    index = 0
    while index < len(units):
        unit = units[index]
        if not unit.quoted and _NOTES_HEADING.match(unit.text.strip()):
            notes, after = _gathered_notes(units, index + 1, len(text_units))
            if notes:
                gatherings.append((gathering_start, len(text_units), notes))
                gathering_start = len(text_units)
                index = after
                continue
        if _BRACKETED_NOTE.match(unit.text):
            note, index = _bracketed_note(units, index, len(text_units))
            placed.append(note)
            continue
        entry = _entry(unit.text)
        if entry is not None and not unit.quoted:
            placed.append(_Note(entry[0], entry[1], len(text_units)))
            index += 1
            continue
        text_units.append(unit)
        index += 1
    _resolve_marks(text_units, placed, gatherings)
    for note in placed:  # a placed note nobody cites belongs to the paragraph it follows
        if not note.claimed and note.after > 0:
            text_units[note.after - 1].notes.append(note.text)
    for first, last, notes in gatherings:
        _resolve_bare_numbers(text_units[first:last], [n for n in notes if not n.claimed])
    return text_units


def _entry(text: str, *, listed: bool = False) -> tuple[str, str] | None:
    for pattern in (*_ENTRY_NOTES, _LISTED_NOTE) if listed else _ENTRY_NOTES:
        match = pattern.match(text)
        if match:
            body = text[match.end() :].strip()
            if pattern is _ENTRY_NOTES[2] and body.endswith("]"):
                body = body[:-1].rstrip()
            return match.group("label"), display_text(body)
    return None


def _gathered_notes(units: list[Unit], start: int, after: int) -> tuple[list[_Note], int]:
    """The entries under a NOTES heading, up to the next heading that is not an entry."""
    notes: list[_Note] = []
    index = start
    while index < len(units):
        unit = units[index]
        entry = _entry(unit.text, listed=True)
        if entry is not None:
            notes.append(_Note(entry[0], entry[1], after))
        elif notes and not unit.heading and not _heading(unit):
            notes[-1].text += "\n" + display_text(unit.text)  # a note of several paragraphs
        else:
            break
        index += 1
    return notes, index


def _bracketed_note(units: list[Unit], index: int, after: int) -> tuple[_Note, int]:
    """ "[Footnote 2: …" up to its closing bracket, across paragraphs if need be (a note
    whose bracket never closes ends before the next note or heading)."""
    match = _BRACKETED_NOTE.match(units[index].text)
    assert match is not None
    parts, depth = [], 0
    offset = 0
    for offset, unit in enumerate(units[index : index + _MAX_NOTE_UNITS]):
        if offset and (_BRACKETED_NOTE.match(unit.text) or unit.heading or _labelled(unit)):
            offset -= 1
            break
        depth += unit.text.count("[") - unit.text.count("]")
        parts.append(unit.text)
        if depth <= 0:
            break
    text = "\n".join(display_text(part) for part in parts)[match.end() :].strip()
    if depth <= 0 and text.endswith("]"):
        text = text[:-1].rstrip()
    return _Note(match.group("label"), text, after), index + offset + 1


def _heading(unit: Unit) -> bool:
    return unit.text[:1].isupper() and looks_like_heading(unit.text, lines=unit.lines)


def _labelled(unit: Unit) -> bool:
    """ "CHAPTER II", "Book III. …": ends even a note whose bracket never closed."""
    return bool(CHAPTER.match(unit.text)) and looks_like_heading(unit.text, lines=unit.lines)


def _resolve_marks(
    units: list[Unit], placed: list[_Note], gatherings: list[tuple[int, int, list[_Note]]]
) -> None:
    """Bracketed, braced and superscript marks: the nearest note with that label printed
    after the paragraph, else the note of that label gathered for its part of the text."""
    by_label: dict[str, list[_Note]] = defaultdict(list)
    for note in placed:
        by_label[note.label].append(note)
    for position, unit in enumerate(units):
        marks = [
            (m.start(), m.end(), m.group("bracket") or m.group("brace"))
            for m in _MARK.finditer(unit.text)
        ]
        marks += [
            (m.start(), m.end(), m.group(0).translate(_SUPERSCRIPT_DIGITS))
            for m in _SUPERSCRIPT.finditer(unit.text)
            if _is_superscript_mark(unit.text, m.start())
        ]
        if not marks:
            continue
        for _, _, label in sorted(marks):
            note = _nearest_after(by_label.get(label, []), position) or _gathered(
                gatherings, position, label
            )
            if note is not None:
                note.claimed = True
                unit.notes.append(note.text)
        unit.text = _without_spans(unit.text, [(start, end) for start, end, _ in marks])


def _is_superscript_mark(text: str, start: int) -> bool:
    before = re.search(r"(\w+)\W*$", text[:start])
    unit = before is not None and before.group(1) in _UNITS_OF_MEASURE
    return not (unit and text[start - 1 : start].isalpha())


def _nearest_after(notes: list[_Note], position: int) -> _Note | None:
    afters = [note.after for note in notes]
    for note in notes[bisect.bisect_right(afters, position) :]:
        if not note.claimed:
            return note
    return None


def _gathered(
    gatherings: list[tuple[int, int, list[_Note]]], position: int, label: str
) -> _Note | None:
    for first, last, notes in gatherings:
        if first <= position < last:
            return next((n for n in notes if n.label == label and not n.claimed), None)
    return None


def _resolve_bare_numbers(units: list[Unit], notes: list[_Note]) -> None:
    if not notes:
        return
    order = {}
    for rank, note in enumerate(notes):
        order.setdefault(note.label, rank)
    candidates = []  # (unit, start, end, rank) in reading order
    for unit in units:
        for match in _BARE_NUMBER.finditer(unit.text):
            label = match.group(2)
            if label not in order or not _may_be_marker(unit.text[: match.start()]):
                continue
            candidates.append((unit, match.start(), match.end(), order[label]))
    chosen = _longest_increasing(candidates)
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for unit, start, end, rank in chosen:
        notes[rank].claimed = True
        unit.notes.append(notes[rank].text)
        spans[id(unit)].append((start, end))
    for unit in units:
        if id(unit) in spans:
            unit.text = _without_spans(unit.text, spans[id(unit)])


def _may_be_marker(before: str) -> bool:
    """Not "chapter 3", "p. 12" or the "4" of "3, 4"."""
    previous = re.search(r"(\w+)\.?\s*$", before)
    if previous is None:
        return True  # after a comma, a quote mark, a bracket
    word = previous.group(1).lower()
    return word not in _NOT_A_MARKER_AFTER and not word.isdigit()


def _longest_increasing(candidates: list[tuple[Unit, int, int, int]]) -> list:
    """The longest run of candidates whose note ranks strictly increase (patience sorting);
    of two equal numbers the first is the marker (it stands by the notes before it)."""
    tails: list[int] = []  # rank at the end of the best run of each length
    tail_index: list[int] = []
    parent: list[int] = [-1] * len(candidates)
    for i, candidate in enumerate(candidates):
        rank = candidate[3]
        length = bisect.bisect_left(tails, rank)
        if length == len(tails):
            tails.append(rank)
            tail_index.append(i)
        elif tails[length] == rank:
            continue  # the same note's number again: the first one stands
        else:
            tails[length] = rank
            tail_index[length] = i
        parent[i] = tail_index[length - 1] if length else -1
    run, i = [], tail_index[-1] if tail_index else -1
    while i >= 0:
        run.append(candidates[i])
        i = parent[i]
    return run[::-1]


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return text
