"""Outlets, reports, rumour links and listing validators.

- `articles.outlet`: the article's outlet (registrable domain), so a round counts outlets, not captures.
- `round_articles.reports`: what each article said of the round; the round is recomputed from them
  (filled here from the round as stored, for stores made before this revision).
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
import json
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from courlan import extract_domain

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_initial = importlib.import_module("storage.migrations.versions.0001_initial")


def _outlet(url: str) -> str:
    # A frozen copy of pipelines.urls.outlet as of this revision (migrations must not change with the code).
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        return extract_domain(url, fast=True) or host
    except (ValueError, TypeError):
        return host


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.add_column("articles", sa.Column("outlet", sa.String(255)))
    op.create_index("ix_articles_outlet", "articles", ["outlet"])
    articles = sa.table("articles", sa.column("id", sa.Integer()), sa.column("url", sa.Text()), sa.column("outlet"))
    connection = op.get_bind()
    for article_id, url in connection.execute(sa.select(articles.c.id, articles.c.url)).all():
        connection.execute(articles.update().where(articles.c.id == article_id).values(outlet=_outlet(url)))
    op.add_column("round_articles", sa.Column("reports", sa.JSON()))
    _fill_reports(connection)
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
    op.drop_column("round_articles", "reports")
    op.drop_index("ix_articles_outlet", "articles")
    op.drop_column("articles", "outlet")
    op.execute(_initial._view_sql(op.get_bind().dialect.name))


def _fill_reports(connection: sa.Connection) -> None:
    """Each existing link's report: the round as it is stored, dated as stored, at the article's URL."""
    rows = connection.execute(
        sa.text(
            "SELECT ra.id, a.url, r.id, r.company, r.amount, r.currency, r.amount_usd, r.round, r.valuation,"
            " r.status, r.confidence, r.announced FROM round_articles ra"
            " JOIN funding_rounds r ON r.id = ra.round_id JOIN articles a ON a.id = ra.article_id"
        )
    ).all()
    for link_id, url, round_id, *fields, announced in rows:
        investors = connection.execute(
            sa.text(
                "SELECT i.name, ri.role FROM round_investors ri JOIN investors i ON i.id = ri.investor_id"
                " WHERE ri.round_id = :round ORDER BY ri.position"
            ),
            {"round": round_id},
        ).all()
        report = dict(zip(("company", "amount", "currency", "amount_usd", "round", "valuation"), fields, strict=False))
        report.update(status=fields[6], confidence=fields[7], evidence={}, url=url)
        report["announced"] = str(announced)[:10] if announced else "1970-01-01"
        report["lead_investors"] = [name for name, role in investors if role == "lead"]
        report["investors"] = [name for name, _ in investors]
        connection.execute(
            sa.text("UPDATE round_articles SET reports = :reports WHERE id = :id"),
            {"reports": json.dumps([report]), "id": link_id},
        )


def _view_sql(dialect: str) -> str:
    """The 0001 view plus the number of distinct outlets and the confirming round of a rumour."""
    outlets = (
        "(SELECT count(DISTINCT a.outlet) FROM round_articles ra JOIN articles a ON a.id = ra.article_id"
        " WHERE ra.round_id = r.id) AS outlet_count,"
    )
    view = _initial._view_sql(dialect)
    for old, new in (
        ("r.valuation, r.status, r.announced,", f"r.valuation, r.status, r.announced, {outlets}"),
        ("\nFROM funding_rounds r", ", r.confirmed_by\nFROM funding_rounds r"),
    ):
        if old not in view:
            raise RuntimeError(f"revision 0001's view changed: {old!r} not found")
        view = view.replace(old, new)
    return view
