"""The learned part of the detector: weights and trees read from ``model.json`` (built by
``python -m pipelines.funding.train``), scored in pure Python. No scikit-learn at run time."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Linear", "Model", "Trees", "load_model", "sigmoid"]

MODEL_FILE = "model.json"


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Linear:
    """A logistic regression over binary string features: P = sigmoid(bias + sum of the weights present)."""

    weights: dict[str, float]
    bias: float

    def logit(self, features: list[str]) -> float:
        # missing features give None, which filter() drops with the zeros: all of it runs in C
        return self.bias + sum(filter(None, map(self.weights.get, features)))

    def score(self, features: list[str]) -> float:
        return sigmoid(self.logit(features))

    def score_parts(self, parts: tuple[list[str], ...], shared: dict[int, float]) -> float:
        """``score`` of the parts' features together: the parts after the first are shared lists whose sums are
        kept in ``shared`` (by identity) for one article."""
        get = self.weights.get
        total = self.bias + sum(filter(None, map(get, parts[0])))
        for part in parts[1:]:
            value = shared.get(id(part))
            if value is None:
                value = shared[id(part)] = sum(filter(None, map(get, part)))
            total += value
        return sigmoid(total)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Linear:
        return cls({str(k): float(v) for k, v in obj["weights"].items()}, float(obj["bias"]))


class Trees:
    """Gradient-boosted trees over named numeric features: P = sigmoid(baseline + sum of the leaf values).

    Each tree is a list of nodes ``[feature, threshold, left, right, value]``; a leaf has feature -1. Nodes are
    kept as tuples of parallel arrays per tree for speed.
    """

    def __init__(self, features: list[str], trees: list[list[list[float]]], baseline: float) -> None:
        self.features = features
        self.trees = trees
        self.baseline = baseline
        self._flat = [
            (
                tuple(int(n[0]) for n in nodes),
                tuple(float(n[1]) for n in nodes),
                tuple(int(n[2]) for n in nodes),
                tuple(int(n[3]) for n in nodes),
                tuple(float(n[4]) for n in nodes),
            )
            for nodes in trees
        ]

    def score(self, values: dict[str, float]) -> float:
        get = values.get
        x = [get(name, 0.0) for name in self.features]
        total = self.baseline
        for feature, threshold, left, right, value in self._flat:
            i = 0
            f = feature[0]
            while f >= 0:
                i = left[i] if x[f] <= threshold[i] else right[i]
                f = feature[i]
            total += value[i]
        return sigmoid(total)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Trees:
        return cls(list(obj["features"]), [list(map(list, t)) for t in obj["trees"]], float(obj["baseline"]))


@dataclass(frozen=True)
class Model:
    """Every learned part, with the thresholds chosen at training time.

    Attributes:
        pair: P(this name raised the money this trigger tells) for one (name, trigger) pair.
        entity: P(this name had a new round) from its best pairs and the article around it.
        article: P(the article announces a round at all) from its headline, lead and make-up (an entity input).
        boundary: P(the first token of a name is not part of it) ("Ghanaian" in "Ghanaian Zeepay").
        amount: P(a money mention near the round is its amount).
        status: P(the round is rumoured) from the words around it.
        lead / investor: P(a name in the round's sentences leads it / takes part in it).
        common_words: words seen in lower case in the training texts (a capitalised one is rarely a name).
        thresholds: decision thresholds by name (``entity``, ``amount``, ``lead``, ``investor`` ...).
    """

    pair: Linear
    entity: Trees
    article: Linear
    boundary: Linear
    amount: Linear
    status: Linear
    lead: Linear
    investor: Linear
    common_words: frozenset[str]
    thresholds: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Model:
        return cls(
            pair=Linear.from_json(obj["pair"]),
            entity=Trees.from_json(obj["entity"]),
            article=Linear.from_json(obj["article"]),
            boundary=Linear.from_json(obj["boundary"]),
            amount=Linear.from_json(obj["amount"]),
            status=Linear.from_json(obj["status"]),
            lead=Linear.from_json(obj["lead"]),
            investor=Linear.from_json(obj["investor"]),
            common_words=frozenset(obj["common_words"]),
            thresholds={k: float(v) for k, v in obj["thresholds"].items()},
            info=dict(obj.get("info", {})),
        )


def load_model(path: Path | None = None) -> Model:
    """The committed model (``pipelines/funding/model.json``), or the one at ``path``."""
    if path is None:
        text = resources.files("pipelines.funding").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return Model.from_json(json.loads(text))
