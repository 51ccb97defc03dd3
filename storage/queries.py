"""Read-only queries over the store, returning plain dataclasses (bound parameters only)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import Select, func, inspect, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from pipelines.urls import outlet
from storage.engine import StoreError, reader_engine, store_errors
from storage.models import Article, CrawlRun, FundingRound, Investor, RoundArticle, RoundInvestor, Source
from storage.runs import RunRecord, run_record


@dataclass(frozen=True)
class RoundFilters:
    """Filters of `newsmon rounds`; every field is optional."""

    since: dt.date | None = None
    until: dt.date | None = None
    company: str | None = None
    investor: str | None = None
    min_amount: float | None = None
    round: str | None = None
    source: str | None = None
    limit: int | None = None
    confirmed_rumors: bool = False  # also list rumours an announced round has confirmed
    # A filing that documents a press round is listed in that round's `filings`, not as a round of its own,
    # unless the rounds of a `source` are asked for (`--source sec_form_d` lists every filing).
    lead_only: bool = False  # with `investor`: only rounds that investor led
    currency: str | None = None  # ISO 4217 code of the amount
    status: str | None = None  # announced | rumored (rumored lists confirmed rumours too)
    sort: str = "announced"  # announced (newest first) | amount (largest first, USD where it converts)
    ids: tuple[int, ...] | None = None  # only these rounds (a company's or an investor's, found by name)


# Where a round's one evidence sentence is looked for: the sentence with the money first, as funding_rounds_view does.
EVIDENCE_ORDER = ("amount", "company", "lead_investors", "investors", "round", "valuation", "status")


def main_evidence(evidence: dict[str, str] | None) -> str | None:
    """The sentence that announced a round, from its `evidence` (field -> sentence): its amount's, else its
    company's, else any; None when there is none."""
    evidence = evidence or {}
    for name in (*EVIDENCE_ORDER, *sorted(evidence)):
        if evidence.get(name):
            return " ".join(str(evidence[name]).split())
    return None


@dataclass(frozen=True)
class RoundRecord:
    """One stored round in the ROUND shape of DESIGN.md, plus where and when it was reported."""

    company: str
    amount: float | None
    currency: str | None
    amount_usd: float | None
    round: str | None
    lead_investors: list[str]
    investors: list[str]
    valuation: float | None
    status: str
    confidence: float | None
    announced: dt.date | None
    sources: list[str] = field(default_factory=list)
    id: int | None = None
    outlets: int = 0  # distinct outlets among `sources` (two captures of one outlet's page count once)
    confirmed_by: int | None = None  # a rumour: the id of the announced round that confirmed it
    rumor_sources: list[str] = field(default_factory=list)  # an announced round: the rumours it confirmed
    evidence: dict[str, str] = field(default_factory=dict)  # field -> the sentence it was read from
    filing: bool = False  # made by a regulatory filing (SEC Form D), not by the press
    filed_for: int | None = None  # a filing: the id of the press round it documents
    filings: list[dict[str, object]] = field(default_factory=list)  # a press round: the filings documenting it

    def as_json(self) -> dict[str, object]:
        """The DESIGN.md ROUND dict with `sources`, `announced` (YYYY-MM-DD) and `evidence` (field -> sentence),
        plus `id`, `outlets`, `confirmed_by`, `rumor_sources`, `filing`, `filed_for` and `filings` (each
        {id, url, amount, currency, announced})."""
        return {
            "id": self.id,
            "company": self.company,
            "amount": _number(self.amount),
            "currency": self.currency,
            "amount_usd": _number(self.amount_usd),
            "round": self.round,
            "lead_investors": self.lead_investors,
            "investors": self.investors,
            "valuation": _number(self.valuation),
            "status": self.status,
            "confidence": self.confidence,
            "sources": self.sources,
            "announced": self.announced.isoformat() if self.announced else None,
            "outlets": self.outlets,
            "confirmed_by": self.confirmed_by,
            "rumor_sources": self.rumor_sources,
            "evidence": self.evidence,
            "filing": self.filing,
            "filed_for": self.filed_for,
            "filings": self.filings,
        }


@dataclass(frozen=True)
class ArticleRecord:
    """One stored article as `newsmon articles` shows it."""

    url: str
    source: str | None
    title: str | None
    author: str | None
    published: dt.date | None
    date_source: str | None
    language: str | None
    rounds: int

    def as_json(self) -> dict[str, object]:
        """The DESIGN.md article dict (published as YYYY-MM-DD)."""
        return {
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "date_source": self.date_source,
            "language": self.language,
            "rounds": self.rounds,
        }


def table_names(url: str) -> list[str]:
    """The store's tables (read-only, as every query opens it)."""
    with store_errors(), reader_engine(url).connect() as connection:
        return sorted(inspect(connection).get_table_names())


def list_runs(url: str, *, source: str | None = None, limit: int | None = None) -> list[RunRecord]:
    """Recorded crawl runs, newest first."""
    query = select(CrawlRun).order_by(CrawlRun.started.desc(), CrawlRun.id.desc())
    if source:
        query = query.where(CrawlRun.source == source)
    if limit:
        query = query.limit(limit)
    with store_errors(), Session(reader_engine(url)) as session:
        return [run_record(run) for run in session.scalars(query)]


RECENT_RUNS = 10  # the window for a source's error rate
WATCH_RUNS = 3  # this many failed, or empty, runs in a row flag a source


@dataclass(frozen=True)
class SourceHealth:
    """One source as `newsmon sources` shows it: its last run and how its recent runs went."""

    name: str
    runs: int
    last_started: dt.datetime | None
    last_status: str | None
    last_articles_new: int
    last_rounds_new: int
    last_requests: int
    last_listings_unchanged: int  # feeds and sitemaps that answered 304 in the last run
    last_error: str | None
    error_rate: float | None  # share of the last RECENT_RUNS finished runs that were not ok
    flag: str | None  # "never run", "blocked", "failing", "finding nothing", or None
    reason: str | None = None  # why the flag: the blocking or failing run's error, or what the runs found
    median_delay_hours: float | None = None  # publication to storage, over the articles of its recent runs
    delay_articles: int = 0  # how many articles that median is over
    last_poll: dt.datetime | None = None  # when its last feed-only poll started (polls are not in the counts)
    last_poll_status: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.name,
            "runs": self.runs,
            "last_started": self.last_started.isoformat() if self.last_started else None,
            "last_status": self.last_status,
            "last_articles_new": self.last_articles_new,
            "last_rounds_new": self.last_rounds_new,
            "last_requests": self.last_requests,
            "last_listings_unchanged": self.last_listings_unchanged,
            "last_error": self.last_error,
            "error_rate": self.error_rate,
            "flag": self.flag,
            "reason": self.reason,
            "median_delay_hours": self.median_delay_hours,
            "delay_articles": self.delay_articles,
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
            "last_poll_status": self.last_poll_status,
        }


def source_health(url: str, names: list[str]) -> list[SourceHealth]:
    """Every source in `names` (the seed files) or in the run records, with its last full run and a flag when
    those keep failing or finding nothing (polls are reported apart: their last start and status)."""
    with store_errors(), Session(reader_engine(url)) as session:
        recorded = set(session.scalars(select(CrawlRun.source).distinct()))
        out = []
        for name in sorted(set(names) | recorded):
            full = (CrawlRun.source == name) & (CrawlRun.mode == "full")
            count = session.scalar(select(func.count(CrawlRun.id)).where(full)) or 0
            recent = list(
                session.scalars(
                    select(CrawlRun)
                    .where(full, CrawlRun.status != "running")
                    .order_by(CrawlRun.started.desc(), CrawlRun.id.desc())
                    .limit(RECENT_RUNS)
                )
            )
            health = _health(name, count, recent)
            poll = session.execute(
                select(CrawlRun.started, CrawlRun.status)
                .where(CrawlRun.source == name, CrawlRun.mode == "poll")
                .order_by(CrawlRun.started.desc(), CrawlRun.id.desc())
                .limit(1)
            ).first()
            if poll is not None:
                health = replace(health, last_poll=poll[0], last_poll_status=poll[1])
            if recent:
                delays = _delays(session, name, min(run.started for run in recent))
                if delays:
                    health = replace(
                        health,
                        median_delay_hours=round(statistics.median(delays) / 3600, 1),
                        delay_articles=len(delays),
                    )
            out.append(health)
        return out


# an article published longer than this before it was stored came from a backfill, not from monitoring
NEWS_DELAY_MAX = dt.timedelta(days=7)


def _delays(session: Session, source: str, since: dt.datetime) -> list[float]:
    """Seconds from publication to storage of the source's articles first stored since `since`, for the articles
    whose publication time is known and within NEWS_DELAY_MAX of their storage."""
    rows = session.execute(
        select(Article.first_seen, Article.published_at)
        .join(Source, Source.id == Article.source_id)
        .where(Source.name == source, Article.first_seen >= since, Article.published_at.is_not(None))
    )
    delays = []
    for stored, published in rows:
        delay = stored - published
        if dt.timedelta(0) <= delay <= NEWS_DELAY_MAX:
            delays.append(delay.total_seconds())
    return delays


def _health(name: str, count: int, recent: list[CrawlRun]) -> SourceHealth:
    if not recent:
        if count:  # its only runs are still running
            return SourceHealth(name, count, None, None, 0, 0, 0, 0, None, None, None)
        return SourceHealth(name, 0, None, None, 0, 0, 0, 0, None, None, "never run", "no crawl of it is recorded")
    last, watched = recent[0], recent[:WATCH_RUNS]
    flag = reason = None
    if last.status == "blocked":  # one such run says it: the site refuses the crawler, retrying will not help
        flag, reason = "blocked", last.error
    elif len(watched) == WATCH_RUNS and all(
        run.status in {"failed", "blocked", "timeout", "interrupted", "abandoned"} for run in watched
    ):
        flag, reason = "failing", f"its last {WATCH_RUNS} runs did not end ok; the last: {last.error or last.status}"
    elif len(watched) == WATCH_RUNS and all(run.status == "ok" and run.articles_new == 0 for run in watched):
        flag, reason = "finding nothing", f"its last {WATCH_RUNS} runs ended ok with no new article"
    return SourceHealth(
        name=name,
        runs=count,
        last_started=last.started,
        last_status=last.status,
        last_articles_new=last.articles_new,
        last_rounds_new=last.rounds_new,
        last_requests=last.requests,
        last_listings_unchanged=last.listings_unchanged,
        last_error=last.error,
        error_rate=round(sum(run.status != "ok" for run in recent) / len(recent), 3),
        flag=flag,
        reason=reason,
    )


def list_rounds(url: str, filters: RoundFilters | None = None) -> list[RoundRecord]:
    """Stored rounds matching `filters`, newest announcement first."""
    filters = filters or RoundFilters()
    query = _round_query(filters).options(
        selectinload(FundingRound.investors).selectinload(RoundInvestor.investor),
        selectinload(FundingRound.articles).selectinload(RoundArticle.article),
    )
    with store_errors(), Session(reader_engine(url)) as session:
        rows = list(session.scalars(query))
        ids = [row.id for row in rows]
        rumours: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            linked = session.execute(
                select(FundingRound.confirmed_by, Article.url)
                .join(RoundArticle, RoundArticle.round_id == FundingRound.id)
                .join(Article, Article.id == RoundArticle.article_id)
                .where(FundingRound.confirmed_by.in_(ids[start : start + 500]))
                .order_by(Article.published, Article.id)
            )
            for confirmed, article_url in linked:
                rumours.setdefault(confirmed, []).append(article_url)
        filings = _filings_of(session, ids)
        return [_round_record(row, rumours.get(row.id, []), filings.get(row.id, [])) for row in rows]


def _filings_of(session: Session, ids: list[int]) -> dict[int, list[dict[str, object]]]:
    """Press round id -> the filings that document it, oldest first."""
    out: dict[int, list[dict[str, object]]] = {}
    for start in range(0, len(ids), 500):
        found = session.execute(
            select(FundingRound.filed_for, FundingRound.id, Article.url, FundingRound.amount, FundingRound.currency)
            .add_columns(FundingRound.announced)
            .join(RoundArticle, RoundArticle.round_id == FundingRound.id)
            .join(Article, Article.id == RoundArticle.article_id)
            .where(FundingRound.filed_for.in_(ids[start : start + 500]))
            .order_by(FundingRound.announced, FundingRound.id)
        )
        for press, filing, url, amount, currency, announced in found:
            out.setdefault(press, []).append(
                {
                    "id": filing,
                    "url": url,
                    "amount": _number(amount),
                    "currency": currency,
                    "announced": announced.isoformat() if announced else None,
                }
            )
    return out


def rounds_by_id(url: str, ids: Iterable[int]) -> dict[int, RoundRecord]:
    """The stored rounds with these ids (ids no longer stored are left out)."""
    wanted = sorted(set(ids))
    found: dict[int, RoundRecord] = {}
    with store_errors(), Session(reader_engine(url)) as session:
        for start in range(0, len(wanted), 500):
            query = (
                select(FundingRound)
                .where(FundingRound.id.in_(wanted[start : start + 500]))
                .options(
                    selectinload(FundingRound.investors).selectinload(RoundInvestor.investor),
                    selectinload(FundingRound.articles).selectinload(RoundArticle.article),
                )
            )
            found.update((row.id, _round_record(row, [])) for row in session.scalars(query))
    return found


def round_texts(url: str, ids: Iterable[int]) -> dict[int, str]:
    """The titles and texts of the articles reporting each round, joined (for keyword matching)."""
    wanted = sorted(set(ids))
    texts: dict[int, list[str]] = {}
    with store_errors(), Session(reader_engine(url)) as session:
        for start in range(0, len(wanted), 500):
            query = (
                select(RoundArticle.round_id, Article.title, Article.text)
                .join(Article, Article.id == RoundArticle.article_id)
                .where(RoundArticle.round_id.in_(wanted[start : start + 500]))
            )
            for round_id, title, body in session.execute(query):
                texts.setdefault(round_id, []).extend([title or "", body or ""])
    return {round_id: "\n".join(parts) for round_id, parts in texts.items()}


def articles_per_source(url: str, *, since: dt.date | None = None) -> dict[str, int]:
    """How many stored articles each source gave (published since `since`); pages with no source as "-"."""
    query = (
        select(func.coalesce(Source.name, "-"), func.count(Article.id))
        .select_from(Article)
        .outerjoin(Source, Article.source_id == Source.id)
        .group_by(Source.name)
    )
    if since:
        query = query.where(Article.published >= since)
    with store_errors(), Session(reader_engine(url)) as session:
        return {name: count for name, count in session.execute(query)}


def list_articles(
    url: str, *, since: dt.date | None = None, source: str | None = None, limit: int | None = None
) -> list[ArticleRecord]:
    """Stored articles, newest first, each with the number of rounds found in it."""
    round_count = select(func.count(RoundArticle.id)).where(RoundArticle.article_id == Article.id).scalar_subquery()
    query = (
        select(Article, Source.name, round_count)
        .outerjoin(Source, Article.source_id == Source.id)
        .order_by(Article.published.desc().nulls_last(), Article.id.desc())
    )
    if since:
        query = query.where(Article.published >= since)
    if source:
        query = query.where(Source.name == source)
    if limit:
        query = query.limit(limit)
    with store_errors(), Session(reader_engine(url)) as session:
        return [
            ArticleRecord(
                url=a.url,
                source=name,
                title=a.title,
                author=a.author,
                published=a.published,
                date_source=a.date_source,
                language=a.language,
                rounds=count,
            )
            for a, name, count in session.execute(query)
        ]


def _round_query(filters: RoundFilters) -> Select[tuple[FundingRound]]:
    if filters.sort == "amount":
        size = func.coalesce(FundingRound.amount_usd, FundingRound.amount)
        query = select(FundingRound).order_by(size.desc().nulls_last(), FundingRound.announced.desc(), FundingRound.id)
    elif filters.sort == "announced":
        query = select(FundingRound).order_by(FundingRound.announced.desc().nulls_last(), FundingRound.id.desc())
    else:
        raise ValueError(f"unknown sort {filters.sort!r}: use announced or amount")
    if filters.ids is not None:
        query = query.where(FundingRound.id.in_(filters.ids))
    if filters.status:
        query = query.where(FundingRound.status == filters.status)
    if not filters.confirmed_rumors and filters.status != "rumored":
        query = query.where(FundingRound.confirmed_by.is_(None))
    if not filters.source:
        query = query.where(or_(FundingRound.filing.is_(False), FundingRound.filed_for.is_(None)))
    if filters.currency:
        query = query.where(FundingRound.currency == filters.currency.upper())
    if filters.since:
        query = query.where(FundingRound.announced >= filters.since)
    if filters.until:
        query = query.where(FundingRound.announced <= filters.until)
    if filters.company:
        query = query.where(FundingRound.company.ilike(_contains(filters.company), escape="\\"))
    if filters.round:
        query = query.where(FundingRound.round == filters.round)
    if filters.min_amount is not None:
        query = query.where(
            or_(
                FundingRound.amount_usd >= filters.min_amount,
                (FundingRound.amount_usd.is_(None)) & (FundingRound.amount >= filters.min_amount),
            )
        )
    if filters.investor:
        investors = (
            select(RoundInvestor.round_id)
            .join(Investor, Investor.id == RoundInvestor.investor_id)
            .where(Investor.name.ilike(_contains(filters.investor), escape="\\"))
        )
        if filters.lead_only:
            investors = investors.where(RoundInvestor.role == "lead")
        query = query.where(FundingRound.id.in_(investors))
    if filters.source:
        reported = (
            select(RoundArticle.round_id)
            .join(Article, Article.id == RoundArticle.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(Source.name == filters.source)
        )
        query = query.where(FundingRound.id.in_(reported))
    if filters.limit:
        query = query.limit(filters.limit)
    return query


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _round_record(
    row: FundingRound, rumor_sources: list[str], filings: list[dict[str, object]] | None = None
) -> RoundRecord:
    links = sorted(row.investors, key=lambda link: (link.role != "lead", link.position))
    articles = sorted(row.articles, key=lambda link: (link.article.published or dt.date.max, link.article.id))
    return RoundRecord(
        company=row.company,
        amount=row.amount,
        currency=row.currency,
        amount_usd=row.amount_usd,
        round=row.round,
        lead_investors=[link.investor.name for link in links if link.role == "lead"],
        investors=[link.investor.name for link in links],
        valuation=row.valuation,
        status=row.status,
        confidence=row.confidence,
        announced=row.announced,
        sources=[link.article.url for link in articles],
        id=row.id,
        outlets=len({link.article.outlet or outlet(link.article.url) for link in articles}),
        confirmed_by=row.confirmed_by,
        rumor_sources=rumor_sources,
        evidence={str(k): str(v) for k, v in (row.evidence or {}).items()} if isinstance(row.evidence, dict) else {},
        filing=bool(row.filing),
        filed_for=row.filed_for,
        filings=filings or [],
    )


def _number(value: float | None) -> float | int | None:
    """Whole amounts as integers, as in the ROUND interface (235000000, not 235000000.0)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


MATCH_START, MATCH_END = "\ue000", "\ue001"  # around matched words in snippets (private-use characters)


@dataclass(frozen=True)
class SearchHit:
    """One article found by `search_articles`, best first; `snippet` marks matches with MATCH_START/END."""

    url: str
    source: str | None
    title: str | None
    published: dt.date | None
    rank: float
    snippet: str

    def as_json(self) -> dict[str, object]:
        """The hit, its snippet's matches between ** (as Markdown bold)."""
        return {
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "published": self.published.isoformat() if self.published else None,
            "rank": round(self.rank, 3),
            "snippet": self.snippet.replace(MATCH_START, "**").replace(MATCH_END, "**"),
        }


def search_articles(
    url: str, query: str, *, since: dt.date | None = None, source: str | None = None, limit: int = 20
) -> list[SearchHit]:
    """Articles matching a full-text query over titles and texts, best first.

    On SQLite the FTS5 index answers (its query syntax: words, "a phrase", OR, NOT, prefix*; a title match
    weighs ten times a text match); on PostgreSQL its full-text search (words, "a phrase", or, -word; a title
    match weighs more), ranked in the database; elsewhere every word must appear, ranked by how often.

    Raises:
        StoreError: the query is malformed (one line), or the store cannot be read.
    """
    if not query.strip():
        raise StoreError('an empty search: give words or a "phrase"')
    with store_errors(), Session(reader_engine(url)) as session:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            return _fts_search(session, query, since, source, limit)
        if dialect == "postgresql":
            return _postgres_search(session, query, since, source, limit)
        return _like_search(session, query, since, source, limit)


_FTS_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')
_FTS_OPERATORS = frozenset(("AND", "OR", "NOT"))
_FTS_BARE = re.compile(r"\w+\*?")


def fts_query(query: str) -> str:
    """A query as people type it, made an FTS5 query: words with punctuation inside ("e-commerce", "U.S.",
    "salesforce.com", "AI/ML", "Face's", "$235M") become phrases of their words; "phrases", AND, OR, NOT,
    parentheses and prefix* keep their meaning; an operator with nothing on one side is dropped, an unbalanced
    quote or parenthesis is read as a space."""
    if query.count('"') % 2:
        query = query.replace('"', " ")
    if query.count("(") != query.count(")"):
        query = query.replace("(", " ").replace(")", " ")
    tokens = _FTS_TOKEN.findall(query)
    out: list[str] = []
    for n, token in enumerate(tokens):
        operand_before = bool(out) and out[-1] not in _FTS_OPERATORS and out[-1] != "("
        operand_after = n + 1 < len(tokens) and tokens[n + 1] not in _FTS_OPERATORS and tokens[n + 1] != ")"
        if token in _FTS_OPERATORS:
            if operand_before and operand_after:  # an operator with nothing on one side is dropped
                out.append(token)
        elif token in ("(", ")") or token.startswith('"') or _FTS_BARE.fullmatch(token):
            out.append(token)
        else:  # punctuation inside a word: the phrase of its words
            words = re.findall(r"\w+", token)
            if words:
                out.append('"' + " ".join(words) + '"')
    return " ".join(out)


def _fts_search(session: Session, query: str, since: dt.date | None, source: str | None, limit: int) -> list[SearchHit]:
    where = ["articles_fts MATCH :query"]
    matched = fts_query(query)
    if not matched.strip('"() '):
        raise StoreError(f'nothing to search for in {query!r}: give words or a "phrase"')
    params: dict[str, object] = {"query": matched, "limit": limit, "start": MATCH_START, "end": MATCH_END}
    if since:
        where.append("a.published >= :since")
        params["since"] = since.isoformat()
    if source:
        where.append("s.name = :source")
        params["source"] = source
    sql = text(
        "SELECT a.url, s.name, a.title, a.published, bm25(articles_fts, 10.0, 1.0) AS rank,"
        " snippet(articles_fts, 1, :start, :end, '…', 24) FROM articles_fts"
        " JOIN articles a ON a.id = articles_fts.rowid LEFT JOIN sources s ON s.id = a.source_id"
        f" WHERE {' AND '.join(where)} ORDER BY rank LIMIT :limit"
    )
    try:
        rows = session.execute(sql, params).all()
    except OperationalError as exc:
        raise StoreError(f"cannot search for {query!r}: {str(exc.orig).splitlines()[0]}") from None
    return [
        SearchHit(url, name, title, _day(published), -rank, snippet or "")
        for url, name, title, published, rank, snippet in rows
    ]


# PostgreSQL: the expression migration 0008 indexes (title weighs A, text B), and how many words a snippet has.
_PG_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, coalesce(a.title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(a.text, '')), 'B'))"
)


def _postgres_search(
    session: Session, query: str, since: dt.date | None, source: str | None, limit: int
) -> list[SearchHit]:
    """PostgreSQL's full-text search: `websearch_to_tsquery` (words, "a phrase", or, -word) against the indexed
    vector, ranked by `ts_rank` in the database before the limit, so the best match is never cut."""
    words = re.findall(r"\w+", query)
    if not words:
        raise StoreError(f"cannot search for {query!r}: no words in it")
    where = [f"{_PG_VECTOR} @@ q.query"]
    params: dict[str, object] = {"query": query, "limit": limit, "start": MATCH_START, "end": MATCH_END}
    if since:
        where.append("a.published >= :since")
        params["since"] = since
    if source:
        where.append("s.name = :source")
        params["source"] = source
    sql = text(
        "SELECT a.url, s.name, a.title, a.published, ts_rank(" + _PG_VECTOR + ", q.query) AS rank,"
        " ts_headline('simple'::regconfig, coalesce(a.text, ''), q.query,"
        " 'StartSel=' || :start || ', StopSel=' || :end || ', MaxWords=35, MinWords=15') AS snippet"
        " FROM articles a LEFT JOIN sources s ON s.id = a.source_id,"
        " websearch_to_tsquery('simple'::regconfig, :query) AS q(query)"
        f" WHERE {' AND '.join(where)} ORDER BY rank DESC, a.published DESC NULLS LAST LIMIT :limit"
    )
    rows = session.execute(sql, params).all()
    return [
        SearchHit(url, name, title, _day(published), float(rank), snippet or "")
        for url, name, title, published, rank, snippet in rows
    ]


def _like_search(
    session: Session, query: str, since: dt.date | None, source: str | None, limit: int
) -> list[SearchHit]:
    """Other databases: every word must appear (ILIKE); the matches, ordered newest first before the cut, are
    ranked by how often they name the words."""
    words = [w for w in re.findall(r"\w+", query.casefold()) if w]
    if not words:
        raise StoreError(f"cannot search for {query!r}: no words in it")
    found = select(Article, Source.name).outerjoin(Source, Article.source_id == Source.id)
    for word in words:
        pattern = _contains(word)
        found = found.where(or_(Article.title.ilike(pattern, escape="\\"), Article.text.ilike(pattern, escape="\\")))
    if since:
        found = found.where(Article.published >= since)
    if source:
        found = found.where(Source.name == source)
    hits = []
    for article, name in session.execute(found.order_by(Article.published.desc(), Article.id.desc()).limit(2000)):
        title, body = (article.title or "").casefold(), (article.text or "").casefold()
        rank = sum(10 * title.count(w) + body.count(w) for w in words)
        at = min((body.find(w) for w in words if w in body), default=0)
        excerpt = (article.text or "")[max(0, at - 80) : at + 160]
        for word in words:
            excerpt = re.sub(f"(?i)({re.escape(word)})", f"{MATCH_START}\\1{MATCH_END}", excerpt)
        hits.append(SearchHit(article.url, name, article.title, article.published, float(rank), excerpt))
    return sorted(hits, key=lambda hit: -hit.rank)[:limit]


def _day(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
