"""The fitted decisions of the answering stage, read from a small versioned JSON file.

Three linear models, fitted by `benchmarks/fit_answering.py` on the SQuAD history articles
(never on the texts or questions the figures are reported on), once for an index of words
only and once for one with sentence vectors (knowledge/semantic.py):

* `passages` — which BM25 candidate answers the question (BM25 finds, this reorders);
* `sentences` — which sentence of a passage to quote;
* `answer` — whether the passage ranked first really answers: below `threshold`, the library
  says the texts do not answer rather than show a confident wrong quote.

A model is its feature names, the standardisation it was fitted with and its coefficients:
scoring is a dot product, so numpy is all it needs at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import KnowledgeError
from knowledge.features import (
    ANSWER_FEATURES,
    PASSAGE_FEATURES,
    SEMANTIC_ANSWER_FEATURES,
    SEMANTIC_PASSAGE_FEATURES,
    SEMANTIC_SENTENCE_FEATURES,
    SENTENCE_FEATURES,
)

FORMAT_VERSION = 1
MODEL_FILE = "answering-model.json"


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A standardised logistic regression: logit = ((x - mean) / scale) . coef + intercept."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, rows: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        return ((rows - self.mean) / self.scale) @ self.coef + self.intercept

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(rows)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "coef": [round(float(v), 8) for v in self.coef],
            "intercept": round(float(self.intercept), 8),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], expected: tuple[str, ...]) -> LinearModel:
        features = tuple(data["features"])
        if features != expected:
            raise ValueError(f"features {features} are not the code's {expected}")
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(features),) for a in arrays) or not all(
            np.isfinite(a).all() for a in arrays
        ):
            raise ValueError("mean, scale and coef must be finite, one per feature")
        return cls(features, *arrays, float(data["intercept"]))


@dataclass(frozen=True, slots=True)
class Decisions:
    """The three decisions, for one kind of index (with sentence vectors or without)."""

    passages: LinearModel
    sentences: LinearModel
    answer: LinearModel
    threshold: float
    """Least probability that the first passage answers, for the library to answer."""
    neighbour: float
    """Least probability for a sentence next to the quoted one to be quoted too."""

    def to_json(self) -> dict[str, Any]:
        return {
            "passages": self.passages.to_json(),
            "sentences": self.sentences.to_json(),
            "answer": self.answer.to_json(),
            "threshold": self.threshold,
            "neighbour": self.neighbour,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], semantic: bool) -> Decisions:
        return cls(
            passages=LinearModel.from_json(
                data["passages"], SEMANTIC_PASSAGE_FEATURES if semantic else PASSAGE_FEATURES
            ),
            sentences=LinearModel.from_json(
                data["sentences"], SEMANTIC_SENTENCE_FEATURES if semantic else SENTENCE_FEATURES
            ),
            answer=LinearModel.from_json(
                data["answer"], SEMANTIC_ANSWER_FEATURES if semantic else ANSWER_FEATURES
            ),
            threshold=float(data["threshold"]),
            neighbour=float(data["neighbour"]),
        )


@dataclass(frozen=True, slots=True)
class AnsweringModel:
    """The decisions for a word-only index, and for one with sentence vectors."""

    lexical: Decisions
    semantic: Decisions
    meta: dict[str, Any] = field(default_factory=dict)
    """How it was fitted and the figures it reproduces (see benchmarks/fit_answering.py)."""

    def decisions(self, with_vectors: bool) -> Decisions:
        return self.semantic if with_vectors else self.lexical

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "histbot-answering-model",
            "version": FORMAT_VERSION,
            "lexical": self.lexical.to_json(),
            "semantic": self.semantic.to_json(),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnsweringModel:
        if data.get("format") != "histbot-answering-model" or data.get("version") != FORMAT_VERSION:
            raise ValueError("not a histbot answering model of this version")
        return cls(
            lexical=Decisions.from_json(data["lexical"], semantic=False),
            semantic=Decisions.from_json(data["semantic"], semantic=True),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> AnsweringModel:
        """The shipped model (knowledge/data/answering-model.json), or the one at `path`."""
        where = f"knowledge/data/{MODEL_FILE}" if path is None else str(path)
        try:
            if path is None:
                text = resources.files("knowledge").joinpath(f"data/{MODEL_FILE}").read_text()
            else:
                text = Path(path).read_text(encoding="utf-8")
            return cls.from_json(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KnowledgeError(f"cannot load the answering model {where}: {error}") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
