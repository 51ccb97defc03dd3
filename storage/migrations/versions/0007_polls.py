"""Feed-only polls beside the nightly runs: `crawl_runs.mode` says which a run was ("full" or "poll"; a store's
earlier runs were all full), and `robots_txt` keeps each host's robots.txt as last fetched, which a poll reuses
for up to a day (RFC 9309 section 2.4) instead of asking for it every few minutes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawl_runs", sa.Column("mode", sa.String(8), nullable=False, server_default="full"))
    op.create_table(
        "robots_txt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("robots_txt")
    op.drop_column("crawl_runs", "mode")  # SQLite 3.35+ drops it in place (no table rebuild under the view)
