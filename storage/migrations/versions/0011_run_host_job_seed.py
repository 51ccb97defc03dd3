"""Where each crawl ran and from what: `crawl_runs.host` (the machine's name), `crawl_runs.job_id` (the job that
launched it: a worker's queue job, Scrapyd's job id) and `crawl_runs.seed_version` (the first 12 hex digits of the
SHA-256 of the seed file it read), for stores shared by several crawl hosts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_COLUMNS = (("host", 255), ("job_id", 128), ("seed_version", 64))


def upgrade() -> None:
    for name, length in _COLUMNS:
        op.add_column("crawl_runs", sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("crawl_runs", name)
