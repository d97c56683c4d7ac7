"""retention and subject requests: cases.erased_at, subject identifiers, request register,
and indexes to find a resident's cases and queued messages (erasure, subject search)

Revision ID: i19_subjects
Revises: i16_console
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i19_subjects"
down_revision: str | Sequence[str] | None = "i16_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_conversation_id"), ["conversation_id"],
                              unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_conversation_id"), ["conversation_id"],
                              unique=False)
    op.create_table(
        "subject_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("value_index", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_subject_identifiers_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_identifiers")),
    )
    with op.batch_alter_table("subject_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_identifiers_case_id"), ["case_id"],
                              unique=False)
        batch_op.create_index("ix_subject_identifiers_lookup", ["kind", "value_index"],
                              unique=False)
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("identifier_kind", sa.String(length=20), nullable=False),
        sa.Column("ground", sa.String(length=40), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_requests")),
    )


def downgrade() -> None:
    op.drop_table("subject_requests")
    with op.batch_alter_table("subject_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_subject_identifiers_lookup")
        batch_op.drop_index(batch_op.f("ix_subject_identifiers_case_id"))
    op.drop_table("subject_identifiers")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_case_id"))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_conversation_id"))
        batch_op.drop_column("erased_at")
