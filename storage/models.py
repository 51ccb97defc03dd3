"""SQLAlchemy 2.0 typed models of the store (DESIGN "Storage")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every newsmon table."""


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(Text)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)  # people only, "; "-separated
    credit: Mapped[str | None] = mapped_column(Text)  # organisations the byline names (site, publisher, agency)
    description: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(255), index=True)  # host without www.: one per outlet
    language: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    published: Mapped[dt.date | None] = mapped_column(Date, index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    date_source: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fetched: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # last fetched, changed or not

    source: Mapped[Source | None] = relationship()
    urls: Mapped[list[ArticleUrl]] = relationship(back_populates="article", cascade="all, delete-orphan")


class ArticleUrl(Base):
    """Every URL that leads to an article: the URLs its page was fetched from and each URL a feed or sitemap
    listed for it. `fetched`: the page was fetched from this very URL (after redirects); None on rows written
    before that was recorded (migration 0008)."""

    __tablename__ = "article_urls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    fetched: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    article: Mapped[Article] = relationship(back_populates="urls")


class FundingRound(Base):
    __tablename__ = "funding_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company: Mapped[str] = mapped_column(Text)
    company_key: Mapped[str] = mapped_column(String(300), index=True)
    name_stem: Mapped[str | None] = mapped_column(String(16), index=True)  # storage/merging.py name_stem
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    amount_usd: Mapped[float | None] = mapped_column(Float)
    round: Mapped[str | None] = mapped_column(String(32))
    valuation: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    announced: Mapped[dt.date | None] = mapped_column(Date, index=True)  # the first report's date
    last_reported: Mapped[dt.date | None] = mapped_column(Date)  # the last report's date
    evidence: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # A rumoured round points at the announced round that confirms it. Not a foreign key: adding one on SQLite
    # rebuilds the table under funding_rounds_view; storage/rounds.py clears it when that round goes.
    confirmed_by: Mapped[int | None] = mapped_column(Integer, index=True)
    # A round made by regulatory filings (SEC Form D); it points at the press round it documents (not a foreign
    # key either; storage/rounds.py keeps it current).
    filing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    filed_for: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # alerts look for changed rounds

    investors: Mapped[list[RoundInvestor]] = relationship(
        back_populates="funding_round", cascade="all, delete-orphan", order_by="RoundInvestor.position"
    )
    articles: Mapped[list[RoundArticle]] = relationship(back_populates="funding_round", cascade="all, delete-orphan")


class Investor(Base):
    __tablename__ = "investors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(300), unique=True)


class RoundInvestor(Base):
    __tablename__ = "round_investors"

    round_id: Mapped[int] = mapped_column(ForeignKey("funding_rounds.id", ondelete="CASCADE"), primary_key=True)
    investor_id: Mapped[int] = mapped_column(ForeignKey("investors.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | participant
    position: Mapped[int] = mapped_column(Integer)

    funding_round: Mapped[FundingRound] = relationship(back_populates="investors")
    investor: Mapped[Investor] = relationship()


class RoundArticle(Base):
    __tablename__ = "round_articles"
    __table_args__ = (UniqueConstraint("round_id", "article_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_rounds.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    # What this article said of the round (storage/merging.py REPORT dicts); the round is computed from them.
    reports: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    funding_round: Mapped[FundingRound] = relationship(back_populates="articles")
    article: Mapped[Article] = relationship()


Index("ix_round_articles_article_id", RoundArticle.article_id)


class CrawlRun(Base):
    """One run of one source's crawl: when, with what window, how it ended, and what it found."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    started: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # running ok partial failed blocked timeout interrupted abandoned
    mode: Mapped[str] = mapped_column(String(8), default="full", server_default="full")  # full | poll
    since: Mapped[dt.date | None] = mapped_column(Date)
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    articles_updated: Mapped[int] = mapped_column(Integer, default=0)
    rounds_new: Mapped[int] = mapped_column(Integer, default=0)
    rounds_merged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    listings_unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # answered 304
    listings_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 304s included
    # article pages fetched but not stored new or updated (unchanged, no article, outside the window, a failed
    # write); a page that could not be fetched is counted in `errors`, not here
    articles_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    host: Mapped[str | None] = mapped_column(String(255))  # the machine the crawl ran on
    job_id: Mapped[str | None] = mapped_column(String(128))  # the job that launched it (worker, Scrapyd), if any
    seed_version: Mapped[str | None] = mapped_column(String(64))  # SHA-256 prefix of the seed file it read
    error: Mapped[str | None] = mapped_column(Text)
    run_token: Mapped[str | None] = mapped_column(String(64), index=True)  # names the run to the scheduler
    log_tail: Mapped[str | None] = mapped_column(Text)  # the last lines of the crawl's log, when it went wrong


class RunLock(Base):
    """Who is crawling a source now: one row per running crawl, kept fresh by a heartbeat."""

    __tablename__ = "run_locks"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # the run token of the crawl holding it
    acquired: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    holder: Mapped[str | None] = mapped_column(Text)  # host and pid, for people


class ListingValidator(Base):
    """The validators a feed or sitemap last answered with, sent back as a conditional request next run."""

    __tablename__ = "listing_validators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    checked: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RobotsTxt(Base):
    """A host's robots.txt as last fetched (its status and body), which a poll reuses for up to a day."""

    __tablename__ = "robots_txt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AlertRule(Base):
    """An alert rule by name, and since when it watches: rounds stored before that never alert it."""

    __tablename__ = "alert_rules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the start of its last completed check


class AlertDelivery(Base):
    """One alert of one round to one channel of one rule: version 1 is the new round, later ones its updates."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("rule", "channel", "round_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100))
    # Not a foreign key: the record of what was sent outlives a round merged into another.
    round_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # new | update
    fingerprint: Mapped[str] = mapped_column(String(64))  # the round's amount, leads and valuation as sent
    summary: Mapped[str] = mapped_column(Text)  # the one line that was sent, for people reading the log
    status: Mapped[str] = mapped_column(String(12), index=True)  # sending | sent | failed | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_attempt: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def not_managed(name: str | None, type_: str, _parent_names: object) -> bool:
    """For Alembic's comparison: False for the full-text indexes no model maps (SQLite's `articles_fts*` tables,
    PostgreSQL's `articles_search` expression index)."""
    if type_ == "index" and name == "articles_search":
        return False
    return not (type_ == "table" and name is not None and name.startswith("articles_fts"))
