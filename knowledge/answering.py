"""Turning ranked passages into an answer: the quote a user sees, and whether to answer.

The quote is the sentence (or two) of the passage that best covers the question. Whether to
answer at all is decided on what the best passage covers of the question's own words, and on
whether it holds the kind of thing the question asks for (a date for "when", a number for
"how many"): a confident wrong quote is worse than an honest "not in the sources".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from knowledge.index import SearchIndex, folded_phrase
from knowledge.models import Passage, PassageKind
from knowledge.query import Query
from knowledge.quotations import pronoun_subject, reporting_verb
from knowledge.text import STOP_WORDS, split_sentences, words

MIN_COVERAGE = 0.45
"""Share of the question's weighted content words the answer must contain (calibrated on dev)."""
FOCUS_CONTEXT_TERMS = 2
SHORT_SENTENCE_WORDS = 15
"""A best sentence shorter than this is shown with the one after it."""
_APPOSITIVE = re.compile(r"^,\s*(a|an|the|as|who|which|[A-Z][\w-]*[’']s)\b")
_COPULA = re.compile(r"^(was|is|were|became|served)\b")
_PRONOUN_START = re.compile(r"^[“‘\"(]*\s*(he|she|they|it|this|these|his|her|their)\b", re.I)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_YEAR = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b[0-9]{{1,2}}(st|nd|rd|th)? ({_MONTHS})\b", re.I
)
_NUMBER = re.compile(
    r"\b[0-9][0-9,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|million|millions|dozens?)\b",
    re.I,
)
_MEASURE = re.compile(
    r"\b[0-9][0-9,.]*\s*(feet|foot|ft|inches|in|cm|centimetres|metres|meters|m|km|miles|"
    r"kilograms|kg|pounds|lbs|years old|years)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Judgement:
    coverage: float
    type_ok: bool
    answered: bool
    reason: str


def _matched(query: Query, present: set[str]) -> float:
    """Weighted share of the question's content terms (or their related words) in `present`."""
    total = sum(query.core.values())
    if total <= 0:
        return 0.0
    got = 0.0
    for term, weight in query.core.items():
        if term in present:
            got += weight
        elif query.alternatives.get(term, frozenset()) & present:
            got += 0.5 * weight
    return got / total


def _terms_of(text: str) -> set[str]:
    return {t.term for t in words(text) if t.folded not in STOP_WORDS}


def _sentence_scores(sentences: list[str], query: Query, index: SearchIndex) -> list[float]:
    """How well each sentence answers: query words weighted by how rare they are in the
    library and in this passage (the name every sentence repeats says little)."""
    present = [_terms_of(sentence) for sentence in sentences]
    count = len(sentences)
    scores = []
    for sentence, terms in zip(sentences, present, strict=True):
        score = 0.0
        for term, weight in query.terms.items():
            if term in terms:
                in_passage = sum(1 for other in present if term in other)
                score += weight * index.idf(term) * math.log(1 + count / in_passage)
        folded = folded_phrase(sentence)
        score += sum(
            10.0 * index.max_idf for phrase in query.phrases if phrase and phrase in folded
        )
        scores.append(score)
    return scores


def defines(sentence: str, query: Query) -> bool:
    """A sentence that says who or what a name of the question is: "Kirov, as head of…",
    "Nin, a founder of…", "Kirov was…"."""
    for position, token in enumerate(words(sentence)):
        if token.term in query.names:
            rest = sentence[token.end :].lstrip("’'s ")
            if _APPOSITIVE.match(rest) or (position < 3 and _COPULA.match(rest)):
                return True
    return False


def _type_pattern(kind: str | None) -> re.Pattern[str] | None:
    return {"date": _YEAR, "number": _NUMBER, "measure": _MEASURE}.get(kind or "")


def quote_has_type(quote: str, kind: str | None) -> bool:
    pattern = _type_pattern(kind)
    return pattern is None or bool(pattern.search(quote))


def select_quote(passage: Passage, query: Query, index: SearchIndex) -> str:
    """The sentence or two of the passage that answer the question, as printed."""
    sentences = split_sentences(passage.text.replace("\n", " "))
    if not sentences:
        return passage.text
    pattern = _type_pattern(query.answer_type)
    scores = _sentence_scores(sentences, query, index)
    # For "when"/"how many": a date beside the asked-about event ("his death in 1926") first.
    typed = [
        pattern is not None and bool(pattern.search(sentence)) and _mentions_asked(sentence, query)
        for sentence in sentences
    ]
    for i, sentence in enumerate(sentences):
        if query.is_definition and defines(sentence, query):
            scores[i] *= 1.5
    best = max(range(len(sentences)), key=lambda i: (typed[i], scores[i], -i))
    chosen = [best]
    # "He said: …", "This step…": the sentence before says who or what.
    if best > 0 and (_PRONOUN_START.match(sentences[best]) or _pronoun_speaks(sentences[best])):
        chosen.insert(0, best - 1)
    elif best + 1 < len(sentences):
        covered = _terms_of(sentences[best])
        following = _terms_of(sentences[best + 1])
        new_terms = {t for t in query.core if t in following and t not in covered}
        short = len(sentences[best].split()) < SHORT_SENTENCE_WORDS
        if short or (new_terms and scores[best + 1] > 0.5 * scores[best]):
            chosen.append(best + 1)
    quote = " ".join(sentences[i] for i in chosen)
    if passage.kind is PassageKind.QUOTATION and passage.quotation is not None:
        q = passage.quotation
        if q.introduction:
            quote = f"{q.introduction} {quote}"
        if q.attribution:
            quote = f"{quote} —{q.attribution}"
    return quote


def _asked(query: Query) -> list[str]:
    """The question's words other than its names: what it asks about them."""
    return [t for t in query.core if t not in query.names]


def _mentions_asked(text: str, query: Query) -> bool:
    """Whether the text holds a word of the question other than its names (or a relative)."""
    present = _terms_of(text)
    return any(query.alternatives.get(t, frozenset({t})) & present for t in _asked(query))


def _pronoun_speaks(sentence: str) -> bool:
    verb = reporting_verb(sentence)
    return verb is not None and pronoun_subject(sentence, verb.start())


def passage_terms_for_judging(passage: Passage, lead: str = "") -> set[str]:
    """What a passage says, for judging whether it answers: its text and section title, and
    for a quotation who says it, where it was printed and the paragraph that leads into it
    (the quotation's "he" is named there)."""
    text = f"{passage.text} {passage.section_title}"
    if passage.quotation is not None:
        q = passage.quotation
        text += f" {q.speaker} {q.attribution} {q.introduction} {lead}"
    return {t.term for t in words(text)}


def coverage(query: Query, passage: Passage, lead: str = "") -> float:
    """Weighted share of the question's words that the passage holds."""
    return _matched(query, passage_terms_for_judging(passage, lead))


def judge(
    query: Query, passage: Passage, quote: str, index: SearchIndex, lead: str = ""
) -> Judgement:
    """Does this passage answer the question, or should the library say it cannot?

    `lead` is the paragraph before a quotation passage."""
    if query.unknown_names:
        names = ", ".join(query.unknown_names)
        return Judgement(0.0, False, False, f"the texts never mention {names}")
    known = [t for t in query.core if index.has_term(t)]
    if query.unknown_focus and len(known) <= FOCUS_CONTEXT_TERMS:
        # "What's the weather in Moscow today?": what is asked about is not in the texts, and
        # the rest of the question is too thin to be a paraphrase of something that is.
        return Judgement(0.0, False, False, f"the texts say nothing about {query.unknown_focus}")
    present = passage_terms_for_judging(passage, lead)
    covered = _matched(query, present)
    if any(name not in present for name in query.names):
        return Judgement(covered, True, False, "no passage speaks of everyone asked about")
    pattern = _type_pattern(query.answer_type)
    type_ok = pattern is None or bool(pattern.search(quote))
    if not type_ok:
        wanted = {"date": "a date", "number": "a number", "measure": "a measurement"}[
            query.answer_type or ""
        ]
        return Judgement(covered, False, False, f"no passage gives {wanted} for this")
    # The date or number must stand in a sentence about what was asked, not beside it. A
    # date beside the names, for an event the texts have no word for ("when did Trotsky
    # arrive in Mexico?"), dates something else.
    if query.answer_type and _asked(query) and not _mentions_asked(quote, query):
        return Judgement(covered, False, False, "no passage dates or counts what was asked")
    if covered < MIN_COVERAGE:
        return Judgement(covered, True, False, "the texts do not seem to cover this question")
    in_texts = [t for t in _asked(query) if index.has_term(t)]
    if query.asks_who and in_texts and not _mentions_asked(quote, query):
        # "Who founded the Gestapo?" answered by a sentence that only names the Gestapo:
        # the person is the one who did what was asked, so the sentence must say it.
        return Judgement(covered, True, False, "no passage says who did what was asked")
    return Judgement(covered, True, True, "")
