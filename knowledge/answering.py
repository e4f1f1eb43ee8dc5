"""From a question to an answer: BM25 finds candidates, the fitted model decides the rest.

1. BM25 (rank-bm25's scoring) picks the CANDIDATES passages sharing most with the question.
2. The `passages` model reorders them by the features in knowledge/features.py.
3. The `sentences` model picks the sentence to quote; a neighbour joins it when the model
   rates it nearly as high, or when the quoted sentence opens with a pronoun ("He said…")
   and needs the one before to say who.
4. The `answer` model rates whether the first passage really answers. Below the fitted
   threshold the library abstains: an honest "not in the sources" beats a confident wrong
   quote. The reason shown is read off what the question and the passage lack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge import semantic
from knowledge.features import (
    PASSAGE_FEATURES,
    SENTENCE_FEATURES,
    PassageMatch,
    answer_features,
    describe,
)
from knowledge.index import SearchIndex
from knowledge.model import Decisions
from knowledge.models import Passage, PassageKind
from knowledge.query import Query

CANDIDATES = 30
"""BM25 candidates the model reorders (recall@30 is about 0.97 on the tuning set)."""
_P = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
_PRONOUN_START = SENTENCE_FEATURES.index("pronoun_start")


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate passage, where the model puts it."""

    doc_id: int
    bm25: float
    logit: float
    match: PassageMatch


def question_vector(query: Query, index: SearchIndex) -> np.ndarray | None:
    """The question's vector, when the index has sentence vectors to compare it with."""
    if index.vectors is None or not query.core:
        return None
    model = semantic.encoder()
    return None if model is None else model.question(query.meaning)


def rank(
    query: Query, index: SearchIndex, model: Decisions, vector: np.ndarray | None
) -> list[Ranked]:
    """The candidates, best first by the passages model (ties: BM25's order)."""
    doc_ids, scores = index.candidates(query.terms, CANDIDATES)
    matches = describe(query, index, doc_ids, scores, vector)
    if not matches:
        return []
    logits = model.passages.logits(np.vstack([m.features for m in matches]))
    order = np.lexsort((np.arange(len(matches)), -logits))
    return [Ranked(int(doc_ids[i]), float(scores[i]), float(logits[i]), matches[i]) for i in order]


def confidence(query: Query, ranked: list[Ranked], model: Decisions) -> float:
    """The answer model's probability that the first candidate answers the question."""
    if not ranked or not query.core:
        return 0.0
    row = answer_features(query, [r.match for r in ranked], [r.logit for r in ranked])
    return float(model.answer.probabilities(row)[0])


def quoted_sentences(ranked: Ranked, model: Decisions) -> list[int]:
    """Indexes of the sentences to quote: the best, and a neighbour where it belongs."""
    rows = ranked.match.sentences
    if not len(rows):
        return []
    probabilities = model.sentences.probabilities(rows)
    best = int(np.argmax(probabilities))
    chosen = [best]
    pronoun_start = rows[best, _PRONOUN_START] > 0
    if best > 0 and (pronoun_start or probabilities[best - 1] >= model.neighbour):
        chosen.insert(0, best - 1)
    elif best + 1 < len(rows) and probabilities[best + 1] >= model.neighbour:
        chosen.append(best + 1)
    return chosen


def quote(passage: Passage, ranked: Ranked, model: Decisions) -> str:
    """The sentences of the passage that answer, exactly as printed; a quotation's quote
    opens with the sentence introducing it and ends with its attribution (who speaks)."""
    spans = ranked.match.words.sentence_chars
    chosen = quoted_sentences(ranked, model)
    if not chosen:
        return passage.text
    text = passage.text[int(spans[chosen[0]][0]) : int(spans[chosen[-1]][1])]
    if passage.kind is PassageKind.QUOTATION and passage.quotation is not None:
        q = passage.quotation
        if q.introduction:
            text = f"{q.introduction} {text}"
        if q.attribution:
            text = f"{text} —{q.attribution}"
    return text


def abstention_reason(query: Query, ranked: list[Ranked]) -> str:
    """Why the library does not answer, in the user's terms."""
    if query.unknown_names:
        return f"the texts never mention {', '.join(query.unknown_names[:3])}"
    if not ranked:
        unknown = ", ".join(query.unknown[:3])
        return f"the texts never mention {unknown}" if unknown else "nothing in the texts matches"
    top = ranked[0].match.features
    if top[_P["names_missing"]] > 0:
        return "no passage speaks of everyone asked about"
    if query.answer_type in ("date", "number") and not top[_P["type_any"]]:
        wanted = "a date" if query.answer_type == "date" else "a number"
        return f"no passage gives {wanted} for this"
    return "the texts do not seem to answer this question"
