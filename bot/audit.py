"""The append-only audit log: every view of a case, every export and every staff action.

Rows are only ever inserted. The mapper refuses updates and deletes here, and database
triggers (migration 0002_console) refuse them from any other writer. `detail` carries codes
and ids only, never report content or contact details. The console's page of the log is
`bot.console.audit`; the API records its reads here too.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.models import AuditLog, Case, utcnow


class AppendOnly(Exception):
    """Something tried to change or remove an audit entry."""


@event.listens_for(AuditLog, "before_update")
def _no_update(_mapper, _conn, _target) -> None:
    raise AppendOnly("the audit log is append-only")


@event.listens_for(AuditLog, "before_delete")
def _no_delete(_mapper, _conn, _target) -> None:
    raise AppendOnly("the audit log is append-only")


def record(session: Session, actor: str, action: str, case: Case | None = None,
           **detail) -> None:
    """Append who did what (and to which case) to the audit log."""
    session.add(AuditLog(at=utcnow(), actor=actor, action=action,
                         case_id=case.id if case is not None else None, detail=detail))
