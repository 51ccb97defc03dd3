"""Writes to the store: idempotent upserts of an article and its funding rounds, in one transaction."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pipelines.urls import outlet
from storage.engine import StoreError, store_errors, writer_engine
from storage.keys import name_key, name_tokens, same_company
from storage.models import (
    Article,
    ArticleUrl,
    CrawlRun,
    FundingRound,
    Investor,
    ListingValidator,
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
# A rumour is confirmed by an announcement of that company within this window and amount gap.
RUMOUR_WINDOW_DAYS = 90
RUMOUR_AMOUNT_TOLERANCE = 0.25


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
        row.outlet = outlet(article.url)
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
                listings_unchanged=0,
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        finish_reason: str | None,
        counts: dict[str, int],
        error: str | None = None,
        validators: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> None:
        """Record how a run ended and what it counted (keys: the CrawlRun count columns).

        `validators` (listing URL -> (ETag, Last-Modified)) are kept in the same transaction, for the next
        run's conditional requests; pass them only for a run that processed every listing it read.
        """
        with store_errors(), Session(self.engine) as session, session.begin():
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise StoreError(f"no crawl run {run_id}")
            for url, (etag, last_modified) in (validators or {}).items():
                row = session.scalars(select(ListingValidator).where(ListingValidator.url == url)).one_or_none()
                if row is None:
                    row = ListingValidator(url=url)
                    session.add(row)
                row.source, row.etag, row.last_modified = run.source, etag, last_modified
                row.checked = dt.datetime.now(dt.UTC)
            run.finished = dt.datetime.now(dt.UTC)
            run.status = status
            run.finish_reason = finish_reason
            run.error = error
            for name in _RUN_COUNTS:
                setattr(run, name, int(counts.get(name, 0)))

    def listing_validators(self, source: str) -> dict[str, tuple[str | None, str | None]]:
        """The (ETag, Last-Modified) each of the source's feeds and sitemaps last answered a good run with."""
        with store_errors(), Session(self.engine) as session:
            rows = session.scalars(select(ListingValidator).where(ListingValidator.source == source))
            return {row.url: (row.etag, row.last_modified) for row in rows}

    def last_success(self, source: str) -> dt.datetime | None:
        """When the source's last successful (status ok) run started, or None."""
        with store_errors(), Session(self.engine) as session:
            return session.scalars(
                select(CrawlRun.started)
                .where(CrawlRun.source == source, CrawlRun.status == "ok")
                .order_by(CrawlRun.started.desc())
                .limit(1)
            ).first()


_RUN_COUNTS = (
    "requests",
    "articles_new",
    "articles_updated",
    "rounds_new",
    "rounds_merged",
    "errors",
    "listings_unchanged",
)


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
            session.execute(update(FundingRound).where(FundingRound.confirmed_by == round_id).values(confirmed_by=None))
            session.delete(session.get(FundingRound, round_id))
    session.flush()


def _merge_round(
    session: Session, found: dict[str, Any], announced: dt.date, now: dt.datetime
) -> tuple[FundingRound, bool]:
    """The stored round this report belongs to (fields completed from it), or a new one.

    Reports merge only with rounds of the same status: a rumour is linked to the announcement that
    confirms it (`confirmed_by`), whichever of the two is stored first, and never changes it.
    """
    status = found.get("status") or "announced"
    for candidate in _rounds_of(session, found["company"], announced, MERGE_WINDOW_DAYS):
        if candidate.status == status and _same_round(candidate, found):
            _fill(candidate, found, announced, now)
            _add_investors(session, candidate, found)
            return candidate, False
    row = FundingRound(
        company=found["company"],
        company_key=name_key(found["company"]),
        amount=found.get("amount"),
        currency=found.get("currency"),
        amount_usd=found.get("amount_usd"),
        round=found.get("round"),
        valuation=found.get("valuation"),
        status=status,
        confidence=found.get("confidence"),
        announced=announced,
        evidence=dict(found.get("evidence") or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _add_investors(session, row, found)
    session.flush()
    _link_rumours(session, row)
    return row, True


def _rounds_of(session: Session, company: str, announced: dt.date, days: int) -> list[FundingRound]:
    """Stored rounds of `company` (same key, or a name one extends: "Mistral" ~ "Mistral AI") announced
    within `days` of `announced`."""
    key = name_key(company)
    tokens = name_tokens(company)
    # Names that extend one another share their first token; stored keys may keep a leading "the".
    prefixes = {tokens[0], "the" + tokens[0]} if tokens else {key}
    window = dt.timedelta(days=days)
    rows = session.scalars(
        select(FundingRound)
        .where(FundingRound.announced.between(announced - window, announced + window))
        .where(or_(*(FundingRound.company_key.like(_escape_like(p) + "%", escape="\\") for p in prefixes)))
        .options(selectinload(FundingRound.investors).selectinload(RoundInvestor.investor))
        .order_by(FundingRound.id)
    ).all()
    return [r for r in rows if r.company_key == key or same_company(r.company, company)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _same_round(row: FundingRound, found: dict[str, Any]) -> bool:
    """Two reports of one round: rounds equal or one unnamed, amounts within the tolerance or one undisclosed;
    when the names only extend one another, a shared amount or lead investor as well."""
    if row.round and found.get("round") and row.round != found["round"]:
        return False
    closeness = _amount_gap(row, found.get("amount"), found.get("currency"), found.get("amount_usd"))
    if closeness is not None and closeness > MERGE_AMOUNT_TOLERANCE:
        return False
    if row.company_key == name_key(found["company"]):
        return True
    leads = {name_key(n) for n in found.get("lead_investors") or []}
    shared_lead = any(link.role == "lead" and link.investor.key in leads for link in row.investors)
    return closeness is not None or shared_lead


def _amount_gap(
    row: FundingRound, amount: float | None, currency: str | None, amount_usd: float | None
) -> float | None:
    """The relative gap between the row's amount and another, or None when they cannot be compared."""
    if row.amount_usd and amount_usd:
        ours, theirs = row.amount_usd, amount_usd
    elif row.amount and amount and row.currency == currency:
        ours, theirs = row.amount, amount
    else:
        return None
    return abs(ours - theirs) / max(ours, theirs)


def _confirms(announced: FundingRound, rumour: FundingRound) -> bool:
    """An announced round confirms a rumour: nothing contradicts, and the round type or the amount agrees."""
    if abs((announced.announced - rumour.announced).days) > RUMOUR_WINDOW_DAYS:
        return False
    if announced.round and rumour.round and announced.round != rumour.round:
        return False
    gap = _amount_gap(announced, rumour.amount, rumour.currency, rumour.amount_usd)
    if gap is not None and gap > RUMOUR_AMOUNT_TOLERANCE:
        return False
    return gap is not None or bool(announced.round and announced.round == rumour.round)


def _link_rumours(session: Session, row: FundingRound) -> None:
    """Link a new announced round to the open rumours it confirms, or a new rumour to its confirmation."""
    others = [r for r in _rounds_of(session, row.company, row.announced, RUMOUR_WINDOW_DAYS) if r.id != row.id]
    if row.status == "announced":
        for rumour in others:
            if rumour.status == "rumored" and rumour.confirmed_by is None and _confirms(row, rumour):
                rumour.confirmed_by = row.id
        return
    confirmations = [r for r in others if r.status == "announced" and _confirms(r, row)]
    if confirmations:
        closest = min(confirmations, key=lambda r: (abs((r.announced - row.announced).days), r.id))
        row.confirmed_by = closest.id


def _significant_digits(amount: float) -> int:
    """How precisely an amount is stated: 1,250,000,000 has 3 significant digits, 1,200,000,000 has 2."""
    return len(f"{amount:.0f}".rstrip("0")) if amount >= 1 else 0


def _fill(row: FundingRound, found: dict[str, Any], announced: dt.date, now: dt.datetime) -> None:
    """Complete a stored round with what another report adds; the earliest report dates it, the most
    precise figure states its amount, and the fullest name names it (so any order gives the same row)."""
    for name in ("amount", "currency", "amount_usd", "round", "valuation"):
        if getattr(row, name) is None and found.get(name) is not None:
            setattr(row, name, found[name])
    theirs = found.get("amount")
    if row.amount and theirs and row.currency == found.get("currency"):
        if _significant_digits(theirs) > _significant_digits(row.amount):
            row.amount, row.amount_usd = theirs, found.get("amount_usd") or row.amount_usd
    name = found["company"]
    if (len(name_tokens(name)), name) > (len(name_tokens(row.company)), row.company):
        row.company, row.company_key = name, name_key(name)
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
