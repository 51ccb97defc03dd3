"""Rounds as terminal tables: a narrow table that fits 80 columns, each round's evidence sentence and article links
under it, or one wide table with every column (`--wide`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from crawler.formatting import money, safe_text
from storage import main_evidence


def terminal() -> Console:
    """A console for tables: the terminal's width (or $COLUMNS), else a wide page when output goes to a file or
    pipe."""
    return Console() if sys.stdout.isatty() or os.environ.get("COLUMNS") else Console(width=160)


# a sentence longer than this (a run-on paragraph the splitter kept whole) is cut, with an ellipsis
_SENTENCE_CHARACTERS = 400


def round_type(value: str | None) -> str:
    """`series_d` -> `series d`; None -> empty."""
    return (value or "").replace("_", " ")


def company_cell(item: dict[str, Any]) -> str:
    """The company, marked when the round is a rumour or a regulatory filing (rich markup escaped)."""
    company = safe_text(item["company"]) + (" (rumored)" if item["status"] == "rumored" else "")
    return company + (" (Form D)" if item.get("filing") else "")


def amount_cell(item: dict[str, Any]) -> str:
    """The amount, and under it what each SEC filing documenting the round says was sold."""
    amount = money(item["amount"], item["currency"])
    for filed in item.get("filings") or []:
        amount += f"\nForm D: {money(filed['amount'], filed['currency'])}"
    return amount


def sentence(item: dict[str, Any]) -> str:
    """The round's evidence sentence, cut to a readable length; empty when it has none."""
    found = main_evidence(item.get("evidence")) or ""
    return found if len(found) <= _SENTENCE_CHARACTERS else found[: _SENTENCE_CHARACTERS - 1].rstrip() + "…"


def print_rounds(console: Console, found: Sequence[dict[str, Any]], title: str, *, wide: bool = False) -> None:
    """Print `found` (ROUND dicts as `newsmon rounds --json` gives them): narrow, or `wide`."""
    if wide:
        _print_wide(console, found, title)
    else:
        _print_narrow(console, found, title)


def _print_narrow(console: Console, found: Sequence[dict[str, Any]], title: str) -> None:
    """Date, company, amount, round and leads in a table, then each round's sentence and links by number:
    nothing is cut in 80 columns (long names wrap at spaces), and the links stay whole, so a terminal opens them."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True, style="dim")
    table.add_column("Announced", no_wrap=True)
    table.add_column("Company", style="bold", ratio=3, overflow="fold")
    table.add_column("Amount", justify="right", no_wrap=True)
    table.add_column("Round", ratio=1, overflow="fold")
    table.add_column("Led by", ratio=3, overflow="fold")
    for number, item in enumerate(found, 1):
        table.add_row(
            str(number),
            item.get("announced") or "",
            company_cell(item),
            amount_cell(item),
            round_type(item["round"]),
            safe_text(", ".join(item["lead_investors"])),
        )
    console.print(table)
    for number, item in enumerate(found, 1):
        head = f"[dim]{number:>3}[/dim] [bold]{safe_text(item['company'])}[/bold]"
        if item.get("valuation"):
            head += f", valued at {money(item['valuation'], item['currency'])}"
        console.print(head, highlight=False)
        others = [name for name in item["investors"] if name not in item["lead_investors"]]
        said = sentence(item)
        for line in ([f"with {safe_text(', '.join(others))}"] if others else []) + (
            [f"[italic]“{safe_text(said)}”[/italic]"] if said else []
        ):
            console.print(Padding(line, (0, 0, 0, 4), expand=False), highlight=False)
        for url in item.get("sources") or []:  # never wrapped by us: the terminal keeps a long link clickable
            console.print(f"    {safe_text(url)}", highlight=False, soft_wrap=True)


def _print_wide(console: Console, found: Sequence[dict[str, Any]], title: str) -> None:
    """Every column in one table, sentence and links included (for a wide terminal or a file)."""
    table = Table(title=title, show_lines=True)
    table.add_column("Announced", no_wrap=True)
    table.add_column("Company", style="bold", ratio=2, overflow="fold")
    table.add_column("Amount", justify="right", no_wrap=True)
    table.add_column("Round", no_wrap=True)
    table.add_column("Valuation", justify="right", no_wrap=True)
    table.add_column("Led by", ratio=2, overflow="fold")
    table.add_column("Other investors", ratio=3, overflow="fold")
    table.add_column("Outlets", justify="right", no_wrap=True)
    table.add_column("Evidence", ratio=5, overflow="fold")
    table.add_column("Sources", ratio=4, overflow="fold")
    for item in found:
        leads = item["lead_investors"]
        table.add_row(
            item.get("announced") or "",
            company_cell(item),
            amount_cell(item),
            round_type(item["round"]),
            money(item["valuation"], item["currency"]) if item["valuation"] else "",
            safe_text(", ".join(leads)),
            safe_text(", ".join(name for name in item["investors"] if name not in leads)),
            str(item.get("outlets") or len(item.get("sources") or [])),
            safe_text(sentence(item)),
            safe_text("\n".join(item.get("sources") or [])),
        )
    console.print(table)
