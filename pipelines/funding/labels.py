"""Where the labelled rounds meet the detector's candidates: which candidate name is a gold company, which
trigger is its amount, which names are its investors. Used by training (``train``) and nowhere at run time."""

from __future__ import annotations

from typing import Any

from pipelines.funding.candidates import Mention
from pipelines.funding.text import Doc
from pipelines.names import investor_key, same_company

__all__ = ["gold_for", "same_investor", "money_matches"]

MAX_DROP = 2


def gold_for(doc: Doc, m: Mention, gold: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, int]:
    """The gold round whose company is this name, or the name without its first one or two tokens
    ("Ghanaian Zeepay" -> "Zeepay"), and how many tokens were dropped."""
    for drop in range(0, min(MAX_DROP + 1, m.b - m.a)):
        name = doc.span_text(m.a + drop, m.b)
        for g in gold:
            if same_company(name, g["company"]):
                return g, drop
    return None, 0


def money_matches(value: float, gold: dict[str, Any]) -> bool:
    """The money is the gold round's amount (within 1%, as ``newsmon eval`` scores it)."""
    amount = gold.get("amount")
    return amount is not None and abs(value - amount) <= 0.01 * abs(amount)


def same_investor(a: str, b: str) -> bool:
    """Two investor names are one (folded keys and aliases, or one name starts the other), as ``newsmon eval``
    scores them."""
    return investor_key(a) == investor_key(b) or same_company(a, b)
