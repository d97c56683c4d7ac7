"""The engine's data types: steps, options, conversation state, turn context.

Pure data, no behaviour beyond (de)serialising the state to JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from flows.messages import Outbound

Answers = Mapping[str, Any]


def N_(message: str) -> str:
    """Mark a string for translation without translating it yet."""
    return message


class Kind(Enum):
    """What sort of answer a step takes."""

    CHOICE = "choice"
    MULTI = "multi"
    TEXT = "text"


class Phase(Enum):
    """Where a conversation is, as a whole.

    ACTIVE asks the essential questions up to the review (CHANGING: choosing a part to
    change there; PAUSED: waiting for the resident to come back). After the report is sent
    and acknowledged, OFFERING_DETAILS waits for the answer to "would you add details?",
    ADDING_DETAILS asks the optional details (each stored on the case as it arrives), and
    SUBMITTED is the end of the report itself. A resident who writes again (or who comes
    back from any channel with their reference and follow-up code: RECONNECTING) is
    FOLLOWING_UP their report: a menu, diary entries, the case's messages, its status.
    CHOOSING_LANGUAGE can interrupt any of them.
    """

    ACTIVE = "active"
    PAUSED = "paused"
    CHOOSING_LANGUAGE = "choosing_language"
    CHANGING = "changing"
    OFFERING_DETAILS = "offering_details"
    ADDING_DETAILS = "adding_details"
    SUBMITTED = "submitted"
    RECONNECTING = "reconnecting"
    FOLLOWING_UP = "following_up"

    @property
    def report_sent(self) -> bool:
        """Return whether the conversation is about a stored, acknowledged case."""
        return self in (Phase.OFFERING_DETAILS, Phase.ADDING_DETAILS, Phase.SUBMITTED,
                        Phase.FOLLOWING_UP)


@dataclass(frozen=True)
class Option:
    """One answer a step offers; `exclusive` ones cannot be combined with others.

    `summary`, when given, is how the answer reads in the review summary and on the case
    ("Yes" for "Yes, I'll give my name"), so the summary never speaks in the resident's
    own voice.
    """

    id: str
    label: str
    exclusive: bool = False
    reply_channel_only: bool = False
    summary: str | None = None


class Translator(Protocol):
    """The part of a gettext translations object the flow needs."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


PromptFn = Callable[[Translator, Answers], str]
DeriveFn = Callable[[Any, "TurnContext", str], Mapping[str, Any]]
# Checks a typed answer given the answers so far: returns the value to keep, or an object
# with a `message(translator)` method (flows.answers.Invalid) saying kindly what is wrong.
CheckFn = Callable[[str, Answers], Any]


@dataclass(frozen=True)
class Step:
    """One question of a flow.

    Args:
        id: stable, language-independent step id, e.g. ``immediate_danger``.
        prompt: a msgid, or a function of (translator, answers) returning translated text.
        kind: CHOICE, MULTI or TEXT.
        options: the answers a CHOICE or MULTI step offers.
        applies: whether the step is asked, given the answers so far.
        optional: a TEXT step the resident may skip.
        section: the review section the step belongs to.
        summary: a short msgid naming the answer in the review summary.
        max_length: longest accepted typed answer for a TEXT step.
        pauses: option ids that pause the conversation, with the msgid said on pausing.
        essential: asked before the acknowledgement (the essentials path every channel
            runs); the other steps are optional details offered after it.
        derive: returns facts the flow keeps beside this step's answer, as answers named
            ``"<step id>.<name>"`` that live and go with it (e.g. the prejudice signs found
            in the narrative, ``narrative.signs``).
        check: checks and tidies a typed answer (a phone number, an email address).
        place: a shared map pin or venue answers this TEXT step.

    A TEXT step may offer `options` too ("I don't know"): they are picked by button,
    number or label like a choice, and the option id is kept as the answer.
    """

    id: str
    prompt: str | PromptFn
    kind: Kind
    options: tuple[Option, ...] = ()
    applies: Callable[[Answers], bool] = lambda answers: True
    optional: bool = False
    section: str = ""
    summary: str | None = None
    max_length: int = 2000
    pauses: Mapping[str, str] = field(default_factory=dict)
    essential: bool = False
    derive: DeriveFn | None = None
    check: CheckFn | None = None
    place: bool = False


@dataclass(frozen=True)
class Section:
    """A group of steps the resident can change together at review."""

    id: str
    label: str


@dataclass
class ConversationState:
    """Everything the engine remembers about one conversation; stored as JSON."""

    phase: Phase = Phase.ACTIVE
    locale: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)
    answered_at: dict[str, str] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    asked: str | None = None
    resume_phase: Phase | None = None
    reference: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str | None:
        """Return what the conversation waits for: a step id, "language", "change" or None."""
        if self.phase is Phase.CHOOSING_LANGUAGE:
            return "language"
        if self.phase is Phase.CHANGING:
            return "change"
        if self.phase in (Phase.SUBMITTED, Phase.PAUSED):
            return None
        return self.asked

    def to_json(self) -> dict:
        """Return a JSON-safe dict of the state."""
        return {
            "phase": self.phase.value,
            "locale": self.locale,
            "answers": self.answers,
            "answered_at": self.answered_at,
            "history": self.history,
            "asked": self.asked,
            "resume_phase": self.resume_phase.value if self.resume_phase else None,
            "reference": self.reference,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> ConversationState:
        """Rebuild a state saved with `to_json`."""
        resume = data.get("resume_phase")
        return cls(
            phase=Phase(data.get("phase", "active")),
            locale=data.get("locale", "en"),
            answers=dict(data.get("answers", {})),
            answered_at=dict(data.get("answered_at", {})),
            history=list(data.get("history", [])),
            asked=data.get("asked"),
            resume_phase=Phase(resume) if resume else None,
            reference=data.get("reference"),
            notes=dict(data.get("notes", {})),
        )


@dataclass(frozen=True)
class ThreadItem:
    """One message of a case's thread as the resident sees it: who, when, what."""

    sender: str  # "staff" or "resident"
    at: datetime
    text: str


@dataclass(frozen=True)
class CaseStatus:
    """Where a case is, as codes the flow says in plain words (no names, no other people)."""

    stage: str  # received, looking, contacted, plan, closed
    outcome: str | None = None


@dataclass(frozen=True)
class Language:
    """A language the resident may choose, named in its own script."""

    code: str
    autonym: str
    rtl: bool = False


class Ports(Protocol):
    """Side effects a flow may ask for; implemented by the application."""

    def submit_report(self, state: ConversationState) -> Any:
        """Store the report made of the essential answers and return its receipt."""

    def add_detail(self, state: ConversationState, step: str) -> None:
        """Store one detail answered after the acknowledgement on the submitted case."""

    # ---- following up a report (flows.followup) -------------------------------------

    def reference_in(self, text: str) -> str | None:
        """Return the well-formed case reference `text` is, normalised, or None."""

    def follow_up(self, reference: str, code: str) -> str:
        """Check a reference and code: "ok" (now following that case), "wrong" or "locked"."""

    def report_answers(self, reference: str) -> Mapping[str, Any]:
        """Return the case's answers that decide which details apply (text ones as None)."""

    def case_status(self, reference: str) -> CaseStatus:
        """Return where the case is now."""

    def read_thread(self, reference: str, unread_only: bool) -> list[ThreadItem]:
        """Return the case's messages in order, marking the staff ones read by the resident."""

    def reply(self, reference: str, text: str) -> None:
        """Add the resident's message to the case's thread and tell the officer."""

    def add_diary(self, state: ConversationState, entry: Mapping[str, Any]) -> str:
        """Store a diary entry on the case (or a linked new one); return its reference."""


@dataclass(frozen=True)
class TurnContext:
    """What a turn needs besides the state and the resident's message.

    Args:
        translate: returns the translator for a locale code.
        languages: languages the resident may choose.
        now: the instant the message counts as received (aware).
        channel: the channel name, e.g. ``webchat``.
        org: the organisation's public details (a flow-neutral object).
        ports: side-effect ports.
        can_reply_later: whether this channel can carry a later message to the resident.
        detect: guesses the language of free text (an enabled code), or None.
        prejudice_signs: returns the strand codes whose plain signs appear in a text
            written in a language (text, locale), or None.
    """

    translate: Callable[[str], Translator]
    languages: tuple[Language, ...]
    now: datetime
    channel: str
    org: Any
    ports: Ports
    can_reply_later: bool = False
    detect: Callable[[str], str | None] | None = None
    prejudice_signs: Callable[[str, str], list[str]] | None = None


@dataclass(frozen=True)
class Turn:
    """The result of one turn: the new state and the replies, in order."""

    state: ConversationState
    replies: tuple[Outbound, ...]
