"""`funding_rounds_view` shows why each round was detected: the sentence behind its company, amount, round type,
leads, investors, valuation and status (`company_evidence` ... `status_evidence`, from `funding_rounds.evidence`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_previous = importlib.import_module("storage.migrations.versions.0002_outlets_rumours_listings")

EVIDENCE_FIELDS = ("company", "amount", "round", "lead_investors", "investors", "valuation", "status")


def _view_sql(dialect: str) -> str:
    """The 0002 view plus one text column per evidence field."""
    if dialect == "postgresql":
        columns = ", ".join(f"r.evidence->>'{name}' AS {name}_evidence" for name in EVIDENCE_FIELDS)
    else:
        columns = ", ".join(f"json_extract(r.evidence, '$.{name}') AS {name}_evidence" for name in EVIDENCE_FIELDS)
    view = _previous._view_sql(dialect)
    anchor = ", r.confirmed_by\nFROM funding_rounds r"
    if anchor not in view:
        raise RuntimeError(f"revision 0002's view changed: {anchor!r} not found")
    return view.replace(anchor, f", r.confirmed_by, {columns}\nFROM funding_rounds r")


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.execute(_view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.execute(_previous._view_sql(op.get_bind().dialect.name))
