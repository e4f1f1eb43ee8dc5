"""From a question as typed to what is searched for.

Students type fast: lower case, misspelt names, derived forms of the text's words. A query
keeps every content word of the question; a word the library lacks is replaced by the
closest library word when one is near enough (a typo: "Zhang Rhou" -> "Zhang Rou",
"goverment" -> "government"); words derived from the same root ("succeed", "successor") are
searched at a lower weight. What the question asks for (a date, a number, a person, a
place) is read off its opening words. Nothing here decides whether to answer: that is the
learned stage's job, which gets what this finds (words the texts lack, corrections made).
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from knowledge.corpus import NAME
from knowledge.index import SearchIndex
from knowledge.text import STOP_WORDS, Token, words

FAMILY_WEIGHT = 0.5
"""How much a word sharing most of its root with a question word ("successor") counts as a
match of it."""
TYPO_SIMILARITY = 0.8
"""Least normalised Levenshtein similarity for a word the texts lack to be read as a typo of
one of theirs: one edit in five letters."""
NAME_TYPO_SIMILARITY = 0.75
"""The same for a capitalised word (a name): one edit in four letters ("Rhou" for "Rou")."""
_QUOTED = re.compile(r"[\"“‘']{1,2}([^\"“”‘’']{8,})[\"”’']{1,2}")
_WHICH = r"(in |on |during |by |to |from )?(what|which)"
_ANSWER_TYPES = (
    ("date", rf"^(when|{_WHICH} (year|date|century|decade|month|day|period|era)s?)\b"),
    ("number", r"^how (many|much|long|old|far|large|big|tall|high)\b"),
    ("person", rf"^(who|whom|whose|{_WHICH} (person|man|woman|king|queen|emperor|leader|ruler))\b"),
    ("place", rf"^(where|{_WHICH} (city|country|place|region|town|state|province|island|river))\b"),
)


def answer_type(question: str) -> str | None:
    """What kind of thing the question asks for: "date", "number", "person", "place"."""
    opening = " ".join(question.lower().split())
    for kind, pattern in _ANSWER_TYPES:
        if re.search(pattern, opening):
            return kind
    return None


@dataclass(slots=True)
class Query:
    text: str
    words: list[str] = field(default_factory=list)
    """The question's folded words in order, stop words included (for phrase matching)."""
    core: dict[str, float] = field(default_factory=dict)
    """The question's own content terms the library holds (after typo correction) -> idf."""
    terms: dict[str, float] = field(default_factory=dict)
    """What BM25 searches for: the core terms, at 1 (a typo's correction at its similarity).
    Derived forms are not searched (measured: they cost BM25 precision); the learned stage
    counts them as half matches."""
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Core term -> the library terms derived from the same root."""
    names: set[str] = field(default_factory=set)
    """Core terms the library writes as names, written as names in the question."""
    unknown: list[str] = field(default_factory=list)
    """Content words of the question the library lacks, even approximately (as typed)."""
    unknown_names: list[str] = field(default_factory=list)
    """Those of them capitalised mid-question: names the texts never mention."""
    corrected: dict[str, float] = field(default_factory=dict)
    """Core terms that stand for a misspelt word -> how similar the two were (0-1)."""
    phrases: list[list[str]] = field(default_factory=list)
    """Quoted phrases, as folded words."""
    answer_type: str | None = None
    subject: str = ""
    """For a follow-up, whom it is about, as the earlier answer wrote the name."""

    @property
    def meaning(self) -> str:
        """What the question means, for its sentence vector: a follow-up's "him" named."""
        return f"{self.text} ({self.subject})" if self.subject else self.text

    @property
    def is_empty(self) -> bool:
        return not self.core and not self.unknown

    @property
    def weight(self) -> float:
        return sum(self.core.values())


def analyse(question: str, index: SearchIndex, context: str = "") -> Query:
    """The query for a question; `context` is an earlier answer a follow-up refers to."""
    tokens = words(question)
    query = Query(text=question, words=[t.folded for t in tokens])
    query.answer_type = answer_type(question)
    query.phrases = [[t.folded for t in words(m.group(1))] for m in _QUOTED.finditer(question)]
    # In a question typed all in lower case, capitals say nothing about what is a name.
    cased = any(t.surface[:1].isupper() for t in tokens[1:])
    known = [t.term for t in tokens if t.folded not in STOP_WORDS and index.has_term(t.term)]
    for position, token in enumerate(tokens):
        if token.folded in STOP_WORDS:
            continue
        term = _library_term(token, index, query, known)
        if term is None:
            query.unknown.append(token.surface)
            if position > 0 and token.surface[:1].isupper():
                query.unknown_names.append(token.surface)
            continue
        query.core.setdefault(term, index.idf(term) or 0.0)
        query.terms[term] = max(query.terms.get(term, 0.0), query.corrected.get(term, 1.0))
        if (not cased or token.surface[:1].isupper()) and _is_name(token.folded, index):
            query.names.add(term)
    for term in query.core:
        query.alternatives[term] = () if term in query.names else _family(term, index)
    if context and not query.names:
        _add_context(query, index, context)
    return query


def _library_term(token: Token, index: SearchIndex, query: Query, known: list[str]) -> str | None:
    """The library's term for a question word: its own, or that of the word it misspells."""
    if index.has_term(token.term):
        return token.term
    corrected = _correct(token, index, known)
    if corrected is None:
        return None
    term, similarity = corrected
    query.corrected[term] = similarity
    return term


def _correct(token: Token, index: SearchIndex, known: list[str]) -> tuple[str, float] | None:
    """The library word closest to a word it lacks (dzerzinsky -> dzerzhinsky): one edit in
    four letters for a name, in five for any word. Among equally close words, the one that
    shares passages with the question's other words ("Zhang Rhou" -> Rou, who stands beside
    Zhang, not Zhou), then the one most passages hold (frensh -> french, not fresh)."""
    folded = token.folded
    if len(folded) < 4 or not folded.isalpha():
        return None
    cutoff = NAME_TYPO_SIMILARITY if token.surface[:1].isupper() else TYPO_SIMILARITY
    matches = process.extract(
        folded,
        typo_candidates(index),
        scorer=Levenshtein.normalized_similarity,
        score_cutoff=cutoff,
        limit=5,
    )
    if not matches:
        return None
    best = max(score for _, score, _ in matches)
    terms = [
        index.corpus.term_of(index.corpus.word_id(word))
        for word, score, _ in matches
        if score == best
    ]
    beside = [index.text.postings(term) for term in known]  # ascending, without repeats

    def evidence(term: str) -> tuple[int, int, str]:
        held = index.text.postings(term)
        shared = sum(1 for other in beside if np.intersect1d(held, other, assume_unique=True).size)
        return shared, len(held), term

    return max(terms, key=evidence), best


_TYPO_CANDIDATES: weakref.WeakKeyDictionary[object, list[str]] = weakref.WeakKeyDictionary()


def typo_candidates(index: SearchIndex) -> list[str]:
    """The library's content words of three letters or more (built on first need, kept while
    its corpus lives: a worker answers for several servers' libraries)."""
    corpus = index.corpus
    if corpus not in _TYPO_CANDIDATES:
        _TYPO_CANDIDATES[corpus] = [
            word
            for word_id in range(len(corpus.words))
            if index.word_terms[word_id] >= 0 and len(word := corpus.word(word_id)) >= 3
        ]
    return _TYPO_CANDIDATES[corpus]


def _is_name(folded: str, index: SearchIndex) -> bool:
    word_id = index.corpus.word_id(folded)
    return word_id is not None and bool(index.corpus.word_flags[word_id] & NAME)


def _family(term: str, index: SearchIndex) -> tuple[str, ...]:
    """Library terms derived from the same root ("succeed" -> "successor", "success").

    Snowball removes inflections, not derivations; a shared prefix of most of the word
    catches the derivations a question and a text so often differ by."""
    if len(term) < 5 or not term.isalpha():
        return ()
    prefix = term[: max(5, math.ceil(0.7 * len(term)))]
    return tuple(t for t in index.text.terms_starting_with(prefix) if t != term and t.isalpha())


def _add_context(query: Query, index: SearchIndex, context: str) -> None:
    """A follow-up ("what happened to him?") is about whom the earlier answer was about: the
    name it mentions most stands in for the pronoun. Its other words are left out: they
    would only find the passage already shown."""
    named = [t for t in words(context) if _is_name(t.folded, index)]
    names = [t.term for t in named]
    if names:
        subject = max(dict.fromkeys(names), key=names.count)
        query.subject = next(t.surface for t in named if t.term == subject)
        query.names.add(subject)
        query.terms[subject] = 1.0
        query.core.setdefault(subject, index.idf(subject) or 0.0)
        query.alternatives.setdefault(subject, ())
