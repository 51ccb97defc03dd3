"""Outlets, reports, rumour links and listing validators.

- `articles.outlet`: the article's outlet (registrable domain), so a round counts outlets, not captures.
- `round_articles.reports`: what each article said of the round; the round is recomputed from them
  (filled here from the round as stored, for stores made before this revision).
- `funding_rounds.confirmed_by`: a rumoured round points at the announced round that confirms it (linked
  here for the rumours of stores made before this revision).
- `funding_rounds.name_stem` (indexed) and `last_reported`: how a report finds the rounds it may join.
- `listing_validators`: the ETag / Last-Modified of each feed and sitemap, for conditional requests.
- `crawl_runs.listings_unchanged`: how many feeds and sitemaps answered 304 Not Modified; `run_token` (how
  the scheduler finds the run its crawl process recorded) and `log_tail` (the end of a failed crawl's log).
- `run_locks`: one row per source being crawled, so two crawls of one source never run at once.
- `articles_fts` (SQLite): an FTS5 index of article titles and texts, kept in step by triggers.
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

# The merge rules the reports written here are read with (the live module, not a frozen copy).
from storage import merging

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_initial = importlib.import_module("storage.migrations.versions.0001_initial")


def _outlet(url: str) -> str:
    # A frozen copy of pipelines.urls.outlet as of this revision (migrations must not change with the code).
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        return extract_domain(url) or host
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
    op.add_column("funding_rounds", sa.Column("confirmed_by", sa.Integer()))
    op.create_index("ix_funding_rounds_confirmed_by", "funding_rounds", ["confirmed_by"])
    op.add_column("funding_rounds", sa.Column("name_stem", sa.String(16)))
    op.create_index("ix_funding_rounds_name_stem", "funding_rounds", ["name_stem"])
    op.add_column("funding_rounds", sa.Column("last_reported", sa.Date()))
    _fill_rounds(connection)
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
    op.add_column("crawl_runs", sa.Column("run_token", sa.String(64)))
    op.create_index("ix_crawl_runs_run_token", "crawl_runs", ["run_token"])
    op.add_column("crawl_runs", sa.Column("log_tail", sa.Text()))
    op.create_table(
        "run_locks",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("acquired", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.Text()),
    )
    op.execute(_view_sql(connection.dialect.name))
    if connection.dialect.name == "sqlite":
        for statement in FTS_SQLITE:
            op.execute(statement)
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


# Full-text search over titles and texts (SQLite FTS5, an external-content index kept in step by triggers).
FTS_SQLITE = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN"
    " INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN"
    " INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN"
    " INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);"
    " INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.drop_table("run_locks")
    op.drop_column("crawl_runs", "log_tail")
    op.drop_index("ix_crawl_runs_run_token", "crawl_runs")
    op.drop_column("crawl_runs", "run_token")
    op.drop_column("crawl_runs", "listings_unchanged")
    op.drop_table("listing_validators")
    op.drop_column("funding_rounds", "last_reported")
    op.drop_index("ix_funding_rounds_name_stem", "funding_rounds")
    op.drop_column("funding_rounds", "name_stem")
    op.drop_index("ix_funding_rounds_confirmed_by", "funding_rounds")
    op.drop_column("funding_rounds", "confirmed_by")
    op.drop_column("round_articles", "reports")
    op.drop_index("ix_articles_outlet", "articles")
    op.drop_column("articles", "outlet")
    op.execute(_initial._view_sql(op.get_bind().dialect.name))


def _fill_rounds(connection: sa.Connection) -> None:
    """For stores made before this revision: each link's report (the round as stored, at the article's URL),
    each round's name stem and last report date, and each rumour's confirming round."""
    investors: dict[int, list[tuple[str, str]]] = {}
    for round_id, name, role in connection.execute(
        sa.text(
            "SELECT ri.round_id, i.name, ri.role FROM round_investors ri JOIN investors i ON i.id = ri.investor_id"
            " ORDER BY ri.round_id, ri.position"
        )
    ):
        investors.setdefault(round_id, []).append((name, role))
    rows = connection.execute(
        sa.text(
            "SELECT ra.id, a.url, r.id, r.company, r.amount, r.currency, r.amount_usd, r.round, r.valuation,"
            " r.status, r.confidence, r.announced FROM round_articles ra"
            " JOIN funding_rounds r ON r.id = ra.round_id JOIN articles a ON a.id = ra.article_id"
        )
    ).all()
    reports: dict[int, list[dict]] = {}
    for link_id, url, round_id, *fields, announced in rows:
        report = dict(zip(_ROUND_FIELDS, fields, strict=True))
        report.update(evidence={}, url=url, announced=str(announced)[:10] if announced else "1970-01-01")
        report["lead_investors"] = [name for name, role in investors.get(round_id, []) if role == "lead"]
        report["investors"] = [name for name, _ in investors.get(round_id, [])]
        reports.setdefault(round_id, []).append(report)
        connection.execute(
            sa.text("UPDATE round_articles SET reports = :reports WHERE id = :id"),
            {"reports": json.dumps([report]), "id": link_id},
        )
    for round_id, company, announced in connection.execute(
        sa.text("SELECT id, company, announced FROM funding_rounds")
    ):
        connection.execute(
            sa.text("UPDATE funding_rounds SET name_stem = :stem, last_reported = :day WHERE id = :id"),
            {"stem": merging.name_stem(company), "day": announced, "id": round_id},
        )
    views = {round_id: merging.view(found) for round_id, found in reports.items()}
    for rumour_id, rumour in views.items():
        if rumour.status != "rumored":
            continue
        confirming = [
            (abs((v.announced - rumour.announced).days), i) for i, v in views.items() if merging.confirms(v, rumour)
        ]
        if confirming:
            connection.execute(
                sa.text("UPDATE funding_rounds SET confirmed_by = :by WHERE id = :id"),
                {"by": min(confirming)[1], "id": rumour_id},
            )


_ROUND_FIELDS = ("company", "amount", "currency", "amount_usd", "round", "valuation", "status", "confidence")


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
