"""Build the detector's model from the shared labelled sets: ``python -m pipelines.funding.train``.

Trains on ``labels-dev.jsonl``, the ``tune`` split of ``labels-dev2.jsonl`` (never on ``check``) and the pages of
``pages.jsonl`` (extracted as a crawl extracts them), and writes ``pipelines/funding/model.json``. The same command
on the same labels rebuilds the file byte for byte (one thread, fixed seeds, rounded weights, the training
toolchain pinned in the ``train`` extra); ``--verify`` exits 1 when the committed file differs. Needs scikit-learn
(the ``train`` extra); the detector itself does not.

The models, all fitted on features the detector computes the same way at run time:

1. pair: logistic regression over (name, trigger) pairs; a pair is positive when the name is a gold company
   and the trigger its amount (or a funding word of its sentence). Two passes: the second keeps, of each gold
   company, only the pairs the first pass scored best (its mentions in unrelated sentences are not evidence).
2. entity: gradient-boosted trees over each name's best pair scores and the article's kind, fitted on pair
   scores predicted out of fold (so they are as good as on unseen text, not better); its threshold is the one
   that maximises F1 in a cross-validation of this stage.
3. boundary, status, lead, investor: logistic regressions for the first token of a name, the rumour status and
   the investors' roles, fitted on the names the entity stage finds out of fold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.evaluation import LabelledItem, Report, evaluate, load_labels
from pipelines.funding.article import article_features
from pipelines.funding.attributes import (
    amount_candidates,
    amount_features,
    anchor_pair,
    paired_scores,
    rank_candidates,
    status_features,
)
from pipelines.funding.detector import boundary_features, sentences_after
from pipelines.funding.entities import MAX_ENTITIES, Entity, context, entity_features, group
from pipelines.funding.investors import article_context, backer_features, is_own_name, same_money_sentences, scope
from pipelines.funding.labels import gold_for, money_matches, same_investor
from pipelines.funding.model import MODEL_FILE, Linear, Model, Trees
from pipelines.funding.pairs import Analysis, analyse
from pipelines.funding.text import Doc, lower_words
from pipelines.names import name_tokens

__all__ = ["cross_validate", "fit", "fit_model", "training_items", "main"]


def _pin_blas_kernels() -> None:
    """Make OpenBLAS use its AVX2 ("Haswell") kernels on every x86 CPU that has AVX2.

    OpenBLAS picks its kernels by CPU at load time, and its AVX-512 kernels round differently: on an AVX-512 machine
    the fitted weights differed from an AVX2 machine's in the fifth decimal, so the committed model was not rebuilt
    byte for byte. Has an effect only before numpy is first imported: ``main`` calls it first (the fitting
    imports numpy lazily); a process that imported numpy before (cross-validation inside pytest) keeps its kernels.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            avx2 = any(line.startswith("flags") and " avx2" in line for line in cpuinfo)
    except OSError:
        avx2 = False
    if avx2:
        os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
# labels-dev2's "check" split is never trained on: it is the figure for text nobody tuned on
TRAINING_SETS = (("labels-dev.jsonl", None), ("labels-dev2.jsonl", "tune"), ("pages.jsonl", None))
# whole pages, as a crawl reads them, count for more than excerpts: they are what the detector sees in use
PAGE_WEIGHT = 3.0
SEED = 0
PAIR_C = 0.3
MIN_FEATURE_COUNT = 2
KEEP_POSITIVES = 3
INNER_FOLDS = 4
TREES = {"max_iter": 60, "learning_rate": 0.1, "max_depth": 4, "min_samples_leaf": 20}


def training_items(corpus: Path = DEFAULT_CORPUS) -> list[LabelledItem]:
    """The labelled texts the model learns from (``TRAINING_SETS``)."""
    items: list[LabelledItem] = []
    for name, split in TRAINING_SETS:
        items += load_labels(corpus / name, split=split)
    return items


def common_words(items: Sequence[LabelledItem]) -> frozenset[str]:
    """Words seen at least twice in the training texts, in any case (names they repeat count too: counting only
    words seen in lower case scored 0.637 against 0.641 rounds F1 in 5-fold CV)."""
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(w for w in lower_words(item.text) if w[:1].isalpha() and len(w) > 1)
    return frozenset(w for w, n in counts.items() if n >= 2)


@dataclass
class Prepared:
    """One training article: its analysis and, per pair, the label and the gold company it belongs to."""

    item: LabelledItem
    analysis: Analysis
    labels: list[int]
    owners: list[str | None]
    entities: list[Entity] = field(default_factory=list)
    article_p: float = 0.0  # the article model's score, out of fold

    @property
    def weight(self) -> float:
        return PAGE_WEIGHT if self.item.id.startswith("pages/") else 1.0


def prepare(items: Sequence[LabelledItem], common: frozenset[str]) -> list[Prepared]:
    out = []
    for item in items:
        analysis = analyse(Doc(item.text, item.title, item.published), common)
        labels, owners = [], []
        for pair in analysis.pairs:
            gold, _ = gold_for(analysis.doc, pair.mention, item.gold)
            if gold is None:
                labels.append(0)
                owners.append(None)
                continue
            money = pair.trigger.money
            labels.append(int(money_matches(money.value, gold)) if money is not None else 1)
            owners.append(gold["company"])
        out.append(Prepared(item, analysis, labels, owners))
    return out


# ---------------------------------------------------------------------- logistic regressions


def _fit_linear(
    rows: list[list[str]],
    labels: list[int],
    c: float,
    min_count: int = MIN_FEATURE_COUNT,
    weights: list[float] | None = None,
) -> Linear:
    """L2 logistic regression on feature counts (a feature listed twice counts twice, as ``Linear`` scores it)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        return Linear({}, -5.0 if not any(labels) else 5.0)
    df: Counter[str] = Counter()
    for row in rows:
        df.update(set(row))
    names = sorted(f for f, n in df.items() if n >= min_count)
    index = {f: i for i, f in enumerate(names)}
    data, cols, ptr = [], [], [0]
    for row in rows:
        counts = Counter(f for f in row if f in index)
        for f in sorted(counts, key=index.__getitem__):
            cols.append(index[f])
            data.append(float(counts[f]))
        ptr.append(len(cols))
    x = csr_matrix((data, cols, ptr), shape=(len(rows), len(names)), dtype="float64")
    model = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=1000)
    with _one_thread():
        model.fit(x, labels, sample_weight=weights)
    coefs = {f: round(float(w), 5) for f, w in zip(names, model.coef_[0], strict=True)}
    return Linear({f: w for f, w in coefs.items() if w != 0.0}, round(float(model.intercept_[0]), 5))


def _one_thread() -> Any:
    """The fitting libraries' thread pools held to one thread (the fitted numbers must not depend on cores)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _score_pairs(prepared: Sequence[Prepared], linear: Linear) -> None:
    for p in prepared:
        shared: dict[int, float] = {}  # as the detector scores them
        for pair in p.analysis.pairs:
            pair.score = linear.score_parts(pair.parts, shared)


def fit_pair(prepared: Sequence[Prepared]) -> Linear:
    """The pair model, in two passes (module docstring)."""
    rows = [pair.features for p in prepared for pair in p.analysis.pairs]
    labels = [y for p in prepared for y in p.labels]
    weights = [p.weight for p in prepared for _ in p.labels]
    first = _fit_linear(rows, labels, PAIR_C, weights=weights)
    rows, labels, weights = [], [], []
    for p in prepared:
        positives: dict[str, list[int]] = defaultdict(list)
        for i, (y, owner) in enumerate(zip(p.labels, p.owners, strict=True)):
            if y:
                positives[owner].append(i)
        keep: set[int] = set()
        for indexes in positives.values():
            ranked = sorted(indexes, key=lambda i: -first.logit(p.analysis.pairs[i].features))
            keep.update(ranked[:KEEP_POSITIVES])
            keep.update(i for i in indexes if p.analysis.pairs[i].trigger.money is not None)
        for i, (pair, y) in enumerate(zip(p.analysis.pairs, p.labels, strict=True)):
            if y and i not in keep:
                continue
            rows.append(pair.features)
            labels.append(y)
            weights.append(p.weight)
    return _fit_linear(rows, labels, PAIR_C, weights=weights)


# ---------------------------------------------------------------------- articles


ARTICLE_C = 0.3


def fit_article(prepared: Sequence[Prepared]) -> Linear:
    """The article model: does the article report at least one new round (``article_features``)?"""
    rows = [article_features(p.analysis.doc) for p in prepared]
    labels = [int(bool(p.item.gold)) for p in prepared]
    return _fit_linear(rows, labels, ARTICLE_C, weights=[p.weight for p in prepared])


# ---------------------------------------------------------------------- entities


def _folds(n: int, k: int, seed: int = SEED) -> list[list[int]]:
    """Deterministic folds: a fixed shuffle of the items, then every k-th one."""
    import random

    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [[i for j, i in enumerate(order) if j % k == f] for f in range(k)]


def entity_label(doc: Doc, entity: Entity, gold: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The gold round of an entity: its best name, or that name without one or two leading tokens, is a gold
    company."""
    return gold_for(doc, entity.best.mention, gold)[0]


def _entity_rows(
    prepared: Sequence[Prepared],
) -> tuple[list[dict[str, float]], list[int], list[int], list[float]]:
    rows, labels, groups, weights = [], [], [], []
    for n, p in enumerate(prepared):
        doc = p.analysis.doc
        p.entities = group(p.analysis)
        shared = context(doc, p.entities, p.article_p)
        for i, e in enumerate(p.entities[:MAX_ENTITIES]):
            if e.p < PAIR_FLOOR:
                continue
            rows.append(entity_features(doc, p.entities, i, shared))
            labels.append(int(entity_label(doc, e, p.item.gold) is not None))
            groups.append(n)
            weights.append(p.weight)
    return rows, labels, groups, weights


PAIR_FLOOR = 0.02


def _fit_trees(
    rows: list[dict[str, float]], labels: list[int], names: list[str], weights: list[float] | None = None
) -> Trees:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.array([[row.get(n, 0.0) for n in names] for row in rows], dtype="float64")
    model = HistGradientBoostingClassifier(**TREES, random_state=SEED, early_stopping=False)
    with _one_thread():
        model.fit(x, labels, sample_weight=weights)
    trees = []
    for (predictor,) in model._predictors:
        nodes = []
        for node in predictor.nodes:
            if node["is_leaf"]:
                nodes.append([-1, 0.0, 0, 0, round(float(node["value"]), 8)])
            else:
                nodes.append(
                    [int(node["feature_idx"]), float(node["num_threshold"]), int(node["left"]), int(node["right"]), 0.0]
                )
        trees.append(nodes)
    out = Trees(names, trees, round(float(model._baseline_prediction.ravel()[0]), 8))
    # the exported trees must score as scikit-learn does
    expected = model.predict_proba(x[:200])[:, 1]
    for row, want in zip(rows[:200], expected, strict=True):
        if abs(out.score(row) - want) > 1e-6:
            raise RuntimeError("exported trees disagree with scikit-learn")
    return out


THRESHOLD_F1_TOLERANCE = 0.005


def _best_threshold(scores: list[float], labels: list[int]) -> float:
    """The threshold of best F1 on a 0.05 grid, the F1 curve smoothed over neighbouring thresholds first (the
    raw maximum of a flat curve jumps from one training run to the next), the highest of those near the best."""
    grid = [x / 100 for x in range(15, 76, 5)]
    f1s = []
    for t in grid:
        tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y)
        fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and not y)
        fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < t and y)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    smooth = [sum(f1s[max(0, i - 1) : i + 2]) / len(f1s[max(0, i - 1) : i + 2]) for i in range(len(grid))]
    # where F1 cannot tell thresholds apart (within THRESHOLD_F1_TOLERANCE of the best), the highest: a round
    # the store mistakes is worse than one it misses, and the choice no longer flips with a page's text
    near_best = [i for i in range(len(grid)) if smooth[i] >= max(smooth) - THRESHOLD_F1_TOLERANCE]
    return grid[max(near_best)]


# ---------------------------------------------------------------------- names, status, investors


@dataclass
class Examples:
    """Feature rows, their labels, and the article each came from (for grouped cross-validation)."""

    rows: list[list[str]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    def add(self, row: list[str], label: bool | int, group: int) -> None:
        self.rows.append(row)
        self.labels.append(int(label))
        self.groups.append(group)


def _side_examples(prepared: Sequence[Prepared], common: frozenset[str]) -> dict[str, Examples]:
    """Examples for the boundary, amount, status, lead and investor models, from the entities found out of fold."""
    out = {k: Examples() for k in ("boundary", "amount", "status", "lead", "investor")}
    for n, p in enumerate(prepared):
        doc = p.analysis.doc
        matched = []
        for e in p.entities:
            if e.p < PAIR_FLOOR:
                continue
            gold, drop = gold_for(doc, e.best.mention, p.item.gold)
            if gold is not None and all(gold is not g for _, g in matched):
                matched.append((e, gold))
                a, b = e.best.mention.a, e.best.mention.b
                for k in range(min(drop + 1, b - a - 1)):
                    out["boundary"].add(boundary_features(doc, a + k, b, common), k < drop, n)
        anchors = {doc.sent_of[e.best.mention.a] for e, _ in matched}
        for e, gold in matched:
            anchor = doc.sent_of[e.best.mention.a]
            in_scope = scope(doc, e, anchors - {anchor})
            candidates = amount_candidates(doc, e, in_scope)
            paired_with = paired_scores(e)
            ranked = rank_candidates(candidates, paired_with)
            own_amount = money = None
            for c in candidates:
                hit = money_matches(c[2].value, gold) and c[2].currency == gold.get("currency")
                out["amount"].add(amount_features(doc, e, c, ranked[id(c)], len(candidates), paired_with), hit, n)
                if hit and own_amount is None:
                    own_amount, money = doc.sent_of[c[0]], c[2]
            out["status"].add(
                status_features(doc, e, anchor_pair(doc, e, own_amount)), gold.get("status") == "rumored", n
            )
            roles, _, by_sentence = article_context(p.analysis)
            stated = {doc.sent_of[anchor_pair(doc, e, own_amount).mention.a]}
            if money is not None:
                stated |= same_money_sentences(doc, money, min(stated))
            sentences = set(in_scope) | stated | sentences_after(doc, stated, anchors)
            for m in (m for s in sorted(sentences) for m in by_sentence.get(s, ())):
                name = doc.span_text(m.a, m.b)
                if is_own_name(e, tuple(name_tokens(name))):
                    continue
                f = backer_features(doc, m, stated, p.analysis.featurizer, roles, money)
                is_lead = any(same_investor(name, g) for g in gold.get("lead_investors") or [])
                is_investor = is_lead or any(same_investor(name, g) for g in gold.get("investors") or [])
                out["lead"].add(f, is_lead, n)
                out["investor"].add(f, is_investor, n)
    return out


# ---------------------------------------------------------------------- the whole model


def fit(items: Sequence[LabelledItem]) -> dict[str, Any]:
    """The model (as its JSON object) learned from ``items``."""
    common = common_words(items)
    prepared = prepare(items, common)
    # out-of-fold pair scores: the entity stage learns from scores like those it will see on new text
    for fold in _folds(len(prepared), INNER_FOLDS):
        held = set(fold)
        linear = fit_pair([p for i, p in enumerate(prepared) if i not in held])
        _score_pairs([prepared[i] for i in fold], linear)
    for fold in _folds(len(prepared), INNER_FOLDS):
        held = set(fold)
        article = fit_article([p for i, p in enumerate(prepared) if i not in held])
        for i in fold:
            prepared[i].article_p = article.score(article_features(prepared[i].analysis.doc))
    rows, labels, groups, weights = _entity_rows(prepared)
    names = sorted({k for row in rows for k in row})
    # the entity threshold: F1-best in a cross-validation of this stage
    scores = [0.0] * len(rows)
    for fold in _folds(len(prepared), INNER_FOLDS):
        held = set(fold)
        train = [i for i, g in enumerate(groups) if g not in held]
        test = [i for i, g in enumerate(groups) if g in held]
        trees = _fit_trees([rows[i] for i in train], [labels[i] for i in train], names, [weights[i] for i in train])
        for i in test:
            scores[i] = trees.score(rows[i])
    threshold = _best_threshold(scores, labels)
    entity = _fit_trees(rows, labels, names, weights)
    side = _side_examples(prepared, common)
    side_models = {name: _fit_side(examples, name != "boundary") for name, examples in side.items()}
    pair = fit_pair(prepared)
    article = fit_article(prepared)
    return {
        "info": {
            "format": 1,
            "trained_on": [f"{name}{':' + split if split else ''}" for name, split in TRAINING_SETS],
            "items": len(items),
            "rounds": sum(len(i.gold) for i in items),
            "pairs": sum(len(p.labels) for p in prepared),
            "entity_rows": len(rows),
        },
        "pair": _linear_json(pair),
        "article": _linear_json(article),
        "entity": {"features": entity.features, "trees": entity.trees, "baseline": entity.baseline},
        **{name: _linear_json(model) for name, (model, _) in side_models.items()},
        "common_words": sorted(common),
        "thresholds": {
            "entity": threshold,
            "pair_floor": PAIR_FLOOR,
            **{name: t for name, (_, t) in side_models.items() if name != "boundary"},
        },
    }


SIDE_C = 0.5


def _fit_side(examples: Examples, tune_threshold: bool) -> tuple[Linear, float]:
    """A side model and its F1-best threshold in a grouped cross-validation (0.5 when not tuned)."""
    rows, labels, groups = examples.rows, examples.labels, examples.groups
    min_count = 1 if len(rows) < 500 else MIN_FEATURE_COUNT
    model = _fit_linear(rows, labels, SIDE_C, min_count=min_count)
    if not tune_threshold or len(set(labels)) < 2:
        return model, 0.5
    scores = [0.0] * len(rows)
    items = sorted(set(groups))
    for fold in _folds(len(items), INNER_FOLDS):
        held = {items[i] for i in fold}
        part = _fit_linear(
            [r for r, g in zip(rows, groups, strict=True) if g not in held],
            [y for y, g in zip(labels, groups, strict=True) if g not in held],
            SIDE_C,
            min_count=min_count,
        )
        for i, g in enumerate(groups):
            if g in held:
                scores[i] = part.score(rows[i])
    return model, _best_threshold(scores, labels)


def _linear_json(linear: Linear) -> dict[str, Any]:
    return {"bias": linear.bias, "weights": dict(sorted(linear.weights.items()))}


def dumps(model: dict[str, Any]) -> str:
    """The model file's text: sorted keys, one section per line, so a diff shows which part changed."""
    lines = ["{"]
    keys = sorted(model)
    for n, key in enumerate(keys):
        sep = "," if n < len(keys) - 1 else ""
        lines.append(f"{json.dumps(key)}: {json.dumps(model[key], sort_keys=True, ensure_ascii=False)}{sep}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def fit_model(items: Sequence[LabelledItem]) -> Model:
    """``fit`` as a ``Model`` (cross-validation trains one per fold)."""
    return Model.from_json(fit(items))


def cross_validate(items: Sequence[LabelledItem], k: int = 5, seed: int = SEED, train_fraction: float = 1.0) -> Report:
    """Score the whole detector on ``k`` folds of ``items``, each fold by a model trained on the other folds.

    Args:
        train_fraction: train each fold's model on this share of the other folds only (a fixed shuffle's first
            items), for a learning curve; the held-out fold is scored whole either way.

    Returns:
        One ``Report`` over every item, each scored as unseen text.
    """
    import random

    from pipelines.funding.detector import Detector

    if not 0.0 < train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], not {train_fraction}")
    outputs: dict[tuple, list[dict[str, Any]] | Exception] = {}
    for fold in _folds(len(items), k, seed):
        held = set(fold)
        training = [item for i, item in enumerate(items) if i not in held]
        if train_fraction < 1.0:
            random.Random(seed).shuffle(training)
            training = training[: max(1, round(len(training) * train_fraction))]
        detector = Detector(fit_model(training))
        for i in fold:
            item = items[i]
            try:
                found: list[dict[str, Any]] | Exception = detector.detect_or_raise(
                    item.text, item.title, item.published
                )
            except Exception as exc:  # noqa: BLE001 - replayed below, where evaluate counts it as a crash
                found = exc
            outputs[(item.text, item.title, item.published)] = found

    def replay(text: str, title: str | None, published: Any) -> list[dict[str, Any]]:
        found = outputs[(text, title, published)]
        if isinstance(found, Exception):
            raise found
        return found

    return evaluate(list(items), replay)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.funding.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="the shared corpus folder (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(MODEL_FILE), help="model file to write")
    parser.add_argument(
        "--verify", action="store_true", help="build, compare with --out, write nothing; exit 1 if they differ"
    )
    args = parser.parse_args(argv)
    _pin_blas_kernels()  # before numpy is first imported (by the fitting, below)
    try:
        items = training_items(args.corpus)
    except Exception as exc:  # noqa: BLE001 - one line for a missing or broken corpus
        print(f"train: {exc}", file=sys.stderr)
        return 2
    text = dumps(fit(items))
    if args.verify:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'identical to' if same else 'DIFFERS from'} the model built from {args.corpus}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) // 1024} KiB) from {len(items)} labelled items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
