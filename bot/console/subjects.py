"""Subject access and erasure requests in the console (managers and admins).

Find everything linked to a phone number, email address, Telegram chat or case reference,
download it as one readable file for the person, or erase it with the ground recorded.
The identifier travels only in POST bodies (never in a URL, so never in an access log) and
every step is audited by bot/subject_requests.py.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from bot import subject_requests
from bot.console.forms import choices
from bot.console.web import roles_required, services
from bot.models import Case, Conversation
from bot.subjects import KINDS, BadIdentifier, parse

bp = Blueprint("subjects", __name__, url_prefix="/console/subjects")

SUBJECT_STAFF = ("manager", "admin")
KIND_LABELS = {"phone": "Phone number", "email": "Email address",
               "telegram": "Telegram chat id", "reference": "Case reference"}


class SearchForm(FlaskForm):
    """Who the request is about."""

    kind = SelectField("Find by", choices=choices((k, KIND_LABELS[k]) for k in KINDS))
    value = StringField("Phone number, email, chat id or reference",
                        validators=[DataRequired(), Length(max=200)])


class ExportForm(SearchForm):
    """Download the chosen records for the person."""

    language = SelectField("Language of the file")


class EraseForm(SearchForm):
    """Erase the chosen records, saying why."""

    ground = SelectField("Ground for erasure",
                         choices=choices([("", "Choose…"),
                                          *subject_requests.GROUNDS.items()]),
                         validators=[DataRequired()])
    note = TextAreaField("Who asked, how their identity was checked, and why erasure is "
                         "allowed", validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField("I have checked that the law allows this erasure and that "
                           "nothing here must be kept (for example for a court case)",
                           validators=[DataRequired()])


def _languages(form: ExportForm) -> None:
    form.language.choices = choices((lang.code, lang.autonym)
                                    for lang in services().catalogs.languages)


def _chosen(name: str) -> set[int]:
    return {int(v) for v in request.form.getlist(name) if v.isdigit()}


@bp.get("/")
@roles_required(*SUBJECT_STAFF)
def search():
    """Show the search form."""
    return render_template("console/subjects.html", form=SearchForm(), found=None)


@bp.post("/")
@roles_required(*SUBJECT_STAFF)
def results():
    """Find and list every case and conversation linked to the identifier; audited."""
    form = SearchForm()
    if not form.validate_on_submit():
        return render_template("console/subjects.html", form=form, found=None), 400
    try:
        identifier = parse(form.kind.data, form.value.data)
    except BadIdentifier as exc:
        form.value.errors.append(str(exc))
        return render_template("console/subjects.html", form=form, found=None), 400
    s = services()
    with s.db.write() as session:
        found = subject_requests.search(session, s, identifier, current_user.username)
        cases = session.scalars(select(Case).where(Case.id.in_(found.cases))
                                .order_by(Case.received_at)).all()
        conversations = session.scalars(select(Conversation).where(
            Conversation.id.in_(found.conversations)).order_by(Conversation.id)).all()
    language = next((c.language for c in cases if found.cases[c.id] == "reporter"), None)
    export_form = ExportForm(formdata=None, kind=identifier.kind, value=form.value.data,
                             language=s.catalogs.negotiate(language) or "en")
    _languages(export_form)
    erase_form = EraseForm(formdata=None, kind=identifier.kind, value=form.value.data)
    return render_template("console/subjects.html", form=form, found=found, cases=cases,
                           conversations=conversations, export_form=export_form,
                           erase_form=erase_form, timezone=s.org.timezone)


@bp.post("/export")
@roles_required(*SUBJECT_STAFF)
def export():
    """Download the chosen records as one HTML file in the person's language; audited."""
    form = ExportForm()
    _languages(form)
    if not form.validate_on_submit():
        abort(400)
    try:
        identifier = parse(form.kind.data, form.value.data)
    except BadIdentifier:
        abort(400)
    s = services()
    with s.db.write() as session:
        request_id, html = subject_requests.export(
            session, s, identifier, current_user.username, form.language.data,
            _chosen("case"), _chosen("conversation"))
    return Response(html, content_type="text/html; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="subject-access-{request_id}.html"',
        "X-Content-Type-Options": "nosniff"})


@bp.post("/erase")
@roles_required(*SUBJECT_STAFF)
def erase():
    """Erase the chosen records with the ground and a note; audited."""
    form = EraseForm()
    if not form.validate_on_submit():
        flash("Not erased: choose the ground, write the note and tick the confirmation.",
              "error")
        return redirect(url_for("subjects.search"))
    try:
        identifier = parse(form.kind.data, form.value.data)
    except BadIdentifier:
        abort(400)
    cases, conversations = _chosen("case"), _chosen("conversation")
    if not cases and not conversations:
        flash("Not erased: tick the records to erase.", "error")
        return redirect(url_for("subjects.search"))
    s = services()
    try:
        with s.db.write() as session:
            done = subject_requests.erase(session, s, identifier, current_user.username,
                                          form.ground.data, form.note.data, cases,
                                          conversations)
    except subject_requests.ErasureRefused as exc:
        flash(f"Not erased: {exc}", "error")
        return redirect(url_for("subjects.search"))
    kept = (f" {done.kept} report(s) made by someone else were kept." if done.kept else "")
    flash(f"Request {done.request_id}: erased the personal data of {done.cases} case(s) and "
          f"{done.conversations} conversation(s).{kept}", "info")
    return redirect(url_for("subjects.search"))
