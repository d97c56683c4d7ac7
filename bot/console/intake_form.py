"""Reports received by phone, in person or by post, entered by staff (3.3).

The result is the same kind of case as a chat report: the store gives it a reference and
its working-day deadlines, counted from when the report was received, not when it was typed.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from bot import notify
from bot.console import audit
from bot.console.forms import StaffReportForm
from bot.console.web import CASEWORK, bp, roles_required, services
from bot.intake import CaseDraft
from bot.models import utcnow

_PERSONAL = ("reporter_name", "narrative", "location", "contact_details", "safe_times")


def draft_from_form(form: StaffReportForm, signs=None) -> CaseDraft:
    """Build a case draft from the staff report form (`signs`: the prejudice-sign lists)."""
    strands = list(form.strands.data or [])
    perceived_by = list(form.perceived_by.data or [])
    if strands and not perceived_by:
        perceived_by = ["reporter"]
    anonymous = bool(form.anonymous.data)
    choices = {
        "reporter_role": form.reporter_role.data,
        "anonymous": "anonymous" if anonymous else "named",
        "incident_types": list(form.incident_types.data or []),
        "location_type": form.location_type.data,
        "perception": "yes" if strands else "not_sure",
        "strands": strands,
        "repair_needed": "yes" if form.repair_needed.data else "no",
        "immediate_danger": "yes" if form.immediate_danger.data else "no",
    }
    if perceived_by:
        choices["perceived_by"] = perceived_by
    if not anonymous:
        for name in ("contact_method", "leave_message"):
            if form[name].data:
                choices[name] = form[name].data
    personal = {name: form[name].data.strip() for name in _PERSONAL
                if form[name].data and form[name].data.strip()
                and not (anonymous and name in ("reporter_name", "contact_details"))}
    return CaseDraft(
        hate_related=bool(strands), strands=strands, perceived_by=perceived_by,
        # The narrative may be in any language: every enabled list is used.
        prejudice_indicators=signs.find(form.narrative.data) if signs is not None else [],
        reporter_role=form.reporter_role.data, anonymous=anonymous,
        incident_types=choices["incident_types"], location_type=form.location_type.data,
        immediate_danger=bool(form.immediate_danger.data),
        repair_needed=bool(form.repair_needed.data), preserve_evidence=None,
        choice_answers=choices, personal=personal, consents=[],
    )


@bp.route("/reports/new", methods=["GET", "POST"])
@roles_required(*CASEWORK)
def new_report():
    """Enter a report received by phone, in person or by post."""
    s = services()
    tz = ZoneInfo(s.org.timezone)
    form = StaffReportForm()
    if not form.is_submitted():
        form.received_at.data = utcnow().astimezone(tz).replace(second=0, microsecond=0,
                                                                tzinfo=None)
    if form.validate_on_submit():
        received = form.received_at.data.replace(tzinfo=tz).astimezone(UTC)
        if received > utcnow() + timedelta(minutes=5):
            flash("The time received cannot be in the future.", "error")
            return render_template("console/new_report.html", form=form), 400
        with s.db.write() as session:
            case = s.store.create(session, draft_from_form(form, s.signs),
                                  channel=form.channel.data,
                                  language="en", received_at=received,
                                  actor=current_user.username)
            s.store.record(session, case, "entered_by_staff", current_user.username,
                           channel=form.channel.data)
            audit.record(session, current_user.username, "report_entered", case,
                         channel=form.channel.data)
            notify.case_created(session, s, case)
            reference = case.reference
        flash(f"Report stored as case {reference}.", "info")
        return redirect(url_for("console.case_page", reference=reference))
    return render_template("console/new_report.html", form=form)
