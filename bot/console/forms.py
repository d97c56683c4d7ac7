"""The console's forms (Flask-WTF): every one carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from flows.report import REPORT_STEPS, STRAND_OPTIONS, STRANDS

_STEPS = {s.id: s for s in REPORT_STEPS}
WHEN_FORMAT = "%Y-%m-%dT%H:%M"


def choices(pairs) -> list[SelectChoice]:
    """Return (value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def step_choices(step_id: str, exclude: tuple[str, ...] = ()) -> list[SelectChoice]:
    """Return a report step's options as choices with their English labels."""
    return choices((o.id, o.label) for o in _STEPS[step_id].options if o.id not in exclude)


STRAND_CHOICES = [(o.id, o.label) for o in STRAND_OPTIONS if o.id in STRANDS]
PERCEIVED_BY_CHOICES = [
    ("victim", "The person it happened to"),
    ("reporter", "The person who reported it"),
    ("witness", "A witness"),
    ("staff", "A member of staff"),
    ("someone_else", "Someone else"),
]
CONTACT_HOW = [("phone", "Phone call"), ("visit", "Home visit"), ("office", "Office meeting"),
               ("message", "Message on their channel"), ("letter", "Letter"),
               ("other", "Other")]
OUTCOMES = [
    ("resolved", "Resolved to the victim's reasonable satisfaction"),
    ("no_further_action", "Full investigation: no further action required"),
    ("enforcement", "Enforcement action taken against the perpetrator"),
    ("referred", "Referred to another agency"),
    ("withdrawn", "Victim withdrew"),
    ("malicious_vexatious", "Malicious or vexatious complaint (policy 4.12)"),
]
PRIORITIES = [("high", "High"), ("medium", "Medium"), ("low", "Low")]
STAFF_CHANNELS = [("phone", "Phone"), ("in_person", "In person"), ("post", "Post")]


def at_least_one(_form, field) -> None:
    """Require one ticked box; unlike DataRequired it puts no `required` on every box."""
    if not field.data:
        raise ValidationError("Choose at least one.")


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class FirstContactForm(FlaskForm):
    when = DateTimeLocalField("When", format=WHEN_FORMAT, validators=[DataRequired()])
    how = SelectField("How", choices=choices(CONTACT_HOW), validators=[DataRequired()])
    by = StringField("By whom", validators=[DataRequired(), Length(max=120)])


class ActionPlanForm(FlaskForm):
    when = DateTimeLocalField("Agreed and signed on", format=WHEN_FORMAT,
                              validators=[DataRequired()])


class NoteForm(FlaskForm):
    text = TextAreaField("Note or update", validators=[DataRequired(), Length(max=4000)])


class HateForm(FlaskForm):
    strands = MultiCheckboxField("Strands", choices=choices(STRAND_CHOICES),
                                 validators=[at_least_one])
    perceived_by = MultiCheckboxField("Who perceives it as hate-related",
                                      choices=choices(PERCEIVED_BY_CHOICES),
                                      validators=[at_least_one])


class PriorityForm(FlaskForm):
    priority = SelectField("Priority", choices=choices(PRIORITIES), validators=[DataRequired()])


class FlagsForm(FlaskForm):
    vulnerable_victim = BooleanField("Victim is vulnerable (7.x)")
    vulnerable_perpetrator = BooleanField("Alleged perpetrator is vulnerable (7.x)")
    sensitive = BooleanField("Sensitive: only the assigned officer and managers (8.3)")


class CloseForm(FlaskForm):
    outcome = SelectField("Outcome", choices=choices(OUTCOMES), validators=[DataRequired()])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(min=10, max=4000)])
    investigated = BooleanField("A full investigation has been completed (4.11)")


class AssignForm(FlaskForm):
    assignee = SelectField("Assign to", choices=[], validators=[InputRequired()])


class MessageForm(FlaskForm):
    template = SelectField("Message", choices=[], validators=[DataRequired()])
    confirm_safe = BooleanField("I have checked the resident's safe-contact answers")
    nonce = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


class RepairForm(FlaskForm):
    confirm = BooleanField("Evidence has been preserved or is not needed",
                           validators=[DataRequired()])


class StaffReportForm(FlaskForm):
    channel = SelectField("Received by", choices=choices(STAFF_CHANNELS),
                          validators=[DataRequired()])
    received_at = DateTimeLocalField("Received at", format=WHEN_FORMAT,
                                     validators=[DataRequired()])
    reporter_role = SelectField("Reporter", choices=step_choices("reporter_role"),
                                validators=[DataRequired()])
    anonymous = BooleanField("The reporter wants to stay anonymous")
    reporter_name = StringField("Reporter's name", validators=[Optional(), Length(max=200)])
    contact_method = SelectField("Contact by", choices=[SelectChoice("", "—")] + step_choices(
        "contact_method", exclude=("this_chat",)), validators=[Optional()])
    contact_details = StringField("Phone, email or address",
                                  validators=[Optional(), Length(max=300)])
    safe_times = StringField("Safe times to contact", validators=[Optional(), Length(max=200)])
    leave_message = SelectField("Safe to leave a message?",
                                choices=choices([("", "—"), ("yes", "Yes"), ("no", "No")]),
                                validators=[Optional()])
    narrative = TextAreaField("What happened, in the reporter's words",
                              validators=[DataRequired(), Length(max=4000)])
    incident_types = MultiCheckboxField("Type", choices=step_choices("incident_types"))
    location_type = SelectField("Where", choices=step_choices("location_type"),
                                validators=[DataRequired()])
    location = StringField("Address, estate or street", validators=[Optional(), Length(max=300)])
    strands = MultiCheckboxField("Perceived as motivated by", choices=choices(STRAND_CHOICES))
    perceived_by = MultiCheckboxField("Who perceives it", choices=choices(PERCEIVED_BY_CHOICES))
    repair_needed = BooleanField("Damage or graffiti needs urgent repair")
    immediate_danger = BooleanField("Someone was in immediate danger")


# ---- staff accounts (issue 14) ----------------------------------------------------------

class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField("New password again",
                           validators=[DataRequired(), EqualTo("new", "The new passwords "
                                                                      "differ.")])


ROLE_CHOICES = [("duty_officer", "Duty officer"), ("case_manager", "Case manager"),
                ("manager", "Manager"), ("analyst", "Analyst"), ("admin", "Admin")]
SCOPE_CHOICES = [("queue", "queue: the duty queue (no personal details)"),
                 ("cases", "cases: one case with its personal details, unless sensitive"),
                 ("cases:sensitive", "cases:sensitive: personal details of sensitive cases "
                                     "too")]


class NewAccountForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80)])
    display_name = StringField("Name shown to colleagues", validators=[Optional(),
                                                                       Length(max=120)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES), validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES), validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (deactivate, reset, revoke)."""


class NewTokenForm(FlaskForm):
    name = StringField("Who or what will use it", validators=[DataRequired(),
                                                              Length(max=120)])
    scopes = MultiCheckboxField("Scopes", choices=choices(SCOPE_CHOICES),
                                validators=[at_least_one])
