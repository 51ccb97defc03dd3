"""The detector's quality gate (floors in tests/data/detector_baseline.json) and `newsmon eval`'s scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.cli import main
from pipelines.evaluation import EvalError, LabelledItem, evaluate, load_labels, same_company

BASELINE = Path(__file__).parent / "data" / "detector_baseline.json"


def _labels(shared: Path, name: str) -> Path:
    path = shared / "corpus" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.mark.parametrize("key", ["labels-dev.jsonl", "pages.jsonl", "labels-dev2.jsonl:check"])
def test_no_figure_drops_below_its_committed_floor(shared: Path, key: str) -> None:
    floors = json.loads(BASELINE.read_text())[key]
    name, _, split = key.partition(":")
    report = evaluate(load_labels(_labels(shared, name), split=split or None))
    figures = report.figures()
    assert report.crashes == 0
    below = {k: (round(figures[k] or 0.0, 4), floor) for k, floor in floors.items() if (figures[k] or 0.0) < floor}
    assert not below, f"figures below the baseline (got, floor): {below}"


def _item(gold: list[dict], text: str = "x") -> LabelledItem:
    return LabelledItem("t1", text, None, None, gold)


GOLD = {
    "company": "Mistral AI",
    "amount": 385_000_000,
    "currency": "EUR",
    "round": "series_a",
    "lead_investors": ["Andreessen Horowitz"],
    "investors": ["Andreessen Horowitz", "Lightspeed Venture Partners"],
    "valuation": None,
    "status": "announced",
}


def test_scoring_pairs_by_company_and_checks_every_field() -> None:
    system = dict(GOLD, company="Mistral", amount=386_000_000, round=None, lead_investors=["a16z"])
    system["investors"] = ["a16z", "Sequoia"]
    report = evaluate([_item([GOLD])], detector=lambda *_: [system])
    figures = report.figures()
    assert (figures["round_precision"], figures["round_recall"]) == (1.0, 1.0)
    assert figures["amount"] == 1.0  # within 1%
    assert figures["round_type"] == 0.0
    assert figures["leads_f1"] == 1.0  # a16z is the gazetteer alias of Andreessen Horowitz
    assert report.investors.tp == 1 and report.investors.emitted == 2 and report.investors.gold == 2
    assert figures["strict_single_round"] == 0.0
    assert any("round got None want 'series_a'" in f for f in report.failures)


def test_spurious_rounds_and_negatives_are_counted() -> None:
    rumour = dict(GOLD, company="Acme", status="rumored")
    report = evaluate(
        [_item([]), _item([])],
        detector=lambda text, *_: [dict(GOLD)] if text == "x" else [rumour],
    )
    assert report.figures()["round_precision"] == 0.0
    assert report.negatives.n == 2 and report.negatives.correct == 0
    report = evaluate([_item([], text="y")], detector=lambda text, *_: [rumour])
    assert report.figures()["negatives_without_round"] == 1.0  # a rumour is not an announced round


def test_a_crashing_detector_counts_as_no_output() -> None:
    def boom(*_: object) -> list[dict]:
        raise RuntimeError("bad")

    report = evaluate([_item([GOLD])], detector=boom)
    assert report.crashes == 1 and report.figures()["round_recall"] == 0.0


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Mistral", "Mistral AI", True),
        ("Starling Bank Ltd", "Starling Bank", True),
        ("Sönke", "Sonke", True),
        ("The Future Group", "Future Group", True),
        ("Ventures", "Sound Ventures", False),
        ("Acme", "Apex", False),
    ],
)
def test_company_names_match_by_rule(a: str, b: str, same: bool) -> None:
    assert same_company(a, b) is same


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "bad.jsonl:1: not JSON"),
        ('{"text": "x"}\n', "bad.jsonl:1: expected an object with a 'rounds' list"),
        ('{"rounds": [], "id": "a"}\n', "bad.jsonl:1: an item needs 'text' or 'file'"),
        ('{"text": "x", "rounds": [], "published": "May 2"}\n', "bad.jsonl:1: 'published' is not YYYY-MM-DD"),
        ("\n", "bad.jsonl: no labelled items"),
    ],
)
def test_bad_label_files_give_one_line(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    with pytest.raises(EvalError, match="^" + str(tmp_path).replace("\\", "\\\\") + "/" + message.split(":")[0]):
        load_labels(bad)
    with pytest.raises(EvalError) as info:
        load_labels(bad)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_newsmon_eval_prints_the_figures_and_failures(
    shared: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    labels = _labels(shared, "labels-dev.jsonl")
    assert main(["eval", str(labels), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["items"] == 133 and out["counts"]["rounds_gold"] == 170
    assert 0 < out["figures"]["round_precision"] <= 1
    assert main(["eval", str(labels), "--show-failures"]) == 0
    printed = capsys.readouterr().out
    assert "round_recall" in printed and "missed" in printed
    assert main(["eval", str(tmp_path / "none.jsonl")]) == 1
    assert capsys.readouterr().err.strip() == f"newsmon: {tmp_path / 'none.jsonl'}: no such file"
