"""The audit log page for managers and admins; entries are written by `bot.audit`."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from bot.audit import AppendOnly, record
from bot.console.web import AUDITORS, bp, roles_required, services
from bot.models import AuditLog, Case

__all__ = ["AppendOnly", "record", "audit_log"]

PAGE = 100


@bp.get("/audit")
@roles_required(*AUDITORS)
def audit_log():
    """Show the audit log, newest first, a page at a time."""
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
