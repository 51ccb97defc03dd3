"""Writes to the store: idempotent upserts of an article and its funding rounds, in one transaction."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.engine import StoreError, store_errors, writer_engine
from storage.keys import name_key
from storage.models import (
    Article,
    ArticleUrl,
    CrawlRun,
    FundingRound,
    Investor,
    RoundArticle,
    RoundInvestor,
    Source,
)

if TYPE_CHECKING:
    from pipelines.extract import Article as ExtractedArticle

SaveOutcome = Literal["new", "updated", "unchanged"]

# Two reports are one round when they agree within these bounds (detection guide, "One round, several outlets").
MERGE_WINDOW_DAYS = 7
MERGE_AMOUNT_TOLERANCE = 0.10


@dataclass(frozen=True)
class SaveResult:
    """What `Store.save_article` did: the article's outcome and the rounds it created or joined."""

    outcome: SaveOutcome
    rounds_new: int = 0
    rounds_merged: int = 0


class Store:
    """The read-write store at one SQLAlchemy URL (schema migrated on open)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = writer_engine(url)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of canonical `urls` that lead to a stored article (its own URL or a listed one)."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        with store_errors(), Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(session.scalars(select(ArticleUrl.url).where(ArticleUrl.url.in_(chunk))))
        return found

    def save_article(
        self,
        article: ExtractedArticle,
        rounds: Sequence[dict[str, Any]],
        *,
        source: str | None,
        listed_url: str,
        source_title: str | None = None,
    ) -> SaveResult:
        """Upsert one article (keyed on its canonical URL) and its rounds, all or nothing.

        `listed_url` is the canonical form of the URL the feed or sitemap gave (before redirects); it is
        kept as one of the article's URLs, so the next crawl does not fetch a moved article again.
        An article whose text hash is unchanged keeps its rounds. A changed article has its round links
        rebuilt; rounds no article reports any more are removed.

        Raises:
            StoreError: the write failed; nothing of it was kept.
        """
        for attempt in (1, 2):
            try:
                with store_errors(), Session(self.engine) as session, session.begin():
                    return self._save(session, article, rounds, source, listed_url, source_title)
            except IntegrityError as exc:
                # Another writer inserted the same article, source or investor first (PostgreSQL, where
                # writers do not queue as on SQLite): the second attempt finds those rows and updates them.
                if attempt == 2:
                    raise StoreError(f"cannot write {article.url}: {exc.orig}") from None
        raise AssertionError("unreachable")

    def _save(
        self,
        session: Session,
        article: ExtractedArticle,
        rounds: Sequence[dict[str, Any]],
        source: str | None,
        listed_url: str,
        source_title: str | None,
    ) -> SaveResult:
        now = dt.datetime.now(dt.UTC)
        row = session.scalars(select(Article).where(Article.url == article.url)).one_or_none()
        if row is not None and row.content_hash == article.content_hash:
            _add_urls(session, row, listed_url)
            return SaveResult("unchanged")
        outcome: SaveOutcome = "updated" if row is not None else "new"
        source_row = _source(session, source, source_title) if source else None
        if row is None:
            row = Article(url=article.url, first_seen=now)
        row.source = source_row
        for name in ("title", "author", "description", "site_name", "language", "text", "content_hash"):
            setattr(row, name, getattr(article, name))
        row.tags = list(article.tags)
        row.published = article.published
        row.published_at = article.published_at
        row.date_source = article.date_source
        row.updated_at = now
        session.add(row)
        session.flush()
        _add_urls(session, row, article.url, listed_url)
        if outcome == "updated":
            _unlink_rounds(session, row.id)
        announced = article.published or now.date()
        created = merged = 0
        linked: list[FundingRound] = []
        for found in rounds:
            _lock_company(session, name_key(found["company"]))
            funding_round, is_new = _merge_round(session, found, announced, now)
            if not any(funding_round is other for other in linked):  # two reports in one article: one link
                session.add(RoundArticle(funding_round=funding_round, article_id=row.id))
                linked.append(funding_round)
            created += is_new
            merged += not is_new
        return SaveResult(outcome, created, merged)

    def start_run(self, source: str, since: dt.date | None) -> int:
        """Record that a crawl of `source` starts now; returns the run's id."""
        with store_errors(), Session(self.engine) as session, session.begin():
            run = CrawlRun(
                source=source,
                started=dt.datetime.now(dt.UTC),
                status="running",
                since=since,
                requests=0,
                articles_new=0,
                articles_updated=0,
                rounds_new=0,
                rounds_merged=0,
                errors=0,
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(
        self, run_id: int, status: str, *, finish_reason: str | None, counts: dict[str, int], error: str | None = None
    ) -> None:
        """Record how a run ended and what it counted (keys: the CrawlRun count columns)."""
        with store_errors(), Session(self.engine) as session, session.begin():
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise StoreError(f"no crawl run {run_id}")
            run.finished = dt.datetime.now(dt.UTC)
            run.status = status
            run.finish_reason = finish_reason
            run.error = error
            for name in _RUN_COUNTS:
                setattr(run, name, int(counts.get(name, 0)))

    def last_success(self, source: str) -> dt.datetime | None:
        """When the source's last successful (status ok) run started, or None."""
        with store_errors(), Session(self.engine) as session:
            return session.scalars(
                select(CrawlRun.started)
                .where(CrawlRun.source == source, CrawlRun.status == "ok")
                .order_by(CrawlRun.started.desc())
                .limit(1)
            ).first()


_RUN_COUNTS = ("requests", "articles_new", "articles_updated", "rounds_new", "rounds_merged", "errors")


def _add_urls(session: Session, article: Article, *urls: str) -> None:
    """Record URLs that lead to `article` (each URL leads to one article: the first one it led to)."""
    for url in dict.fromkeys(urls):
        if url and session.scalars(select(ArticleUrl.id).where(ArticleUrl.url == url)).first() is None:
            session.add(ArticleUrl(url=url, article=article))


def _lock_company(session: Session, key: str) -> None:
    """On PostgreSQL, serialise merges of one company's rounds across concurrent writers (SQLite's
    BEGIN IMMEDIATE already serialises all writers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(key.encode())})


def _source(session: Session, name: str, title: str | None) -> Source:
    row = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if row is None:
        row = Source(name=name, title=title)
        session.add(row)
    elif title and row.title != title:
        row.title = title
    return row


def _unlink_rounds(session: Session, article_id: int) -> None:
    """Drop an article's round links, and the rounds that no other article reports."""
    round_ids = session.scalars(select(RoundArticle.round_id).where(RoundArticle.article_id == article_id)).all()
    session.execute(delete(RoundArticle).where(RoundArticle.article_id == article_id))
    for round_id in round_ids:
        if session.scalars(select(RoundArticle.id).where(RoundArticle.round_id == round_id).limit(1)).first() is None:
            session.delete(session.get(FundingRound, round_id))
    session.flush()


def _merge_round(
    session: Session, found: dict[str, Any], announced: dt.date, now: dt.datetime
) -> tuple[FundingRound, bool]:
    """The stored round this report belongs to (fields filled in from it), or a new one."""
    key = name_key(found["company"])
    window = dt.timedelta(days=MERGE_WINDOW_DAYS)
    candidates = session.scalars(
        select(FundingRound)
        .where(FundingRound.company_key == key)
        .where(FundingRound.announced.between(announced - window, announced + window))
        .options(selectinload(FundingRound.investors))
        .order_by(FundingRound.id)
    ).all()
    for candidate in candidates:
        if _same_round(candidate, found):
            _fill(candidate, found, announced, now)
            _add_investors(session, candidate, found)
            return candidate, False
    row = FundingRound(
        company=found["company"],
        company_key=key,
        amount=found.get("amount"),
        currency=found.get("currency"),
        amount_usd=found.get("amount_usd"),
        round=found.get("round"),
        valuation=found.get("valuation"),
        status=found.get("status") or "announced",
        confidence=found.get("confidence"),
        announced=announced,
        evidence=dict(found.get("evidence") or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _add_investors(session, row, found)
    return row, True


def _same_round(row: FundingRound, found: dict[str, Any]) -> bool:
    if row.round and found.get("round") and row.round != found["round"]:
        return False
    if row.status != (found.get("status") or "announced"):
        return False
    if row.amount_usd and found.get("amount_usd"):
        ours, theirs = row.amount_usd, found["amount_usd"]
    elif row.amount and found.get("amount") and row.currency == found.get("currency"):
        ours, theirs = row.amount, found["amount"]
    else:
        return row.amount is None or found.get("amount") is None
    return abs(ours - theirs) <= MERGE_AMOUNT_TOLERANCE * max(ours, theirs)


def _fill(row: FundingRound, found: dict[str, Any], announced: dt.date, now: dt.datetime) -> None:
    """Complete a stored round with what another report adds; the earliest report dates it."""
    for name in ("amount", "currency", "amount_usd", "round", "valuation"):
        if getattr(row, name) is None and found.get(name) is not None:
            setattr(row, name, found[name])
    if row.announced is None or announced < row.announced:
        row.announced = announced
    row.confidence = max(row.confidence or 0.0, found.get("confidence") or 0.0)
    row.updated_at = now


def _add_investors(session: Session, row: FundingRound, found: dict[str, Any]) -> None:
    """Union the report's investors into the round; a lead in any report is a lead."""
    leads = {name_key(n) for n in found.get("lead_investors") or []}
    by_key = {link.investor.key: link for link in row.investors}
    names = list(found.get("lead_investors") or []) + list(found.get("investors") or [])
    for name in names:
        key = name_key(name)
        if not key:
            continue
        role = "lead" if key in leads else "participant"
        if key in by_key:
            if role == "lead":
                by_key[key].role = "lead"
            continue
        investor = session.scalars(select(Investor).where(Investor.key == key)).one_or_none()
        if investor is None:
            investor = Investor(name=name.strip(), key=key)
            session.add(investor)
        link = RoundInvestor(investor=investor, role=role, position=len(by_key))
        row.investors.append(link)
        by_key[key] = link
