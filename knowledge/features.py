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

from knowledge.corpus import STOP, PassageWords, UnitsWords
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
    "semantic_pair",  # cosine of the question and its closest two adjacent sentences
    "semantic_centroid",  # cosine of the question and the passage's sentences together
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
    wanted = [
        (i, other, credit)
        for i, term in enumerate(core)
        for other, credit in ((term, 1.0), *((t, FAMILY_WEIGHT) for t in query.alternatives[term]))
    ]
    found = index.text.term_ids([other for _, other, _ in wanted])  # one look-up for all
    for (i, _, credit), row in zip(wanted, found, strict=True):
        if row is not None and rows.get(row, (0, 0.0))[1] < credit:
            rows[row] = (i, credit)
    ordered = sorted(rows)
    ids = index.corpus.word_ids([*query.words, *_PRONOUNS])
    word_ids = np.array([-2 if w is None else w for w in ids[: len(query.words)]], dtype=np.int64)
    pronouns = [w for w in ids[len(query.words) :] if w is not None]
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


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each token and sentence of the candidates (end to end) belongs."""

    sentence_of: np.ndarray  # per token: its sentence
    unit_of: np.ndarray  # per sentence: its candidate
    place: np.ndarray  # per sentence: its place in its candidate (0, 1, ...)
    size: np.ndarray  # per sentence: how many sentences its candidate has
    starts: np.ndarray  # per candidate: its first sentence
    counts: np.ndarray  # per candidate: how many sentences it has
    first_tokens: np.ndarray  # per candidate: its first token


def _layout(words: UnitsWords) -> _Layout:
    counts = np.diff(words.unit_sentences)
    starts = words.unit_sentences[:-1]
    unit_of = np.repeat(np.arange(len(counts)), counts)
    return _Layout(
        sentence_of=np.repeat(np.arange(len(unit_of)), np.diff(words.sentence_starts)),
        unit_of=unit_of,
        place=np.arange(len(unit_of)) - starts[unit_of],
        size=counts[unit_of],
        starts=starts,
        counts=counts,
        first_tokens=words.sentence_starts[starts],
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


def _credits(core: np.ndarray, credit: np.ndarray, owner: np.ndarray, rows: int, n_core: int):
    """rows x core terms: the best credit of each term among the tokens each row owns."""
    table = np.zeros((max(rows, 1), max(n_core, 1)))
    hit = core >= 0
    np.maximum.at(table, (owner[hit], core[hit]), credit[hit])
    return table[:rows, :n_core]


def _runs(tokens: np.ndarray, question: np.ndarray, at: _Layout) -> np.ndarray:
    """Per sentence: the longest run of consecutive question words, in the question's order
    (a run may go on into the next sentence of its passage, and counts for the sentence it
    ends in; it never goes on into the next candidate)."""
    n_sent = len(at.unit_of)
    if not len(tokens) or not len(question) or not n_sent:
        return np.zeros(n_sent)
    equal = question[:, None] == tokens[None, :]
    best = np.zeros(len(tokens), dtype=np.int64)
    run = np.zeros(len(tokens), dtype=np.int64)
    restart = at.first_tokens[at.first_tokens < len(tokens)]
    for row in equal:
        shifted = np.concatenate(([0], run[:-1]))
        shifted[restart] = 0
        run = np.where(row, shifted + 1, 0)
        np.maximum(best, run, out=best)
    result = np.zeros(n_sent)
    np.maximum.at(result, at.sentence_of, best)
    return result / len(question)


def _near(core: np.ndarray, pairs, at: _Layout) -> np.ndarray:
    """Per sentence: share of the question's adjacent word pairs standing within NEAR_TOKENS."""
    n_sent, sentence_of = len(at.unit_of), at.sentence_of
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
        # pair: adjacent tokens across a sentence's end; nor across two candidates).
        close = at_a[
            ((np.abs(at_a - after) <= NEAR_TOKENS) & (sentence_of[after] == sentence_of[at_a]))
            | ((np.abs(at_a - before) <= NEAR_TOKENS) & (sentence_of[before] == sentence_of[at_a]))
        ]
        together = np.zeros(n_sent, dtype=bool)
        together[sentence_of[close]] = True
        counts += together
    return counts / len(pairs)


def _typed(words: UnitsWords, tokens, q: QuestionWords, answer_type, index, at) -> np.ndarray:
    """Per sentence: holds what the question asks for (1 when it asks for nothing typed)."""
    n_sent = len(at.unit_of)
    if answer_type is None:
        return np.ones(n_sent)
    if answer_type == "date":
        return (words.sentence_flags & HAS_DATE).astype(bool).astype(float)
    if answer_type == "number":
        return (words.sentence_flags & HAS_NUMBER).astype(bool).astype(float)
    # "who", "where": a name the question does not already hold.
    fresh = words.capitalised & ~np.isin(tokens, q.word_set) & ~_stop(tokens, index)
    result = np.zeros(n_sent)
    result[at.sentence_of[fresh]] = 1.0
    return result


def _stop(tokens: np.ndarray, index: SearchIndex) -> np.ndarray:
    return (index.corpus.word_flags[tokens] & STOP).astype(bool)


def _largest(values: np.ndarray, at: _Layout) -> np.ndarray:
    """Per candidate: the largest of its sentences' values (rows: element-wise); 0 for a
    candidate without sentences."""
    result = np.zeros((len(at.counts), *values.shape[1:]))
    held = at.counts > 0
    if held.any() and values.size:
        result[held] = np.maximum.reduceat(values, at.starts[held], axis=0)
    return result


def _first_largest(values: np.ndarray, at: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: the largest of its sentences' values (0 for none) and the first of its
    sentences holding it (argmax's choice; its first sentence for none)."""
    top = _largest(values, at)
    first = at.starts.copy()
    hits = np.flatnonzero(values == top[at.unit_of])
    units, where = np.unique(at.unit_of[hits], return_index=True)
    first[units] = hits[where]
    return top, first


def _missing(credits: np.ndarray, weights: np.ndarray, rarest: float) -> np.ndarray:
    """Per row of credits: the idf of the rarest question word without full credit, over the
    rarest's (0 when every word has it)."""
    if not len(weights) or not rarest:
        return np.zeros(len(credits))
    lacking = np.where(credits < 1.0, weights, -np.inf).max(axis=1)
    return np.where(np.isfinite(lacking), lacking / rarest, 0.0)


def describe(
    query: Query,
    index: SearchIndex,
    doc_ids: np.ndarray,
    scores: np.ndarray,
    question_vector: np.ndarray | None = None,
) -> list[PassageMatch]:
    """The features of each candidate passage (BM25's order) and of its sentences; with the
    question's vector (and the index's sentence vectors), the semantic ones too.

    The candidates are described together: their words end to end (Corpus.units), each
    feature one numpy operation over all of them, cut per candidate at the end."""
    if not len(doc_ids):
        return []
    q = question_words(query, index)
    # A word the texts lack counts as a typical word never matched (it may be the question's
    # own paraphrase, or what the texts never speak of: the model weighs which).
    absent = len(query.unknown) * index.typical_idf
    total = float(q.weights.sum()) + absent or 1.0
    words = index.corpus.units(doc_ids)
    at = _layout(words)
    n_cand, n_sent, n_core, w = len(doc_ids), len(at.unit_of), len(q.weights), q.weights
    tokens = np.asarray(words.tokens, dtype=np.int64)
    core, credit = _lookup(tokens, q, index)
    present = _credits(core, credit, at.sentence_of, n_sent, n_core)  # sentence x core term
    head_core, head_credit = _lookup(np.asarray(words.headings, dtype=np.int64), q, index)
    head_of = np.repeat(np.arange(n_cand), np.diff(words.unit_headings))
    headings = _credits(head_core, head_credit, head_of, n_cand, n_core)  # candidate x term
    run = _runs(tokens, q.word_ids, at)
    near = _near(core, q.pairs, at)
    typed = _typed(words, tokens, q, query.answer_type, index, at)
    new_words = np.bincount(at.sentence_of[(core < 0) & ~_stop(tokens, index)], minlength=n_sent)
    lengths = np.diff(words.sentence_starts)
    pronoun = np.zeros(n_sent, dtype=bool)
    if len(tokens):
        first_words = tokens[words.sentence_starts[:-1].clip(max=len(tokens) - 1)]
        pronoun = np.isin(first_words, q.pronouns) & (lengths > 0)

    coverage = present @ w / total if present.size else np.zeros(n_sent)
    # A candidate's adjacent sentences as pairs, each kept by the sentence opening it; a
    # lone sentence is its own pair, and the last of several opens none.
    lone = at.size == 1
    following = np.minimum(np.arange(n_sent) + 1, max(n_sent - 1, 0))
    pair_rows = np.where(lone[:, None], present, np.maximum(present, present[following]))
    pair = np.where(lone, coverage, pair_rows @ w / total if pair_rows.size else 0.0)
    pair = np.where(lone | (at.place < at.size - 1), pair, -np.inf)
    top, best = _first_largest(coverage, at)
    best_pair, pair_at = _first_largest(pair, at)
    held = np.maximum(_largest(present, at), headings)
    has = at.counts > 0
    best = best.clip(max=max(n_sent - 1, 0))
    pair_credits = np.where(has[:, None], pair_rows[pair_at.clip(max=max(n_sent - 1, 0))], 0.0)
    rarest = max(float(w.max()) if n_core else 0.0, index.typical_idf)
    lacking_anyway = (index.typical_idf if query.unknown else 0.0) / rarest
    sources = index.corpus.passage_source[doc_ids].tolist()
    mass: dict[int, float] = {}
    for source, score in zip(sources, scores.tolist(), strict=True):
        mass[source] = mass.get(source, 0.0) + max(score, 0.0)
    all_mass = sum(mass.values()) or 1.0
    score = np.asarray(scores, dtype=float)
    unit_tokens = words.sentence_starts[words.unit_sentences[1:]] - at.first_tokens
    passages = np.column_stack(
        [
            score / (float(scores[0]) or 1.0),
            1.0 / np.arange(1, n_cand + 1),
            score / total,
            held @ w / total if n_core else np.zeros(n_cand),
            top,
            best_pair,
            _largest(run, at),
            np.where(has, near[best], 0.0) if n_sent else np.zeros(n_cand),
            np.where(has, typed[best], 0.0) if n_sent else np.zeros(n_cand),
            _largest(typed, at),
            headings @ w / total if n_core else np.zeros(n_cand),
            (held[:, q.names] == 0).mean(axis=1) if len(q.names) and n_core else np.zeros(n_cand),
            np.maximum(_missing(held, w, rarest), lacking_anyway),
            np.maximum(_missing(pair_credits, w, rarest), lacking_anyway),
            [mass[source] / all_mass for source in sources],
            np.where(has, np.log1p(unit_tokens), 0.0),
        ]
    )
    previous, following = (np.arange(n_sent) - 1).clip(min=0), following
    sentences = np.column_stack(
        [
            coverage,
            np.divide(coverage, top[at.unit_of], out=np.zeros(n_sent), where=top[at.unit_of] != 0),
            run,
            near,
            typed,
            np.log1p(new_words),
            np.log1p(lengths),
            at.place == 0,
            at.place / np.maximum(at.size - 1, 1),
            np.where(at.place > 0, coverage[previous], 0.0) if n_sent else coverage,
            np.where(at.place < at.size - 1, coverage[following], 0.0) if n_sent else coverage,
            pronoun,
        ]
    ).astype(float)
    matches = [
        PassageMatch(passages[i], sentences[int(s0) : int(s0 + n)], words.unit(i))
        for i, (s0, n) in enumerate(zip(at.starts, at.counts, strict=True))
    ]
    if question_vector is not None and index.vectors is not None:
        matches = _with_semantics(matches, index.vectors, question_vector)
    return matches


def _with_semantics(
    matches: list[PassageMatch], vectors: SentenceVectors, question: np.ndarray
) -> list[PassageMatch]:
    rows = [vectors.rows(match.words.first_sentence, len(match.sentences)) for match in matches]
    cosines = [r @ question for r in rows]
    best = [float(c.max()) if len(c) else 0.0 for c in cosines]
    top = max(best)
    together = [_together(r, question) for r in rows]
    return [
        PassageMatch(
            np.concatenate([m.features, [b, b - top, *t]]),
            np.column_stack([m.sentences, c, c - b])
            if len(c)
            else np.zeros((0, len(SEMANTIC_SENTENCE_FEATURES))),
            m.words,
        )
        for m, c, b, t in zip(matches, cosines, best, together, strict=True)
    ]


def _together(rows: np.ndarray, question: np.ndarray) -> tuple[float, float]:
    """Cosines of the question with the best two adjacent sentences' summed vectors and with
    all the passage's: what a paraphrase spread over sentences is closest to."""
    if not len(rows):
        return 0.0, 0.0
    pairs = rows[:-1] + rows[1:] if len(rows) > 1 else rows
    norms = np.linalg.norm(pairs, axis=1)
    pair = float(((pairs @ question) / np.where(norms > 0, norms, 1.0)).max())
    centroid = rows.sum(axis=0)
    norm = float(np.linalg.norm(centroid))
    return pair, float(centroid @ question) / norm if norm else 0.0


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
