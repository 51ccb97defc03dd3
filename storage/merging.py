"""Pure rules for "one round, many reports" (detection guide, "One round, several outlets").

A stored round is a function of the reports linked to it: each article that reported it keeps what it said (a
REPORT dict, below), and `combine` folds the reports into the round's fields. So the row does not depend on the
order the reports arrived in, and dropping a report (an article that was corrected) recomputes the row.

REPORT: the detector's ROUND dict plus `announced` (YYYY-MM-DD, the article's date) and `url` (the article's);
`filing` is true for a report made by a regulatory filing (SEC Form D) rather than by the press.

A filing never merges with the press: it states what was sold by its date, which often differs from the round
the press reports (tranches, conversions, a later close). It is its own round, linked to the press round of the
same company reported within FILING_WINDOW_DAYS (`documents`), so both amounts are seen side by side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.names import name_key, name_tokens, same_company

# Two reports are one round when they agree within these bounds.
MERGE_WINDOW_DAYS = 7
MERGE_AMOUNT_TOLERANCE = 0.10
# An announcement confirms a rumour of the same company within this window and amount gap; it may come a
# few days before the rumour's article (outlets report late), never weeks before.
RUMOUR_WINDOW_DAYS = 90
RUMOUR_AMOUNT_TOLERANCE = 0.25
RUMOUR_LATE_DAYS = 3
# A filing documents a press round of the same company reported this many days before or after it (a Form D is
# due 15 days after the first sale, and press coverage comes before or after it).
FILING_WINDOW_DAYS = 30
FILING_AMOUNT_TOLERANCE = 0.25

_ROUND_FIELDS = ("company", "amount", "currency", "amount_usd", "round", "valuation", "status", "confidence")


def make_report(found: dict[str, Any], announced: dt.date, url: str) -> dict[str, Any]:
    """The REPORT an article makes of one detected round (JSON-ready)."""
    report = {name: found.get(name) for name in _ROUND_FIELDS}
    report["status"] = report["status"] or "announced"
    report["lead_investors"] = [n for n in found.get("lead_investors") or [] if isinstance(n, str)]
    report["investors"] = [n for n in found.get("investors") or [] if isinstance(n, str)]
    report["evidence"] = dict(found.get("evidence") or {})
    report["announced"] = announced.isoformat()
    report["url"] = url
    if found.get("filing"):
        report["filing"] = True
    return report


@dataclass(frozen=True)
class RoundView:
    """What matching needs to know of a round (stored or just reported)."""

    company: str
    keys: frozenset[str]  # the name keys it was reported under
    amount: float | None
    currency: str | None
    amount_usd: float | None
    round: str | None
    status: str
    announced: dt.date
    leads: frozenset[str]  # name keys of its lead investors
    filing: bool = False  # made of regulatory filings, not press reports


def report_view(report: dict[str, Any]) -> RoundView:
    """The matching view of one report (what `view([report])` gives, without combining)."""
    return RoundView(
        company=report["company"],
        keys=frozenset((name_key(report["company"]),)),
        amount=report.get("amount") or None,
        currency=report.get("currency") if report.get("amount") else None,
        amount_usd=report.get("amount_usd") if report.get("amount") else None,
        round=report.get("round"),
        status=report["status"],
        announced=dt.date.fromisoformat(report["announced"]),
        leads=frozenset(name_key(n) for n in report.get("lead_investors") or [] if name_key(n)),
        filing=bool(report.get("filing")),
    )


def view(reports: Sequence[dict[str, Any]]) -> RoundView:
    """The matching view of a round made of `reports`."""
    if len(reports) == 1:
        return report_view(reports[0])
    fields = combine(reports)
    return RoundView(
        company=fields["company"],
        keys=frozenset(name_key(r["company"]) for r in reports),
        amount=fields["amount"],
        currency=fields["currency"],
        amount_usd=fields["amount_usd"],
        round=fields["round"],
        status=fields["status"],
        announced=fields["announced"],
        leads=frozenset(name_key(n) for n in fields["lead_investors"]),
        filing=fields["filing"],
    )


def name_stem(company: str) -> str:
    """The first three letters of a company's folded name: any two names that may merge share it (an indexed
    column to find candidates by, and the key of the per-company lock on PostgreSQL)."""
    return ("".join(name_tokens(company)) or name_key(company))[:3]


def reports_match(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two single reports of one raise (`same_round` on each report alone)."""
    return same_round(report_view(a), report_view(b))


def group_reports(reports: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Reports grouped into rounds: the connected groups of reports that match pairwise (a report matching
    two others joins them), earliest group first. The grouping of a set of reports does not depend on order."""
    ordered = _ordered(reports)
    views = [report_view(r) for r in ordered]
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered)):
            if root(i) != root(j) and same_round(views[i], views[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[dict[str, Any]]] = {}
    for i, report in enumerate(ordered):
        groups.setdefault(root(i), []).append(report)
    return sorted(groups.values(), key=lambda group: (group[0]["announced"], group[0].get("url") or ""))


def amount_gap(a: RoundView, b: RoundView) -> float | None:
    """The relative gap between two amounts (USD when both convert), or None when they cannot be compared."""
    if a.amount_usd and b.amount_usd:
        ours, theirs = a.amount_usd, b.amount_usd
    elif a.amount and b.amount and a.currency == b.currency:
        ours, theirs = a.amount, b.amount
    else:
        return None
    return abs(ours - theirs) / max(ours, theirs)


def same_round(a: RoundView, b: RoundView) -> bool:
    """Two reports (or rounds) of one raise: same status, within the window, rounds equal or one unnamed, amounts
    within the tolerance or one undisclosed; and the same company key, or names that extend one another
    ("Mistral" ~ "Mistral AI") with a shared amount or lead."""
    if a.status != b.status or abs((a.announced - b.announced).days) > MERGE_WINDOW_DAYS:
        return False
    if a.filing or b.filing:  # a filing is its own round (one per filing), linked to the press round it documents
        return False
    if _contradict(a, b, MERGE_AMOUNT_TOLERANCE):
        return False
    gap = amount_gap(a, b)
    if a.keys & b.keys:
        return True
    if not same_company(a.company, b.company):
        return False
    return gap is not None or bool(a.leads & b.leads)


def _contradict(a: RoundView, b: RoundView, tolerance: float) -> bool:
    """Two rounds that name different round types, or amounts further apart than `tolerance`."""
    if a.round and b.round and a.round != b.round:
        return True
    gap = amount_gap(a, b)
    return gap is not None and gap > tolerance


def confirms(announced: RoundView, rumour: RoundView) -> bool:
    """An announced round confirms a rumour: same company, announced after it (or a few days before) and within
    the window, nothing contradicting, and the round type or the amount (within 25%) agreeing."""
    if announced.status != "announced" or rumour.status != "rumored" or announced.filing or rumour.filing:
        return False
    days = (announced.announced - rumour.announced).days
    if not -RUMOUR_LATE_DAYS <= days <= RUMOUR_WINDOW_DAYS:
        return False
    if not (announced.keys & rumour.keys or same_company(announced.company, rumour.company)):
        return False
    if _contradict(announced, rumour, RUMOUR_AMOUNT_TOLERANCE):
        return False
    gap = amount_gap(announced, rumour)
    return gap is not None or bool(announced.round and announced.round == rumour.round)


def documents(filing: RoundView, press: RoundView) -> bool:
    """A filing documents an announced press round: reported within FILING_WINDOW_DAYS of each other, under the
    same company key, or under names that extend one another ("Acme" ~ "Acme Robotics") with amounts within 25%."""
    if not filing.filing or press.filing or press.status != "announced":
        return False
    if abs((filing.announced - press.announced).days) > FILING_WINDOW_DAYS:
        return False
    if filing.keys & press.keys:
        return True
    gap = amount_gap(filing, press)
    return same_company(filing.company, press.company) and gap is not None and gap <= FILING_AMOUNT_TOLERANCE


def _significant_digits(amount: float) -> int:
    """How precisely an amount is stated: 1,250,000,000 has 3 significant digits, 1,200,000,000 has 2."""
    return len(f"{amount:.0f}".rstrip("0")) if amount >= 1 else 0


def _ordered(reports: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(reports, key=lambda r: (r["announced"], r.get("url") or "", repr(sorted(r.items()))))


def combine(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A round's fields from its reports, the same for any order of them.

    The earliest report dates it; the most precise amount states it (then the larger); the fullest name names
    it; investors are the union in the order the reports name them, a lead in any report being a lead.

    Returns:
        The ROUND fields plus `announced` and `last_reported` (the first and last report's dates),
        `lead_investors`, `investors`, `evidence` and `filing` (a round of filings).
    """
    if not reports:
        raise ValueError("a round needs at least one report")
    ordered = _ordered(reports)
    stated = [r for r in ordered if r.get("amount")]
    best = max(
        stated,
        key=lambda r: (
            _significant_digits(r["amount"]),
            r.get("amount_usd") or 0,
            r["amount"],
            r.get("currency") or "",
        ),
        default=None,
    )
    valuations = [r["valuation"] for r in ordered if r.get("valuation")]
    rounds = sorted({r["round"] for r in ordered if r.get("round")})
    leads: dict[str, str] = {}
    everyone: dict[str, str] = {}
    for report in ordered:
        for name in report.get("lead_investors") or []:
            leads.setdefault(name_key(name), name)
        for name in [*(report.get("lead_investors") or []), *(report.get("investors") or [])]:
            if name_key(name):
                everyone.setdefault(name_key(name), name)
    return {
        "company": max((r["company"] for r in ordered), key=lambda n: (len(name_tokens(n)), n)),
        "amount": best["amount"] if best else None,
        "currency": best.get("currency") if best else None,
        "amount_usd": best.get("amount_usd") if best else None,
        "round": rounds[-1] if rounds else None,
        "valuation": max(valuations, key=lambda v: (_significant_digits(v), v)) if valuations else None,
        "status": ordered[0]["status"],
        "confidence": max((r.get("confidence") or 0.0 for r in ordered), default=None),
        "announced": dt.date.fromisoformat(ordered[0]["announced"]),
        "last_reported": dt.date.fromisoformat(max(r["announced"] for r in ordered)),
        "lead_investors": [everyone[key] for key in everyone if key in leads],
        "investors": list(everyone.values()),
        "evidence": dict(ordered[0].get("evidence") or {}),
        "filing": all(r.get("filing") for r in ordered),  # reports of both kinds never share a round
    }
