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
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from knowledge.corpus import NAME
from knowledge.index import SearchIndex
from knowledge.text import STOP_WORDS, Token, words

FAMILY_WEIGHT = 0.5
"""How much a word sharing most of its root with a question word ("successor") counts as a
match of it."""
MIN_TYPO_SIMILARITY = 80.0
"""rapidfuzz ratio above which a word the texts lack is read as a typo of a text's word."""
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
    for position, token in enumerate(tokens):
        if token.folded in STOP_WORDS:
            continue
        term = _library_term(token, index, query)
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


def _library_term(token: Token, index: SearchIndex, query: Query) -> str | None:
    """The library's term for a question word: its own, or that of the word it misspells."""
    if index.has_term(token.term):
        return token.term
    corrected = _correct(token.folded, index)
    if corrected is None:
        return None
    term, similarity = corrected
    query.corrected[term] = similarity
    return term


def _correct(folded: str, index: SearchIndex) -> tuple[str, float] | None:
    """The library word closest to a word it lacks (dzerzinsky -> dzerzhinsky)."""
    if len(folded) < 4 or not folded.isalpha():
        return None
    match = process.extractOne(
        folded, typo_candidates(index), scorer=fuzz.ratio, score_cutoff=MIN_TYPO_SIMILARITY
    )
    if match is None:
        return None
    word_id = index.corpus.word_id(match[0])
    return index.corpus.term_of(word_id), match[1] / 100.0


_TYPO_CANDIDATES: dict[int, list[str]] = {}


def typo_candidates(index: SearchIndex) -> list[str]:
    """The library's content words of four letters or more (built on first need, per index)."""
    key = id(index.corpus)
    if key not in _TYPO_CANDIDATES:
        _TYPO_CANDIDATES.clear()  # one library per process at a time
        corpus = index.corpus
        _TYPO_CANDIDATES[key] = [
            word
            for word_id in range(len(corpus.words))
            if index.word_terms[word_id] >= 0 and len(word := corpus.word(word_id)) >= 4
        ]
    return _TYPO_CANDIDATES[key]


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
