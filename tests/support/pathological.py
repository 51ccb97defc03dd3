"""Inputs built to make a careless regex backtrack: the detector must stay linear on each (tests, benchmark)."""

from __future__ import annotations

_RAISE = "Acme raised $5 million in seed funding led by Foo Ventures.\nFunding "

PATHOLOGICAL: dict[str, str] = {
    "digits": "1" * 100_000,
    "spaces": " " * 100_000,
    "dollars": "$" * 100_000,
    "million-words": "million " * 20_000,
    "1MB-token": "x" * 1_000_000,
    "quotes": '"' * 50_000,
    "paren-quotes": '("' * 20_000,
    "dollar-one-comma": "$1," * 30_000,
    "raised-long-number": "raised $" + "9" * 100_000,
    # after a real raise the investor and name patterns run too
    "raise-then-digits": _RAISE + "1" * 100_000,
    "raise-then-capitals": _RAISE + "A" * 100_000,
    "raise-then-names": _RAISE + "Abc " * 25_000,
    "grouped-number": "Acme raised $1" + ",000" * 110 + " in a Series A round.",
}
