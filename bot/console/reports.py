"""Aggregate figures for analysts and managers (13.x): counts only, never a person's details.

Only non-personal columns are read; no reference, date of a single case or free text
leaves this module. Viewing and exporting are audited.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from flask import Response, render_template
from flask_login import current_user
from sqlalchemy import select

from bot.console import audit
from bot.console.web import ANALYSTS, bp, roles_required, services
from bot.models import Case, utcnow


def figures(session, now=None) -> dict[str, Counter]:
    """Count cases by strand, incident type, channel, status, and deadline compliance."""
    now = now or utcnow()
    rows = session.execute(select(
        Case.strands, Case.incident_types, Case.channel, Case.status, Case.hate_related,
        Case.first_contact_at, Case.first_contact_due, Case.action_plan_at,
        Case.action_plan_due)).all()
    out: dict[str, Counter] = {name: Counter() for name in (
        "strand", "incident_type", "channel", "status", "hate_related", "first_contact",
        "action_plan")}
    for strands, types, channel, status, hate, fc_at, fc_due, ap_at, ap_due in rows:
        out["strand"].update(strands or ["none recorded"])
        out["incident_type"].update(types or ["none recorded"])
        out["channel"][channel] += 1
        out["status"][status] += 1
        out["hate_related"]["yes" if hate else "no"] += 1
        out["first_contact"][_sla(fc_at, fc_due, now)] += 1
        out["action_plan"][_sla(ap_at, ap_due, now)] += 1
    return out


def _sla(done, due, now) -> str:
    if done is not None:
        return "met" if done <= due else "missed"
    return "overdue" if due < now else "pending"


@bp.get("/reports")
@roles_required(*ANALYSTS)
def reports():
    """Show the aggregate figures."""
    s = services()
    with s.db.write() as session:
        data = figures(session)
        audit.record(session, current_user.username, "figures_viewed")
    return render_template("console/reports.html", data=data)


@bp.get("/reports.csv")
@roles_required(*ANALYSTS)
def reports_csv():
    """Export the aggregate figures as CSV; audited."""
    s = services()
    with s.db.write() as session:
        data = figures(session)
        audit.record(session, current_user.username, "figures_exported")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["measure", "value", "cases"])
    for measure, counts in data.items():
        for value, count in sorted(counts.items()):
            writer.writerow([measure, value, count])
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="reportbot-figures.csv"'})
