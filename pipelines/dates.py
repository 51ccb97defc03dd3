"""Pure date helpers: parse the date strings found in feeds, sitemaps and page metadata."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

# Dates outside this range are errors in the page, not publication dates.
EARLIEST = dt.date(1995, 1, 1)
_MAX_DATE_TEXT = 120  # dateparser's cost grows with input length; real date strings are short
_ISO_PREFIX = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?"
# A date inside a byline ("By Jane Doe, 24 August 2023 - 3 min read"): day-month-year, month-day-year, numeric.
_DATE_IN_TEXT = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s{{1,3}}{_MONTH},?\s{{1,3}}\d{{4}}"
    rf"|{_MONTH}\s{{1,3}}\d{{1,2}}(?:st|nd|rd|th)?,?\s{{1,3}}\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b",
    re.IGNORECASE,
)

# RFC 822 zone names the standard library does not know (it knows UT, GMT, Z and the US ones), in minutes east of
# UTC; the generic US names (PT, ET) as standard time. Ambiguous ones (IST: India, Ireland, Israel) are left out.
_RFC822_ZONES = {
    "AT": -240, "ET": -300, "CT": -360, "MT": -420, "PT": -480, "AKST": -540, "AKDT": -480, "HST": -600,
    "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "HKT": 480, "SGT": 480, "AWST": 480, "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630,
    "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_RFC822_NAMED_ZONE = re.compile(r"\s([A-Za-z]{2,4})$")
# "-01:01", "+1", "GMT+1", "UTC-05:00": offsets the standard library reads only as "+hhmm"
_RFC822_OFFSET = re.compile(r"\s(?:GMT|UTC)?\s?([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_COMMA_BEFORE_YEAR = re.compile(r",(?=\s*\d{4}\b)")

_DATEPARSER_SETTINGS = {
    "PREFER_DATES_FROM": "past",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "STRICT_PARSING": False,
    "REQUIRE_PARTS": ["day", "month", "year"],
}


def today_utc() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.UTC).date()


def plausible(day: dt.date | None, *, today: dt.date | None = None) -> bool:
    """True when `day` can be a publication date: not before 1995 and at most two days ahead."""
    if day is None:
        return False
    latest = (today or today_utc()) + dt.timedelta(days=2)
    return EARLIEST <= day <= latest


def parse_machine_date(value: str | None) -> tuple[dt.date, dt.datetime | None] | None:
    """Parse a machine-readable date (ISO 8601 or RFC 822) as the page writes it.

    Returns:
        (calendar date as written, UTC timestamp when a time of day was given), or None.
        The calendar date is taken before any conversion to UTC, so "2019-11-18T23:03-08:00"
        stays 2019-11-18: the day in the publisher's own time zone.
    """
    if not value or not isinstance(value, str):
        return None
    text = value.strip()[:_MAX_DATE_TEXT]
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text[:11] else text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(_rfc822(text))
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
    if parsed is None:
        match = _ISO_PREFIX.match(text)
        if not match:
            return None
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return (day, None) if plausible(day) else None
    day = parsed.date()
    if not plausible(day):
        return None
    has_time = "T" in text or ":" in text
    if not has_time:
        return day, None
    stamp = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return day, stamp.astimezone(dt.UTC)


def _rfc822(text: str) -> str:
    """An RFC 822 date as feeds write it, in the form `email.utils` reads: no comma before the year ("Mon, 13 Feb,
    2012"), a time when it has none (its date is kept without one), and its zone as "+hhmm" (CET, PT, -01:01)."""
    text = _COMMA_BEFORE_YEAR.sub("", text.strip())
    if ":" not in text:
        return f"{text} 00:00:00 +0000"
    named = _RFC822_NAMED_ZONE.search(text)
    if named and named[1].upper() in _RFC822_ZONES:
        minutes = _RFC822_ZONES[named[1].upper()]
        sign = "-" if minutes < 0 else "+"
        return f"{text[: named.start()]} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    offset = _RFC822_OFFSET.search(text)
    if offset and not re.search(r"[+-]\d{4}$", text):
        return f"{text[: offset.start()]} {offset[1]}{int(offset[2]):02d}{offset[3] or '00'}"
    return text


def parse_human_date(text: str | None, languages: list[str] | None = None) -> dt.date | None:
    """Find and parse a visible date such as "By Jane, August 24, 2023 7:00 AM" (dateparser, explicit settings).

    Never raises; returns None for anything that is not a full, plausible date.
    """
    if not text or not isinstance(text, str):
        return None
    match = _DATE_IN_TEXT.search(" ".join(text[:1000].split()))
    if not match:
        return None
    snippet = match.group(0)
    import dateparser  # imported lazily: it is slow to import and only this fallback needs it

    try:
        parsed = dateparser.parse(snippet, languages=languages or ["en"], settings=_DATEPARSER_SETTINGS)
    except (ValueError, TypeError, OverflowError, AttributeError, re.error):
        return None
    if parsed is None:
        return None
    day = parsed.date()
    return day if plausible(day) else None


def parse_since(value: str) -> dt.date:
    """Parse the `-a since=YYYY-MM-DD` spider argument.

    Raises:
        ValueError: with a one-line message when the value is not a date.
    """
    text = value.strip() if isinstance(value, str) else ""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since must be a date as YYYY-MM-DD, not {value!r}") from None


_RELATIVE = re.compile(r"^\s*(\d{1,4})\s*([dwmy])\s*$", re.IGNORECASE)
_RELATIVE_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_query_date(value: str, today: dt.date | None = None) -> dt.date:
    """A date people type in a query: `2024-05-01`, `7d` / `2w` / `3m` / `1y` ago, `today`, `yesterday`, or
    words dateparser reads ("last monday", "3 days ago"), relative to `today` (UTC by default).

    Raises:
        ValueError: with a one-line message when the value is none of these.
    """
    text = value.strip() if isinstance(value, str) else ""
    today = today or today_utc()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (month or day out of range)") from None
    relative = _RELATIVE.match(text)
    if relative:
        return today - dt.timedelta(days=int(relative[1]) * _RELATIVE_DAYS[relative[2].lower()])
    if text and len(text) <= _MAX_DATE_TEXT:
        import dateparser  # imported lazily: it is slow to import

        base = dt.datetime.combine(today, dt.time(12))
        settings = {**_DATEPARSER_SETTINGS, "RELATIVE_BASE": base, "REQUIRE_PARTS": []}
        try:
            parsed = dateparser.parse(text, languages=["en"], settings=settings)
        except (ValueError, TypeError, OverflowError, AttributeError, re.error):
            parsed = None
        if parsed is not None:
            return parsed.date()
    raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD, 7d, 2w, yesterday or 'last monday'")
