"""`newsmon company NAME` and `newsmon investor NAME`: one company's rounds, one investor's rounds led and joined."""

from __future__ import annotations

import json

import click

from crawler.formatting import money, safe_text
from crawler.tables import print_rounds, terminal
from storage import RoundRecord, StoreError, company_rounds, investor_rounds


@click.command(epilog="Examples: newsmon company 'hugging face'  |  newsmon company mistral --json")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: a JSON array of rounds.")
@click.pass_obj
def company(obj: dict[str, str], name: str, as_json: bool) -> None:
    """Every round of a company, newest first, with its sources and the rumours that came before it.

    NAME: as people write it; case, accents and punctuation do not matter, and its first words are enough."""
    try:
        found = company_rounds(obj["db_url"], name)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not found.names:
        raise click.ClickException(_nothing("company", name, found.nearest))
    if as_json:
        _print_json([record.as_json() for record in found.rounds])
        return
    console = terminal()
    title = f"{', '.join(found.names)}: {_summary(found.rounds)}"
    print_rounds(console, [record.as_json() for record in found.rounds], title=safe_text(title))


@click.command(epilog="Examples: newsmon investor sequoia  |  newsmon investor a16z --json")
@click.argument("name")
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output: a JSON array of rounds, each with its role."
)
@click.pass_obj
def investor(obj: dict[str, str], name: str, as_json: bool) -> None:
    """The rounds an investor led and those it joined, newest first, with totals.

    NAME: as people write it (aliases too: a16z is Andreessen Horowitz); case and accents do not matter."""
    try:
        found = investor_rounds(obj["db_url"], name)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not found.names:
        raise click.ClickException(_nothing("investor", name, found.nearest))
    led = {id(record) for record in found.led}
    if as_json:
        _print_json([{**r.as_json(), "role": "lead" if id(r) in led else "participant"} for r in found.rounds])
        return
    console = terminal()
    console.print(
        f"[bold]{safe_text(', '.join(found.names))}[/bold]: led {_summary(found.led)}; joined {_summary(found.joined)}",
        highlight=False,
    )
    for title, records in (("Led", found.led), ("Joined", found.joined)):
        if records:
            print_rounds(console, [record.as_json() for record in records], title=f"{title}: {_summary(records)}")


def _summary(records: list[RoundRecord]) -> str:
    """`3 round(s), $335M disclosed (1 undisclosed)`: in the rounds' currency when they share one, else in USD
    (the amounts that convert)."""
    disclosed = [record for record in records if record.amount is not None]
    currencies = {record.currency for record in disclosed}
    if len(currencies) == 1:
        total = money(sum(record.amount or 0 for record in disclosed), currencies.pop())
    else:
        total = money(sum(record.amount_usd or 0 for record in disclosed), "USD") if disclosed else ""
    undisclosed = len(records) - len(disclosed)
    text = f"{len(records)} round(s), {total or 'no amount'} disclosed"
    return text + (f" ({undisclosed} undisclosed)" if undisclosed else "")


def _nothing(kind: str, name: str, nearest: list[str]) -> str:
    """One line for a name that matches nothing, with the nearest stored names."""
    hint = f"; nearest: {', '.join(nearest)}" if nearest else ""
    return f"no {kind} named {name!r} in the store{hint}"


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
