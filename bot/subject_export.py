"""A subject access export: one readable HTML file of what is held about one person.

Written in the person's language (the one their report used, unless staff choose another),
self-contained (files they sent are embedded), and without other people's details:

- From the person's own reports: everything they told us, the files they sent, what
  happened to the report, officers' notes and the messages we sent them; but not the
  description of the alleged perpetrator nor the details of a victim they reported for.
- From a report someone else made that gives the person's contact details as the victim's
  (`subjects.NAMED`): only what it says about them and the incident; nothing about the
  person who reported.
- From their conversations: the number or chat they wrote from and any answers they had
  started but not sent.

Free text is shown as written, so staff read it before sending (the console says so).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseNote,
    Conversation,
    DiaryEntry,
    Evidence,
    OutboxMessage,
    utcnow,
)
from bot.subjects import NAMED, Found
from flows import places
from flows.engine import N_, Kind
from flows.report import REPORT_STEPS

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Answers about someone other than the person asking.
ABOUT_OTHERS = frozenset({"perpetrator_description", "victim_details"})
# What a report made by someone else may show the person it names.
NAMED_SHOWS = ("victim_details", "incident_types", "incident_when", "incident_date",
               "ongoing", "location_type", "location", "strands")
_SKIP_STEPS = frozenset({"danger_advice", "review"})
_INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram",
            "webchat": N_("web chat"), "terminal": N_("terminal"), "phone": N_("phone call"),
            "voice": N_("phone call"),
            "in_person": N_("in person"), "post": N_("post")}
STATUSES = {"new": N_("received, waiting for an officer"), "open": N_("being dealt with"),
            "closed": N_("closed")}
EVENTS = {
    "received": N_("The report was received"),
    "entered_by_staff": N_("An officer entered the report"),
    "acknowledged": N_("We sent an acknowledgement"),
    "flagged_hate_related": N_("Treated as a hate incident, high priority"),
    "assigned": N_("An officer was assigned"),
    "first_contact": N_("An officer talked to you or visited"),
    "action_plan_agreed": N_("An action plan was agreed"),
    "note_added": N_("An officer added a note"),
    "message_queued": N_("We sent you a message"),
    "urgent_repair_raised": N_("An urgent repair was requested"),
    "closed": N_("The case was closed"),
    "personal_data_erased": N_("Personal details were erased"),
}
OTHER_EVENT = N_("Another update to the case")


@dataclass(frozen=True)
class Row:
    """One labelled value; `removed` marks a value withheld because it is about others."""

    label: str
    value: str
    removed: bool = False


@dataclass(frozen=True)
class File:
    """A file the person sent, embedded as a data: URI."""

    label: str
    uri: str
    image: bool
    name: str


@dataclass
class CaseSection:
    """One report, as far as the person may see it."""

    heading: str
    facts: list[Row]
    notice: str | None = None
    answers: list[Row] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    timeline: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    messages: list[Row] = field(default_factory=list)
    diary: list[Row] = field(default_factory=list)
    thread: list[Row] = field(default_factory=list)


@dataclass
class ConversationSection:
    """One conversation the person had with the service."""

    heading: str
    facts: list[Row]
    unfinished: list[Row] = field(default_factory=list)


@dataclass
class Export:
    """The whole document, translated and ready to render."""

    lang: str
    dir: str
    title: str
    intro: str
    redaction: str
    contact: str
    labels: dict[str, str]
    cases: list[CaseSection]
    conversations: list[ConversationSection]


class _Writer:
    """Translate and format for one locale."""

    def __init__(self, services, locale: str) -> None:
        self.t = services.catalogs(locale)
        self.locale = locale
        self.babel = "en_GB" if locale == "en" else locale.replace("-", "_")
        self.zone = ZoneInfo(services.org.timezone)
        self.removed = self.t.gettext("[removed: about someone else]")

    def __call__(self, message: str, **values) -> str:
        text = self.t.gettext(message)
        return text % values if values else text

    def when(self, instant: datetime | None) -> str:
        """Return an instant as the landlord's local date and time, in this locale."""
        if instant is None:
            return ""
        return format_datetime(instant.astimezone(self.zone).replace(tzinfo=None),
                               format="medium", locale=self.babel)


def build(session: Session, services, found: Found, locale: str,
          case_ids: set[int] | None = None, conversation_ids: set[int] | None = None,
          now: datetime | None = None) -> Export:
    """Gather what `found` links to (optionally only the ids chosen) into an export."""
    w = _Writer(services, locale)
    org = services.org
    cases = session.scalars(select(Case).where(Case.id.in_(
        found.cases if case_ids is None else set(found.cases) & case_ids)).order_by(
        Case.received_at)).all()
    conversations = session.scalars(select(Conversation).where(Conversation.id.in_(
        found.conversations if conversation_ids is None
        else found.conversations & conversation_ids),
        Conversation.phase != "erased").order_by(Conversation.id)).all()
    return Export(
        lang=locale,
        dir=Locale.parse(w.babel).text_direction,
        title=w(N_("Your information held by %(organisation)s"),
                organisation=org.name_in(locale)),
        intro=w(N_("This is a copy of the information about you in the reporting service of "
                   "%(organisation)s, made on %(date)s."), organisation=org.name_in(locale),
                date=w.when(now or utcnow())),
        redaction=w(N_("We have removed details about other people. Where we did, you see: "
                       "%(marker)s"), marker=w.removed),
        contact=w(N_("If you have a question about this copy, contact us: %(phone)s, "
                     "%(email)s."), phone=org.phone, email=org.email),
        labels={"answers": w(N_("What you told us")), "files": w(N_("Files you sent us")),
                "timeline": w(N_("What happened to the report")),
                "notes": w(N_("Notes by our officers")),
                "messages": w(N_("Messages we sent you")),
                "diary": w(N_("What you told us later")),
                "thread": w(N_("Messages between you and us")),
                "unfinished": w(N_("Answers you had started but not sent"))},
        cases=[_case(session, services, w, case, found.cases[case.id]) for case in cases],
        conversations=[_conversation(services, w, conv) for conv in conversations],
    )


def _case(session: Session, services, w: _Writer, case: Case, role: str) -> CaseSection:
    section = CaseSection(
        heading=w(N_("Report %(reference)s"), reference=case.reference),
        facts=[Row(w(N_("Received")), w.when(case.received_at)),
               Row(w(N_("How it reached us")), w(CHANNELS.get(case.channel, case.channel))),
               Row(w(N_("Status")), w(STATUSES.get(case.status, case.status)))])
    if case.erased_at is not None:
        section.notice = w(N_("The personal details of this report were erased on %(date)s. "
                              "Only facts without personal details remain."),
                           date=w.when(case.erased_at))
        return section
    details = services.vault.open_json(case.details_enc) or {}
    if role == NAMED:
        section.notice = w(N_("This report was made by someone else and gives your details. "
                              "We show only what it says about you and the incident."))
        section.answers = _answers(w, case.answers, details, only=NAMED_SHOWS)
        return section
    section.answers = _answers(w, case.answers, details, redact=ABOUT_OTHERS)
    for item in session.scalars(select(Evidence).where(
            Evidence.case_id == case.id, Evidence.data_enc.is_not(None)).order_by(Evidence.id)):
        section.files.append(_file(services, w, case, item))
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.id)):
        section.timeline.append(Row(w.when(event.at), w(EVENTS.get(event.kind, OTHER_EVENT))))
    for note in session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)
                                .order_by(CaseNote.id)):
        section.notes.append(Row(w.when(note.at), services.vault.open_text(note.text_enc)))
    for message in session.scalars(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.kind == "resident_message")
            .order_by(OutboxMessage.id)):
        payload = services.vault.open_json(message.payload_enc) or {}
        if payload.get("text"):
            section.messages.append(Row(w.when(message.created_at), payload["text"]))
    for entry in session.scalars(select(DiaryEntry).where(DiaryEntry.case_id == case.id)
                                 .order_by(DiaryEntry.id)):
        said = services.vault.open_json(entry.details_enc) or {}
        section.diary.append(Row(w.when(entry.received_at), str(said.get("narrative") or "")))
    for item in session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                                .order_by(CaseMessage.at, CaseMessage.id)):
        section.thread.append(Row(w.when(item.at), services.vault.open_text(item.text_enc)))
    return section


def _label(w: _Writer, step) -> str:
    if step.summary:
        return w(step.summary)
    return w(step.prompt) if isinstance(step.prompt, str) else step.id


def _answers(w: _Writer, choices: dict, personal: dict, redact=frozenset(),
             only=None) -> list[Row]:
    """Return the answers in flow order: choices in words, typed text as written."""
    rows = []
    for step in REPORT_STEPS:
        if step.id in _SKIP_STEPS or (only is not None and step.id not in only):
            continue
        value = personal.get(step.id, choices.get(step.id))
        if value is None or value == "" or value == []:
            continue
        label = _label(w, step)
        if step.id in redact:
            rows.append(Row(label, w.removed, removed=True))
        elif step.kind is Kind.TEXT:
            rows.append(Row(label, places.describe(value)))
        else:
            names = {o.id: w(o.label) for o in step.options}
            values = value if isinstance(value, list) else [value]
            rows.append(Row(label, ", ".join(names.get(v, str(v)) for v in values)))
    return rows


def _file(services, w: _Writer, case: Case, item: Evidence) -> File:
    data = services.vault.open(item.data_enc)
    content_type = (item.content_type or "application/octet-stream").lower()
    image = content_type in _INLINE_IMAGES
    uri_type = content_type if image else "application/octet-stream"
    return File(label=w(N_("%(type)s, received %(date)s"), type=content_type,
                        date=w.when(item.received_at)),
                uri=f"data:{uri_type};base64,{base64.b64encode(data).decode()}",
                image=image, name=f"{case.reference}-{item.id}")


def _conversation(services, w: _Writer, conv: Conversation) -> ConversationSection:
    vault = services.vault
    channel = w(CHANNELS.get(conv.channel, conv.channel))
    facts = []
    if conv.channel in ("sms", "whatsapp", "telegram", "voice") \
            and conv.sender_enc is not None:
        facts.append(Row(w(N_("Your number or chat")), vault.open_text(conv.sender_enc)))
    facts += [Row(w(N_("Started")), w.when(conv.created_at)),
              Row(w(N_("Last message from you")), w.when(conv.last_inbound_at))]
    section = ConversationSection(w(N_("Your conversation by %(channel)s"), channel=channel),
                                  facts)
    state = vault.open_json(conv.state_enc) or {}
    answers = state.get("answers") or {}
    if answers and state.get("phase") != "submitted":
        section.unfinished = _answers(w, answers, {}, redact=ABOUT_OTHERS)
    return section


def render(export: Export) -> str:
    """Return the export as one self-contained HTML page."""
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"]))
    return env.get_template("subject_export.html").render(doc=export)
