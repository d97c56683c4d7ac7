"""a conversation's message rate kept on its own row (issue 20)

A turn locks and updates the conversation row anyway; counting the sender's messages in the
current minute on that row saves the turn a statement on `rate_counts` (which keeps the
counts that have no conversation: new web chat sessions per client address). The channels'
old per-minute rows there are dropped rather than copied: at worst a sender's count for the
minute of the upgrade starts again.

Revision ID: i20_turn_rate
Revises: i15_followup
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i20_turn_rate"
down_revision: str | Sequence[str] | None = "i15_followup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_window_start", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("rate_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rate_notified", sa.Boolean(), nullable=True))
    op.execute("DELETE FROM rate_counts WHERE kind IN (SELECT DISTINCT channel FROM "
               "conversations)")


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("rate_notified")
        batch_op.drop_column("rate_count")
        batch_op.drop_column("rate_window_start")
