"""`newsmon alerts run | check | log`: a thin command line over crawler.alerts and the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from crawler.alerts.dispatch import run_alerts
from crawler.alerts.rules import AlertConfig, AlertConfigError, Rule, alerts_path, load_alerts
from crawler.choices import Nearest
from crawler.formatting import money, plain_text, safe_text
from storage import Store, StoreError
from storage.alerts import AlertLedger

_FILE_OPTION = click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The alerts file (default: $NEWSMON_ALERTS, else alerts.toml in the project).",
)


@click.group(epilog="Example: newsmon alerts run --dry-run   (see alerts.example.toml)")
def alerts() -> None:
    """Alert rules (a TOML file) and their deliveries to webhooks, email, Atom feeds and any service Apprise knows."""


@alerts.command(epilog="Example: newsmon alerts run   (crawls run this at their end, too)")
@_FILE_OPTION
@click.option("--dry-run", is_flag=True, help="Show what is due; send nothing and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--time-limit",
    type=click.FloatRange(1, 86_400),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="No delivery starts or runs past this; the rest wait for the next run.",
)
@click.pass_obj
def run(obj: dict[str, str], file: Path | None, dry_run: bool, as_json: bool, time_limit: float) -> None:
    """Deliver the alerts that are due: new matching rounds, material updates, and retries of failed ones.
    Exits 1 when a delivery failed (it is retried by the next run)."""
    config = _config(file)
    try:
        report = run_alerts(obj["db_url"], config, dry_run=dry_run, time_limit=time_limit)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([outcome.__dict__ for outcome in report.outcomes], ensure_ascii=False, indent=2))
    else:
        for name in report.started_watching:
            if dry_run:
                click.echo(f"rule {name}: new; it starts watching at the first real run (or crawl)")
            else:
                click.echo(f"rule {name}: watching from now on (rounds stored before now never alert it)")
        for outcome in report.outcomes:  # a webhook's answer and a page's title come from the network
            reason = f" ({plain_text(outcome.error)})" if outcome.error else ""
            line = f"{outcome.status:7} {outcome.rule} -> {outcome.channel}: {outcome.summary}{reason}"
            click.echo(plain_text(line))
        click.echo(report.line())
    undelivered = report.count("failed") + report.count("waiting")
    if undelivered:
        raise click.ClickException(f"{undelivered} alert(s) not delivered; the next run retries them")


@alerts.command(epilog="Example: newsmon alerts check --file alerts.example.toml")
@_FILE_OPTION
def check(file: Path | None) -> None:
    """Check the alerts file and list its rules and channels."""
    config = _config(file)
    console = _console()
    channels = Table(title=f"{len(config.channels)} channel(s) in {config.path}")
    for column in ("Channel", "Type", "Goes to"):
        channels.add_column(column)
    for channel in config.channels.values():
        target = channel.options.get("url") or channel.options.get("url_env") or channel.options.get("path")
        if channel.type == "email":
            target = ", ".join(channel.options["to"])
        elif "url_env" in channel.options:
            target = f"${target}"
        elif channel.type == "apprise":  # its tokens stay off the screen
            import apprise

            target = apprise.Apprise.instantiate(target).url(privacy=True).partition("?")[0]
        channels.add_row(channel.name, channel.type, safe_text(str(target)))
    console.print(channels)
    rules = Table(title=f"{len(config.rules)} rule(s)")
    for column in ("Rule", "Matches", "Channels"):
        rules.add_column(column)
    for rule in config.rules:
        rules.add_row(rule.name, safe_text(_describe(rule)), ", ".join(rule.channels))
    console.print(rules)


@alerts.command(epilog="Example: newsmon alerts log --status failed")
@click.option("--rule", metavar="NAME", help="Only this rule.")
@click.option(
    "--status", type=Nearest("delivery status", ["sending", "sent", "failed", "dropped"]), help="Only this status."
)
@click.option("--limit", type=click.IntRange(min=1, max=2**63 - 1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def log(obj: dict[str, str], rule: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Recorded deliveries, newest first."""
    try:
        found = AlertLedger(Store(obj["db_url"])).history(rule=rule, status=status, limit=limit)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([delivery.as_json() for delivery in found], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}")
    for column in ("Created (UTC)", "Rule", "Channel", "Kind", "Status", "Tries", "Alert", "Error"):
        table.add_column(column, no_wrap=column not in ("Alert", "Error"))
    for delivery in found:
        table.add_row(
            f"{delivery.created:%Y-%m-%d %H:%M}",
            delivery.rule,
            delivery.channel,
            delivery.kind,
            delivery.status,
            str(delivery.attempts),
            safe_text(delivery.summary),
            safe_text(delivery.error or "")[:100],
        )
    _console().print(table)


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=160)


def _config(file: Path | None) -> AlertConfig:
    path = alerts_path(file)
    if path is None:
        raise click.ClickException("alerts are off ($NEWSMON_ALERTS=off)")
    if not path.exists():
        raise click.ClickException(f"no alerts file at {path}: copy alerts.example.toml there, or pass --file")
    try:
        return load_alerts(path)
    except AlertConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _describe(rule: Rule) -> str:
    parts = []
    if rule.investors:
        parts.append(("led by " if rule.lead else "investor ") + " or ".join(rule.investors))
    if rule.companies:
        parts.append("company " + " or ".join(rule.companies))
    if rule.keywords:
        parts.append("text has " + " or ".join(repr(keyword) for keyword in rule.keywords))
    if rule.min_amount_usd is not None:
        parts.append(f"at least {money(rule.min_amount_usd, 'USD')}")
    if rule.round_types:
        parts.append("round " + " or ".join(sorted(rule.round_types)))
    if rule.statuses != {"announced"}:
        parts.append("status " + " or ".join(sorted(rule.statuses)))
    if rule.max_age_days is not None:
        parts.append(f"announced in the last {rule.max_age_days} days")
    return "; ".join(parts) or "every round"
