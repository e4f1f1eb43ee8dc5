"""From a question as typed to weighted index terms.

Students type fast: lower case, misspelt names, paraphrases. A query keeps every content
word of the question, replaces a word the library does not know by its closest library word
(typo tolerance for names), adds related words at a lower weight, and notes quoted phrases
and the kind of answer the question wants (a date, a number, a measure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from knowledge.index import SearchIndex
from knowledge.text import STOP_WORDS, fold, stem, words

RELATED_WEIGHT = 0.35
CONTEXT_WEIGHT = 0.3
MIN_FUZZY_SCORE = 80.0
_QUOTED = re.compile(r"[\"“‘']{1,2}([^\"“”‘’']{8,})[\"”’']{1,2}")

_ANSWER_TYPES = (
    (
        re.compile(r"^\s*(when|what year|which year|in what year|what date|on what date)\b", re.I),
        "date",
    ),
    (re.compile(r"^\s*how (many|much)\b", re.I), "number"),
    (re.compile(r"^\s*how (tall|old|long|far|big|high|heavy|large|wide)\b", re.I), "measure"),
)


@dataclass(slots=True)
class Query:
    text: str
    terms: dict[str, float] = field(default_factory=dict)
    """Index term -> weight, including related words and context."""
    core: dict[str, float] = field(default_factory=dict)
    """The question's own content terms (after typo correction) -> importance (idf)."""
    alternatives: dict[str, frozenset[str]] = field(default_factory=dict)
    """Core term -> terms that count as matching it (itself and its related words)."""
    phrases: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Content words of the question the library does not contain, even approximately."""
    unknown_names: list[str] = field(default_factory=list)
    answer_type: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.phrases


@lru_cache(maxsize=1)
def related_groups() -> dict[str, frozenset[str]]:
    """Stemmed word -> stems of the words it is related to (knowledge/data/related_words.txt)."""
    text = resources.files("knowledge").joinpath("data/related_words.txt").read_text("utf-8")
    groups: dict[str, set[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        stems = {stem(fold(word)) for word in line.split()}
        for s in stems:
            groups.setdefault(s, set()).update(stems - {s})
    return {key: frozenset(value) for key, value in groups.items()}


def _correct(word: str, index: SearchIndex) -> tuple[str, float] | None:
    """The library word closest to a word it does not contain (dzerzinsky -> dzerzhinsky)."""
    if len(word) < 4 or word.isdigit():
        return None
    match = process.extractOne(
        word,
        index.surface_terms.keys(),
        scorer=fuzz.ratio,
        score_cutoff=MIN_FUZZY_SCORE,
    )
    if match is None:
        return None
    surface, score, _ = match
    return index.surface_terms[surface], score / 100.0


def answer_type(question: str) -> str | None:
    for pattern, kind in _ANSWER_TYPES:
        if pattern.search(question):
            return kind
    return None


def analyse(question: str, index: SearchIndex, context: str = "") -> Query:
    query = Query(text=question, answer_type=answer_type(question))
    query.phrases = [
        " ".join(t.folded for t in words(m.group(1))) for m in _QUOTED.finditer(question)
    ]
    related = related_groups()
    tokens = words(question)
    for position, token in enumerate(tokens):
        if token.folded in STOP_WORDS:
            continue
        term, confidence = token.term, 1.0
        if not index.has_term(term):
            corrected = _correct(token.folded, index)
            if corrected is None:
                if token.term not in related:
                    query.unknown.append(token.surface)
                    if token.surface[:1].isupper() and position > 0:
                        query.unknown_names.append(token.surface)
                query.core.setdefault(term, index.idf(term))
                query.alternatives[term] = frozenset({term}) | related.get(term, frozenset())
                for other in related.get(term, ()):
                    query.terms[other] = max(query.terms.get(other, 0.0), RELATED_WEIGHT)
                continue
            term, confidence = corrected
        query.terms[term] = max(query.terms.get(term, 0.0), confidence)
        query.core.setdefault(term, index.idf(term))
        query.alternatives[term] = frozenset({term}) | related.get(term, frozenset())
        for other in related.get(term, ()):
            if other not in query.terms:
                query.terms[other] = RELATED_WEIGHT
    for token in words(context):
        if token.folded not in STOP_WORDS and index.has_term(token.term):
            query.terms.setdefault(token.term, CONTEXT_WEIGHT)
    return query
