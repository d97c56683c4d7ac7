"""dedup per conversation, and one rate counter table for every channel (issue 14)

A provider message id is unique within its conversation, not within its channel: a web
chat page chooses its own `client_id`, so a key shared across conversations would let one
session replay another's replies. The per-sender SMS counters become counts per
(kind, key) in windows of any length (`rate_counts`); the old rows are per-minute and
short-lived, so they are dropped rather than copied.

Revision ID: i14_channel_limits
Revises: i12_provider_events
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i14_channel_limits"
down_revision: str | Sequence[str] | None = "i12_provider_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbound_messages_channel", type_="unique")
        batch_op.create_unique_constraint("uq_inbound_messages_conversation_id",
                                          ["conversation_id", "message_key"])
    op.drop_index(op.f("ix_sender_rates_window_start"), table_name="sender_rates")
    op.drop_table("sender_rates")
    op.create_table(
        "rate_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key_index", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_counts")),
        sa.UniqueConstraint("kind", "key_index", "window_start",
                            name=op.f("uq_rate_counts_kind")),
    )
    op.create_index(op.f("ix_rate_counts_window_start"), "rate_counts", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_counts_window_start"), table_name="rate_counts")
    op.drop_table("rate_counts")
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
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbound_messages_conversation_id", type_="unique")
        batch_op.create_unique_constraint("uq_inbound_messages_channel",
                                          ["channel", "message_key"])
