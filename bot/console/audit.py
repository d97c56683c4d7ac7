"""The append-only audit log: every view of a case, every export and every staff action.

Rows are only ever inserted. The mapper refuses updates and deletes here, and database
triggers (migration 0002_console) refuse them from any other writer. `detail` carries codes
and ids only, never report content or contact details.
"""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.console.web import AUDITORS, bp, roles_required, services
from bot.models import AuditLog, Case, utcnow

PAGE = 100


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


@bp.get("/audit")
@roles_required(*AUDITORS)
def audit_log():
    """Show the audit log, newest first, a page at a time."""
    from flask_login import current_user

    s = services()
    before = request.args.get("before", type=int)
    with s.db.write() as session:
        query = (select(AuditLog, Case.reference).outerjoin(Case, Case.id == AuditLog.case_id)
                 .order_by(AuditLog.id.desc()).limit(PAGE))
        if before:
            query = query.where(AuditLog.id < before)
        rows = session.execute(query).all()
        record(session, current_user.username, "audit_log_viewed")
    return render_template("console/audit.html", rows=rows, timezone=s.org.timezone,
                           next_before=rows[-1][0].id if len(rows) == PAGE else None)
