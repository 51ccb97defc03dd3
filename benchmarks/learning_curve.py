"""Learning curve of the funding detector: how its cross-validated quality grows with the labelled texts it learns from.

Usage: python benchmarks/learning_curve.py [LABELS ...] [--k 5] [--fractions 0.25,0.5,0.75,1] [--seed 0] [--out F.json]

For each fraction, a k-fold cross-validation of the whole detector (``pipelines.funding.train.cross_validate``) in
which each fold's model learns from only that share of the other folds; every held-out fold is scored whole, so
the points differ only in how much the models saw. Then a least-squares line of round F1 against log2 of the
training items per fold: its slope is what one doubling of the labels bought, and, extended, how many labelled
texts the trend would need for a target F1 (a line through a curve that flattens: an optimistic figure).
Defaults to every shared labelled set (labels-dev, labels-dev2 with both splits, pages). Needs the ``train`` extra;
about 6 minutes on one core. Exit status 2 when a labels file is missing or invalid.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.evaluation import EvalError, load_labels  # noqa: E402 - needs ROOT on sys.path
from pipelines.funding import train  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_LABELS = [CORPUS / "labels-dev.jsonl", CORPUS / "labels-dev2.jsonl", CORPUS / "pages.jsonl"]
TARGET_F1 = 0.85


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b x``: ``(a, b)``."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="*", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--k", type=int, default=5, help="folds (default: %(default)s)")
    parser.add_argument("--fractions", default="0.25,0.5,0.75,1", help="shares of the training folds")
    parser.add_argument("--seed", type=int, default=train.SEED, help="the fold assignment")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    try:
        fractions = sorted({float(f) for f in args.fractions.split(",")})
        if not fractions or not all(0.0 < f <= 1.0 for f in fractions) or args.k < 2:
            raise ValueError
    except ValueError:
        print("learning_curve: --fractions wants numbers in (0, 1], --k at least 2", file=sys.stderr)
        return 2
    train._pin_blas_kernels()  # as the training command does, before numpy is imported
    try:
        items = [item for path in args.labels for item in load_labels(path)]
    except EvalError as exc:
        print(f"learning_curve: {exc}", file=sys.stderr)
        return 2
    per_fold = len(items) - len(items) // args.k
    points = []
    print(f"{len(items)} labelled items, {args.k}-fold cross-validation, seed {args.seed}")
    print(f"{'share':>6} {'trained on':>10} {'P':>6} {'R':>6} {'F1':>6} {'leads':>6} {'inv':>6} {'neg':>6} {'s':>5}")
    for fraction in fractions:
        start = time.perf_counter()
        figures = train.cross_validate(items, args.k, args.seed, train_fraction=fraction).figures()
        n = max(1, round(per_fold * fraction))
        points.append({"fraction": fraction, "trained_on": n, **figures})
        cells = [figures[k] for k in ("round_precision", "round_recall", "round_f1", "leads_f1", "investors_f1")]
        cells.append(figures["negatives_without_round"])
        shown = " ".join(f"{c:6.3f}" if c is not None else f"{'-':>6}" for c in cells)
        print(f"{fraction:6.2f} {n:10d} {shown} {time.perf_counter() - start:5.0f}", flush=True)
    result: dict[str, object] = {"items": len(items), "k": args.k, "seed": args.seed, "points": points}
    if len({p["trained_on"] for p in points}) >= 2:
        a, b = fit_line([math.log2(p["trained_on"]) for p in points], [p["round_f1"] or 0.0 for p in points])
        result["f1_per_doubling"] = round(b, 4)
        print(f"round F1 per doubling of the labels: {b:+.3f}")
        if b > 0:
            needed = 2 ** ((TARGET_F1 - a) / b)
            result["items_for_target"] = round(needed)
            times = needed / len(items)
            print(f"the line reaches round F1 {TARGET_F1} at about {needed:,.0f} items ({times:.0f}x all given)")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
