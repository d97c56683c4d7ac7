"""telegram: per-chat bookkeeping, delivered message parts, polling offset

Revision ID: 0002_telegram
Revises: 0001_initial
Create Date: 2026-11-23 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_telegram"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_chats",
        sa.Column("chat_index", sa.String(length=64), nullable=False),
        sa.Column("last_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_unanswered", sa.Boolean(), nullable=False),
        sa.Column("keyboard_message_id", sa.BigInteger(), nullable=True),
        sa.Column("keyboard_step", sa.String(length=64), nullable=True),
        sa.Column("selected_enc", sa.LargeBinary(), nullable=True),
        sa.Column("last_update_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_index", name=op.f("pk_telegram_chats")),
    )
    op.create_table(
        "telegram_deliveries",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_telegram_deliveries_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("outbox_id", "part", name=op.f("pk_telegram_deliveries")),
    )
    op.create_table(
        "telegram_cursors",
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_telegram_cursors")),
    )


def downgrade() -> None:
    op.drop_table("telegram_cursors")
    op.drop_table("telegram_deliveries")
    op.drop_table("telegram_chats")
