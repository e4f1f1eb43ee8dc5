"""The fitted decisions of the answering stage, read from a small versioned JSON file.

Three logistic regressions, fitted by `benchmarks/fit_answering.py` on the SQuAD history
articles (never on the texts or questions the figures are reported on):

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
class AnsweringModel:
    passages: LinearModel
    sentences: LinearModel
    answer: LinearModel
    threshold: float
    """Least probability that the first passage answers, for the library to answer."""
    neighbour: float
    """Least probability for a sentence next to the quoted one to be quoted too."""
    meta: dict[str, Any] = field(default_factory=dict)
    """How it was fitted and the figures it reproduces (see benchmarks/fit_answering.py)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "histbot-answering-model",
            "version": FORMAT_VERSION,
            "passages": self.passages.to_json(),
            "sentences": self.sentences.to_json(),
            "answer": self.answer.to_json(),
            "threshold": self.threshold,
            "neighbour": self.neighbour,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnsweringModel:
        from knowledge.answering import ANSWER_FEATURES
        from knowledge.features import PASSAGE_FEATURES, SENTENCE_FEATURES

        if data.get("format") != "histbot-answering-model" or data.get("version") != FORMAT_VERSION:
            raise ValueError("not a histbot answering model of this version")
        return cls(
            passages=LinearModel.from_json(data["passages"], PASSAGE_FEATURES),
            sentences=LinearModel.from_json(data["sentences"], SENTENCE_FEATURES),
            answer=LinearModel.from_json(data["answer"], ANSWER_FEATURES),
            threshold=float(data["threshold"]),
            neighbour=float(data["neighbour"]),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> AnsweringModel:
        """The shipped model (knowledge/data/answering-model.json), or the one at `path`."""
        try:
            if path is None:
                text = resources.files("knowledge").joinpath(f"data/{MODEL_FILE}").read_text()
                where = f"knowledge/data/{MODEL_FILE}"
            else:
                text, where = Path(path).read_text(encoding="utf-8"), str(path)
            return cls.from_json(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KnowledgeError(f"cannot load the answering model {where}: {error}") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
