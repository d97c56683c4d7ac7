"""Reports received by phone, in person or by post, entered by staff (policy 3.3).

The form is generated from the report flow's own steps, so it asks every question the chat
asks, in the same order and with the same answers, and follows any change to the flow:
one source of truth. Each question is named by its step id; a question left alone is "not
asked", as in a chat report whose optional details are still to come. Which questions
apply depends on earlier answers (the flow's own rules): the page asks the server as the
officer fills it in and hides the rest; without JavaScript every question shows and
answers to questions that do not apply are dropped when the report is stored.

The answers go through the same `draft_from` as a chat report. Consent to share is
recorded per recipient as given to the named officer, verbally (or in writing, for a
letter); the report keeps the resident's language; files can be attached as evidence; and
the deadlines count from when the report was received, not when it was typed in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, MultipleFileField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from bot import filetypes, notify
from bot.console import audit, wording
from bot.console.forms import STAFF_CHANNELS, WHEN_FORMAT, choices
from bot.console.web import CASEWORK, bp, officer_translator, roles_required, services
from bot.intake import CONSENT_STEPS, draft_from
from bot.models import Evidence, utcnow
from flows.engine import ConversationState, Kind, Phase, Step
from flows.report import SIGNS_ANSWER

# Files a member of staff attaches: photos, scans of letters, screenshots.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
LONG_TEXT = 300

SECTION_TITLES = {
    "safety": "Safety", "you": "The reporter", "victim": "The victim",
    "incident": "What happened", "when_where": "When and where", "why": "Why it happened",
    "perpetrator": "Who did it", "evidence": "Evidence", "repairs": "Damage and repairs",
    "impact": "Impact", "contact": "Contacting the reporter", "consent": "Consent to share",
    "monitoring": "Equality questions (optional: only a victim reporting for themselves, "
                  "and only if they agree)",
}


class StaffReportForm(FlaskForm):
    """What the flow does not ask: how and when the report came, in which language."""

    channel = SelectField("Received by", choices=choices(STAFF_CHANNELS),
                          validators=[DataRequired()])
    received_at = DateTimeLocalField("Received at", format=WHEN_FORMAT,
                                     validators=[DataRequired()])
    report_language = SelectField("The reporter's language", choices=[],
                                  validators=[Optional()])
    consent_given_to = StringField("Consent given to (the officer who asked)",
                                   validators=[Optional(), Length(max=120)])
    area = SelectField("Area or estate", choices=[], validators=[Optional()])
    evidence_files = MultipleFileField("Evidence files (photos, scanned letters, screenshots)")


META_FIELDS = frozenset(StaffReportForm.__dict__) | {"csrf_token"}


@dataclass
class Question:
    """One step of the flow as a form field: its staff label, the question to ask, answers."""

    step: Step
    label: str
    ask: str
    section: str
    options: list[tuple[str, str]] = field(default_factory=list)
    value: object = None
    error: str = ""

    @property
    def id(self) -> str:
        """Return the field name: the flow's step id."""
        return self.step.id

    @property
    def kind(self) -> str:
        """Return how the field is drawn: choice, multi, text or long_text."""
        if self.step.kind is Kind.TEXT:
            return "long_text" if self.step.max_length > LONG_TEXT else "text"
        return self.step.kind.value

    @property
    def required(self) -> bool:
        """Return whether the flow insists on an answer when the question applies."""
        return self.step.kind is Kind.TEXT and not self.step.optional


def questions(flow, t, english) -> list[Question]:
    """Return the flow's questions as form fields, in the flow's order."""
    out = []
    for step in flow.steps:
        if step.id in wording.NOT_FACTS:
            continue
        if step.id in META_FIELDS:
            raise RuntimeError(f"report step {step.id!r} clashes with a staff form field")
        prompt = step.prompt(english, {}) if callable(step.prompt) else \
            english.gettext(step.prompt)
        # Answers only the chat can offer ("message me here") are left out.
        options = [(o.id, wording.option_label(step, o.id, t)) for o in step.options
                   if not o.reply_channel_only]
        out.append(Question(step, wording.staff_label(step, t), prompt, step.section,
                            options))
    return out


def read_answers(qs: list[Question], form) -> dict:
    """Return the answers given in the submitted form (unanswered questions left out)."""
    answers: dict = {}
    for q in qs:
        if q.step.kind is Kind.MULTI:
            picked = [v for v in form.getlist(q.id) if v in dict(q.options)]
            if picked:
                answers[q.id] = [o for o, _label in q.options if o in picked]
        elif q.step.kind is Kind.CHOICE:
            value = form.get(q.id) or ""
            if value in dict(q.options):
                answers[q.id] = value
        else:
            value = (form.get(q.id) or "").strip()
            if value:
                answers[q.id] = value
    return answers


def check(qs: list[Question], answers: dict, flow) -> bool:
    """Mark each question's error; return whether the answers can be stored."""
    ok = True
    for q in qs:
        q.value = answers.get(q.id)
        applies = q.step.applies(answers)
        if q.required and applies and q.id not in answers:
            q.error = "Needed when this question applies."
            ok = False
        elif q.step.kind is Kind.TEXT and q.id in answers and \
                len(answers[q.id]) > q.step.max_length:
            q.error = f"At most {q.step.max_length} characters."
            ok = False
        elif q.step.kind is Kind.MULTI and q.id in answers and len(answers[q.id]) > 1 and \
                {o.id for o in q.step.options if o.exclusive} & set(answers[q.id]):
            q.error = "That answer cannot be combined with the others."
            ok = False
    return ok


def _meta_form() -> StaffReportForm:
    s = services()
    form = StaffReportForm()
    form.report_language.choices = choices((lang.code, lang.autonym)
                                           for lang in s.catalogs.languages)
    form.area.choices = choices([("", "From the postcode, if given"),
                                 *((a.name, a.name) for a in s.org.areas)])
    if not form.is_submitted():
        tz = ZoneInfo(s.org.timezone)
        form.received_at.data = utcnow().astimezone(tz).replace(second=0, microsecond=0,
                                                                tzinfo=None)
        form.report_language.data = s.catalogs.codes[0]
        form.consent_given_to.data = current_user.display_name
    return form


def _page(form, qs, status: int = 200):
    return render_template("console/new_report.html", form=form, questions=qs,
                           sections=SECTION_TITLES, consent_steps=CONSENT_STEPS,
                           max_file_mb=MAX_FILE_BYTES // (1024 * 1024)), status


@bp.route("/reports/new", methods=["GET", "POST"])
@roles_required(*CASEWORK)
def new_report():
    """Enter a report received by phone, in person or by post."""
    s = services()
    form = _meta_form()
    qs = questions(s.flow, officer_translator(), s.catalogs("en"))
    if not form.is_submitted():
        return _page(form, qs)
    answers = s.flow.applicable_answers(read_answers(qs, request.form))
    valid = form.validate_on_submit()
    if not check(qs, answers, s.flow) or not valid:
        flash("Not stored yet: please check the answers marked below.", "error")
        return _page(form, qs, 400)
    received = form.received_at.data.replace(tzinfo=ZoneInfo(s.org.timezone)).astimezone(UTC)
    if received > utcnow() + timedelta(minutes=5):
        form.received_at.errors.append("The time received cannot be in the future.")
        return _page(form, qs, 400)
    files = [f for f in form.evidence_files.data or [] if f and f.filename]
    for upload in files:
        upload.stream.seek(0, 2)
        if upload.stream.tell() > MAX_FILE_BYTES:
            form.evidence_files.errors.append(f"{upload.filename}: larger than "
                                        f"{MAX_FILE_BYTES // (1024 * 1024)} MB.")
        else:
            upload.stream.seek(0)
            # Judged on the bytes, as every channel's files are (bot/filetypes.py).
            if filetypes.sniff(upload.stream.read(8192)) is None:
                form.evidence_files.errors.append(
                    f"{upload.filename}: not a photo, video, audio recording or PDF of a "
                    f"type we keep.")
        upload.stream.seek(0)
    if form.evidence_files.errors:
        return _page(form, qs, 400)
    reference = _store(form, answers, received, files)
    flash(f"Report stored as case {reference}.", "info")
    return redirect(url_for("console.case_page", reference=reference))


def _store(form: StaffReportForm, answers: dict, received, files) -> str:
    """Store the case, its consents as given to the officer, and its evidence files."""
    s = services()
    channel = form.channel.data
    language = form.report_language.data or s.catalogs.codes[0]
    when = received.isoformat()
    # The officer may have typed the account in English or the resident's language: match
    # the prejudice signs of every language (a chat matches the resident's and English).
    signs = s.signs.find(answers.get("narrative"))
    state = ConversationState(phase=Phase.SUBMITTED, locale=language,
                              answers={**answers, SIGNS_ANSWER: signs},
                              answered_at=dict.fromkeys(answers, when))
    draft = draft_from(state)
    given_to = (form.consent_given_to.data or "").strip() or current_user.display_name
    method = "written" if channel == "post" else "verbal"
    draft = replace(draft, area=form.area.data or None, consents=[
        (*consent[:4], given_to, method) for consent in draft.consents])
    with s.db.write() as session:
        case = s.store.create(session, draft, channel=channel, language=language,
                              received_at=received, actor=current_user.username)
        for upload in files:
            data = upload.read()
            kind = filetypes.sniff(data)
            session.add(Evidence(
                conversation_id=None, case_id=case.id, channel=channel,
                content_type=kind.mime if kind else "application/octet-stream",
                size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                data_enc=s.vault.seal(data), status="stored", received_at=utcnow()))
        s.store.record(session, case, "entered_by_staff", current_user.username,
                       channel=channel, files=len(files))
        audit.record(session, current_user.username, "report_entered", case,
                     channel=channel, files=len(files))
        notify.case_created(session, s, case)
        return case.reference


@bp.post("/reports/new/applies")
@roles_required(*CASEWORK)
def new_report_applies():
    """Return which questions apply to the answers so far (the flow's own rules)."""
    s = services()
    qs = questions(s.flow, officer_translator(), s.catalogs("en"))
    answers = read_answers(qs, request.form)
    return jsonify({"applies": [q.id for q in qs if q.step.applies(answers)]})
