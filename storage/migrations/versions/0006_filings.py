"""Rounds made by regulatory filings (SEC Form D) beside the press's: `funding_rounds.filing` marks them, and
`funding_rounds.filed_for` points a filing's round at the press round of the same company it documents (not a
foreign key, like `confirmed_by`: storage/rounds.py clears it when that round goes). `funding_rounds_view` gains
both columns, so plain SQL can leave documented filings out (`WHERE NOT filing OR filed_for IS NULL`). Stores
from earlier revisions hold no filing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_previous = importlib.import_module("storage.migrations.versions.0005_view_evidence")


def _view_sql(dialect: str) -> str:
    """The 0005 view plus `filing` and `filed_for`."""
    view = _previous._view_sql(dialect)
    anchor = ", r.confirmed_by, "
    if anchor not in view:
        raise RuntimeError(f"revision 0005's view changed: {anchor!r} not found")
    return view.replace(anchor, ", r.confirmed_by, r.filing, r.filed_for, ", 1)


def upgrade() -> None:
    op.add_column("funding_rounds", sa.Column("filing", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("funding_rounds", sa.Column("filed_for", sa.Integer()))
    op.create_index("ix_funding_rounds_filed_for", "funding_rounds", ["filed_for"])
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.execute(_view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    # the view goes first: SQLite checks it when a column is dropped (in place, SQLite 3.35+: no table rebuild)
    op.execute("DROP VIEW IF EXISTS funding_rounds_view")
    op.drop_index("ix_funding_rounds_filed_for", table_name="funding_rounds")
    op.drop_column("funding_rounds", "filed_for")
    op.drop_column("funding_rounds", "filing")
    op.execute(_previous._view_sql(op.get_bind().dialect.name))
