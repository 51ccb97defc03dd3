"""The detector's model: rebuilt byte for byte by the committed training command, scored in pure Python exactly as
scikit-learn scores it, and measured honestly (cross-validation, the tune/check gap) by `newsmon eval`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import main
from pipelines.evaluation import load_labels
from pipelines.funding.model import Linear, load_model

ROOT = Path(__file__).resolve().parents[1]


def test_committed_model_is_what_the_training_command_builds(shared: Path) -> None:
    pytest.importorskip("sklearn")
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.funding.train", "--verify", "--corpus", str(shared / "corpus")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identical to" in done.stdout


def test_the_model_never_trains_on_the_check_split() -> None:
    from pipelines.funding.train import TRAINING_SETS

    assert ("labels-dev2.jsonl", "check") not in TRAINING_SETS
    assert all(split != "check" for _, split in TRAINING_SETS)
    info = load_model().info
    assert "labels-dev2.jsonl:tune" in info["trained_on"] and not any("check" in s for s in info["trained_on"])


def test_exported_trees_score_exactly_as_scikit_learn() -> None:
    pytest.importorskip("sklearn")
    from pipelines.funding.train import _fit_trees

    rng = random.Random(3)
    rows = [{"a": rng.random(), "b": rng.random(), "c": float(rng.randint(0, 3))} for _ in range(400)]
    labels = [int(r["a"] + 0.3 * r["c"] > 1.0 or r["b"] > 0.9) for r in rows]
    trees = _fit_trees(rows, labels, ["a", "b", "c"])  # raises when its own check disagrees with predict_proba
    assert 0.0 < trees.score({"a": 0.9, "b": 0.1, "c": 3.0}) <= 1.0
    assert trees.score({"a": 0.9, "b": 0.1, "c": 3.0}) > trees.score({"a": 0.1, "b": 0.1, "c": 0.0})


def test_a_linear_part_counts_a_repeated_feature_twice_as_training_does() -> None:
    linear = Linear({"x": 0.5, "y": -1.0}, 0.25)
    assert linear.logit(["x", "x", "z"]) == pytest.approx(1.25)
    assert linear.logit([]) == pytest.approx(0.25)


def test_cross_validation_scores_every_item_once_with_a_model_that_never_saw_it(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sklearn")
    from pipelines.funding import train

    items = load_labels(shared / "corpus" / "labels-dev2.jsonl", split="tune")[:45]
    trained_on: list[set[str]] = []
    fit_model = train.fit_model

    def recording(fold_items: list) -> object:
        trained_on.append({i.id for i in fold_items})
        return fit_model(fold_items)

    monkeypatch.setattr(train, "fit_model", recording)
    report = train.cross_validate(items, 3)
    assert report.items == len(items) and report.crashes == 0
    assert len(trained_on) == 3
    held_out = [{i.id for i in items} - seen for seen in trained_on]
    assert all(len(h) == 15 for h in held_out)  # each fold: trained on 30, scored on the other 15
    assert set().union(*held_out) == {i.id for i in items}

    trained_on.clear()  # a learning curve's point: each fold's model sees half of the other folds
    report = train.cross_validate(items, 3, train_fraction=0.5)
    assert report.items == len(items) and [len(seen) for seen in trained_on] == [15, 15, 15]
    assert all(not seen & held for seen, held in zip(trained_on, held_out, strict=True))
    with pytest.raises(ValueError):
        train.cross_validate(items, 3, train_fraction=0.0)


def test_newsmon_eval_split_reports_only_that_split_and_the_gap(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = shared / "corpus" / "labels-dev2.jsonl"
    assert main(["eval", str(labels), "--split", "check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["items"] == 136
    assert main(["eval", str(labels), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    gap = out["gaps"]["tune vs check"]
    assert gap["round_f1_gap"] == pytest.approx(gap["round_f1"][0] - gap["round_f1"][1], abs=1e-3)
    assert main(["eval", str(labels), "--split", "nope"]) == 2


def test_newsmon_eval_cv_trains_on_the_given_items(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    lines = (shared / "corpus" / "labels-dev2.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    small = tmp_path / "small.jsonl"  # a temporary subset, read from ../shared at test time
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["eval", str(small), "--cv", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cross_validated"]["counts"]["items"] == 40
    assert out["committed"]["counts"]["items"] == 40
    assert "committed model vs cross-validated" in out["gaps"]
    assert main(["eval", str(small), "--cv", "1"]) == 2
