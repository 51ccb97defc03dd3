"""`funding_rounds_view` for people and for Datasette: leads, investors, sources and outlets as JSON arrays (one
value per investor, so a facet counts investors, not joined strings), and `evidence`, the sentence that announced
the round (its amount's sentence, else its company's), beside the per-field `*_evidence` columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_previous = importlib.import_module("storage.migrations.versions.0006_filings")

# The order `evidence` looks in, the same as storage.queries.main_evidence: the sentence with the money first.
EVIDENCE_ORDER = ("amount", "company", "lead_investors", "investors", "round", "valuation", "status")
EVIDENCE_FIELDS = ("company", "amount", "round", "lead_investors", "investors", "valuation", "status")

_INVESTORS = "FROM round_investors ri JOIN investors i ON i.id = ri.investor_id WHERE ri.round_id = r.id{role}"
_ARTICLES = "FROM round_articles ra JOIN articles a ON a.id = ra.article_id WHERE ra.round_id = r.id"


def _view_sql(dialect: str) -> str:
    """The view, written out whole for each dialect."""
    if dialect == "postgresql":

        def array(value: str, source: str, order: str) -> str:
            return f"COALESCE((SELECT json_agg({value} ORDER BY {order}) {source}), '[]'::json)"

        def field(name: str) -> str:
            return f"r.evidence->>'{name}'"

        outlets = f"COALESCE((SELECT json_agg(DISTINCT a.outlet) {_ARTICLES} AND a.outlet IS NOT NULL), '[]'::json)"
    else:

        def array(value: str, source: str, order: str) -> str:
            return f"(SELECT json_group_array(value) FROM (SELECT {value} AS value {source} ORDER BY {order}))"

        def field(name: str) -> str:
            return f"json_extract(r.evidence, '$.{name}')"

        outlets = (
            "(SELECT json_group_array(value) FROM (SELECT DISTINCT a.outlet AS value "
            f"{_ARTICLES} AND a.outlet IS NOT NULL ORDER BY a.outlet))"
        )
    leads = array("i.name", _INVESTORS.format(role=" AND ri.role = 'lead'"), "ri.position")
    investors = array("i.name", _INVESTORS.format(role=""), "ri.position")
    sources = array("a.url", _ARTICLES, "a.published, a.id")
    # an empty sentence is none, as storage.queries.main_evidence reads it
    evidence = "COALESCE(" + ", ".join(f"NULLIF({field(name)}, '')" for name in EVIDENCE_ORDER) + ")"
    per_field = ", ".join(f"{field(name)} AS {name}_evidence" for name in EVIDENCE_FIELDS)
    return f"""
CREATE VIEW funding_rounds_view AS
SELECT r.id AS round_id, r.company, r.amount, r.currency, r.amount_usd, r.round,
       {leads} AS leads,
       {investors} AS investors,
       r.valuation, r.status, r.announced,
       {evidence} AS evidence,
       {sources} AS sources,
       {outlets} AS outlets,
       (SELECT count(DISTINCT a.outlet) {_ARTICLES}) AS outlet_count,
       (SELECT count(*) FROM round_articles ra WHERE ra.round_id = r.id) AS source_count,
       r.confirmed_by, r.filing, r.filed_for, {per_field}
FROM funding_rounds r
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.execute(_view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.execute(_previous._view_sql(op.get_bind().dialect.name))
