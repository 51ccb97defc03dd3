"""Outlets, rumour links and listing validators.

- `articles.outlet`: the article's outlet (host without www.), so a round counts outlets, not captures.
- `funding_rounds.confirmed_by`: a rumoured round points at the announced round that confirmed it.
- `listing_validators`: the ETag / Last-Modified of each feed and sitemap, for conditional requests.
- `crawl_runs.listings_unchanged`: how many feeds and sitemaps answered 304 Not Modified.
- `funding_rounds_view` gains `outlet_count` and `confirmed_by`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_initial = importlib.import_module("storage.migrations.versions.0001_initial")


def _outlet(url: str) -> str:
    # A frozen copy of pipelines.urls.outlet as of this revision (migrations must not change with the code).
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.add_column("articles", sa.Column("outlet", sa.String(255)))
    op.create_index("ix_articles_outlet", "articles", ["outlet"])
    articles = sa.table("articles", sa.column("id", sa.Integer()), sa.column("url", sa.Text()), sa.column("outlet"))
    connection = op.get_bind()
    for article_id, url in connection.execute(sa.select(articles.c.id, articles.c.url)).all():
        connection.execute(articles.update().where(articles.c.id == article_id).values(outlet=_outlet(url)))
    op.add_column("funding_rounds", sa.Column("confirmed_by", sa.Integer()))
    op.create_index("ix_funding_rounds_confirmed_by", "funding_rounds", ["confirmed_by"])
    op.create_table(
        "listing_validators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("checked", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_listing_validators_source", "listing_validators", ["source"])
    op.add_column("crawl_runs", sa.Column("listings_unchanged", sa.Integer(), nullable=False, server_default="0"))
    op.execute(_view_sql(connection.dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.drop_column("crawl_runs", "listings_unchanged")
    op.drop_table("listing_validators")
    op.drop_index("ix_funding_rounds_confirmed_by", "funding_rounds")
    op.drop_column("funding_rounds", "confirmed_by")
    op.drop_index("ix_articles_outlet", "articles")
    op.drop_column("articles", "outlet")
    op.execute(_initial._view_sql(op.get_bind().dialect.name))


def _view_sql(dialect: str) -> str:
    """The 0001 view plus the number of distinct outlets and the confirming round of a rumour."""
    outlets = (
        "(SELECT count(DISTINCT a.outlet) FROM round_articles ra JOIN articles a ON a.id = ra.article_id"
        " WHERE ra.round_id = r.id) AS outlet_count,"
    )
    view = _initial._view_sql(dialect)
    view = view.replace("r.valuation, r.status, r.announced,", f"r.valuation, r.status, r.announced, {outlets}")
    return view.replace("\nFROM funding_rounds r", ", r.confirmed_by\nFROM funding_rounds r")
