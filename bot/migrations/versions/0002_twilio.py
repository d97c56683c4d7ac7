"""twilio: per-sender message counts for the inbound rate limit

Revision ID: 0002_twilio
Revises: 0001_initial
Create Date: 2026-11-23 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_twilio"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sender_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_index", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_rates")),
        sa.UniqueConstraint("channel", "sender_index", "window_start",
                            name=op.f("uq_sender_rates_channel")),
    )
    op.create_index(op.f("ix_sender_rates_window_start"), "sender_rates", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sender_rates_window_start"), table_name="sender_rates")
    op.drop_table("sender_rates")
