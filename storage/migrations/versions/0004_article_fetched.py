"""When each article was last fetched (`articles.fetched`), so a crawl can tell an article its listing says
changed since (a newer `<lastmod>`) from one it already has: the first is fetched again, the second skipped.
Stores from earlier revisions start with it empty; their articles count as fetched when last updated.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("fetched", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("fetched")
