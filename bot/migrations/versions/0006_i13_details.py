"""deadline rule and answer times on cases (issue 13)

Working-time deadlines replace the close-of-business rule. Existing cases keep the
deadlines they were given: this migration rewrites no deadline, it only labels the old
ones with the rule that set them. Answer times let details added after the
acknowledgement keep the time each one arrived.

Revision ID: i13_details
Revises: i14_security
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i13_details"
down_revision: str | Sequence[str] | None = "i14_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_rule", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("answer_times", sa.JSON(), nullable=True))
    op.execute("UPDATE cases SET deadline_rule = 'close_of_day' WHERE deadline_rule IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("answer_times")
        batch_op.drop_column("deadline_rule")
