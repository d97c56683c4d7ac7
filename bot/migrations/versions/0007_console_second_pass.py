"""console second pass: areas, perpetrator profile, consent given to staff, staff evidence,
satisfaction surveys, anonymous profile counts, and what monitoring reads by date

Revision ID: i16_console
Revises: i13_details
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i16_console"
down_revision: str | Sequence[str] | None = "i13_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on `cases` (see 0002_console for why not batch mode).
    op.add_column("cases", sa.Column("area", sa.String(length=60), nullable=True))
    op.add_column("cases", sa.Column("perpetrator_enc", sa.LargeBinary(), nullable=True))
    op.add_column("cases", sa.Column("first_contact_hours", sa.Float(), nullable=True))
    op.create_index(op.f("ix_cases_area"), "cases", ["area"])
    # Monitoring reads a date range of cases; without this a year of a large table is a
    # full scan per figure.
    op.create_index(op.f("ix_cases_received_at"), "cases", ["received_at"])

    op.add_column("consents", sa.Column("given_to", sa.String(length=120), nullable=True))
    op.add_column("consents", sa.Column("method", sa.String(length=20), nullable=True))

    # Evidence a member of staff uploads for a report taken by phone, in person or by post
    # has no conversation.
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("conversation_id", existing_type=sa.Integer(), nullable=True)

    op.create_table(
        "satisfaction_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("report_again", sa.String(length=20), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("misunderstood", sa.Integer(), nullable=False),
        sa.CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
                           name=op.f("ck_satisfaction_surveys_score_range")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_satisfaction_surveys_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_satisfaction_surveys_conversation_id_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_surveys")),
        sa.UniqueConstraint("case_id", name=op.f("uq_satisfaction_surveys_case_id")),
    )
    op.create_index(op.f("ix_satisfaction_surveys_conversation_id"), "satisfaction_surveys",
                    ["conversation_id"])

    op.create_table(
        "profile_counts",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("hate_related", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "hate_related", "subject", "dimension", "value",
                                name=op.f("pk_profile_counts")),
    )


def downgrade() -> None:
    op.drop_table("profile_counts")
    op.drop_index(op.f("ix_satisfaction_surveys_conversation_id"),
                  table_name="satisfaction_surveys")
    op.drop_table("satisfaction_surveys")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("conversation_id", existing_type=sa.Integer(), nullable=False)
    op.drop_column("consents", "method")
    op.drop_column("consents", "given_to")
    op.drop_index(op.f("ix_cases_received_at"), table_name="cases")
    op.drop_index(op.f("ix_cases_area"), table_name="cases")
    for name in ("first_contact_hours", "perpetrator_enc", "area"):
        op.drop_column("cases", name)
