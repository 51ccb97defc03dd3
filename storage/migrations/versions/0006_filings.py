"""Rounds made by regulatory filings (SEC Form D) beside the press's: `funding_rounds.filing` marks them, and
`funding_rounds.filed_for` points a filing's round at the press round of the same company it documents (not a
foreign key, like `confirmed_by`: storage/rounds.py clears it when that round goes). Stores from earlier
revisions hold no filing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("funding_rounds", sa.Column("filing", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("funding_rounds", sa.Column("filed_for", sa.Integer()))
    op.create_index("ix_funding_rounds_filed_for", "funding_rounds", ["filed_for"])


def downgrade() -> None:
    op.drop_index("ix_funding_rounds_filed_for", table_name="funding_rounds")
    with op.batch_alter_table("funding_rounds") as batch:
        batch.drop_column("filed_for")
        batch.drop_column("filing")
