"""PostgreSQL full-text search ranked in the database: a GIN index over the articles' weighted text (title A,
text B), which `newsmon search` matches with `websearch_to_tsquery` and orders by `ts_rank` before the limit
(SQLite has its FTS5 table from 0001). And `article_urls.fetched`: whether an article's page was fetched from
that very URL, so a page whose canonical link names another URL cannot pass for it (NULL on earlier rows).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The expression `storage.queries` searches with, word for word (PostgreSQL uses the index only then).
SEARCH_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(text, '')), 'B'))"
)


def upgrade() -> None:
    op.add_column("article_urls", sa.Column("fetched", sa.Boolean(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS articles_search ON articles USING gin ({SEARCH_VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS articles_search")
    op.drop_column("article_urls", "fetched")
