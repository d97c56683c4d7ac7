"""follow-up after the acknowledgement: diary entries, the case thread, follow-up codes and
the wrong-code counts, and the link from a case to the closed case it continues (issue 15)

Revision ID: i15_followup
Revises: i14_channel_limits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i15_followup"
down_revision: str | Sequence[str] | None = "i14_channel_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linked_case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_cases_linked_case_id_cases"), "cases",
                                    ["linked_case_id"], ["id"])
    op.create_table(
        "diary_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("strands", sa.JSON(), nullable=False),
        sa.Column("incident_types", sa.JSON(), nullable=False),
        sa.Column("location_type", sa.String(length=20), nullable=True),
        sa.Column("details_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_diary_entries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diary_entries")),
    )
    op.create_index(op.f("ix_diary_entries_case_id"), "diary_entries", ["case_id"])
    op.create_table(
        "case_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_messages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    op.create_index(op.f("ix_case_messages_case_id"), "case_messages", ["case_id"])
    op.create_table(
        "follow_up_codes",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_follow_up_codes_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_follow_up_codes")),
    )
    op.create_table(
        "follow_up_attempts",
        sa.Column("reference_index", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference_index", name=op.f("pk_follow_up_attempts")),
    )
    op.create_index(op.f("ix_follow_up_attempts_last_attempt_at"), "follow_up_attempts",
                    ["last_attempt_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_up_attempts_last_attempt_at"),
                  table_name="follow_up_attempts")
    op.drop_table("follow_up_attempts")
    op.drop_table("follow_up_codes")
    op.drop_index(op.f("ix_case_messages_case_id"), table_name="case_messages")
    op.drop_table("case_messages")
    op.drop_index(op.f("ix_diary_entries_case_id"), table_name="diary_entries")
    op.drop_table("diary_entries")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_linked_case_id_cases"),
                                 type_="foreignkey")
        batch_op.drop_column("linked_case_id")
