"""one lease for every work table: outbox parts for any provider, one set of evidence statuses

The outbox leases rows through `next_attempt_at`, as evidence fetching does, so its
`claimed_until` column goes. Parts of multi-part messages are recorded for any provider
(`outbox_parts`, was `telegram_deliveries`). Evidence refused for its size is "rejected",
as evidence refused for its type always was.

Revision ID: 0004_one_lease
Revises: 0003_merge
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_one_lease"
down_revision: str | Sequence[str] | None = "0003_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_parts",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_outbox_parts_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("outbox_id", "part", name=op.f("pk_outbox_parts")),
    )
    op.execute("INSERT INTO outbox_parts (outbox_id, part, provider_message_id, sent_at) "
               "SELECT outbox_id, part, telegram_message_id, sent_at FROM telegram_deliveries")
    op.drop_table("telegram_deliveries")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
    op.execute("UPDATE evidence SET status = 'rejected' WHERE status = 'too_large'")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
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
    op.execute("INSERT INTO telegram_deliveries (outbox_id, part, telegram_message_id, "
               "sent_at) SELECT outbox_id, part, provider_message_id, sent_at FROM "
               "outbox_parts")
    op.drop_table("outbox_parts")
