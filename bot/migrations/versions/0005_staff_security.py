"""staff security: sign-in throttling table, password resets, API token scopes

Revision ID: i14_security
Revises: 0004_one_lease
Create Date: 2026-12-01 10:00:00.000000

Tokens made before scopes existed keep "queue cases": the queue and the case detail they
could already read, but not the personal details of sensitive cases (policy 8.3), which no
token should have had without being asked for. The per-account failure counter and lock
move to `login_throttle`, which also counts per client address and per trusted browser.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i14_security"
down_revision: str | Sequence[str] | None = "0004_one_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key_index", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("kind", "key_index", name=op.f("uq_login_throttle_kind")),
    )
    op.create_index(op.f("ix_login_throttle_last_attempt_at"), "login_throttle",
                    ["last_attempt_at"])
    # Plain ADD/DROP COLUMN (SQLite >= 3.35 does both natively); see 0002_console for why
    # not batch mode.
    op.add_column("staff_users", sa.Column("must_change_password", sa.Boolean(),
                                           nullable=False, server_default=sa.false()))
    op.add_column("staff_users", sa.Column("temp_password_expires_at",
                                           sa.DateTime(timezone=True), nullable=True))
    op.drop_column("staff_users", "locked_until")
    op.drop_column("staff_users", "failed_logins")
    op.add_column("api_tokens", sa.Column("scopes", sa.String(length=200), nullable=False,
                                          server_default="queue cases"))
    op.add_column("api_tokens", sa.Column("created_by", sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "created_by")
    op.drop_column("api_tokens", "scopes")
    op.add_column("staff_users", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                           server_default="0"))
    op.add_column("staff_users", sa.Column("locked_until", sa.DateTime(timezone=True),
                                           nullable=True))
    op.drop_column("staff_users", "temp_password_expires_at")
    op.drop_column("staff_users", "must_change_password")
    op.drop_index(op.f("ix_login_throttle_last_attempt_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
