"""Scoring the funding detector against labelled articles (`newsmon eval`, the quality gate in tests).

Two label formats are read (../shared/corpus/LABELS.md and README.md): text items with ``text`` (passed straight
to ``detect_rounds``) and page items with ``file`` (a saved HTML page, extracted first as a crawl would).
Gold and system rounds are paired one to one per article by company name; field metrics are computed on the
pairs. Pure Python: no Scrapy, no store.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.funding import default_detector
from pipelines.names import investor_key, name_tokens, same_company

__all__ = ["EvalError", "LabelledItem", "Report", "evaluate", "load_labels", "same_company", "text_f1"]

MAX_LABEL_FILE_BYTES = 64 * 1024 * 1024


class EvalError(Exception):
    """A label file that cannot be read; the message is one line naming the file and the line."""


@dataclass
class LabelledItem:
    """One labelled article: the text the detector sees and the gold rounds."""

    id: str
    text: str
    title: str | None
    published: dt.date | None
    gold: list[dict[str, Any]]
    notes: str = ""
    split: str | None = None


@dataclass
class Counter:
    """Correct out of n, shown as a share."""

    correct: int = 0
    n: int = 0

    def add(self, ok: bool) -> None:
        self.correct += ok
        self.n += 1

    @property
    def share(self) -> float | None:
        return self.correct / self.n if self.n else None


@dataclass
class NameScore:
    """Micro precision/recall/F1 over investor names."""

    tp: int = 0
    emitted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / self.emitted if self.emitted else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        if not self.emitted and not self.gold:
            return None
        return 2 * self.tp / (self.emitted + self.gold)


@dataclass
class Report:
    """Every figure of one evaluation run, and every failure."""

    items: int = 0
    emitted: int = 0
    gold: int = 0
    matched: int = 0
    amount: Counter = field(default_factory=Counter)
    currency: Counter = field(default_factory=Counter)
    round: Counter = field(default_factory=Counter)
    valuation: Counter = field(default_factory=Counter)
    status: Counter = field(default_factory=Counter)
    strict: Counter = field(default_factory=Counter)
    negatives: Counter = field(default_factory=Counter)
    leads: NameScore = field(default_factory=NameScore)
    investors: NameScore = field(default_factory=NameScore)
    crashes: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.matched / self.emitted if self.emitted else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        return 2 * self.matched / (self.emitted + self.gold) if self.emitted + self.gold else None

    def figures(self) -> dict[str, float | None]:
        """The gated figures, by name (the keys of the committed baseline)."""
        return {
            "round_precision": self.precision,
            "round_recall": self.recall,
            "round_f1": self.f1,
            "amount": self.amount.share,
            "currency": self.currency.share,
            "round_type": self.round.share,
            "valuation": self.valuation.share,
            "status": self.status.share,
            "leads_f1": self.leads.f1,
            "investors_f1": self.investors.f1,
            "negatives_without_round": self.negatives.share,
            "strict_single_round": self.strict.share,
        }

    def counts(self) -> dict[str, int]:
        """The n behind each figure."""
        return {
            "items": self.items,
            "rounds_emitted": self.emitted,
            "rounds_gold": self.gold,
            "rounds_matched": self.matched,
            "amount": self.amount.n,
            "currency": self.currency.n,
            "round_type": self.round.n,
            "valuation": self.valuation.n,
            "status": self.status.n,
            "leads_gold": self.leads.gold,
            "investors_gold": self.investors.gold,
            "negatives": self.negatives.n,
            "strict_single_round": self.strict.n,
            "crashes": self.crashes,
        }

    def as_json(self) -> dict[str, Any]:
        return {"figures": self.figures(), "counts": self.counts(), "failures": self.failures}


# ---------------------------------------------------------------- loading


def load_labels(path: Path, split: str | None = None) -> list[LabelledItem]:
    """Labelled items from a JSONL file (text items, or page items whose ``file`` is relative to it); with
    ``split``, only the items of that split (``"split": "tune"`` / ``"check"`` in labels-dev2.jsonl)."""
    try:
        if path.stat().st_size > MAX_LABEL_FILE_BYTES:
            raise EvalError(f"{path}: larger than {MAX_LABEL_FILE_BYTES // 2**20} MiB, not a label file")
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise EvalError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise EvalError(f"{path}: cannot read ({exc.strerror})") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if split is None or (isinstance(obj, dict) and obj.get("split") == split):
            items.append(_item(obj, path, number))
    if not items:
        raise EvalError(f"{path}: no labelled items" + (f" in split {split!r}" if split else ""))
    return items


def _item(obj: Any, path: Path, number: int) -> LabelledItem:
    where = f"{path}:{number}"
    if not isinstance(obj, dict) or not isinstance(obj.get("rounds"), list):
        raise EvalError(f"{where}: expected an object with a 'rounds' list")
    if not all(isinstance(r, dict) and isinstance(r.get("company"), str) for r in obj["rounds"]):
        raise EvalError(f"{where}: every round needs a 'company' string")
    ident = str(obj.get("id") or obj.get("file") or number)
    published = _date(obj.get("published"), where)
    if isinstance(obj.get("text"), str):
        title = obj.get("title") if isinstance(obj.get("title"), str) else None
        split = obj.get("split") if isinstance(obj.get("split"), str) else None
        return LabelledItem(ident, obj["text"], title, published, obj["rounds"], str(obj.get("notes", "")), split)
    if isinstance(obj.get("file"), str):
        return _page_item(obj, path.parent / obj["file"], ident, where)
    raise EvalError(f"{where}: an item needs 'text' or 'file'")


def _page_item(obj: dict[str, Any], page: Path, ident: str, where: str) -> LabelledItem:
    from pipelines.extract import ExtractionSkipped, extract_article
    from pipelines.page import UnreadablePage, read_saved_page

    try:
        html = read_saved_page(page)
    except UnreadablePage as exc:
        raise EvalError(f"{where}: {exc}") from None
    try:  # detection is what is scored, so it runs later, item by item, on the article extracted here
        article = extract_article(html, str(obj.get("url") or page.resolve().as_uri()))
    except ExtractionSkipped:
        return LabelledItem(ident, "", None, None, obj["rounds"], "no article extracted")
    return LabelledItem(ident, article.text, article.title, article.published, obj["rounds"], str(obj.get("notes", "")))


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise EvalError(f"{where}: 'published' is not YYYY-MM-DD") from None


# ---------------------------------------------------------------- matching


def _investor_key(name: str) -> str:
    return investor_key(name)


def _same_investor(a: str, b: str) -> bool:
    return _investor_key(a) == _investor_key(b) or same_company(a, b)


def _pair(system: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """One-to-one pairs (system index, gold index) by company name; exact folds first, then prefixes."""
    pairs: list[tuple[int, int]] = []
    used_s: set[int] = set()
    used_g: set[int] = set()
    for exact in (True, False):
        for gi, g in enumerate(gold):
            if gi in used_g:
                continue
            for si, s in enumerate(system):
                if si in used_s or not isinstance(s.get("company"), str):
                    continue
                a, b = s["company"], g["company"]
                ok = name_tokens(a) == name_tokens(b) if exact else same_company(a, b)
                if ok:
                    pairs.append((si, gi))
                    used_s.add(si)
                    used_g.add(gi)
                    break
    return pairs


def _close(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return want is None and got is None
    try:
        return abs(float(got) - float(want)) <= 0.01 * abs(float(want))
    except (TypeError, ValueError):
        return False


def _score_names(score: NameScore, got: Iterable[str], want: Iterable[str]) -> tuple[list[str], list[str]]:
    got_l = [g for g in got if isinstance(g, str)]
    want_l = list(want)
    score.emitted += len(got_l)
    score.gold += len(want_l)
    unmatched = list(want_l)
    extra = []
    for name in got_l:
        hit = next((w for w in unmatched if _same_investor(name, w)), None)
        if hit is None:
            extra.append(name)
        else:
            unmatched.remove(hit)
            score.tp += 1
    return extra, unmatched


# ---------------------------------------------------------------- scoring


Detector = Callable[[str, str | None, dt.date | None], list[dict[str, Any]]]


def _default_detector(text: str, title: str | None, published: dt.date | None) -> list[dict[str, Any]]:
    # without detect_rounds' never-raise net, so a crash is counted and reported, not hidden as "no rounds"
    return default_detector().detect_or_raise(text, title, published)


def evaluate(items: list[LabelledItem], detector: Detector = _default_detector) -> Report:
    """Run the detector on every item and score it against the gold rounds."""
    report = Report()
    for item in items:
        report.items += 1
        try:
            system = detector(item.text, item.title, item.published)
        except Exception as exc:  # noqa: BLE001 - a crash counts as empty output, and is reported
            report.crashes += 1
            report.failures.append(f"{item.id}: crashed: {type(exc).__name__}: {exc}")
            system = []
        _score_item(report, item, system)
    return report


def _score_item(report: Report, item: LabelledItem, system: list[dict[str, Any]]) -> None:
    gold = item.gold
    report.emitted += len(system)
    report.gold += len(gold)
    if not gold:
        announced = [s for s in system if s.get("status") != "rumored"]
        report.negatives.add(not announced)
    pairs = _pair(system, gold)
    report.matched += len(pairs)
    paired_s = {si for si, _ in pairs}
    paired_g = {gi for _, gi in pairs}
    for gi, g in enumerate(gold):
        if gi not in paired_g:
            report.failures.append(f"{item.id}: missed {_brief(g)}")
    for si, s in enumerate(system):
        if si not in paired_s:
            report.failures.append(f"{item.id}: spurious {_brief(s)}")
    for si, gi in pairs:
        s, g = system[si], gold[gi]
        problems = []
        checks = [
            ("amount", report.amount, _close(s.get("amount"), g.get("amount")), True),
            ("currency", report.currency, s.get("currency") == g.get("currency"), g.get("amount") is not None),
            ("round", report.round, s.get("round") == g.get("round"), True),
            ("valuation", report.valuation, _close(s.get("valuation"), g.get("valuation")), True),
            ("status", report.status, s.get("status") == g.get("status"), True),
        ]
        for name, counter, ok, applies in checks:
            if applies:
                counter.add(ok)
                if not ok:
                    problems.append(f"{name} got {s.get(name)!r} want {g.get(name)!r}")
        extra, missing = _score_names(report.leads, s.get("lead_investors") or [], g.get("lead_investors") or [])
        if extra or missing:
            problems.append(f"leads extra {extra} missing {missing}")
        extra, missing = _score_names(report.investors, s.get("investors") or [], g.get("investors") or [])
        if extra or missing:
            problems.append(f"investors extra {extra} missing {missing}")
        if problems:
            report.failures.append(f"{item.id}: {g['company']}: " + "; ".join(problems))
    if len(gold) == 1:
        s = next((system[si] for si, gi in pairs), None)
        g = gold[0]
        ok = (
            s is not None
            and _close(s.get("amount"), g.get("amount"))
            and s.get("round") == g.get("round")
            and sorted(map(_investor_key, s.get("lead_investors") or []))
            == sorted(map(_investor_key, g.get("lead_investors") or []))
        )
        report.strict.add(ok)


def _brief(r: dict[str, Any]) -> str:
    amount = r.get("amount")
    return (
        f"{r.get('company')!r} {amount if amount is not None else '-'} {r.get('currency') or ''} "
        f"{r.get('round') or '-'} {r.get('status')}"
    ).strip()


def text_f1(gold: str, found: str | None) -> float:
    """Token-level F1 of an extracted main text against a gold text (bags of lower-cased word tokens, as the
    article-extraction benchmarks score it; exact strings would punish whitespace and quote styles)."""
    want = collections.Counter(re.findall(r"\w+", gold.casefold()))
    got = collections.Counter(re.findall(r"\w+", (found or "").casefold()))
    overlap = sum((want & got).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)
