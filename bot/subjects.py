"""Find everything held about one person, through blind indexes, for access or erasure.

A person is named by a phone number, an email address, a Telegram chat id or a case
reference. Conversations are found by their sender's blind index (the number an SMS or
WhatsApp came from, the Telegram chat); cases by the conversation they came from and by
`SubjectIdentifier` rows, keyed hashes of the phone numbers and email addresses a report gave
for contact. Nothing is decrypted to search.

A case matches as the person's own report (`reporter`) or, when a witness gave the person's
number as the victim's, as a report that names them (`named`); what an export shows
depends on which (bot/subject_export.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from bot.crypto import Vault
from bot.models import Case, Conversation, SubjectIdentifier
from bot.reference import normalise as normalise_reference

KINDS = ("phone", "email", "telegram", "reference")
# Channels whose sender is a phone number in E.164 form.
PHONE_CHANNELS = ("sms", "whatsapp", "voice")
TELEGRAM = "telegram"
REPORTER, NAMED = "reporter", "named"
# Report answers whose phone numbers and email addresses are indexed, and whose they are.
CONTACT_FIELDS = {"contact_details": REPORTER, "victim_details": NAMED}

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class BadIdentifier(ValueError):
    """The phone number, email, chat id or reference typed cannot be searched for."""


@dataclass(frozen=True)
class Identifier:
    """What a request names the person by, in canonical form."""

    kind: str
    value: str


def parse(kind: str, raw: str) -> Identifier:
    """Return the identifier in canonical form, or raise BadIdentifier saying why."""
    raw = (raw or "").strip()
    if kind == "phone":
        value = normalise_phone(raw)
        if value is None:
            raise BadIdentifier("That is not a phone number we can search for.")
    elif kind == "email":
        value = raw.lower()
        if not _EMAIL.fullmatch(value):
            raise BadIdentifier("That is not an email address.")
    elif kind == "telegram":
        value = raw.removeprefix("+")
        if not re.fullmatch(r"-?[0-9]{1,20}", value):
            raise BadIdentifier("A Telegram chat id is a number, like 123456789.")
    elif kind == "reference":
        value = normalise_reference(raw) or ""
        if not value:
            raise BadIdentifier("That is not a valid case reference.")
    else:
        raise BadIdentifier(f"Search by one of: {', '.join(KINDS)}.")
    return Identifier(kind, value)


def normalise_phone(text: str) -> str | None:
    """Return a phone number in E.164 (UK numbers may be written without +44), or None."""
    try:
        number = phonenumbers.parse(text.strip(), "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifiers_of(details: dict) -> list[tuple[str, str, str]]:
    """Return (kind, role, value) for each phone number and email address in a report."""
    found = []
    for name, role in CONTACT_FIELDS.items():
        text = details.get(name)
        if not isinstance(text, str) or not text:
            continue
        for email in _EMAIL.findall(text):
            found.append(("email", role, email.lower()))
        # POSSIBLE, not VALID: residents (and tests) may use Ofcom's drama ranges.
        for match in phonenumbers.PhoneNumberMatcher(text, "GB",
                                                     leniency=phonenumbers.Leniency.POSSIBLE):
            found.append(("phone", role, phonenumbers.format_number(
                match.number, phonenumbers.PhoneNumberFormat.E164)))
    return sorted(set(found))


def index_case(session: Session, vault: Vault, case: Case) -> int:
    """Bring the case's identifier rows up to date under the current key; 1 if changed."""
    if vault.key_position(case.details_enc) is None:
        return 0  # sealed with a key we do not have; `reportbot keys check` reports it
    details = vault.open_json(case.details_enc) or {}
    wanted = {(kind, role, vault.index(f"subject:{kind}", value))
              for kind, role, value in identifiers_of(details)}
    stored = session.scalars(select(SubjectIdentifier).where(
        SubjectIdentifier.case_id == case.id)).all()
    if {(s.kind, s.role, s.value_index) for s in stored} == wanted:
        return 0
    session.execute(delete(SubjectIdentifier).where(SubjectIdentifier.case_id == case.id))
    for kind, role, index in sorted(wanted):
        session.add(SubjectIdentifier(case_id=case.id, kind=kind, role=role,
                                      value_index=index))
    return 1


@dataclass
class Found:
    """The cases and conversations linked to one identifier."""

    identifier: Identifier
    cases: dict[int, str] = field(default_factory=dict)     # case id -> REPORTER or NAMED
    conversations: set[int] = field(default_factory=set)

    def add_case(self, case_id: int, role: str) -> None:
        """Record a matching case; being the reporter outranks being named."""
        if self.cases.get(case_id) != REPORTER:
            self.cases[case_id] = role


def find(session: Session, vault: Vault, identifier: Identifier) -> Found:
    """Find every case and conversation linked to `identifier`."""
    found = Found(identifier)
    kind, value = identifier.kind, identifier.value
    if kind == "phone":
        found.conversations |= _conversations(session, vault, PHONE_CHANNELS, value)
    elif kind == "telegram":
        found.conversations |= _conversations(session, vault, (TELEGRAM,), value)
    elif kind == "reference":
        case = session.scalar(select(Case).where(Case.reference == value))
        if case is not None:
            found.add_case(case.id, REPORTER)
            if case.conversation_id is not None:
                found.conversations.add(case.conversation_id)
    if kind in ("phone", "email"):
        rows = session.execute(select(SubjectIdentifier.case_id, SubjectIdentifier.role)
                               .where(SubjectIdentifier.kind == kind,
                                      SubjectIdentifier.value_index.in_(
                                          vault.indexes(f"subject:{kind}", value)))).all()
        for case_id, role in rows:
            found.add_case(case_id, role)
        # A report giving the person's number as their own contact came from them: their
        # conversation (and its other reports) is theirs too.
        own = [case_id for case_id, role in rows if role == REPORTER]
        if own:
            found.conversations |= set(session.scalars(select(Case.conversation_id).where(
                Case.id.in_(own), Case.conversation_id.is_not(None))))
    if found.conversations:
        for case_id in session.scalars(select(Case.id).where(
                Case.conversation_id.in_(found.conversations))):
            found.add_case(case_id, REPORTER)
    return found


def _conversations(session: Session, vault: Vault, channels: tuple[str, ...],
                   value: str) -> set[int]:
    match = or_(*(and_(Conversation.channel == channel,
                       Conversation.sender_index.in_(vault.indexes(channel, value)))
                  for channel in channels))
    return set(session.scalars(select(Conversation.id).where(match)))
