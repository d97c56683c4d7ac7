"""INSERT … ON CONFLICT for whichever engine a session is bound to.

SQLAlchemy's conflict clauses live in the dialects (`postgresql.insert`, `sqlite.insert`);
this picks the right one, so every "insert once" and "count up" in the application is
written the same way on both engines.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(session: Session, model):
    """Return an INSERT for `model` that supports `on_conflict_do_*` on this engine."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
