"""People's summaries of the store: figures by week, round type, lead investor and source (`newsmon stats`),
and the day's rounds as a short Markdown or HTML report (`newsmon digest`). Pure over ROUND dicts."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from crawler.formatting import money
from storage import main_evidence


def round_stats(rounds: Sequence[dict[str, Any]], articles_by_source: dict[str, int], top: int = 10) -> dict[str, Any]:
    """Counts and USD totals of `rounds` (as `newsmon rounds --json` gives them): per ISO week of the
    announcement, per round type, per lead investor (top `top`), and the busiest sources."""
    weeks: dict[str, dict[str, float]] = defaultdict(lambda: {"rounds": 0, "usd": 0.0})
    types: dict[str, dict[str, float]] = defaultdict(lambda: {"rounds": 0, "usd": 0.0})
    leads: dict[str, dict[str, float]] = defaultdict(lambda: {"rounds": 0, "usd": 0.0})
    for found in rounds:
        usd = found.get("amount_usd") or 0.0
        if found.get("announced"):
            year, week, _ = dt.date.fromisoformat(found["announced"]).isocalendar()
            _add(weeks[f"{year}-W{week:02d}"], usd)
        _add(types[found.get("round") or "unnamed"], usd)
        for lead in found.get("lead_investors") or []:
            _add(leads[lead], usd)
    return {
        "rounds": len(rounds),
        "usd": sum(found.get("amount_usd") or 0.0 for found in rounds),
        "undisclosed": sum(1 for found in rounds if found.get("amount") is None),
        "by_week": [{"week": week, **figures} for week, figures in sorted(weeks.items())],
        "by_round": [
            {"round": name, **figures} for name, figures in sorted(types.items(), key=lambda i: (-i[1]["rounds"], i[0]))
        ],
        "top_leads": [
            {"investor": name, **figures}
            for name, figures in sorted(leads.items(), key=lambda i: (-i[1]["rounds"], -i[1]["usd"], i[0]))[:top]
        ],
        "busiest_sources": [
            {"source": name, "articles": count} for name, count in Counter(articles_by_source).most_common(top)
        ],
    }


def _add(figures: dict[str, float], usd: float) -> None:
    figures["rounds"] += 1
    figures["usd"] += usd


def bar(value: float, largest: float, width: int = 30) -> str:
    """A terminal bar of `value` against `largest` (at least one block for any non-zero value)."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


def digest(rounds: Sequence[dict[str, Any]], since: dt.date, fmt: str) -> str:
    """The rounds announced since `since` as a short report: a title, totals and a table whose company links to the
    first article, with the round's evidence sentence and every article's link (md or html)."""
    total = sum(found.get("amount_usd") or 0.0 for found in rounds)
    title = f"Funding rounds since {since.isoformat()}"
    summary = f"{len(rounds)} round(s), {money(total, 'USD') if total else 'no disclosed amount'} disclosed in total"
    header = ("Announced", "Company", "Amount", "Round", "Led by", "Evidence", "Sources")
    if fmt == "md":
        lines = [f"# {title}", "", summary, ""]
        if rounds:
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_markdown_row(found)) + " |" for found in rounds]
        return "\n".join(lines) + "\n"
    if fmt == "html":
        body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in _html_row(found)) + "</tr>" for found in rounds)
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if rounds else ""
        return (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{table}</body></html>\n"
        )
    raise ValueError(f"unknown digest format {fmt!r}: use md or html")


def _cells(found: dict[str, Any]) -> tuple[str, ...]:
    """Announced, amount, round, leads and evidence of one round, as plain text."""
    return (
        found.get("announced") or "",
        money(found.get("amount"), found.get("currency")),
        (found.get("round") or "").replace("_", " "),
        ", ".join(found.get("lead_investors") or []),
        main_evidence(found.get("evidence")) or "",
    )


def _markdown_row(found: dict[str, Any]) -> list[str]:
    announced, amount, kind, leads, evidence = (_markdown_text(cell) for cell in _cells(found))
    urls = [url for url in found.get("sources") or [] if _is_web(url)]
    company = _markdown_text(found["company"])
    if urls:
        company = f"[{company}](<{_markdown_url(urls[0])}>)"
    links = " ".join(f"[{number}](<{_markdown_url(url)}>)" for number, url in enumerate(urls, 1))
    return [announced, company, amount, kind, leads, evidence, links]


def _html_row(found: dict[str, Any]) -> list[str]:
    announced, amount, kind, leads, evidence = (html.escape(cell) for cell in _cells(found))
    urls = [html.escape(url) for url in found.get("sources") or [] if _is_web(url)]
    company = html.escape(found["company"])
    if urls:
        company = f'<a href="{urls[0]}">{company}</a>'
    links = " ".join(f'<a href="{url}">{number}</a>' for number, url in enumerate(urls, 1))
    return [announced, company, amount, kind, leads, evidence, links]


def _is_web(url: str) -> bool:
    """Only http(s) URLs become links: a stored `javascript:` or `data:` URL (a page ingested under any URL) never
    does."""
    return urlsplit(url).scheme in ("http", "https")


def _markdown_text(text: str) -> str:
    """Text in a Markdown table cell: pipes, brackets and line breaks cannot end the cell or make a link."""
    text = " ".join(text.split())
    for character in "\\|[]<>*_`":
        text = text.replace(character, "\\" + character)
    return text


def _markdown_url(url: str) -> str:
    """A URL inside `<...>` of a Markdown link: spaces, angle brackets and pipes percent-encoded."""
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def largest(values: Iterable[float]) -> float:
    """The largest of `values`, 0 for none."""
    return max(values, default=0.0)
