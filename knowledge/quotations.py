"""Who is being quoted: read off the sentence that introduces a block quotation.

Histories introduce quotations with a reporting verb ("Khrushchev described…", "As Trotsky
remarked…", "Leopold Trepper, the organizer of…, noted that…"). The speaker is the name that
is the subject of that verb; a pronoun subject ("she recalled") refers back to the person
named in the sentence before.
"""

from __future__ import annotations

import re
from collections.abc import Container

from knowledge.text import STOP_WORDS, fold, split_sentences

REPORTING_VERBS = frozenset(
    """
    said says say wrote writes write recalled recalls recall remarked remarks noted
    notes described describes declared declares stated states explained explains
    observed observes eulogized eulogised complained complains commented comments
    insisted insists argued argues added adds replied replies answered answers told
    tells asked asks warned warns announced announces proclaimed proclaims reported
    reports recounted recounts sent sends cabled telegraphed testified testifies
    admitted admits conceded concedes confessed confesses claimed claims exclaimed
    exclaims put puts summed sums concluded concludes protested protests urged urges
    demanded demands ordered orders instructed instructs decreed decrees reminisced
    remembered remembers thundered shouted cried recorded records related relates
    """.split()
)
PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i"})
_NAME_WORD = r"(?:[A-Z][\w’']*(?:-[A-Z][\w’']*)*|[A-Z]\.)"
_NAME = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|de|von|van|der|da|del|di|la|le|bin|ibn))*")
_WORD = re.compile(r"[\w’'-]+")


def _name_candidates(sentence: str, common_words: Container[str]) -> list[tuple[str, int, int]]:
    """Capitalised word runs that are names, not sentence-initial ordinary words.

    A capitalised word that also occurs in lower case in the library ("Later", "One") is an
    ordinary word, not a name; stop words ("The", "As", "In") never are names.
    """
    found = []
    for match in _NAME.finditer(sentence):
        words = match.group(0).split()
        start = match.start()
        while words and (fold(words[0]) in STOP_WORDS or fold(words[0]) in common_words):
            start += len(words[0]) + 1
            words.pop(0)
        while words and (fold(words[-1]) in STOP_WORDS or fold(words[-1]) in common_words):
            words.pop()
        if words:
            name = " ".join(words)
            found.append((name, start, start + len(name)))
    return found


def reporting_verb(sentence: str) -> re.Match[str] | None:
    for match in _WORD.finditer(sentence):
        if match.group(0).lower() in REPORTING_VERBS:
            return match
    return None


def _subject_before(sentence: str, verb_start: int, common_words: Container[str]) -> str | None:
    candidates = [c for c in _name_candidates(sentence, common_words) if c[2] <= verb_start]
    for name, start, end in reversed(candidates):
        between = sentence[end:verb_start].strip()
        words_between = [w.lower() for w in _WORD.findall(between)]
        if "," not in between and all(w.endswith("ly") for w in words_between):
            return name
        preceded_by_comma = sentence[:start].rstrip().rstrip("’”'\"").endswith(",")
        if (
            between.startswith(",")
            and between.endswith(",")
            and (len(between) > 1 or preceded_by_comma)
        ):
            return name
        if between == "," and preceded_by_comma:
            return name
    return None


def pronoun_subject(sentence: str, verb_start: int) -> bool:
    before = [w.lower() for w in _WORD.findall(sentence[:verb_start])]
    while before and before[-1].endswith("ly"):
        before.pop()
    return bool(before) and before[-1] in PRONOUNS


def find_speaker(
    introduction: str, preceding_text: str = "", common_words: Container[str] = frozenset()
) -> str:
    """Name of whoever an introduction sentence says is speaking, or "" when it does not say."""
    if not introduction:
        return ""
    verb = reporting_verb(introduction)
    if verb is None:
        return ""
    if pronoun_subject(introduction, verb.start()):
        earlier = [s for s in split_sentences(preceding_text) if s != introduction]
        for sentence in reversed(earlier[-2:]):
            names = _name_candidates(sentence, common_words)
            multi_word = [n for n, _, _ in names if len(n.split()) > 1]
            if multi_word or names:
                return (multi_word or [names[0][0]])[0]
        return ""
    return _subject_before(introduction, verb.start(), common_words) or ""
