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

from bot.profiles import PERPETRATOR_FIELDS, PERPETRATOR_LABELS
from flows.report import STRAND_OPTIONS, STRANDS

WHEN_FORMAT = "%Y-%m-%dT%H:%M"


def choices(pairs) -> list[SelectChoice]:
    """Return (value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


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


def allowed_priorities(hate_related: bool) -> list[SelectChoice]:
    """Return the priorities a case may be given: only high for a hate-related one (4.11)."""
    return choices(PRIORITIES[:1] if hate_related else PRIORITIES)
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


class AreaForm(FlaskForm):
    area = SelectField("Area or estate", choices=[], validators=[Optional()])


def _perpetrator_field(name: str) -> SelectField:
    return SelectField(PERPETRATOR_LABELS[name],
                       choices=[SelectChoice("", "Not recorded"),
                                *choices(PERPETRATOR_FIELDS[name])],
                       validators=[Optional()])


class PerpetratorForm(FlaskForm):
    """The alleged perpetrator(s) for monitoring (13.4); every answer optional, sealed."""

    age = _perpetrator_field("age")
    gender = _perpetrator_field("gender")
    landlord_resident = _perpetrator_field("landlord_resident")
    people = _perpetrator_field("people")


class RepairForm(FlaskForm):
    confirm = BooleanField("Evidence has been preserved or is not needed",
                           validators=[DataRequired()])


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
