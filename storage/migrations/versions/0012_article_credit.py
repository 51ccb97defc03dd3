"""`articles.credit`: the organisations an article's byline names (the site, its publisher, news agencies), kept
apart from `author`, which now holds people only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("credit", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("articles", "credit")
