"""Initial schema: sources, articles and their URLs, funding rounds, investors, links, crawl runs, and the view.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text()),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id")),
        sa.Column("title", sa.Text()),
        sa.Column("author", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("site_name", sa.Text()),
        sa.Column("language", sa.String(8)),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("published", sa.Date()),
        sa.Column("published_at", _utc()),
        sa.Column("date_source", sa.String(16)),
        sa.Column("first_seen", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_published", "articles", ["published"])
    op.create_table(
        "article_urls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_article_urls_article_id", "article_urls", ["article_id"])
    op.create_table(
        "funding_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("company_key", sa.String(300), nullable=False),
        sa.Column("amount", sa.Float()),
        sa.Column("currency", sa.String(3)),
        sa.Column("amount_usd", sa.Float()),
        sa.Column("round", sa.String(32)),
        sa.Column("valuation", sa.Float()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float()),
        sa.Column("announced", sa.Date()),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    op.create_index("ix_funding_rounds_company_key", "funding_rounds", ["company_key"])
    op.create_index("ix_funding_rounds_announced", "funding_rounds", ["announced"])
    op.create_table(
        "investors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
    )
    op.create_table(
        "round_investors",
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("funding_rounds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("investor_id", sa.Integer(), sa.ForeignKey("investors.id"), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_round_investors_investor_id", "round_investors", ["investor_id"])
    op.create_table(
        "round_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("funding_rounds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("round_id", "article_id"),
    )
    op.create_index("ix_round_articles_article_id", "round_articles", ["article_id"])
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started", _utc(), nullable=False),
        sa.Column("finished", _utc()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", sa.Date()),
        sa.Column("finish_reason", sa.String(64)),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("articles_new", sa.Integer(), nullable=False),
        sa.Column("articles_updated", sa.Integer(), nullable=False),
        sa.Column("rounds_new", sa.Integer(), nullable=False),
        sa.Column("rounds_merged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_crawl_runs_source", "crawl_runs", ["source"])
    op.execute(_view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    for table in (
        "crawl_runs",
        "round_articles",
        "round_investors",
        "investors",
        "funding_rounds",
        "article_urls",
        "articles",
        "sources",
    ):
        op.drop_table(table)


def _view_sql(dialect: str) -> str:
    """One row per round for people who query with plain SQL; lists are '; '-separated in a stable order."""
    if dialect == "postgresql":
        names = "string_agg(i.name, '; ' ORDER BY ri.position)"
        urls = "string_agg(a.url, ' ' ORDER BY a.published, a.id)"
        investors = (
            "(SELECT {agg} FROM round_investors ri JOIN investors i ON i.id = ri.investor_id"
            " WHERE ri.round_id = r.id{role})"
        )
        sources = (
            f"(SELECT {urls} FROM round_articles ra JOIN articles a ON a.id = ra.article_id WHERE ra.round_id = r.id)"
        )
    else:  # SQLite has no ORDER BY inside group_concat before 3.44: aggregate an ordered subquery
        names = "group_concat(name, '; ')"
        investors = (
            "(SELECT {agg} FROM (SELECT i.name FROM round_investors ri JOIN investors i ON i.id = ri.investor_id"
            " WHERE ri.round_id = r.id{role} ORDER BY ri.position))"
        )
        sources = (
            "(SELECT group_concat(url, ' ') FROM (SELECT a.url FROM round_articles ra"
            " JOIN articles a ON a.id = ra.article_id WHERE ra.round_id = r.id ORDER BY a.published, a.id))"
        )
    leads = investors.format(agg=names, role=" AND ri.role = 'lead'")
    everyone = investors.format(agg=names, role="")
    return f"""
CREATE VIEW funding_rounds_view AS
SELECT r.id AS round_id, r.company, r.amount, r.currency, r.amount_usd, r.round,
       {leads} AS leads,
       {everyone} AS investors,
       r.valuation, r.status, r.announced,
       (SELECT count(*) FROM round_articles ra WHERE ra.round_id = r.id) AS source_count,
       {sources} AS sources
FROM funding_rounds r
"""
