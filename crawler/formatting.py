"""How newsmon shows values to people: money as `$235M`, control characters removed."""

from __future__ import annotations

import re

from rich.markup import escape

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
# C0/C1 controls (escape sequences begin with ESC), and the bidirectional controls that reorder what a terminal
# shows (U+202E turns "exe.txt" around): text from the network never reaches a terminal with them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmb]?)\s*$", re.I)
_MULTIPLIERS = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}


def money(value: float | None, currency: str | None) -> str:
    """`235000000, "USD"` -> `$235M`; `1.2e9, "EUR"` -> `€1.2B`; None -> `undisclosed`."""
    if value is None:
        return "undisclosed"
    for divisor, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= divisor:
            number = f"{value / divisor:.2f}".rstrip("0").rstrip(".") + unit
            break
    else:
        number = f"{value:,.0f}"
    symbol = _SYMBOLS.get(currency or "")
    return f"{symbol}{number}" if symbol else f"{currency or ''} {number}".strip()


def parse_amount(text: str) -> float:
    """`5000000`, `5M`, `1.2B`, `500k` -> a number.

    Raises:
        ValueError: for anything else.
    """
    match = _AMOUNT.match(text or "")
    if not match:
        raise ValueError(f"not an amount: {text!r} (use 5000000, 5M or 1.2B)")
    return float(match[1]) * _MULTIPLIERS[match[2].lower()]


def plain_text(text: str | None) -> str:
    """Text safe to print on a terminal: control and bidirectional-override characters removed."""
    return _CONTROL.sub("", text or "")


def safe_text(text: str | None) -> str:
    """Text safe to print in a rich table: `plain_text`, rich markup escaped."""
    return escape(plain_text(text))
