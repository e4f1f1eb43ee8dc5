"""What the learned stage looks at: numbers describing how a passage, and each of its
sentences, meets a question.

All of them are general signals of question answering, nothing written for one text: how
much of the question's weight (idf) a passage and its best sentence hold, whether the
question's words stand together there, the longest run of the question's own words, whether
the sentence holds the kind of thing asked for (a date for "when", a number for "how many",
a name for "who"/"where"), BM25's own score and margin. They are computed from the corpus
arrays made at index time, so no passage is tokenised per question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge.corpus import STOP, PassageWords
from knowledge.index import SearchIndex
from knowledge.query import FAMILY_WEIGHT, Query
from knowledge.semantic import SentenceVectors
from knowledge.text import HAS_DATE, HAS_NUMBER

NEAR_TOKENS = 3
"""Two question words this close in a sentence "stand together"."""
PASSAGE_FEATURES = (
    "bm25_relative",  # score / the best candidate's
    "rank_reciprocal",
    "bm25_per_weight",  # score / the question's total idf: comparable across questions
    "coverage_passage",  # share of the question's idf the passage (and headings) hold
    "coverage_sentence",  # ... its best sentence holds
    "coverage_pair",  # ... its best two adjacent sentences hold
    "run",  # longest run of the question's own words in a sentence / question words
    "near",  # share of the question's adjacent word pairs standing together in the best one
    "type_best",  # the best sentence holds what is asked for (date, number, name)
    "type_any",  # some sentence does
    "headings",  # share of the question's idf in section title, speaker, attribution
    "names_missing",  # share of the question's names the passage lacks
    "missing_passage",  # idf of the rarest question word the passage lacks / the rarest's
    "missing_pair",  # ... that its best two adjacent sentences lack
    "source_share",  # the passage's source's share of all candidates' BM25 score
    "length",  # log of the passage's words
)
SEMANTIC_PASSAGE_FEATURES = (
    *PASSAGE_FEATURES,
    "semantic",  # cosine of the question and the passage's closest sentence
    "semantic_gap",  # ... less the best candidate's
)
SENTENCE_FEATURES = (
    "coverage",
    "coverage_relative",  # / the passage's best sentence's
    "run",
    "near",
    "type",
    "new_words",  # log of content words the question lacks: an answer adds something
    "length",
    "first",
    "position",  # relative position in the passage
    "coverage_before",
    "coverage_after",
    "pronoun_start",  # opens with he/she/it/they: it needs the sentence before
)
SEMANTIC_SENTENCE_FEATURES = (
    *SENTENCE_FEATURES,
    "semantic",  # cosine of the question and the sentence
    "semantic_relative",  # ... less the passage's closest sentence's
)
ANSWER_FEATURES = (
    "passage_logit",  # the passages model's score of the first candidate
    "margin",  # ... less the second's
    "coverage_passage",
    "coverage_sentence",
    "coverage_pair",
    "run",
    "near",
    "type_best",
    "names_missing",
    "missing_passage",
    "missing_pair",
    "bm25_per_weight",
    "unknown_share",  # share of the question's content words the texts lack
    "unknown_names_share",  # ... of them written as names
    "corrected_share",  # ... read as typos of the texts' words
    "typed_question",  # the question asks for a date, number, person or place
)
SEMANTIC_ANSWER_FEATURES = (
    *ANSWER_FEATURES,
    "semantic",  # the first candidate's closest sentence's cosine
    "semantic_margin",  # ... less the second candidate's
)
_P = {name: i for i, name in enumerate(SEMANTIC_PASSAGE_FEATURES)}
MARGIN_CAP = 5.0
"""Margins of the passages model's scores beyond this say nothing more (and a lone
candidate has this margin)."""
SEMANTIC_MARGIN_CAP = 0.1
"""The same for the cosines of the first two candidates."""
_PRONOUNS = ("he", "she", "it", "they", "his", "her", "its", "their", "this", "these", "him")


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """The question mapped onto the index: core term rows, their weights and credits."""

    rows: np.ndarray  # sorted BM25 rows of core terms and their derived forms
    core_of_row: np.ndarray  # which core term each row stands for
    credit_of_row: np.ndarray  # 1 for the term itself, FAMILY_WEIGHT for a derived form
    weights: np.ndarray  # idf per core term
    names: np.ndarray  # core indexes of the question's names
    pairs: tuple[tuple[int, int], ...]  # adjacent core terms, in the question's order
    word_ids: np.ndarray  # corpus word ids of every question word in order (-2 when absent)
    word_set: np.ndarray  # sorted, for "is this token a question word"
    pronouns: np.ndarray  # corpus word ids of he, she, it, they...


def question_words(query: Query, index: SearchIndex) -> QuestionWords:
    core = list(query.core)
    rows: dict[int, tuple[int, float]] = {}
    for i, term in enumerate(core):
        for other, credit in ((term, 1.0), *((t, FAMILY_WEIGHT) for t in query.alternatives[term])):
            row = index.text.term_id(other)
            if row is not None and rows.get(row, (0, 0.0))[1] < credit:
                rows[row] = (i, credit)
    ordered = sorted(rows)
    ids = index.corpus.word_ids(query.words)
    word_ids = np.array([-2 if w is None else w for w in ids], dtype=np.int64)
    pronouns = [w for w in index.corpus.word_ids(_PRONOUNS) if w is not None]
    return QuestionWords(
        rows=np.array(ordered, dtype=np.int64),
        core_of_row=np.array([rows[r][0] for r in ordered], dtype=np.int64),
        credit_of_row=np.array([rows[r][1] for r in ordered]),
        weights=np.array([query.core[t] for t in core]),
        names=np.array([i for i, t in enumerate(core) if t in query.names], dtype=np.int64),
        pairs=tuple((i, i + 1) for i in range(len(core) - 1)),
        word_ids=word_ids,
        word_set=np.unique(word_ids[word_ids >= 0]),
        pronouns=np.array(pronouns, dtype=np.int64),
    )


@dataclass(frozen=True, slots=True)
class PassageMatch:
    """How one candidate passage meets the question."""

    features: np.ndarray  # PASSAGE_FEATURES
    sentences: np.ndarray  # SENTENCE_FEATURES per sentence
    words: PassageWords


def match_passage(
    words: PassageWords, q: QuestionWords, answer_type: str | None, index: SearchIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence x core credit matrix, heading credits, per-sentence helper columns)."""
    n_sent, n_core = len(words.sentence_chars), len(q.weights)
    tokens = np.asarray(words.tokens, dtype=np.int64)
    sentence_of = np.repeat(np.arange(n_sent), np.diff(words.sentence_starts))
    core, credit = _lookup(tokens, q, index)
    present = np.zeros((max(n_sent, 1), max(n_core, 1)))
    hit = core >= 0
    np.maximum.at(present, (sentence_of[hit], core[hit]), credit[hit])
    head_core, head_credit = _lookup(np.asarray(words.headings, dtype=np.int64), q, index)
    headings = np.zeros(max(n_core, 1))
    np.maximum.at(headings, head_core[head_core >= 0], head_credit[head_core >= 0])
    run = _runs(tokens, q.word_ids, words.sentence_starts, n_sent)
    near = _near(core, sentence_of, q.pairs, n_sent)
    typed = _typed(words, tokens, sentence_of, q, answer_type, index, n_sent)
    new_words = np.bincount(sentence_of[(core < 0) & ~_stop(tokens, index)], minlength=n_sent)[
        :n_sent
    ]
    lengths = np.diff(words.sentence_starts)
    first_words = tokens[words.sentence_starts[:-1].clip(max=max(len(tokens) - 1, 0))]
    pronoun = np.isin(first_words, q.pronouns) & (lengths > 0)
    return (
        present[:n_sent, :n_core],
        headings[:n_core],
        np.column_stack([run, near, typed, new_words, lengths, pronoun])
        if n_sent
        else np.zeros((0, 6)),
    )


def _lookup(
    tokens: np.ndarray, q: QuestionWords, index: SearchIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Per token: the core term it matches (-1 for none) and with what credit."""
    if not len(q.rows) or not len(tokens):
        return np.full(len(tokens), -1), np.zeros(len(tokens))
    rows = index.word_terms[tokens]
    at = np.searchsorted(q.rows, rows).clip(max=len(q.rows) - 1)
    found = q.rows[at] == rows
    return np.where(found, q.core_of_row[at], -1), np.where(found, q.credit_of_row[at], 0.0)


def _runs(tokens: np.ndarray, question: np.ndarray, starts: np.ndarray, n_sent: int) -> np.ndarray:
    """Per sentence: the longest run of consecutive question words, in the question's order."""
    if not len(tokens) or not len(question) or not n_sent:
        return np.zeros(n_sent)
    equal = question[:, None] == tokens[None, :]
    best = np.zeros(len(tokens), dtype=np.int64)
    run = np.zeros(len(tokens), dtype=np.int64)
    for row in equal:
        shifted = np.concatenate(([0], run[:-1]))
        run = np.where(row, shifted + 1, 0)
        np.maximum(best, run, out=best)
    sentence_of = np.repeat(np.arange(n_sent), np.diff(starts))
    result = np.zeros(n_sent)
    np.maximum.at(result, sentence_of, best)
    return result / len(question)


def _near(core: np.ndarray, sentence_of: np.ndarray, pairs, n_sent: int) -> np.ndarray:
    """Per sentence: share of the question's adjacent word pairs standing within NEAR_TOKENS."""
    if not pairs or not n_sent:
        return np.zeros(n_sent)
    counts = np.zeros(n_sent)
    for a, b in pairs:
        at_a, at_b = np.flatnonzero(core == a), np.flatnonzero(core == b)
        if not len(at_a) or not len(at_b):
            continue
        after = at_b[np.searchsorted(at_b, at_a).clip(max=len(at_b) - 1)]
        before = at_b[(np.searchsorted(at_b, at_a) - 1).clip(min=0)]
        # Within NEAR_TOKENS and in the same sentence ("…Dzerzhinsky. They succeeded…" is no
        # pair: adjacent tokens across a sentence's end).
        close = at_a[
            ((np.abs(at_a - after) <= NEAR_TOKENS) & (sentence_of[after] == sentence_of[at_a]))
            | ((np.abs(at_a - before) <= NEAR_TOKENS) & (sentence_of[before] == sentence_of[at_a]))
        ]
        together = np.zeros(n_sent, dtype=bool)
        together[sentence_of[close]] = True
        counts += together
    return counts / len(pairs)


def _typed(words, tokens, sentence_of, q: QuestionWords, answer_type, index, n_sent) -> np.ndarray:
    """Per sentence: holds what the question asks for (1 when it asks for nothing typed)."""
    if answer_type is None:
        return np.ones(n_sent)
    if answer_type == "date":
        return (words.sentence_flags & HAS_DATE).astype(bool).astype(float)
    if answer_type == "number":
        return (words.sentence_flags & HAS_NUMBER).astype(bool).astype(float)
    # "who", "where": a name the question does not already hold.
    fresh = words.capitalised & ~np.isin(tokens, q.word_set) & ~_stop(tokens, index)
    result = np.zeros(n_sent)
    result[sentence_of[fresh]] = 1.0
    return result


def _stop(tokens: np.ndarray, index: SearchIndex) -> np.ndarray:
    return (index.corpus.word_flags[tokens] & STOP).astype(bool)


def describe(
    query: Query,
    index: SearchIndex,
    doc_ids: np.ndarray,
    scores: np.ndarray,
    question_vector: np.ndarray | None = None,
) -> list[PassageMatch]:
    """The features of each candidate passage (BM25's order) and of its sentences; with the
    question's vector (and the index's sentence vectors), the semantic ones too."""
    if not len(doc_ids):
        return []
    q = question_words(query, index)
    # A word the texts lack counts as a typical word never matched (it may be the question's
    # own paraphrase, or what the texts never speak of: the model weighs which).
    absent = len(query.unknown) * index.typical_idf
    total = float(q.weights.sum()) + absent or 1.0
    best_score = float(scores[0]) or 1.0
    sources = index.corpus.passage_source[doc_ids].tolist()
    mass: dict[int, float] = {}
    for source, score in zip(sources, scores, strict=True):
        mass[source] = mass.get(source, 0.0) + max(float(score), 0.0)
    all_mass = sum(mass.values()) or 1.0
    matches = []
    for rank, (doc_id, score) in enumerate(zip(doc_ids, scores, strict=True)):
        words = index.corpus.passage(int(doc_id))
        present, headings, extra = match_passage(words, q, query.answer_type, index)
        run, near, typed, new_words, lengths, pronoun = extra.T if len(extra) else [np.zeros(0)] * 6
        coverage = present @ q.weights / total if present.size else np.zeros(len(extra))
        pair = (
            np.maximum(present[:-1], present[1:]) @ q.weights / total
            if len(present) > 1
            else coverage
        )
        held = np.maximum(present.max(axis=0) if len(present) else 0, headings)
        best = int(np.argmax(coverage)) if len(coverage) else 0
        names_missing = float(np.mean(held[q.names] == 0)) if len(q.names) and len(held) else 0.0
        n = len(coverage)
        top = float(coverage.max()) if n else 0.0
        rarest = max(float(q.weights.max()) if len(q.weights) else 0.0, index.typical_idf)
        lacking_anyway = index.typical_idf if query.unknown else 0.0
        best_pair = (
            np.maximum(present[:-1], present[1:])[int(np.argmax(pair))]
            if n > 1
            else (present[0] if n else np.zeros(len(q.weights)))
        )
        passage = np.array(
            [
                float(score) / best_score,
                1.0 / (rank + 1),
                float(score) / total,
                float(held @ q.weights) / total if len(held) else 0.0,
                top,
                float(pair.max()) if len(pair) else 0.0,
                float(run.max()) if n else 0.0,
                float(near[best]) if n else 0.0,
                float(typed[best]) if n else 0.0,
                float(typed.max()) if n else 0.0,
                float(headings @ q.weights) / total if len(headings) else 0.0,
                names_missing,
                max(_missing(held, q.weights, rarest), lacking_anyway / rarest),
                max(_missing(best_pair, q.weights, rarest), lacking_anyway / rarest),
                mass[sources[rank]] / all_mass,
                float(np.log1p(lengths.sum())) if n else 0.0,
            ]
        )
        before = np.concatenate(([0.0], coverage[:-1])) if n else coverage
        after = np.concatenate((coverage[1:], [0.0])) if n else coverage
        sentences = (
            np.column_stack(
                [
                    coverage,
                    coverage / top if top else np.zeros(n),
                    run,
                    near,
                    typed,
                    np.log1p(new_words),
                    np.log1p(lengths),
                    np.arange(n) == 0,
                    np.arange(n) / max(n - 1, 1),
                    before,
                    after,
                    pronoun,
                ]
            )
            if n
            else np.zeros((0, len(SENTENCE_FEATURES)))
        )
        matches.append(PassageMatch(passage, sentences.astype(float), words))
    if question_vector is not None and index.vectors is not None:
        matches = _with_semantics(matches, index.vectors, question_vector)
    return matches


def _with_semantics(
    matches: list[PassageMatch], vectors: SentenceVectors, question: np.ndarray
) -> list[PassageMatch]:
    cosines = [
        vectors.rows(match.words.first_sentence, len(match.sentences)) @ question
        for match in matches
    ]
    best = [float(c.max()) if len(c) else 0.0 for c in cosines]
    top = max(best)
    return [
        PassageMatch(
            np.concatenate([m.features, [b, b - top]]),
            np.column_stack([m.sentences, c, c - b])
            if len(c)
            else np.zeros((0, len(SEMANTIC_SENTENCE_FEATURES))),
            m.words,
        )
        for m, c, b in zip(matches, cosines, best, strict=True)
    ]


def _missing(credits: np.ndarray, weights: np.ndarray, rarest: float) -> float:
    """The idf of the rarest question word without full credit, over the rarest's."""
    if not len(weights) or not rarest:
        return 0.0
    lacking = weights[np.asarray(credits) < 1.0]
    return float(lacking.max()) / rarest if len(lacking) else 0.0


def answer_features(query: Query, ranked: list[PassageMatch], logits: list[float]) -> np.ndarray:
    """ANSWER_FEATURES (and the semantic ones, when the matches have them) of the first of
    the candidates, given in the passages model's order with its scores."""
    top = ranked[0].features
    # With no second candidate, the margins are as wide as the fit saw them (capped).
    margin = min(logits[0] - logits[1], MARGIN_CAP) if len(logits) > 1 else MARGIN_CAP
    known = len(query.core)
    asked = known + len(query.unknown)
    row = [
        logits[0],
        margin,
        *(top[_P[name]] for name in ANSWER_FEATURES[2:12]),
        len(query.unknown) / asked if asked else 1.0,
        len(query.unknown_names) / asked if asked else 0.0,
        len(query.corrected) / known if known else 0.0,
        float(query.answer_type is not None),
    ]
    if len(top) == len(SEMANTIC_PASSAGE_FEATURES):
        gap = (
            min(top[_P["semantic"]] - ranked[1].features[_P["semantic"]], SEMANTIC_MARGIN_CAP)
            if len(ranked) > 1
            else SEMANTIC_MARGIN_CAP
        )
        row += [top[_P["semantic"]], gap]
    return np.array(row)
