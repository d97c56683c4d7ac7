"""provider message ids and delivery status on outbox rows (issue 12)

Twilio's status callbacks name the message by its sid: the outbox keeps the id the
provider gave each message it sent (`provider_ref`, indexed to find the row), and the
latest delivery status reported for it, so a failure is recorded on the row it concerns.

Revision ID: i12_provider_events
Revises: i18_webhooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i12_provider_events"
down_revision: str | Sequence[str] | None = "i18_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_outbox_provider_ref", ["provider_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider_ref")
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("provider_ref")
