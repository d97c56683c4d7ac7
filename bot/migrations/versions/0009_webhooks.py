"""webhooks: find a case's earlier unsent outbox rows quickly, so events go out in order

Outbound webhook rows (target kind "webhook", bot/webhooks.py) are delivered in order per
receiving system and case: a row waits while an earlier one is unsent. This partial index
holds only unsent rows, so that check stays cheap however many rows were sent.

Revision ID: i18_webhooks
Revises: i19_subjects
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i18_webhooks"
down_revision: str | Sequence[str] | None = "i19_subjects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_unsent_by_case", "outbox", ["channel", "kind", "case_id", "id"],
                    postgresql_where=sa.text("status <> 'sent'"),
                    sqlite_where=sa.text("status <> 'sent'"))


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent_by_case", table_name="outbox")
