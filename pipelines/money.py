"""Pure money parser: find money mentions (span, value, ISO currency) in text, in linear time.

Every pattern anchors its number with ``(?<![\\d.,])`` and bounds its gaps, so no pattern backtracks more
than a constant per start position (see ../shared/guides/detection.md, "ReDoS").
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Money",
    "CURRENCY_TOKENS",
    "USD_RATES",
    "RATES_DATE",
    "find_bare_amounts",
    "find_money",
    "find_undisclosed",
    "to_usd",
]

MULTIPLIERS: dict[str, float] = {
    "k": 1e3,
    "thousand": 1e3,
    "mila": 1e3,
    "mil": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "mio": 1e6,
    "mio.": 1e6,
    "milioni": 1e6,
    "millones": 1e6,
    "millionen": 1e6,
    "milhões": 1e6,
    "mi": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "md": 1e9,
    "mrd": 1e9,
    "mrd.": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
    "miliardi": 1e9,
    "miliardo": 1e9,
    "milliarden": 1e9,
    "bilhões": 1e9,
    "lakh": 1e5,
    "lakhs": 1e5,
    "lac": 1e5,
    "crore": 1e7,
    "crores": 1e7,
    "cr": 1e7,
    "करोड़": 1e7,
}
# words written in languages that use "." for thousands ("1.300 millones")
_DOT_THOUSANDS_WORDS = {"millones", "milioni", "millionen", "milhões", "miliardi", "milliarden", "mio", "mio."}


@dataclass(frozen=True)
class Money:
    """One money mention.

    Attributes:
        start: offset of the mention in the searched text.
        end: end offset (exclusive).
        value: the amount in units of ``currency``.
        currency: ISO 4217 code.
        text: the mention as written.
        plus: True for "$3 million-plus" / "$100M+".
    """

    start: int
    end: int
    value: float
    currency: str
    text: str
    plus: bool = False


def _read_table(name: str) -> list[list[str]]:
    """Read a ``|``-separated data file from pipelines/data, skipping ``#`` comment lines."""
    text = resources.files("pipelines").joinpath("data", name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([cell.strip() for cell in line.split("|")])
    return rows


def _load_rates() -> tuple[dict[str, float], str]:
    text = resources.files("pipelines").joinpath("data", "usd_rates.txt").read_text(encoding="utf-8")
    date = re.search(r"\d{4}-\d{2}-\d{2}", text.splitlines()[0])
    rates = {row[0]: float(row[1]) for row in _read_table("usd_rates.txt")}
    return rates, date.group(0) if date else ""


def _load_currencies() -> dict[str, str]:
    tokens: dict[str, str] = {}
    for row in _read_table("currencies.txt"):
        for token in row[1:]:
            tokens.setdefault(token, row[0])
    return tokens


USD_RATES, RATES_DATE = _load_rates()
CURRENCY_TOKENS: dict[str, str] = _load_currencies()
_TOKENS_CI = {token.casefold(): code for token, code in CURRENCY_TOKENS.items()}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _is_word(token: str) -> bool:
    """Words ("won", "euros") need a multiplier after a number; symbols and codes ("€", "USD") do not."""
    return token[-1].isalpha() and (token[0].islower() or (len(token) > 3 and not token.isupper()))


def _first_chars(words: list[str]) -> str:
    """A lookahead on the first characters, so the long alternations are tried only where they can match."""
    chars = {c for w in words for c in (w[0].lower(), w[0].upper())}
    return "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"


_SYMBOLS = [t for t in CURRENCY_TOKENS if not _is_word(t)]
_WORDS = [t for t in CURRENCY_TOKENS if _is_word(t)]
_NUM = r"(?<![\d.,])(?:\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2}(?!\d))?|\d{1,15}(?:[.,]\d{1,3})?(?!\d))"
_MULT = rf"{_first_chars(list(MULTIPLIERS))}(?:{_alternation(list(MULTIPLIERS))})(?!\w)"
_PLUS = r"(?:\+|-plus\b|\s?plus\b)"


_PREFIX = rf"(?<![A-Za-z0-9]){_first_chars(_SYMBOLS)}(?P<pre>{_alternation(_SYMBOLS)})"
_SUFFIX_SYM = rf"{_first_chars(_SYMBOLS)}(?P<sufsym>{_alternation(_SYMBOLS)})(?![A-Za-z])"
_SUFFIX_WORD = rf"{_first_chars(_WORDS)}(?P<sufword>{_alternation(_WORDS)})\b"

_MONEY_RE = re.compile(
    rf"{_PREFIX}\s{{0,2}}(?P<num>{_NUM})(?:(?:\s{{0,2}}|-)(?P<mult>{_MULT}))?(?P<plus>{_PLUS})?"
    rf"|(?<![A-Za-z])(?P<num2>{_NUM})(?:\s{{0,2}}(?P<mult2>{_MULT}))?\s{{0,2}}(?:{_SUFFIX_SYM}|{_SUFFIX_WORD})",
    re.IGNORECASE,
)
# a number and a multiplier with no currency ("12 milioni", "Koolboks (2,5 millions)"): its currency comes from
# the text around it (``find_bare_amounts``)
_BARE_RE = re.compile(
    rf"(?<![A-Za-z$€£¥₹])(?P<num>{_NUM})\s{{0,2}}(?P<mult>(?:million|millions|millionen|milioni|millones|milhões|"
    rf"mio\.?|mln|mn|billion|billions|milliarden|milliards|miliardi|mrd\.?|crore|crores|lakh|lakhs))(?![\w-])",
    re.IGNORECASE,
)
# digit clusters whose gaps are shorter than the windows, so each window is searched once
_DIGITS_RE = re.compile(r"\d(?:\D{0,88}\d)*")
_WINDOW_BEFORE, _WINDOW_AFTER = 24, 64
_UNDISCLOSED_RE = re.compile(
    r"\b(?:undisclosed|unspecified|unnamed)\s(?:amount|sum|funding|round|investment|figure)"
    r"|\b(?:did\snot|didn't|does\snot|doesn't|declined\sto|would\snot|wouldn't|without)\s(?:disclos|reveal)\w*"
    r"|\b(?:amount|terms|size)\s(?:was|were|is|are|has\snot\sbeen|have\snot\sbeen)\s(?:not\s)?(?:un)?disclosed"
    r"|\b(?:six|seven|eight|nine)[-\s]figure\s(?:sum|amount|round|investment|funding)"
    r"|\b(?:sechs|sieben|acht|neun)stellige[nmrs]?\s(?:Summe|Höhe|Betrag|Investment)"
    r"|\bmontant\snon\s(?:divulgué|communiqué|dévoilé)",
    re.IGNORECASE,
)

# every phrase above contains one of these (a substring scan is much cheaper than the alternation)
_UNDISCLOSED_HINTS = (
    "disclos",
    "reveal",
    "unspecified",
    "unnamed",
    "figure",
    "stellig",
    "divulg",
    "communiqu",
    "dévoil",
)

# number words before a multiplier: "two million dollars", "drei Millionen Euro", "trois millions d'euros"
NUMBER_WORDS: dict[str, float] = {
    **dict.fromkeys(["one", "a", "ein", "eine", "un", "une", "uno", "una", "um", "uma"], 1.0),
    **dict.fromkeys(["two", "zwei", "deux", "due", "dos", "dois", "duas"], 2.0),
    **dict.fromkeys(["three", "drei", "trois", "tre", "tres", "três"], 3.0),
    **dict.fromkeys(["four", "vier", "quatre", "quattro", "cuatro", "quatro"], 4.0),
    **dict.fromkeys(["five", "fünf", "cinq", "cinque", "cinco"], 5.0),
    **dict.fromkeys(["six", "sechs", "sei", "seis"], 6.0),
    **dict.fromkeys(["seven", "sieben", "sept", "sette", "siete", "sete"], 7.0),
    **dict.fromkeys(["eight", "acht", "huit", "otto", "ocho", "oito"], 8.0),
    **dict.fromkeys(["nine", "neun", "neuf", "nove", "nueve"], 9.0),
    **dict.fromkeys(["ten", "zehn", "dix", "dieci", "diez", "dez"], 10.0),
    **dict.fromkeys(["twenty", "zwanzig", "vingt", "venti", "veinte", "vinte"], 20.0),
}
_WORD_MULTS = [
    "million",
    "millions",
    "Millionen",
    "milioni",
    "millones",
    "milhões",
    "billion",
    "billions",
    "Milliarden",
    "milliards",
    "miliardi",
]
# the stems of _WORD_MULTS: the word scan runs only in windows around them (a scan of the whole text is slow)
_WORD_MULT_STEM_RE = re.compile("million|milion|millon|milhõ|billion|milliard|miliard", re.IGNORECASE)
_WORD_MONEY_RE = re.compile(
    rf"(?<![\w-]){_first_chars(list(NUMBER_WORDS))}(?P<word>{_alternation(list(NUMBER_WORDS))})\s+"
    rf"(?P<mult>{_alternation(_WORD_MULTS)})\s{{0,2}}{_SUFFIX_WORD}",
    re.IGNORECASE,
)


def _parse_number(raw: str, mult_word: str | None) -> float | None:
    """Read ``raw`` as a number: grouped thousands ("1,250,000"), decimal comma ("32,5") or point."""
    seps = [c for c in raw if c in ",."]
    if not seps:
        return float(raw)
    groups = re.split(r"[,.]", raw)
    if len(seps) >= 2:
        if len(set(seps)) == 2:  # "1,250.50" or "1.250,50"
            decimal = seps[-1]
            whole = raw[: raw.rfind(decimal)].replace(",", "").replace(".", "")
            return float(f"{whole}.{raw[raw.rfind(decimal) + 1 :]}")
        return float("".join(groups)) if all(len(g) == 3 for g in groups[1:]) else None
    sep, tail = seps[0], groups[1]
    if sep == "," and len(tail) == 3:
        return float("".join(groups))
    if sep == "." and len(tail) == 3 and (mult_word is None or mult_word.casefold() in _DOT_THOUSANDS_WORDS):
        return float("".join(groups))
    return float(f"{groups[0]}.{tail}")


def _currency(token: str) -> str | None:
    return CURRENCY_TOKENS.get(token) or _TOKENS_CI.get(token.casefold())


def _from_match(m: re.Match[str]) -> Money | None:
    if m.group("num") is not None:
        raw, mult, cur = m.group("num"), m.group("mult"), m.group("pre")
        if cur in {"Rs", "Rs.", "Sh"} and not mult and "," not in raw:
            return None  # "Rs 5" alone is too weak; crores and grouped numbers are fine
    else:
        raw, mult, cur = m.group("num2"), m.group("mult2"), m.group("sufsym") or m.group("sufword")
        if m.group("sufword") and not mult and not re.search(r"\d[,.]\d{3}", raw):
            return None  # "5 won the prize"
    code = _currency(cur)
    value = _parse_number(raw, mult)
    if code is None or value is None:
        return None
    if mult:
        value *= MULTIPLIERS.get(mult.casefold(), 1.0)
    text = m.group(0)
    return Money(m.start(), m.end(), value, code, text, plus=bool(m.groupdict().get("plus")))


def find_money(text: str, limit: int | None = None) -> list[Money]:
    """Find the money mentions in ``text``.

    Args:
        text: any string; runs in linear time.
        limit: stop after this many mentions (a page of thousands of sums has said what it has to say).

    Returns:
        The mentions in text order, each with its span, value and ISO currency. "$X per share" and similar
        small sums are returned as written; callers decide what is a round size.
    """
    found: list[Money] = []
    for start, end in _digit_windows(text):
        if limit is not None and len(found) >= limit:
            break
        for m in _MONEY_RE.finditer(text, start, end):
            try:
                money = _from_match(m)
            except (ValueError, OverflowError):
                continue
            if money is not None and math.isfinite(money.value):  # "$1,000,000,...": no float holds it
                found.append(money)
                if limit is not None and len(found) >= limit:
                    break
    taken = {f.start for f in found}
    for start, end in _word_windows(text):
        if limit is not None and len(found) >= limit:
            break
        for m in _WORD_MONEY_RE.finditer(text, start, end):
            code = _currency(m.group("sufword"))
            if code and m.start() not in taken:
                value = NUMBER_WORDS[m.group("word").casefold()] * MULTIPLIERS.get(m.group("mult").casefold(), 1e6)
                found.append(Money(m.start(), m.end(), value, code, m.group(0)))
                taken.add(m.start())
                if limit is not None and len(found) >= limit:
                    break
    found.sort(key=lambda money: money.start)
    return found


def find_bare_amounts(text: str, taken: list[Money], limit: int | None = None) -> list[tuple[int, int, float]]:
    """Numbers with a multiplier and no currency ("12 milioni"), outside the spans of ``taken`` mentions.

    Args:
        text: any string; runs in linear time.
        taken: mentions already found (``find_money``); their spans are skipped.
        limit: stop after this many.

    Returns:
        ``(start, end, value)`` of each bare amount, in text order.
    """
    spans = sorted((m.start, m.end) for m in taken)
    starts = [a for a, _ in spans]
    found: list[tuple[int, int, float]] = []
    for start, end in _digit_windows(text):
        if limit is not None and len(found) >= limit:
            break
        for m in _BARE_RE.finditer(text, start, end):
            k = bisect_right(starts, m.start()) - 1
            if (k >= 0 and m.start() < spans[k][1]) or (found and found[-1][0] == m.start()):
                continue
            try:
                value = _parse_number(m.group("num"), m.group("mult"))
            except (ValueError, OverflowError):
                continue
            if value is not None and math.isfinite(value):
                found.append((m.start(), m.end(), value * MULTIPLIERS.get(m.group("mult").casefold(), 1e6)))
                if limit is not None and len(found) >= limit:
                    break
    return found


def _word_windows(text: str) -> list[tuple[int, int]]:
    """Merged windows around the multiplier words, where a "two million dollars" can be (merged as they are
    found: a page of twenty thousand "million" makes one window, not twenty thousand tuples)."""
    merged: list[tuple[int, int]] = []
    first = last = -1
    for m in _WORD_MULT_STEM_RE.finditer(text):
        start, end = m.start() - 20, m.end() + 40
        if last >= 0 and start <= last:
            if end > last:
                last = end
            continue
        if last >= 0:
            merged.append((max(0, first), min(len(text), last)))
        first, last = start, end
    if last >= 0:
        merged.append((max(0, first), min(len(text), last)))
    return merged


def _digit_windows(text: str) -> list[tuple[int, int]]:
    """Merged windows around digit runs: the money regex only runs where a number can be (speed)."""
    return [
        (max(0, m.start() - _WINDOW_BEFORE), min(len(text), m.end() + _WINDOW_AFTER)) for m in _DIGITS_RE.finditer(text)
    ]


def find_undisclosed(text: str) -> list[tuple[int, int]]:
    """Spans of "undisclosed amount" / "did not disclose" phrases in ``text``.

    Args:
        text: any string.

    Returns:
        ``(start, end)`` offsets of each phrase.
    """
    low = text.lower()
    if not any(hint in low for hint in _UNDISCLOSED_HINTS):
        return []
    return [m.span() for m in _UNDISCLOSED_RE.finditer(text)]


def to_usd(value: float | None, currency: str | None) -> float | None:
    """Convert with the fixed table in ``pipelines/data/usd_rates.txt`` (dated in its header).

    Args:
        value: the amount, or None.
        currency: its ISO code, or None.

    Returns:
        The USD amount rounded to a whole number, or None when not convertible.
    """
    if value is None or currency is None or currency not in USD_RATES or not math.isfinite(value):
        return None
    return float(round(value * USD_RATES[currency]))
