"""From a question as typed to weighted index terms.

Students type fast: lower case, misspelt names, paraphrases. A query keeps every content
word of the question, replaces a word the library does not know by its closest library word
(typo tolerance for names), adds related words at a lower weight, and notes quoted phrases
and the kind of answer the question wants (a date, a number, a measure).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from knowledge.index import SearchIndex, pair
from knowledge.text import STOP_WORDS, fold, stem, words

RELATED_WEIGHT = 0.35
BIGRAM_WEIGHT = 0.5
FAMILY_WEIGHT = 0.5
MIN_FUZZY_SCORE = 80.0
_QUOTED = re.compile(r"[\"“‘']{1,2}([^\"“”‘’']{8,})[\"”’']{1,2}")

_FOCUS = re.compile(
    r"^\s*(?:what|which)(?:'s|’s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|a\s+|an\s+)?([a-z]+)\b",
    re.I,
)
_RELATION = re.compile(
    r"^\s*who\s+(?:was|is|were|are)\s+(?:\S+\s+){0,3}?\S+['’]s?\s+([a-z]+)\b", re.I
)
_DEFINITION = re.compile(r"^\s*(who|what)\s+(was|is|were|are)\s+\S+(\s+\S+)?\s*\??\s*$", re.I)
_WHO_DID = re.compile(r"^\s*who\s+(?!(was|is|were|are|had|has|did|does)\b)[a-z]+", re.I)
_TAKE = frozenset({"take", "takes", "took", "taken", "taking"})
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
    names: list[str] = field(default_factory=list)
    """Terms of the question that the library writes as names (people, places, bodies)."""
    unknown_focus: str = ""
    """The thing a "what is the X" question asks about, when the library never mentions it."""

    @property
    def is_definition(self) -> bool:
        """Asks what a name is: "Who was Kirov?", "What was the Cheka?"."""
        return bool(_DEFINITION.match(self.text))

    @property
    def asks_who(self) -> bool:
        """ "Who founded…?", "Who said…?": asks for the person who did something."""
        return bool(_WHO_DID.match(self.text))

    @property
    def is_empty(self) -> bool:
        return not self.core and not self.phrases


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
    if len(word) < 5 or word.isdigit():
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
    term = index.surface_terms[surface]
    # Typo tolerance is for names ("yezov"); an ordinary word near another is a different word.
    if term not in index.names:
        return None
    return term, score / 100.0


_NEGATIONS = ("dis", "un", "mis", "non", "in", "im")


def _without_negation(word: str, index: SearchIndex) -> str | None:
    """The library's term for a word without its negating prefix ("distrust" -> "trust")."""
    for prefix in _NEGATIONS:
        rest = word[len(prefix) :].lstrip("-")
        if word.startswith(prefix) and len(rest) >= 4 and index.has_term(stem(rest)):
            return stem(rest)
    return None


def answer_type(question: str) -> str | None:
    for pattern, kind in _ANSWER_TYPES:
        if pattern.search(question):
            return kind
    return None


def focus_word(question: str) -> str | None:
    """The thing a question asks about: "what is the X" ("the weather"), or "who was Y's X"
    ("Bukharin's wife")."""
    match = _FOCUS.match(question) or _RELATION.match(question)
    return match.group(1) if match else None


def analyse(question: str, index: SearchIndex, context: str = "") -> Query:
    query = Query(text=question, answer_type=answer_type(question))
    query.phrases = [
        " ".join(t.folded for t in words(m.group(1))) for m in _QUOTED.finditer(question)
    ]
    related = related_groups()
    tokens = words(question)
    focus = focus_word(question)
    # In a question typed all in lower case, capitals say nothing about what is a name.
    cased = any(t.surface[:1].isupper() for t in tokens[1:])
    sequence: list[str] = []
    families: dict[str, list[str]] = {}
    for position, token in enumerate(tokens):
        if token.folded in STOP_WORDS:
            continue
        if token.folded == "place" and position and tokens[position - 1].folded in _TAKE:
            continue  # "when did it take place?"
        term, confidence = token.term, 1.0
        looks_like_name = not cased or token.surface[:1].isupper()
        if not index.has_term(term):
            base = _without_negation(token.folded, index)
            if base is not None:
                # "distrust" asks about what the text calls "never trusted".
                term, confidence = base, FAMILY_WEIGHT
        if not index.has_term(term):
            corrected = _correct(token.folded, index) if looks_like_name else None
            if corrected is None:
                relatives = related.get(token.term, frozenset())
                if token.folded.endswith("ly") or any(index.has_term(r) for r in relatives):
                    # Adverbs only colour a question; a word whose relatives the texts use
                    # may be a paraphrase of what they say.
                    pass
                else:
                    query.unknown.append(token.surface)
                    if token.surface[:1].isupper() and position > 0:
                        query.unknown_names.append(token.surface)
                    if focus is not None and fold(focus) == token.folded:
                        query.unknown_focus = token.surface
                if token.folded.endswith("ly"):
                    continue
                # A word the texts lack may be the question's own paraphrase ("weapon" for
                # "pick"): it weighs like a typical word, not like the rarest one.
                query.core.setdefault(term, index.typical_idf)
                query.alternatives[term] = frozenset({term}) | related.get(term, frozenset())
                for other in related.get(term, ()):
                    query.terms[other] = max(query.terms.get(other, 0.0), RELATED_WEIGHT)
                continue
            term, confidence = corrected
        query.terms[term] = max(query.terms.get(term, 0.0), confidence)
        query.core.setdefault(term, index.idf(term))
        sequence.append(term)
        if term in index.names and looks_like_name:
            query.names.append(term)
            family: list[str] = []
        else:
            family = index.family(term)
        families[term] = family
        for other in family:
            query.terms.setdefault(other, FAMILY_WEIGHT)
        query.alternatives[term] = frozenset({term, *family}) | related.get(term, frozenset())
        for other in related.get(term, ()):
            if other not in query.terms:
                query.terms[other] = RELATED_WEIGHT
    for first, second in itertools.pairwise(sequence):
        for a in (first, *families.get(first, ())):
            for b in (second, *families.get(second, ())):
                key = pair(a, b)
                if index.has_term(key):
                    query.terms[key] = BIGRAM_WEIGHT
    if context:
        _add_context(query, index, context)
    return query


def _add_context(query: Query, index: SearchIndex, context: str) -> None:
    """A follow-up ("what happened to him?") is about whom the earlier answer was about.

    The name the earlier answer mentions most stands in for the question's pronoun. The
    answer's other words are left out: they would only find the passage already shown."""
    context_terms = [t.term for t in words(context) if t.folded not in STOP_WORDS]
    names = [t for t in context_terms if t in index.names]
    if names and not query.names:
        subject = max(dict.fromkeys(names), key=names.count)
        query.names.append(subject)
        query.terms[subject] = 1.0
        query.core.setdefault(subject, index.idf(subject))
        query.alternatives.setdefault(subject, frozenset({subject}))
