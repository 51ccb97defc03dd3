"""SQLAlchemy 2.0 typed models of the store (DESIGN "Storage")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every newsmon table."""


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2083), unique=True)
    fetched_url: Mapped[str] = mapped_column(String(2083), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    published: Mapped[dt.date | None] = mapped_column(Date, index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    date_source: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    source: Mapped[Source | None] = relationship()


class FundingRound(Base):
    __tablename__ = "funding_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company: Mapped[str] = mapped_column(String(300))
    company_key: Mapped[str] = mapped_column(String(300), index=True)
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    amount_usd: Mapped[float | None] = mapped_column(Float)
    round: Mapped[str | None] = mapped_column(String(32))
    valuation: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    announced: Mapped[dt.date | None] = mapped_column(Date, index=True)
    evidence: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    investors: Mapped[list[RoundInvestor]] = relationship(
        back_populates="funding_round", cascade="all, delete-orphan", order_by="RoundInvestor.position"
    )
    articles: Mapped[list[RoundArticle]] = relationship(back_populates="funding_round", cascade="all, delete-orphan")


class Investor(Base):
    __tablename__ = "investors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
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

    funding_round: Mapped[FundingRound] = relationship(back_populates="articles")
    article: Mapped[Article] = relationship()


Index("ix_round_articles_article_id", RoundArticle.article_id)
