"""The one check of the ROUND shape (DESIGN.md) every test that reads rounds uses: detector output, JSON from
the command line, rounds read back from the store."""

from __future__ import annotations

import math

from pipelines.funding import ROUND_KEYS, ROUND_TYPES


def assert_valid_rounds(rounds: object) -> None:
    """Every item is a ROUND: exactly its keys (plus optional `evidence`), each of the right type and range."""
    assert isinstance(rounds, list)
    for r in rounds:
        assert isinstance(r, dict)
        assert set(r) - {"evidence"} == set(ROUND_KEYS), sorted(r)
        assert isinstance(r.get("evidence", {}), dict)
        assert isinstance(r["company"], str) and r["company"]
        assert _is_amount(r["amount"]) and _is_amount(r["amount_usd"]) and _is_amount(r["valuation"]), r
        currency = r["currency"]
        assert currency is None or (
            isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isupper()
        ), r
        assert r["round"] is None or r["round"] in ROUND_TYPES
        assert r["status"] in {"announced", "rumored"}
        assert isinstance(r["confidence"], float) and 0.0 <= r["confidence"] <= 1.0
        assert _is_names(r["lead_investors"]) and _is_names(r["investors"])


def _is_amount(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
