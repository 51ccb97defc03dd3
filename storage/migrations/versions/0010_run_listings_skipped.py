"""`crawl_runs.listings_read` (feeds and sitemaps read, unchanged ones included) and `crawl_runs.articles_skipped`
(article pages fetched but not stored new or updated: unchanged, no article in them, outside the window, or a
failed write; a page that could not be fetched counts in `errors`), so a run's summary line and its row say the
same thing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("listings_read", "articles_skipped"):
        op.add_column("crawl_runs", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for name in ("articles_skipped", "listings_read"):
        op.drop_column("crawl_runs", name)
