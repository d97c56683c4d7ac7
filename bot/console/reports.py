"""Aggregate figures for analysts and managers (13.x): counts only, never a person's details.

Only non-personal columns are read; no reference, date of a single case or free text
leaves this module. Viewing and exporting are audited.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

from flask import Response, render_template
from flask_login import current_user
from sqlalchemy import select

from bot.console import audit
from bot.console.web import ANALYSTS, bp, roles_required, services
from bot.intake import MONITORING
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


SUPPRESS_BELOW = 5
MONITORING_WINDOW = timedelta(days=365)


def monitoring_figures(session, vault, now=None) -> dict[str, dict[str, str]]:
    """Profile of victims of hate-related cases in the last 12 months (13.4).

    The answers are sealed with the personal fields, so each is opened here and only the
    counts leave this function; a count from 1 to 4 is shown as "fewer than 5" so that
    nobody in a small group can be identified.
    """
    since = (now or utcnow()) - MONITORING_WINDOW
    counts: dict[str, Counter] = {step: Counter() for step in sorted(MONITORING)
                                  if step != "monitoring_offer"}
    sealed = session.scalars(select(Case.details_enc).where(
        Case.hate_related.is_(True), Case.received_at >= since))
    for token in sealed:
        details = vault.open_json(token) or {}
        for step, counter in counts.items():
            counter[details.get(step, "not asked or skipped")] += 1
    return {
        step.removeprefix("monitoring_"): {
            value: str(n) if n >= SUPPRESS_BELOW else f"fewer than {SUPPRESS_BELOW}"
            for value, n in sorted(counter.items())
        }
        for step, counter in counts.items()
    }


def _sla(done, due, now) -> str:
    if done is not None:
        return "met" if done <= due else "missed"
    return "overdue" if due < now else "pending"


def _figures_audited(action: str):
    """Compute the figures and the victims' profile, recording who looked."""
    s = services()
    with s.db.write() as session:
        data = figures(session)
        profile = monitoring_figures(session, s.vault)
        audit.record(session, current_user.username, action)
    return data, profile


@bp.get("/reports")
@roles_required(*ANALYSTS)
def reports():
    """Show the aggregate figures."""
    data, profile = _figures_audited("figures_viewed")
    return render_template("console/reports.html", data=data, profile=profile)


@bp.get("/reports.csv")
@roles_required(*ANALYSTS)
def reports_csv():
    """Export the aggregate figures as CSV; audited."""
    data, profile = _figures_audited("figures_exported")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["measure", "value", "cases"])
    for measure, counts in data.items():
        for value, count in sorted(counts.items()):
            writer.writerow([measure, value, count])
    for measure, counts in profile.items():
        for value, count in counts.items():
            writer.writerow([f"victims_last_12_months_{measure}", value, count])
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="reportbot-figures.csv"'})
