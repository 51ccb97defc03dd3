"""Alerts: the rules being watched and every delivery of a round to a rule's channel.

- `alert_rules`: each rule by name, with when it started watching (older rounds never alert it) and when it
  was last checked.
- `alert_deliveries`: one row per round, rule, channel and version (1: the new round; 2, 3...: its material
  updates), with its status (sending, sent, failed, dropped), attempts and last error, so a failed delivery is
  retried by the next run and a sent one is never sent again.
- `funding_rounds.updated_at` is indexed: an alert run reads the rounds changed since its last check.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt", sa.DateTime(timezone=True)),
        sa.Column("sent", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("rule", "channel", "round_id", "version"),
    )
    op.create_index("ix_alert_deliveries_round_id", "alert_deliveries", ["round_id"])
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status"])
    op.create_index("ix_funding_rounds_updated_at", "funding_rounds", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_funding_rounds_updated_at", "funding_rounds")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_rules")
