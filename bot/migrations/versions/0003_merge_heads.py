"""merge the console, Twilio and Telegram heads into one line of history

Revision ID: 0003_merge
Revises: 0002_console, 0002_telegram, 0002_twilio
"""

from collections.abc import Sequence

revision: str = "0003_merge"
down_revision: str | Sequence[str] | None = ("0002_console", "0002_telegram", "0002_twilio")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this only joins the three branches."""


def downgrade() -> None:
    """Nothing to change: this only joins the three branches."""
