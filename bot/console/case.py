"""The case page: answers, evidence, timeline, and the officer's actions (each a POST).

Every view of a case and every evidence download is audited. A sensitive case (8.3) shows
its personal details only to its assigned officer and to managers; others see the
reference, status and deadlines.
"""

from __future__ import annotations

import secrets
from datetime import UTC
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import filetypes
from bot.console import audit, casework, forms, messaging, threads, wording
from bot.console.permissions import actions_for
from bot.console.queue import summary
from bot.console.web import (
    CASEWORK,
    CLOSERS,
    MANAGERS,
    bp,
    can_see_full,
    officer_translator,
    reply_channels,
    roles_required,
    time_left,
)
from bot.console.web import services as _services
from bot.errors import PriorityDowngradeRefused
from bot.models import Case, CaseNote, Evidence, StaffUser, utcnow
from bot.profiles import PERPETRATOR_FIELDS
from flows import places


def _case(session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        abort(404)
    return case


def _local_to_utc(naive):
    return naive.replace(tzinfo=ZoneInfo(_services().org.timezone)).astimezone(UTC)


def _forms(case: Case, perpetrator: dict) -> dict:
    s = _services()
    now_local = utcnow().astimezone(ZoneInfo(s.org.timezone)).replace(
        second=0, microsecond=0, tzinfo=None)
    first = forms.FirstContactForm(prefix="fc", when=now_local,
                                   by=current_user.display_name)
    message = forms.MessageForm(prefix="msg", nonce=secrets.token_hex(16))
    message.template.choices = forms.choices(messaging.TEMPLATE_NAMES.items())
    priority = forms.PriorityForm(prefix="prio", priority=case.priority)
    # Only what may be chosen: a hate-related case is never lowered (4.11).
    priority.priority.choices = forms.allowed_priorities(case.hate_related)
    area = forms.AreaForm(prefix="area", area=case.area or "")
    area.area.choices = forms.choices([("", "Not set"), *((a.name, a.name)
                                                          for a in s.org.areas)])
    return {
        "first": first,
        "plan": forms.ActionPlanForm(prefix="ap", when=now_local),
        "note": forms.NoteForm(prefix="note"),
        "hate": forms.HateForm(prefix="hate"),
        "priority": priority,
        "flags": forms.FlagsForm(prefix="flags", obj=case),
        "close": forms.CloseForm(prefix="close"),
        "assign": forms.AssignForm(prefix="assign"),
        "repair": forms.RepairForm(prefix="repair"),
        "area": area,
        "perpetrator": forms.PerpetratorForm(prefix="perp", data=perpetrator),
        "message": message,
    }


def repair_asked(case: Case) -> bool:
    """Return whether the reporter asked for (or was unsure about) a repair (4.8)."""
    return bool(case.repair_needed) or (case.answers or {}).get("repair_needed") in (
        "yes", "not_sure")


@bp.get("/cases/<reference>")
@roles_required(*CASEWORK)
def case_page(reference: str):
    """Show a case: what to do next first, then the report; audited.

    A sensitive case that is not yours (8.3) shows only its outline.
    """
    s = _services()
    now = utcnow()
    t = officer_translator()
    perpetrator: dict = {}
    with s.db.write() as session:
        case = _case(session, reference)
        full = can_see_full(current_user, case)
        audit.record(session, current_user.username, "case_viewed", case,
                     full=full)
        context = {"case": case, "full": full, "timezone": s.org.timezone,
                   "left": time_left(s.calendar, now, case), "events": list(case.events),
                   "summary": summary(case, t),
                   "strand_labels": ", ".join(wording.labels_of("strands", case.strands, t))}
        if full:
            details = s.store.details(case)
            conversation = casework.conversation_of(session, case)
            perpetrator = s.vault.open_json(case.perpetrator_enc) or {}
            evidence = session.scalars(select(Evidence).where(
                Evidence.case_id == case.id).order_by(Evidence.id)).all()
            context.update(
                # In staff wording and the officer's own language (their browser's); free
                # text as the resident wrote it. Equality monitoring answers are not shown
                # here: residents were told they do not change how their report is dealt
                # with.
                answers=wording.report_answers(
                    case.answers or {}, details, case.received_at, s.org.timezone, t,
                    steps=s.flow.steps,
                    leave_out=frozenset(step.id for step in s.flow.steps
                                        if step.section == "monitoring")),
                evidence=evidence,
                shared_places=_shared_places(s.vault, evidence),
                notes=[(n, s.vault.open_text(n.text_enc)) for n in session.scalars(
                    select(CaseNote).where(CaseNote.case_id == case.id)
                    .order_by(CaseNote.id))],
                reach=messaging.reachability(case, conversation, details,
                                             reply_channels()),
                closure_reason=s.vault.open_text(case.closure_reason_enc),
                **threads.case_context(session, s, case),
                consents=list(case.consents),
            )
        staff = session.scalars(select(StaffUser.username).where(
            StaffUser.active.is_(True), StaffUser.role.in_(CASEWORK))
            .order_by(StaffUser.username)).all()
    f = _forms(case, perpetrator)
    f["assign"].assignee.choices = forms.choices((u, u) for u in staff)
    can = actions_for(current_user, case)
    return render_template("console/case.html", f=f, can=can, can_close=can.close,
                           is_manager=current_user.role in MANAGERS,
                           repair_asked=repair_asked(case), areas=s.org.areas, **context)


def _shared_places(vault, evidence) -> dict[int, dict]:
    """Return the locations the resident shared, by evidence id, in words and as links."""
    shown = {}
    for item in evidence:
        if item.content_type == places.GEOJSON_TYPE and item.data_enc is not None:
            place = places.from_geojson(vault.open(item.data_enc))
            if place is not None:
                shown[item.id] = {"text": places.describe(place),
                                  "links": places.links(place)}
    return shown


@bp.get("/cases/<reference>/evidence/<int:evidence_id>")
@roles_required(*CASEWORK)
def evidence_file(reference: str, evidence_id: int):
    """Download one evidence file as an attachment; audited."""
    s = _services()
    with s.db.write() as session:
        case = _case(session, reference)
        if not can_see_full(current_user, case):
            abort(403)
        item = session.get(Evidence, evidence_id)
        if item is None or item.case_id != case.id or item.data_enc is None:
            abort(404)
        audit.record(session, current_user.username, "evidence_downloaded", case,
                     evidence_id=item.id)
        data = s.vault.open(item.data_enc)
    content_type = (item.content_type or "").lower()
    if content_type == places.GEOJSON_TYPE:
        # A shared location, written by us (never a resident's file).
        name = f"{filetypes.download_name(reference, item.id, '')[:-4]}.geojson"
    else:
        if content_type not in filetypes.ALLOWED:
            content_type = "application/octet-stream"
        name = filetypes.download_name(reference, item.id, content_type)
    return Response(data, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    })


# ---- actions ------------------------------------------------------------------------------

def _act(reference: str, form, apply, done: str, roles=CASEWORK):
    """Validate `form`, run `apply(session, case)` in one transaction, and go back."""
    if current_user.role not in roles:
        abort(403)
    s = _services()
    # Refuse before looking at the form, so a sensitive case answers 403 to anyone who may
    # not act on it, whatever they posted; checked again below, inside the change.
    with s.db.read() as session:
        if not can_see_full(current_user, _case(session, reference)):
            abort(403)
    if not form.validate_on_submit():
        errors = "; ".join(f"{form[name].label.text}: {' '.join(msgs)}"
                           for name, msgs in form.errors.items() if name in form)
        flash(f"Not saved. {errors or 'Please check the form.'}", "error")
        return redirect(url_for("console.case_page", reference=reference))
    try:
        with s.db.write() as session:
            case = _case(session, reference)
            if not can_see_full(current_user, case):
                abort(403)
            message = apply(session, case) or done
    except (casework.ActionRefused, PriorityDowngradeRefused) as exc:
        _refused(reference, exc)
    else:
        flash(message, "info")
    return redirect(url_for("console.case_page", reference=reference))


def _refused(reference: str, exc: Exception) -> None:
    """Tell the officer why, and log the refused attempt (the action itself rolled back)."""
    action = request.endpoint.rsplit(".", 1)[-1]
    s = _services()
    with s.db.write() as session:
        case = _case(session, reference)
        if isinstance(exc, PriorityDowngradeRefused):
            s.store.record(session, case, "priority_downgrade_refused", _me(),
                           requested=exc.requested)
            flash(f"Refused: this case is hate-related, so it stays high priority. A "
                  f"hate-related case is never lowered to {exc.requested} priority (policy "
                  "4.11).", "error")
        else:
            flash(str(exc), "error")
        audit.record(session, _me(), f"{action}_refused", case)


def _me() -> str:
    return current_user.username


@bp.post("/cases/<reference>/first-contact")
@roles_required(*CASEWORK)
def first_contact(reference: str):
    """Record the first interview or visit (4.3)."""
    form = forms.FirstContactForm(prefix="fc")
    return _act(reference, form, lambda session, case: casework.record_first_contact(
        session, _services(), case, _me(), _local_to_utc(form.when.data), form.how.data,
        form.by.data.strip()), "First contact recorded.")


@bp.post("/cases/<reference>/action-plan")
@roles_required(*CASEWORK)
def action_plan(reference: str):
    """Record the action plan agreed and signed (4.4)."""
    form = forms.ActionPlanForm(prefix="ap")
    return _act(reference, form, lambda session, case: casework.record_action_plan(
        session, _services(), case, _me(), _local_to_utc(form.when.data)),
        "Action plan recorded.")


@bp.post("/cases/<reference>/note")
@roles_required(*CASEWORK)
def note(reference: str):
    """Add a note or update."""
    form = forms.NoteForm(prefix="note")
    return _act(reference, form, lambda session, case: casework.add_note(
        session, _services(), case, _me(), form.text.data.strip()), "Note added.")


@bp.post("/cases/<reference>/hate-related")
@roles_required(*CASEWORK)
def hate_related(reference: str):
    """Mark the case as hate-related, with strands and who perceives it (2.1)."""
    form = forms.HateForm(prefix="hate")
    return _act(reference, form, lambda session, case: casework.mark_hate_related(
        session, _services(), case, _me(), form.strands.data, form.perceived_by.data),
        "Marked as hate-related: high priority.")


@bp.post("/cases/<reference>/priority")
@roles_required(*CASEWORK)
def priority(reference: str):
    """Change the priority (never below high for a hate-related case)."""
    form = forms.PriorityForm(prefix="prio")
    return _act(reference, form, lambda session, case: casework.set_priority(
        session, _services(), case, _me(), form.priority.data), "Priority saved.")


@bp.post("/cases/<reference>/flags")
@roles_required(*CASEWORK)
def flags(reference: str):
    """Set the vulnerability and sensitivity flags."""
    form = forms.FlagsForm(prefix="flags")
    return _act(reference, form, lambda session, case: casework.set_flags(
        session, _services(), case, _me(), current_user.role,
        vulnerable_victim=form.vulnerable_victim.data,
        vulnerable_perpetrator=form.vulnerable_perpetrator.data,
        sensitive=form.sensitive.data), "Flags saved.")


@bp.post("/cases/<reference>/repair")
@roles_required(*CASEWORK)
def repair(reference: str):
    """Raise an urgent repair request with the location only (4.8)."""
    form = forms.RepairForm(prefix="repair")

    def apply(session, case):
        if casework.raise_urgent_repair(session, _services(), case, _me()):
            return "Urgent repair request sent to the repairs team."
        return "Urgent repair recorded, but no repairs address is configured: call them."
    return _act(reference, form, apply, "")


@bp.post("/cases/<reference>/close")
@roles_required(*CLOSERS)
def close(reference: str):
    """Close the case with an outcome and a reason (4.11, 4.12)."""
    form = forms.CloseForm(prefix="close")
    return _act(reference, form, lambda session, case: casework.close(
        session, _services(), case, _me(), form.outcome.data, form.reason.data.strip(),
        form.investigated.data), "Case closed.", roles=CLOSERS)


@bp.post("/cases/<reference>/area")
@roles_required(*CASEWORK)
def area(reference: str):
    """Set the case's area or estate (13.3)."""
    form = forms.AreaForm(prefix="area")
    form.area.choices = forms.choices([("", ""), *((a.name, a.name)
                                                   for a in _services().org.areas)])
    return _act(reference, form, lambda session, case: casework.set_area(
        session, _services(), case, _me(), form.area.data or None), "Area saved.")


@bp.post("/cases/<reference>/perpetrator")
@roles_required(*CASEWORK)
def perpetrator(reference: str):
    """Record the alleged perpetrator's profile for monitoring (13.4)."""
    form = forms.PerpetratorForm(prefix="perp")
    return _act(reference, form, lambda session, case: casework.set_perpetrator(
        session, _services(), case, _me(), {name: form[name].data
                                            for name in PERPETRATOR_FIELDS}),
        "Perpetrator profile saved.")


@bp.post("/cases/<reference>/assign")
@roles_required(*MANAGERS)
def assign(reference: str):
    """Assign or reassign the case (managers)."""
    form = forms.AssignForm(prefix="assign")
    form.assignee.choices = forms.choices([(form.assignee.data, form.assignee.data)]
                                          if form.assignee.data else [])
    return _act(reference, form, lambda session, case: casework.assign(
        session, _services(), case, form.assignee.data, _me()), "Case assigned.",
        roles=MANAGERS)


@bp.post("/cases/<reference>/message")
@roles_required(*CASEWORK)
def message(reference: str):
    """Send the reporter one of the translated template messages, if it is safe."""
    form = forms.MessageForm(prefix="msg")
    form.template.choices = forms.choices(messaging.TEMPLATE_NAMES.items())

    def apply(session, case):
        s = _services()
        conversation = casework.conversation_of(session, case)
        reach = messaging.reachability(case, conversation, s.store.details(case),
                                       reply_channels())
        if not reach.possible and reach.waits:
            locale = s.catalogs.negotiate(case.language) or "en"
            if not threads.leave(session, s, case, messaging.render(
                    s, case, form.template.data, locale), _me()):
                return "That message was already left."
            return "Message left for the reporter: they will see it when they reconnect."
        if not reach.possible:
            raise casework.ActionRefused("Not sent: " + " ".join(reach.refusals))
        if reach.warnings and not form.confirm_safe.data:
            raise casework.ActionRefused("Not sent: confirm that you have checked the "
                                         "resident's safe-contact answers.")
        if not messaging.send(session, s, case, conversation, form.template.data,
                              form.nonce.data, _me()):
            return "That message was already queued."
        return "Message queued for the resident."
    return _act(reference, form, apply, "")
