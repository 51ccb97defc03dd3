"""The `newsmon` command: a thin layer over storage/ queries and the pure extraction and detection."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.alerts.commands import alerts
from crawler.choices import Nearest as _Nearest
from crawler.formatting import money, parse_amount, plain_text, safe_text
from crawler.lookups import company, investor
from crawler.output import FORMATS, replacing, write_file, write_records
from crawler.reports import bar, largest, round_stats
from crawler.reports import digest as make_digest
from crawler.seeds import PROJECT_ROOT
from crawler.tables import print_rounds
from crawler.tables import terminal as _console
from crawler.web import datasette_metadata
from pipelines.dates import parse_query_date
from pipelines.funding import ROUND_TYPES
from storage import (
    MATCH_END,
    MATCH_START,
    SCHEMA_REVISION,
    RoundFilters,
    StoreError,
    articles_per_source,
    check_readable,
    db_url,
    list_articles,
    list_rounds,
    list_runs,
    main_evidence,
    remove_sqlite,
    search_articles,
    source_health,
    sqlite_path,
    table_names,
    upgrade_store,
)

if TYPE_CHECKING:
    from pipelines.extract import Article

DEMO_DIR = PROJECT_ROOT / "demo"
DEMO_BASE_URL = "https://demo.newsmon.example/"


# a row count SQL can take (SQLite's and PostgreSQL's LIMIT is a signed 64-bit integer)
LIMIT = click.IntRange(min=1, max=2**63 - 1)


class CliError(click.ClickException):
    """An error reported as one line on stderr with exit status 1."""


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_query_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _amount(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: newsmon rounds --since 2024-05-01 --investor Sequoia --json",
)
@click.option(
    "--db",
    "database",
    metavar="PATH|URL",
    help="The store: a SQLite file's path or a database URL (default: $NEWSMON_DB_URL, else data/newsmon.db).",
)
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """newsmon: funding rounds found in the tech press, from a SQL store."""
    ctx.obj = {"db_url": db_url(database)}


@cli.command(epilog="Example: newsmon extract page.html --url https://venturebeat.com/ai/x/ --json")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--url", help="The page's URL (default: its canonical link).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def extract(file: Path, url: str | None, as_json: bool) -> None:
    """Extract the article and funding rounds of one saved HTML page (nothing is stored)."""
    from pipelines.extract import ExtractionSkipped

    html = _read_page(file)
    try:
        article, rounds = _process_page(html, url or file.resolve().as_uri(), None)
    except ExtractionSkipped as exc:
        raise CliError(f"{file}: no article found ({exc})") from None
    if as_json:
        _print_json(
            {
                "article": {
                    "url": article.url,
                    "title": article.title,
                    "author": article.author,
                    "published": article.published.isoformat() if article.published else None,
                    "language": article.language,
                    "text": article.text,
                },
                "funding_rounds": rounds,
            }
        )
        return
    console = _console()
    console.print(f"[bold]{safe_text(article.title)}[/bold]", highlight=False)
    console.print(f"{safe_text(article.url)}  published {article.published or 'unknown'} ({article.date_source})")
    byline = "; ".join(filter(None, (article.author, article.credit and f"credit: {article.credit}")))
    if byline:
        console.print(f"by {safe_text(byline)}", highlight=False)
    print_rounds(console, rounds, title=f"{len(rounds)} funding round(s)")


@cli.command(
    epilog="Examples: newsmon ingest saved/*.html  |  newsmon ingest page.html --url https://techcrunch.com/x/  |  "
    "newsmon ingest --manifest pages.tsv"
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--url", help="The page's URL, for a single FILE (default: its canonical link or file:// path).")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    help="A TSV of URL<TAB>PATH lines (paths relative to the TSV's folder; '#' lines are comments).",
)
@click.option("--allow-outside", is_flag=True, help="Let the manifest name files outside its folder (absolute, ../).")
@click.option("--source", metavar="NAME", help="Record the pages as coming from this source (seed name).")
@click.pass_obj
def ingest(
    obj: dict[str, str],
    files: tuple[Path, ...],
    url: str | None,
    manifest: Path | None,
    allow_outside: bool,
    source: str | None,
) -> None:
    """Store saved pages through the same extraction, detection and storage as a crawl (backfills)."""
    from pipelines.extract import ExtractionSkipped
    from pipelines.urls import canonical_url
    from storage import Store

    pages = [(url if len(files) == 1 else None, path) for path in files]
    if url and len(files) != 1:
        raise click.UsageError("--url names the URL of exactly one FILE")
    if manifest is not None:
        pages += _manifest_pages(manifest, allow_outside)
    if not pages:
        raise click.UsageError("give FILE arguments or --manifest TSV")
    try:
        store = Store(obj["db_url"])
    except StoreError as exc:
        raise CliError(str(exc)) from None
    alert_config = _watching_alerts(obj["db_url"])  # as a crawl: new rules watch from before the pages are stored
    counts = {"new": 0, "updated": 0, "unchanged": 0, "skipped": 0, "rounds_new": 0, "rounds_merged": 0}
    for page_url, path in pages:
        try:
            article, found = _process_page(_read_page(path), page_url or path.resolve().as_uri(), source)
        except (CliError, ExtractionSkipped) as exc:
            counts["skipped"] += 1
            why = exc.message.removeprefix(f"{path}: ") if isinstance(exc, CliError) else exc  # named once
            click.echo(f"skipped {path}: {why}", err=True)
            continue
        try:
            result = store.save_article(
                article,
                found,
                source=source,
                listed_url=canonical_url(page_url or article.url),
                fetched_url=canonical_url(page_url) if page_url else None,
            )
        except StoreError as exc:
            raise CliError(f"{path}: not stored ({exc}); the pages before it are stored") from None
        if result.refused_canonical:
            click.echo(
                f"{path}: stored under {page_url}: its canonical link names {result.refused_canonical}, "
                "stored with other text",
                err=True,
            )
        counts[result.outcome] += 1
        counts["rounds_new"] += result.rounds_new
        counts["rounds_merged"] += result.rounds_merged
    click.echo(
        f"{len(pages)} page(s): {counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['skipped']} skipped; {counts['rounds_new']} round(s) new, {counts['rounds_merged']} merged"
    )
    if alert_config is not None:
        _deliver_alerts(obj["db_url"], alert_config)
    if counts["skipped"] == len(pages):
        raise CliError("no page could be ingested")


def _watching_alerts(url: str) -> Any:
    """The alerts file's rules, watching from now, when one is configured (`$NEWSMON_ALERTS` or alerts.toml);
    None when there is none. A broken one is one line: the pages are stored all the same."""
    from crawler.alerts import AlertConfigError, alerts_path, load_alerts, start_watching

    path = alerts_path(None)
    if path is None or not path.exists():
        return None
    try:
        config = load_alerts(path)
        start_watching(url, config)
    except (AlertConfigError, StoreError) as exc:
        click.echo(f"newsmon: no alerts delivered: {plain_text(str(exc))}", err=True)
        return None
    return config


def _deliver_alerts(url: str, config: Any) -> None:
    """Deliver what is due, as a crawl does at its end; one line on how it went."""
    from crawler.alerts import run_alerts

    try:
        report = run_alerts(url, config, time_limit=120)
    except StoreError as exc:
        click.echo(f"newsmon: alerts not delivered ({plain_text(str(exc))}): `newsmon alerts run` retries", err=True)
        return
    click.echo(plain_text(report.line()), err=True)


def _process_page(html: str, url: str, source: str | None) -> tuple[Article, list[dict[str, Any]]]:
    """`process_page` with the per-site fixes and title of the seed that `source` names, or whose domains hold
    the page's URL (given, else its canonical link: then a page of a site with fixes is extracted twice)."""
    from pipelines.page import process_page

    seed = _seed_of(url, source)
    article, rounds = process_page(html, url, selectors=_fixes(seed), site_name=seed.title if seed else None)
    if source is None and seed is None:
        seed = _seed_of(article.url, None)
        if seed is not None:
            article, rounds = process_page(html, url, selectors=_fixes(seed), site_name=seed.title)
    return article, rounds


@functools.cache
def _seed_sources() -> dict[str, Any]:
    from crawler.seeds import SeedError, read_seeds

    try:
        folder = read_seeds()
    except SeedError as exc:
        click.echo(f"newsmon: extracting without per-site fixes: {exc}", err=True)
        return {}
    for error in folder.broken.values():
        click.echo(f"newsmon: extracting without that source's fixes: {error}", err=True)
    return folder.sources


def _seed_of(url: str, source: str | None) -> Any:
    """The seed that `source` names, else the one whose domains hold `url` (None: no seed applies)."""
    from pipelines.urls import same_site

    sources = _seed_sources()
    if source in sources:
        return sources[source]
    return next((seed for seed in sources.values() if same_site(url, seed.allowed_domains)), None)


def _fixes(seed: Any) -> dict[str, str]:
    return dict(seed.selectors) if seed is not None else {}


def _manifest_pages(manifest: Path, allow_outside: bool = False) -> list[tuple[str, Path]]:
    """(URL, path) pairs of a manifest TSV; a malformed line, or a path outside the manifest's folder (absolute,
    `../`, or a link leading out) unless `allow_outside`, is a one-line error naming it."""
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{manifest}: cannot read ({getattr(exc, 'strerror', None) or 'not UTF-8 text'})") from None
    pages = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 2 or not cells[0].strip().startswith(("http://", "https://")) or not cells[1].strip():
            raise CliError(f"{manifest}:{number}: expected URL<TAB>PATH with an http(s) URL")
        path = manifest.parent / cells[1].strip()
        if not allow_outside and not path.resolve().is_relative_to(manifest.parent.resolve()):
            raise CliError(
                f"{manifest}:{number}: {cells[1].strip()} is outside the manifest's folder "
                "(--allow-outside reads it anyway)"
            )
        pages.append((cells[0].strip(), path))
    return pages


def _read_page(file: Path) -> str:
    """A saved page as text (`read_saved_page`), or a one-line error."""
    from pipelines.page import UnreadablePage, read_saved_page

    try:
        return read_saved_page(file)
    except UnreadablePage as exc:
        raise CliError(str(exc)) from None


ROUND_COLUMNS = (
    "id", "announced", "company", "amount", "currency", "amount_usd", "round", "lead_investors", "investors",
    "valuation", "status", "confidence", "outlets", "sources", "evidence", "confirmed_by", "rumor_sources", "filing",
    "filed_for",
)  # fmt: skip


def _with_sentence(records: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """For CSV, each round's `evidence` is its one evidence sentence (a cell holds text); JSON keeps every field's."""
    if fmt != "csv":
        return records
    return [{**record, "evidence": main_evidence(record.get("evidence"))} for record in records]


ARTICLE_COLUMNS = ("url", "source", "title", "author", "published", "date_source", "language", "rounds")


def _currency_type() -> _Nearest:
    from pipelines.money import CURRENCY_TOKENS

    codes = set(CURRENCY_TOKENS.values())
    names = {token: code for token, code in CURRENCY_TOKENS.items() if token.isalpha() and len(token) > 3}
    return _Nearest("currency", codes, names)


ROUND_TYPE = _Nearest("round type", ROUND_TYPES)
ROUND_STATUS = _Nearest(
    "status", ["announced", "rumored"], {"rumoured": "rumored", "rumour": "rumored", "rumor": "rumored"}
)
CURRENCY = _currency_type()


def _known_source(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A source name the seeds or the store know; else one line naming the nearest (exit 2)."""
    if value is None:
        return None
    from crawler.seeds import SeedError, read_seeds

    try:
        folder = read_seeds()
        known = {*folder.sources, *folder.broken}
    except SeedError:
        known = set()
    try:
        known |= {name for name in articles_per_source(ctx.obj["db_url"]) if name != "-"}
    except StoreError:
        pass
    if value in known or not known:
        return value
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"did you mean {close[0]}?" if close else "`newsmon sources` lists them"
    raise click.BadParameter(f"no source named {value!r}: {hint}")


def round_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters of `newsmon rounds`, shared with `newsmon export rounds`."""
    options = [
        click.option(
            "--since", callback=_date, metavar="DATE", help="Announced on or after: 2024-05-01, 7d, yesterday."
        ),
        click.option("--until", callback=_date, metavar="DATE", help="Announced on or before (as --since)."),
        click.option("--company", metavar="TEXT", help="Company name contains TEXT."),
        click.option("--investor", metavar="TEXT", help="An investor's name contains TEXT."),
        click.option("--lead-only", is_flag=True, help="With --investor: only rounds that investor led."),
        click.option(
            "--min-amount", callback=_amount, metavar="AMOUNT", help="At least AMOUNT (USD when known): 5M, 1.2B."
        ),
        click.option("--currency", type=CURRENCY, help="Amount in this currency (ISO 4217: USD, EUR, INR; or euro)."),
        click.option("--round", "round_type", type=ROUND_TYPE, help="Round type: seed, series_a ('Series A' too)."),
        click.option("--status", type=ROUND_STATUS, help="announced, or rumored (rumoured too)."),
        click.option("--source", metavar="NAME", callback=_known_source, help="Reported by this source (seed name)."),
        click.option("--sort", type=click.Choice(["announced", "amount"]), default="announced", show_default=True),
        click.option("--limit", type=LIMIT, help="At most this many rounds."),
        click.option(
            "--with-confirmed-rumors",
            "confirmed_rumors",
            is_flag=True,
            help="Also list rumours an announced round has confirmed (each with confirmed_by).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _round_filters(filters: dict[str, Any]) -> RoundFilters:
    if filters.get("lead_only") and not filters.get("investor"):
        raise click.UsageError("--lead-only needs --investor")
    return RoundFilters(round=filters.pop("round_type"), **filters)


@cli.command(epilog="Example: newsmon rounds --since 7d --min-amount 20M --investor sequoia --lead-only")
@round_filter_options
@click.option("--format", "fmt", type=click.Choice(["table", *FORMATS]), default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (--format json).")
@click.option("--wide", is_flag=True, help="The table with every column: valuation, investors, evidence, sources.")
@click.pass_obj
def rounds(obj: dict[str, str], fmt: str, as_json: bool, wide: bool, **filters: Any) -> None:
    """Funding rounds in the store, newest first, each with the sentence it was read from and its articles' links
    (a rumour an announcement confirmed is listed with it, in rumor_sources)."""
    found = [record.as_json() for record in _query(list_rounds, obj["db_url"], _round_filters(filters))]
    fmt = "json" if as_json else fmt
    if fmt == "table":
        print_rounds(_console(), found, title=f"{len(found)} funding round(s)", wide=wide)
        return
    write_records(_with_sentence(found, fmt), fmt, sys.stdout, ROUND_COLUMNS)


@cli.command(
    epilog="Examples: newsmon export rounds --format csv --out rounds.csv --since 30d  |  "
    "newsmon export articles --format jsonl --out articles.jsonl"
)
@click.argument("what", type=click.Choice(["rounds", "articles"]))
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The file to write.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@round_filter_options
@click.pass_obj
def export(obj: dict[str, str], what: str, fmt: str, out: Path, force: bool, **filters: Any) -> None:
    """Write rounds or articles to a file (CSV cells a spreadsheet would run as formulas are escaped).

    Articles take --since and --source of the filters; rounds take them all."""
    if os.path.lexists(out) and not force:  # a dangling symlink is a name taken too
        raise CliError(f"{out} exists: use --force to replace it")
    if os.path.lexists(out) and not stat.S_ISREG(os.lstat(out).st_mode):
        raise CliError(f"{out} is not a regular file (a link, a folder or a device): not replaced")
    if what == "rounds":
        found_rounds = [r.as_json() for r in _query(list_rounds, obj["db_url"], _round_filters(filters))]
        records, columns = _with_sentence(found_rounds, fmt), ROUND_COLUMNS
    else:
        found = _query(
            list_articles, obj["db_url"], since=filters["since"], source=filters["source"], limit=filters["limit"]
        )
        records, columns = [a.as_json() for a in found], ARTICLE_COLUMNS
    try:
        write_file(out, records, fmt, columns, force)
    except (FileExistsError, OSError) as exc:
        message = str(exc) if isinstance(exc, FileExistsError) else f"{out}: cannot write ({exc.strerror})"
        raise CliError(message) from None
    click.echo(f"{len(records)} {what} written to {out} ({fmt})")


@cli.command(
    epilog="""Examples: newsmon search 'humanoid robots'  |  newsmon search '"series b" AND fintech' --since 30d"""
)
@click.argument("query")
@click.option("--since", callback=_date, metavar="DATE", help="Published on or after: 2024-05-01, 7d, yesterday.")
@click.option("--source", metavar="NAME", callback=_known_source, help="Only this source (seed name).")
@click.option("--limit", type=LIMIT, default=20, show_default=True, help="At most this many articles.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def search(
    obj: dict[str, str], query: str, since: dt.date | None, source: str | None, limit: int, as_json: bool
) -> None:
    """Full-text search over article titles and texts, best match first, with highlighted snippets.

    QUERY: words (all must appear), "a phrase", OR, NOT, prefix* (SQLite FTS5 syntax)."""
    hits = _query(search_articles, obj["db_url"], query, since=since, source=source, limit=limit)
    if as_json:
        _print_json([hit.as_json() for hit in hits])
        return
    console = _console()
    console.print(f"{len(hits)} article(s) for {safe_text(query)}", highlight=False)
    for hit in hits:
        snippet = safe_text(" ".join(hit.snippet.split()))
        snippet = snippet.replace(MATCH_START, "[bold yellow]").replace(MATCH_END, "[/bold yellow]")
        console.print(
            f"\n[bold]{safe_text(hit.title)}[/bold]  {hit.published or ''}  {safe_text(hit.source or '')}\n"
            f"{safe_text(hit.url)}\n{snippet}",
            highlight=False,
        )


@cli.command(epilog="Example: newsmon stats --since 90d")
@click.option("--since", callback=_date, metavar="DATE", help="Rounds announced on or after: 2024-05-01, 30d.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def stats(obj: dict[str, str], since: dt.date | None, fmt: str) -> None:
    """Rounds and money per week and per round type, top lead investors, busiest sources."""
    found = [r.as_json() for r in _query(list_rounds, obj["db_url"], RoundFilters(since=since))]
    figures = round_stats(found, _query(articles_per_source, obj["db_url"], since=since))
    if fmt == "json":
        _print_json(figures)
        return
    console = _console()
    console.print(
        f"[bold]{figures['rounds']} round(s)[/bold], {money(figures['usd'], 'USD')} disclosed"
        f" ({figures['undisclosed']} undisclosed)" + (f" since {since}" if since else ""),
        highlight=False,
    )
    sections = (
        ("Per week", "week", "by_week", "usd"),
        ("Per round type", "round", "by_round", "rounds"),
        # most leads have led one round: their bars show the money they led, which tells them apart
        ("Top lead investors", "investor", "top_leads", "usd"),
        ("Busiest sources", "source", "busiest_sources", "articles"),
    )
    for title, key, section, measure in sections:
        rows = figures[section]
        table = Table(title=title, title_justify="left")
        for column in (key.capitalize(), "Rounds" if measure != "articles" else "Articles", "USD", ""):
            table.add_column(column, justify="right" if column in ("Rounds", "Articles", "USD") else "left")
        top = largest(row[measure] for row in rows)
        for row in rows:
            count = row.get("rounds", row.get("articles", 0))
            table.add_row(
                safe_text(str(row[key])),
                str(int(count)),
                money(row["usd"], "USD") if "usd" in row else "",
                bar(row[measure], top),
            )
        console.print(table)


@cli.command(epilog="Example: newsmon digest --since 1d --format html > digest.html")
@click.option("--since", callback=_date, default="1d", show_default=True, metavar="DATE", help="Announced since.")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.pass_obj
def digest(obj: dict[str, str], since: dt.date, fmt: str) -> None:
    """The rounds announced since DATE as a short report (totals and a table), ready for an email."""
    found = [r.as_json() for r in _query(list_rounds, obj["db_url"], RoundFilters(since=since))]
    click.echo(make_digest(found, since, fmt), nl=False)


@cli.command("migrate", epilog="Example: newsmon --db postgresql+psycopg://newsmon@db.internal/newsmon migrate")
@click.pass_obj
def migrate_command(obj: dict[str, str]) -> None:
    """Create or upgrade the store's schema to this newsmon's, once: hosts that start together on PostgreSQL
    take turns under an advisory lock, and the later ones find it done."""
    try:
        before = upgrade_store(obj["db_url"])
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if before == SCHEMA_REVISION:
        click.echo(f"the store is at schema {SCHEMA_REVISION} already")
    else:
        click.echo(f"the store is at schema {SCHEMA_REVISION} (was {before or 'empty'})")


def _setting_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """`NAME=VALUE` options as a dict; anything else is a usage error."""
    from crawler.replay import setting_pairs

    try:
        return setting_pairs(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _queue(db_url: str, settings: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
    """The crawl queue's app over the store's PostgreSQL database, with its tables, and the seeds it serves;
    `settings` are Scrapy settings for every crawl it runs."""
    from crawler.seeds import SeedError, read_seeds
    from crawler.worker import WorkerError, build_app, ensure_queue_schema, require_postgres

    try:
        require_postgres(db_url)
        upgrade_store(db_url)
        sources = read_seeds().sources
        app = build_app(db_url, sources, settings=settings)
        with _queue_errors():
            ensure_queue_schema(app, db_url)
    except (WorkerError, StoreError, SeedError) as exc:
        raise CliError(str(exc)) from None
    return app, sources


@contextlib.contextmanager
def _queue_errors() -> Iterator[None]:
    """The queue's database failing (unreachable, gone, refusing) is one line, not a traceback."""
    import psycopg
    from procrastinate.exceptions import ProcrastinateException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (ProcrastinateException, SQLAlchemyError, psycopg.Error, StoreError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(f"the crawl queue in the store failed: {first}") from None


@cli.command(epilog="Example: newsmon --db postgresql+psycopg://newsmon@db.internal/newsmon worker --concurrency 2")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Crawls at once here.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    callback=lambda _ctx, _param, values: _setting_pairs(values),
    help="A Scrapy setting for every crawl this worker runs (repeatable), as `scrapy crawl -s`.",
)
@click.pass_obj
def worker(obj: dict[str, str], concurrency: int, overrides: dict[str, str]) -> None:
    """Run crawls from the queue in the PostgreSQL store, on as many hosts as you like: each source on its
    seed's schedule and poll schedule (UTC) once whatever the number of workers, a catch-up for a missed run, the
    jobs of a worker that died retried, and the alerts delivered. SIGTERM stops it after its running crawls."""
    from crawler.worker import WorkerError, run_worker

    app, sources = _queue(obj["db_url"], overrides)
    click.echo(f"worker: {len(sources)} sources, {concurrency} crawl(s) at once (SIGTERM stops)", err=True)
    with _queue_errors():
        try:
            run_worker(app, obj["db_url"], sources, concurrency)
        except WorkerError as exc:
            raise CliError(str(exc)) from None


@cli.command(epilog="Example: newsmon --db postgresql+psycopg://newsmon@db.internal/newsmon enqueue venturebeat")
@click.argument("names", nargs=-1, required=True, metavar="SOURCE...")
@click.pass_obj
def enqueue(obj: dict[str, str], names: tuple[str, ...]) -> None:
    """Queue a crawl of each SOURCE now, for the workers (a source already queued is not queued twice)."""
    from crawler.worker import enqueue as enqueue_now

    app, sources = _queue(obj["db_url"])
    unknown = [name for name in names if name not in sources]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(sources), n=1)
        hint = f": did you mean {close[0]}?" if close else " (see `scrapy list`)"
        raise click.UsageError(f"no source named {unknown[0]!r}{hint}")
    with _queue_errors():
        queued = enqueue_now(app, names)
    for name, state in queued.items():
        click.echo(f"{name}: {state}")


@cli.command(epilog="Example: newsmon serve --port 8001   (then open http://127.0.0.1:8001/)")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.pass_obj
def serve(obj: dict[str, str], host: str, port: int) -> None:
    """Browse the store read-only in Datasette (pip install "newsmon[web]"), front page the rounds view.
    Exits 1 with one line when it cannot start (no store, an unreadable one, the port taken) or Datasette fails."""

    path = sqlite_path(obj["db_url"])
    if path is None:
        raise CliError("newsmon serve shows a SQLite store; for other databases use their own tools")
    if not path.exists():
        raise CliError(f"no store at {path} yet: run a crawl or `newsmon demo` first")
    try:
        check_readable(obj["db_url"])  # readable, and a newsmon store at the current schema
    except StoreError as exc:
        raise CliError(str(exc)) from None
    _check_port_free(host, port)
    try:
        import datasette  # noqa: F401 - only checks the optional extra is there
    except ImportError:
        raise CliError('Datasette is not installed: pip install "newsmon[web]"') from None
    writable = os.access(path.parent, os.W_OK)
    tables = _query(table_names, obj["db_url"])
    with tempfile.TemporaryDirectory(prefix="newsmon-serve-") as folder:
        metadata = Path(folder) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(path.stem, tables)), encoding="utf-8")
        plugins = Path(__file__).resolve().parent / "datasette_plugins"
        # a store nobody can write (a read-only folder or file system) is served immutable, as queries read it
        target = [str(path)] if writable else ["-i", str(path)]
        command = [sys.executable, "-m", "datasette", "serve", *target, "--metadata", str(metadata)]
        command += [
            "--plugins-dir",
            str(plugins),
            "--host",
            host,
            "--port",
            str(port),
            "--setting",
            "sql_time_limit_ms",
            "3000",
            "--setting",
            "facet_time_limit_ms",
            "1000",
            "--setting",
            "truncate_cells_html",
            "400",
        ]
        click.echo(f"Serving {path} read-only at http://{host}:{port}/ (Ctrl-C stops)", err=True)
        child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, errors="replace")
        last_line = _relay_stderr(child)
        stopped = False

        def stop(*_: object) -> None:
            nonlocal stopped
            stopped = True
            child.terminate()

        # A SIGTERM to newsmon stops Datasette too (it would otherwise outlive us, holding the port).
        previous = signal.signal(signal.SIGTERM, stop)
        try:
            child.wait()
        except KeyboardInterrupt:
            stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if child.returncode != 0 and not stopped:
        why = plain_text(last_line()) or "no message"
        raise CliError(f"Datasette stopped with exit status {child.returncode}: {why}")


def _check_port_free(host: str, port: int) -> None:
    """One line, before Datasette starts, when `host:port` cannot be listened on (taken, or no such address)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (--port picks another)") from None


def _relay_stderr(child: subprocess.Popen[str]) -> Callable[[], str]:
    """Copy the child's stderr to ours as it comes (a thread); returns a function giving its last line."""
    import threading

    last = [""]

    def relay() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            sys.stderr.write(line)
            if line.strip():
                last[0] = line.strip()

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()

    def last_line() -> str:
        thread.join(timeout=5)
        return last[0]

    return last_line


@cli.group(invoke_without_command=True, epilog="Example: newsmon sources --json")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """Every source (seed file or recorded run) with its last run, status, counts, error rate and median delay
    from publication to storage (over the articles of its recent runs published within a week); flagged, with
    the reason: never run, blocked (the site answered 403 to every request), failing (its last runs all failed)
    or finding nothing (its last runs all found no new article)."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.obj
    from crawler.seeds import SeedError, read_seeds

    try:
        folder = read_seeds()
    except SeedError as exc:
        raise CliError(str(exc)) from None
    for error in folder.broken.values():  # listed all the same: their recorded runs say they fail
        click.echo(f"newsmon: {plain_text(error)}", err=True)
    names = sorted([*folder.sources, *folder.broken])
    found = _query(source_health, obj["db_url"], names)
    if as_json:
        _print_json([record.as_json() for record in found])
        return
    table = Table(title=f"{len(found)} source(s)")
    columns = ("Source", "Last run (UTC)", "Status", "Requests", "304s", "New articles", "New rounds", "Runs", "Delay")
    for column in (*columns, "Error rate", "Flag"):
        table.add_column(column, no_wrap=column != "Flag")
    for record in found:
        ran = record.last_status is not None
        table.add_row(
            safe_text(record.name),
            record.last_started.strftime("%Y-%m-%d %H:%M") if record.last_started else "",
            record.last_status or "",
            *(
                str(n) if ran else ""
                for n in (
                    record.last_requests,
                    record.last_listings_unchanged,
                    record.last_articles_new,
                    record.last_rounds_new,
                )
            ),
            str(record.runs),
            f"{record.median_delay_hours:g} h" if record.median_delay_hours is not None else "",
            f"{record.error_rate:.0%}" if record.error_rate is not None else "",
            _flag_cell(record.flag, record.reason or record.last_error),
        )
    _console().print(table)


@sources.command("add", epilog="Example: newsmon sources add betakit https://betakit.com/")
@click.argument("name")
@click.argument("url")
@click.option("--title", help="The outlet's name, for people (default: its domain).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write NAME.toml into (default: the seeds folder, $NEWSMON_SEEDS_DIR or seeds/).",
)
@click.option("--force", is_flag=True, help="Replace an existing seed file of that name.")
def sources_add(name: str, url: str, title: str | None, out: Path | None, force: bool) -> None:
    """Probe a site (its robots.txt and sitemaps, its home page's feed links, the common feed and sitemap paths)
    and write a seed file drafted from what answered, validated like every seed, for review before committing.
    Needs network access to the site; private addresses are refused unless in NEWSMON_ALLOWED_HOSTS."""
    from crawler.probe import ProbeError, fetcher, probe, seed_text
    from crawler.seeds import SeedError, is_source_name, load_seed, seeds_dir

    if not is_source_name(name):
        raise CliError(f"{name!r}: a source name is lower case letters, digits and _ (like 'venturebeat')")
    folder = out or seeds_dir()
    target = folder / f"{name}.toml"
    if target.exists() and not force:
        raise CliError(f"{target} exists; --force replaces it")
    try:
        text = seed_text(name, probe(url, fetcher()), title)
    except ProbeError as exc:
        raise CliError(str(exc)) from None
    with tempfile.TemporaryDirectory() as scratch:  # validated before it is written where scrapy would load it
        draft = Path(scratch) / target.name
        draft.write_text(text, encoding="utf-8")
        try:
            source = load_seed(draft)
        except SeedError as exc:
            raise CliError(f"the draft is not a valid seed ({exc}); write it by hand") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with replacing(target, overwrite=force) as stream:
            stream.write(text)
    except FileExistsError:
        raise CliError(f"{target} exists; --force replaces it") from None
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc}") from None
    click.echo(text, nl=False)
    click.echo(
        f"wrote {target}: {len(source.feeds)} feed(s), {len(source.sitemaps)} sitemap(s) named, robots.txt "
        f"{'read' if source.robots_txt else 'not found'}; review it, add its replay fixture (seeds/README.md)",
        err=True,
    )


def _flag_cell(flag: str | None, reason: str | None) -> Text:
    """A source's flag in red with its reason, or the last error of an unflagged source in plain text."""
    cell = Text()
    if flag:
        cell.append(flag, style="red")
    if reason:
        cell.append((": " if flag else "") + safe_text(reason)[:120])
    return cell


@cli.command(epilog="Example: newsmon runs --source venturebeat --json")
@click.option("--source", metavar="NAME", callback=_known_source, help="Only this source (seed name).")
@click.option("--limit", type=LIMIT, help="At most this many runs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def runs(obj: dict[str, str], source: str | None, limit: int | None, as_json: bool) -> None:
    """Recorded crawl runs (by hand or by the scheduler), newest first."""
    found = _query(list_runs, obj["db_url"], source=source, limit=limit)
    if as_json:
        _print_json([record.as_json() for record in found])
        return
    table = Table(title=f"{len(found)} run(s)")
    for column in ("Started (UTC)", "Source", "Status", "Seconds", "Requests", "New articles", "New rounds", "Error"):
        table.add_column(column, no_wrap=column != "Error")
    for record in found:
        item = record.as_json()
        table.add_row(
            f"{record.started:%Y-%m-%d %H:%M:%S}",
            safe_text(record.source) + (" (poll)" if record.mode == "poll" else ""),
            record.status,
            f"{item['seconds']:.0f}" if item["seconds"] is not None else "",
            str(record.requests),
            str(record.articles_new),
            str(record.rounds_new),
            safe_text(record.error or "")[:100],
        )
    _console().print(table)


@cli.command(epilog="Example: newsmon articles --since 2024-05-01 --source venturebeat --json")
@click.option("--since", callback=_date, metavar="DATE", help="Published on or after (YYYY-MM-DD).")
@click.option("--source", metavar="NAME", callback=_known_source, help="Only this source (seed name).")
@click.option("--limit", type=LIMIT, help="At most this many articles.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def articles(obj: dict[str, str], since: dt.date | None, source: str | None, limit: int | None, as_json: bool) -> None:
    """Stored articles, newest first, with the number of rounds found in each."""
    found = _query(list_articles, obj["db_url"], since=since, source=source, limit=limit)
    if as_json:
        _print_json([record.as_json() for record in found])
        return
    table = Table(title=f"{len(found)} article(s)")
    for column in ("Published", "Source", "Title", "Rounds"):
        table.add_column(column)
    for record in found:
        table.add_row(
            str(record.published or "?"),
            safe_text(record.source),
            safe_text(record.title),
            str(record.rounds),
        )
    _console().print(table)


@cli.command(epilog="Example: newsmon demo --db /tmp/demo.db")
@click.option(
    "--db",
    "database",
    default=str(PROJECT_ROOT / "data" / "demo.db"),
    show_default=True,
    metavar="PATH|URL",
    help="The SQLite file to create: a path or a sqlite:/// URL (a demo store there is replaced).",
)
@click.option("--force", is_flag=True, help="Replace the file even if it is a store of real crawls.")
@click.option("--alerts", is_flag=True, help="Deliver the alerts file's alerts about the demo rounds (off by default).")
@click.option("--json", "as_json", is_flag=True, help="Print the rounds as JSON.")
@click.pass_obj
def demo(obj: dict[str, str], database: str, force: bool, alerts: bool, as_json: bool) -> None:
    """Crawl the bundled demo site offline (replay) into a fresh SQLite file and show the rounds found."""
    from crawler.replay import replay_settings, site_from_folder, write_cache
    from crawler.runner import run_crawl

    parent = click.get_current_context().find_root()
    if parent.params.get("database"):  # the store's --db must never be wiped by the demo
        raise click.UsageError("newsmon demo writes its own fresh SQLite file: use 'newsmon demo --db PATH'")
    path = _demo_file(database, obj["db_url"], force)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(path)
    url = f"sqlite:///{path}"
    with tempfile.TemporaryDirectory(prefix="newsmon-demo-") as cache:
        write_cache(cache, "demo", site_from_folder(DEMO_DIR / "site", DEMO_BASE_URL))
        settings = {**replay_settings(cache), "NEWSMON_SEEDS_DIR": str(DEMO_DIR / "seeds"), "LOG_LEVEL": "WARNING"}
        if not alerts:  # the demo's 2023 rounds are no news for anyone's real channels
            settings["NEWSMON_ALERTS"] = "off"
        if not as_json:
            click.echo(f"Crawling the demo site offline into {path} ...", err=True)
        try:
            done = run_crawl("demo", db_url=url, settings=settings, spider_args={"since": "2000-01-01"}, time_limit=600)
            if done.status != "ok":
                raise CliError(f"the demo crawl ended {done.status}: {done.error or 'see its log'}")
            found = list_rounds(url)
        except StoreError as exc:
            raise CliError(f"the demo store at {path}: {exc}") from None
    if as_json:
        _print_json([record.as_json() for record in found])
        return
    stored = len(list_articles(url))
    print_rounds(_console(), [r.as_json() for r in found], title=f"{len(found)} funding round(s) in {stored} articles")
    shown = shlex.quote(os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path))
    click.echo(
        f"Query it: newsmon --db {shown} rounds   (or: newsmon --db {shown} serve;"
        f" sqlite3 {shown} 'select * from funding_rounds_view')"
    )


def _demo_file(value: str, store_url: str, force: bool) -> Path:
    """The file `newsmon demo --db` may replace: a path or a sqlite:/// URL, never the configured store or a
    file that is not a demo store (unless `force`)."""
    from pipelines.page import not_a_file

    if "://" in value or value.startswith("sqlite:"):
        try:
            path = sqlite_path(value)
        except StoreError:
            path = None
        if path is None:
            raise click.BadParameter(
                "the demo writes a SQLite file: give a path or a sqlite:/// URL", param_hint="--db"
            )
    else:
        path = Path(value)
    path = path.expanduser().resolve()
    if path.exists() and not path.is_file():
        raise CliError(f"{path}: {not_a_file(path)}: the demo writes a SQLite file")
    if force:
        return path
    try:
        configured = sqlite_path(store_url)
    except StoreError:
        configured = None
    if configured is not None and configured.expanduser().resolve() == path:
        raise CliError(f"{path} is the configured store ($NEWSMON_DB_URL): the demo will not replace it (--force does)")
    if path.exists() and not _is_demo_store(path):
        raise CliError(f"{path} exists and is not a demo store: the demo will not replace it (--force does)")
    return path


def _is_demo_store(path: Path) -> bool:
    """True for an empty file or a store that only the demo source ever wrote to (every article from it)."""
    import sqlite3
    from contextlib import closing

    if not path.is_file():
        return False
    if path.stat().st_size == 0:
        return True
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sources")}
            names |= {row[0] for row in connection.execute("SELECT DISTINCT source FROM crawl_runs")}
            (others,) = connection.execute(
                "SELECT count(*) FROM articles a LEFT JOIN sources s ON s.id = a.source_id"
                " WHERE s.name IS NULL OR s.name != 'demo'"
            ).fetchone()
    except sqlite3.Error:
        return False
    return names == {"demo"} and others == 0


@cli.command(
    "eval",
    epilog="Examples: newsmon eval ../shared/corpus/labels-dev2.jsonl --split check\n\n"
    "newsmon eval ../shared/corpus/labels-dev.jsonl ../shared/corpus/labels-dev2.jsonl --cv 5",
)
@click.argument("labels", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["tune", "check"]), help="Only the items of this split (labels-dev2).")
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(2, 20),
    help="K-fold cross-validation: train the model on K-1 folds of these items, score the held-out fold.",
)
@click.option("--show-failures", is_flag=True, help="List every missed, spurious and wrong round.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (figures, counts, failures).")
def evaluate_command(
    labels: tuple[Path, ...], split: str | None, folds: int | None, show_failures: bool, as_json: bool
) -> None:
    """Score the funding detector on labelled JSONL files (text items, or saved pages via 'file').

    Without --cv, the committed model scores the items; items of both labels-dev2 splits also get the gap between
    the split it was trained on (tune) and the one it never saw (check). With --cv, K models are trained on the
    items themselves and each scores the fold it did not see; the gap to the committed model is reported.
    """
    from pipelines.evaluation import EvalError, evaluate, load_labels

    items = []
    try:
        for path in labels:
            items += load_labels(path, split=split)
    except EvalError as exc:
        raise CliError(str(exc)) from None
    source = ", ".join(safe_text(str(p)) for p in labels) + (f" (split {split})" if split else "")
    report = evaluate(items)
    gaps = _split_gaps(items, report) if folds is None else {}
    cross = None
    if folds is not None:
        try:
            from pipelines.funding.train import cross_validate
        except ImportError as exc:
            raise CliError(f"--cv needs the training extra (pip install -e '.[train]'): {exc}") from None
        if len(items) < folds:
            raise CliError(f"--cv {folds}: only {len(items)} labelled items")
        cross = cross_validate(items, folds)
        gaps = {"committed model vs cross-validated": _gap(report, cross)}
    if as_json:
        out = report.as_json()
        if cross is not None:
            out = {"committed": out, "cross_validated": cross.as_json()}
        if gaps:
            out["gaps"] = gaps
        _print_json(out)
        return
    console = _console()
    shown = cross if cross is not None else report
    what = f"{folds}-fold cross-validation on" if folds else "committed model on"
    console.print(f"{shown.items} labelled items, {what} {source}", highlight=False)
    _print_report(console, shown)
    for name, gap in gaps.items():
        flag = "  above 0.05: the model does not carry to unseen text" if gap["round_f1_gap"] > 0.05 else ""
        console.print(
            f"round_f1 gap, {name}: {gap['round_f1'][0]:.3f} vs {gap['round_f1'][1]:.3f} = "
            f"{gap['round_f1_gap']:.3f}{flag}",
            highlight=False,
        )
    if shown.crashes:
        console.print(f"{shown.crashes} item(s) crashed the detector (counted as no rounds)")
    if show_failures:
        for line in shown.failures:
            console.print(safe_text(line), highlight=False, soft_wrap=True)
    elif shown.failures:
        console.print(f"{len(shown.failures)} failure(s); --show-failures lists them")


def _print_report(console: Console, report: Any) -> None:
    counts = report.counts()
    table = Table()
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("n", justify="right")
    n_of = {
        "round_precision": counts["rounds_emitted"],
        "round_recall": counts["rounds_gold"],
        "round_f1": counts["rounds_gold"],
        "leads_f1": counts["leads_gold"],
        "investors_f1": counts["investors_gold"],
        "negatives_without_round": counts["negatives"],
    }
    for name, value in report.figures().items():
        table.add_row(name, "-" if value is None else f"{value:.3f}", str(n_of.get(name, counts.get(name, ""))))
    console.print(table)


def _gap(seen: Any, unseen: Any) -> dict[str, Any]:
    a, b = seen.figures()["round_f1"] or 0.0, unseen.figures()["round_f1"] or 0.0
    return {"round_f1": [round(a, 4), round(b, 4)], "round_f1_gap": round(a - b, 4)}


def _split_gaps(items: list[Any], report: Any) -> dict[str, Any]:
    """The tune/check gap when the items hold both splits (the model trains on tune, never on check)."""
    from pipelines.evaluation import evaluate

    tune = [i for i in items if i.split == "tune"]
    check = [i for i in items if i.split == "check"]
    if not tune or not check:
        return {}
    return {"tune vs check": _gap(evaluate(tune), evaluate(check))}


def _query(function: Any, *args: Any, **kwargs: Any) -> list[Any]:
    try:
        return function(*args, **kwargs)
    except StoreError as exc:
        raise CliError(str(exc)) from None


cli.add_command(alerts)
cli.add_command(company)
cli.add_command(investor)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (errors are one line on stderr)."""
    try:
        cli.main(args=argv, prog_name="newsmon", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("newsmon: aborted", err=True)
        return 130
    except click.UsageError as exc:
        hint = f" (see 'newsmon {exc.ctx.command_path.partition(' ')[2]} --help')".replace("  ", " ") if exc.ctx else ""
        click.echo(f"newsmon: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"newsmon: {exc.format_message()}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
