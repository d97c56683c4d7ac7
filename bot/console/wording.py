"""How the report reads to staff: staff labels for the flow's questions and answers, dates.

The flow's own texts speak to the resident ("Your name", "It happened to me"); officers
need the same facts in the third person. Labels here are keyed by the flow's step and
option ids and fall back to the flow's own summary and label, so a question added to the
flow shows up on the case page and in the staff form without a change here. They are
marked for translation like the flow's texts and shown in the officer's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flows import places
from flows.engine import N_, Kind, Step
from flows.report import REPORT_STEPS

STEPS: dict[str, Step] = {s.id: s for s in REPORT_STEPS}

# Steps that are conversation mechanics, not facts about the incident.
NOT_FACTS = frozenset({"danger_advice", "review"})

STAFF_LABELS: dict[str, str] = {
    "immediate_danger": N_("In danger when reporting"),
    "reporter_role": N_("Reporter"),
    "anonymous": N_("Reporter's name given"),
    "reporter_name": N_("Reporter's name"),
    "victim_details": N_("Victim, if not the reporter"),
    "victim_aware": N_("Victim knows and agrees"),
    "narrative": N_("What happened, in the reporter's words"),
    "incident_types": N_("Incident type"),
    "incident_when": N_("When"),
    "incident_date": N_("Date given by the reporter"),
    "ongoing": N_("How often"),
    "location_type": N_("Where"),
    "location": N_("Address"),
    "perception": N_("Reporter perceives prejudice"),
    "perception_recheck": N_("Perceives prejudice when asked again"),
    "strands": N_("Perceived motivation"),
    "perceived_by": N_("Who perceives it"),
    "perpetrator_known": N_("Reporter knows who did it"),
    "perpetrator_description": N_("Alleged perpetrator, as described"),
    "evidence": N_("Evidence"),
    "police_reference": N_("Police reference"),
    "repair_needed": N_("Repair needed"),
    "repair_keep": N_("Keep for evidence"),
    "impact": N_("Impact"),
    "contact_method": N_("Contact by"),
    "contact_details": N_("Contact details"),
    "safe_times": N_("Safe times"),
    "leave_message": N_("Safe to leave a message"),
    "language_needs": N_("Language support"),
    "language_needs_detail": N_("Support needed"),
    "interview": N_("Wants to talk to an officer"),
    "consent_police": N_("Share with police"),
    "consent_council": N_("Share with council"),
    "consent_support": N_("Share with support services"),
    "monitoring_offer": N_("Answers the equality questions"),
}

# Answers the flow words in the first person, reworded for staff; by (step, option), then
# by option id alone for answers many steps share.
STAFF_OPTIONS: dict[tuple[str, str], str] = {
    ("immediate_danger", "yes"): N_("Yes, in danger"),
    ("reporter_role", "victim"): N_("The victim"),
    ("reporter_role", "witness"): N_("A witness"),
    ("reporter_role", "third_party"): N_("Family or a friend of the victim"),
    ("reporter_role", "agency"): N_("A support worker or agency"),
    ("reporter_role", "staff"): N_("Staff or a contractor"),
    ("anonymous", "named"): N_("Yes"),
    ("anonymous", "anonymous"): N_("No, anonymous"),
    ("perceived_by", "reporter"): N_("The reporter"),
    ("perpetrator_known", "known"): N_("Yes, knows who"),
    ("perpetrator_known", "seen"): N_("Does not know them, but saw them"),
    ("contact_method", "this_chat"): N_("A message on the channel they used"),
    ("repair_keep", "keep"): N_("Yes, leave it for now"),
    ("repair_keep", "remove"): N_("No, remove it soon"),
}
STAFF_OPTION_IDS: dict[str, str] = {
    "not_sure": N_("Not sure"),
    "prefer_not": N_("Prefers not to say"),
}

# An optional detail the resident has not given (yet), and a consent they were not asked
# for yet: never shown as "no".
NOT_ANSWERED = N_("Not answered yet")
NOT_ASKED = N_("Not asked yet")
CONSENT_STEPS = frozenset({"consent_police", "consent_council", "consent_support"})
SKIPPED = N_("(skipped)")
BEFORE = N_("before %(date)s")


def staff_label(step: Step, t) -> str:
    """Return the staff label of a step in the officer's language."""
    label = STAFF_LABELS.get(step.id) or step.summary
    return t.gettext(label) if label else step.id.replace("_", " ")


def option_label(step: Step, option_id: str, t) -> str:
    """Return the staff wording of one answer in the officer's language."""
    text = STAFF_OPTIONS.get((step.id, option_id)) or STAFF_OPTION_IDS.get(option_id)
    if text is None:
        text = next((o.label for o in step.options if o.id == option_id), None)
    return t.gettext(text) if text else option_id.replace("_", " ")


def local_day(instant: datetime, timezone: str) -> date:
    """Return the landlord's calendar day of an instant."""
    return instant.astimezone(ZoneInfo(timezone)).date()


def day_text(day: date) -> str:
    """Return a date the way the console shows dates, e.g. Tue 24 Nov 2026."""
    return day.strftime("%a %d %b %Y")


def incident_when(value: str, received_at: datetime, timezone: str, t) -> str:
    """Turn "today", "yesterday" or "earlier this week" into the dates they stand for.

    The resident answered relative to the day they reported, so the dates are counted
    from the day the report was received, not from today.
    """
    received = local_day(received_at, timezone)
    if value == "today":
        return day_text(received)
    if value == "yesterday":
        return day_text(received - timedelta(days=1))
    if value == "this_week":
        start = received - timedelta(days=received.weekday())
        end = received - timedelta(days=1)
        if end < start:
            return t.gettext(BEFORE) % {"date": day_text(received)}
        if end == start:
            return day_text(start)
        return f"{day_text(start)} – {day_text(end)}"
    if value == "earlier":
        return t.gettext(BEFORE) % {"date": day_text(received - timedelta(
            days=received.weekday()))}
    return value


@dataclass(frozen=True)
class Answer:
    """One fact of the report, ready to show: the staff label and the answer in words."""

    step_id: str
    label: str
    value: str
    free_text: bool = False
    missing: bool = False
    links: tuple[tuple[str, str], ...] = ()  # (name, URL) to open a shared location


def report_answers(choices: Mapping, details: Mapping, received_at: datetime,
                   timezone: str, t, steps=REPORT_STEPS,
                   leave_out: frozenset[str] = frozenset()) -> list[Answer]:
    """Return the report's facts in flow order, each in staff wording.

    A question that applies to this report but has no answer is shown as not answered yet
    (the resident may add optional details after the acknowledgement), a consent as not
    asked yet. Answers to questions the flow no longer asks (older reports) still show.
    """
    everything = {**choices, **details}
    shown = []
    for step in steps:
        if step.id in NOT_FACTS or step.id in leave_out:
            continue
        label = staff_label(step, t)
        if step.id not in everything:
            if step.applies(everything):
                missing = NOT_ASKED if step.id in CONSENT_STEPS else NOT_ANSWERED
                shown.append(Answer(step.id, label, t.gettext(missing), missing=True))
            continue
        value = everything[step.id]
        if value is None:
            shown.append(Answer(step.id, label, t.gettext(SKIPPED)))
        elif step.kind is Kind.TEXT:
            # A shared map pin reads as its name, address and coordinates, with links
            # the officer's own device can open.
            shown.append(Answer(step.id, label, places.describe(value), free_text=True,
                                links=tuple(places.links(value))))
        elif step.id == "incident_when" and isinstance(value, str):
            shown.append(Answer(step.id, label, incident_when(value, received_at, timezone,
                                                              t)))
        elif isinstance(value, list):
            shown.append(Answer(step.id, label,
                                ", ".join(option_label(step, v, t) for v in value)))
        else:
            shown.append(Answer(step.id, label, option_label(step, str(value), t)))
    known = {step.id for step in steps} | set(leave_out)
    shown.extend(Answer(key, staff_label(STEPS[key], t) if key in STEPS else
                        key.replace("_", " "), str(value))
                 for key, value in choices.items() if key not in known)
    return shown


def labels_of(step_id: str, values, t) -> list[str]:
    """Return the staff labels of a list of option ids of one step (strands, types)."""
    step = STEPS.get(step_id)
    if step is None:
        return [str(v).replace("_", " ") for v in values or ()]
    return [option_label(step, v, t) for v in values or ()]
