"""A pure conversation engine for form-like flows.

A flow is an ordered list of `Step`s. Each step says when it applies, given the answers so
far. The question to ask is always the first applicable step that has no answer yet, so:

* "back" removes the last answer and asks that step again;
* changing a section at review removes that section's answers and the engine asks only
  what is now missing, including steps of a branch that has just become relevant;
* nothing already answered is ever asked twice.

The engine never performs I/O. Side effects (storing the report) go through `Ports`, passed
in with the `TurnContext`, and the caller persists the returned `ConversationState`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from flows.errors import FlowDefinitionError
from flows.messages import Choice, Inbound, Outbound

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
    """Where a conversation is, as a whole."""

    ACTIVE = "active"
    PAUSED = "paused"
    CHOOSING_LANGUAGE = "choosing_language"
    CHANGING = "changing"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class Option:
    """One answer a choice step offers; `exclusive` ones cannot be combined with others."""

    id: str
    label: str
    exclusive: bool = False
    reply_channel_only: bool = False


class Translator(Protocol):
    """The part of a gettext translations object the flow needs."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


PromptFn = Callable[[Translator, Answers], str]


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
class Language:
    """A language the resident may choose, named in its own script."""

    code: str
    autonym: str
    rtl: bool = False


class Ports(Protocol):
    """Side effects a flow may ask for; implemented by the application."""

    def submit_report(self, state: ConversationState) -> Any: ...


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
    """

    translate: Callable[[str], Translator]
    languages: tuple[Language, ...]
    now: datetime
    channel: str
    org: Any
    ports: Ports
    can_reply_later: bool = False


@dataclass(frozen=True)
class Turn:
    """The result of one turn: the new state and the replies, in order."""

    state: ConversationState
    replies: tuple[Outbound, ...]


class Commands:
    """Words that work at any point; recognised in English and in the resident's language."""

    HELP = "help"
    BACK = "back"
    RESTART = "restart"
    LANGUAGE = "language"

    WORDS = {
        HELP: (N_("help"), "help", "?"),
        BACK: (N_("back"), "back"),
        RESTART: (N_("start again"), "start again", "restart", "start over"),
        LANGUAGE: (N_("language"), "language", "languages"),
    }


_SPLIT = re.compile(r"[,;\n]+|\s+")


def _fold(text: str) -> str:
    """Normalise typed text for comparison with labels and command words."""
    return " ".join(text.casefold().split()).strip(" .!?¿¡،。")


class Flow:
    """A validated list of steps plus the hooks that give a flow its meaning.

    Args:
        steps: the questions, in asking order; the last must be the review step.
        sections: review sections, each step naming one.
        greeting: returns the opening text (before the first question).
        complete: called when the resident submits at review; returns the replies.
        help_text: returns help for the step being asked.
        review_step: id of the step that shows the summary and offers submit / change.

    Raises:
        FlowDefinitionError: on duplicate ids, unknown sections, choice steps without
            options, or option ids too long for a Telegram button.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        sections: Sequence[Section],
        greeting: Callable[[TurnContext, Translator, str], str],
        complete: Callable[[ConversationState, TurnContext, Translator], tuple[Outbound, ...]],
        help_text: Callable[[Step, Translator], str],
        after_submit: Callable[[ConversationState, Translator], str],
        review_step: str = "review",
        submit_option: str = "submit",
        change_option: str = "change",
    ) -> None:
        self.steps = tuple(steps)
        self.sections = {s.id: s for s in sections}
        self.by_id = {s.id: s for s in self.steps}
        self.greeting = greeting
        self.complete = complete
        self.help_text = help_text
        self.after_submit = after_submit
        self.review_step = review_step
        self.submit_option = submit_option
        self.change_option = change_option
        self._check()

    def _check(self) -> None:
        if len(self.by_id) != len(self.steps):
            seen: set[str] = set()
            dupes = [s.id for s in self.steps if s.id in seen or seen.add(s.id)]
            raise FlowDefinitionError(f"duplicate step ids: {dupes}")
        if self.review_step not in self.by_id:
            raise FlowDefinitionError(f"review step {self.review_step!r} is not a step")
        review = self.by_id[self.review_step]
        if {self.submit_option, self.change_option} - {o.id for o in review.options}:
            raise FlowDefinitionError("review step must offer the submit and change options")
        for step in self.steps:
            if step.kind in (Kind.CHOICE, Kind.MULTI) and not step.options:
                raise FlowDefinitionError(f"step {step.id!r} offers no options")
            ids = [o.id for o in step.options]
            if len(ids) != len(set(ids)):
                raise FlowDefinitionError(f"step {step.id!r} has duplicate option ids")
            for option_id in ids:
                # Telegram callback_data carries "step:option" in at most 64 bytes.
                if len(f"{step.id}:{option_id}".encode()) > 64:
                    raise FlowDefinitionError(f"option {step.id}:{option_id} is over 64 bytes")
            if step.id != self.review_step and step.section not in self.sections:
                raise FlowDefinitionError(f"step {step.id!r} names unknown section")

    # ---- the question to ask -------------------------------------------------------

    def pending(self, answers: Answers) -> Step | None:
        """Return the first applicable step without an answer, or None when all are done."""
        for step in self.steps:
            if step.id not in answers and step.applies(answers):
                return step
        return None

    def applicable_answers(self, answers: Answers) -> dict[str, Any]:
        """Return only the answers of steps that apply, dropping abandoned branches."""
        return {
            s.id: answers[s.id] for s in self.steps if s.id in answers and s.applies(answers)
        }

    # ---- turns -----------------------------------------------------------------------

    def start(self, ctx: TurnContext, locale: str = "en") -> Turn:
        """Open a conversation: greet the resident and ask the first question."""
        state = ConversationState(locale=locale)
        t = ctx.translate(locale)
        first = self.pending(state.answers)
        assert first is not None
        state.asked = first.id
        greeting = self._say(self.greeting(ctx, t, locale), ctx, locale)
        return Turn(state, (greeting, self.ask(first, state, ctx)))

    def handle(self, state: ConversationState, inbound: Inbound, ctx: TurnContext) -> Turn:
        """Take the resident's message and return the new state and the replies."""
        state = replace(
            state,
            answers=dict(state.answers),
            answered_at=dict(state.answered_at),
            history=list(state.history),
            notes=dict(state.notes),
        )
        t = ctx.translate(state.locale)
        command = inbound.command or self._command(inbound.text, t)

        if command == Commands.RESTART:
            fresh = self.start(ctx, state.locale)
            note = self._say(t.gettext("Starting again. Nothing from before is kept in this "
                                       "conversation."), ctx, state.locale)
            if state.phase is Phase.SUBMITTED:
                note = self._say(t.gettext("Starting a new report. Your earlier report is "
                                           "safe with us."), ctx, state.locale)
            return Turn(fresh.state, (note, *fresh.replies))
        if command == Commands.LANGUAGE:
            return self._offer_languages(state, ctx)
        if state.phase is Phase.CHOOSING_LANGUAGE:
            return self._choose_language(state, inbound, ctx)
        if state.phase is Phase.SUBMITTED:
            text = self.after_submit(state, t)
            return Turn(state, (self._say(text, ctx, state.locale, done=True),))
        if command == Commands.HELP:
            step = self._current(state)
            replies = [self._say(self.help_text(step, t), ctx, state.locale)]
            return Turn(state, (*replies, self.ask(step, state, ctx)))
        if command == Commands.BACK:
            return self._back(state, ctx)

        prefix: list[Outbound] = []
        if state.phase is Phase.PAUSED:
            state.phase = Phase.ACTIVE
            back = self._say(t.gettext("Welcome back. We will carry on where you left off."),
                             ctx, state.locale)
            return Turn(state, (back, self.ask(self._current(state), state, ctx)))
        if state.phase is Phase.CHANGING:
            return self._change_section(state, inbound, ctx)

        if inbound.media and not inbound.text.strip() and not inbound.choices:
            step = self._current(state)
            thanks = self._say(t.ngettext(
                "Thank you. We have kept this file with your report.",
                "Thank you. We have kept these %(num)d files with your report.",
                len(inbound.media)) % {"num": len(inbound.media)}, ctx, state.locale)
            return Turn(state, (*prefix, thanks, self.ask(step, state, ctx)))

        step = self._current(state)
        parsed = self.parse(step, inbound, t, ctx)
        if isinstance(parsed, _Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (*prefix, error, self.ask(step, state, ctx)))

        if step.id == self.review_step:
            if parsed == self.change_option:
                state.phase = Phase.CHANGING
                return Turn(state, (*prefix, self._ask_section(state, ctx)))
            return Turn(state, (*prefix, *self._submit(state, ctx, t)))

        state.answers[step.id] = parsed
        state.answered_at[step.id] = ctx.now.isoformat()
        state.history.append(step.id)
        return self._after_answer(state, step, ctx, prefix)

    # ---- pieces ----------------------------------------------------------------------

    def _after_answer(self, state: ConversationState, step: Step, ctx: TurnContext,
                      prefix: list[Outbound]) -> Turn:
        """Ask the next pending question, or pause when the answer asks for a pause."""
        pause = step.pauses.get(state.answers[step.id]) \
            if isinstance(state.answers[step.id], str) else None
        if pause:
            t = ctx.translate(state.locale)
            nxt = self.pending(state.answers)
            state.asked = nxt.id if nxt else None
            state.phase = Phase.PAUSED
            return Turn(state, (*prefix, self._say(t.gettext(pause), ctx, state.locale)))
        nxt = self.pending(state.answers)
        assert nxt is not None, "the review step is always pending until submit"
        state.asked = nxt.id
        return Turn(state, (*prefix, self.ask(nxt, state, ctx)))

    def _current(self, state: ConversationState) -> Step:
        step = self.by_id.get(state.asked or "")
        if step is None or step.id in state.answers or not step.applies(state.answers):
            step = self.pending(state.answers)
        assert step is not None
        state.asked = step.id
        return step

    def _back(self, state: ConversationState, ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        if state.phase is Phase.CHANGING:
            state.phase = Phase.ACTIVE
            return Turn(state, (self.ask(self._current(state), state, ctx),))
        while state.history:
            last = state.history.pop()
            if last in state.answers:
                del state.answers[last]
                state.answered_at.pop(last, None)
                state.phase = Phase.ACTIVE
                step = self.by_id[last]
                state.asked = step.id
                return Turn(state, (self.ask(step, state, ctx),))
        note = self._say(t.gettext("This is the first question."), ctx, state.locale)
        return Turn(state, (note, self.ask(self._current(state), state, ctx)))

    def _submit(self, state: ConversationState, ctx: TurnContext, t: Translator
                ) -> tuple[Outbound, ...]:
        state.answers = self.applicable_answers(state.answers)
        replies = self.complete(state, ctx, t)
        state.phase = Phase.SUBMITTED
        state.asked = None
        return replies

    def _ask_section(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        t = ctx.translate(state.locale)
        present = {self.by_id[s].section for s in self.applicable_answers(state.answers)}
        choices = tuple(
            Choice(sid, t.gettext(sec.label))
            for sid, sec in self.sections.items() if sid in present
        )
        return self._render_question(
            "change", t.gettext("Which part would you like to change?"), choices,
            multiple=False, locale=state.locale, ctx=ctx,
        )

    def _change_section(self, state: ConversationState, inbound: Inbound,
                        ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        present = [
            sid for sid in self.sections
            if any(self.by_id[s].section == sid
                   for s in self.applicable_answers(state.answers))
        ]
        pseudo = Step("change", "", Kind.CHOICE,
                      tuple(Option(sid, self.sections[sid].label) for sid in present))
        parsed = self.parse(pseudo, inbound, t, ctx)
        if isinstance(parsed, _Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self._ask_section(state, ctx)))
        for step in self.steps:
            if step.section == parsed:
                state.answers.pop(step.id, None)
                state.answered_at.pop(step.id, None)
        state.history = [h for h in state.history if h in state.answers]
        state.phase = Phase.ACTIVE
        nxt = self.pending(state.answers)
        assert nxt is not None
        state.asked = nxt.id
        return Turn(state, (self.ask(nxt, state, ctx),))

    def _offer_languages(self, state: ConversationState, ctx: TurnContext) -> Turn:
        if state.phase is not Phase.CHOOSING_LANGUAGE:
            state.resume_phase = state.phase
        state.phase = Phase.CHOOSING_LANGUAGE
        return Turn(state, (self.language_menu(state.locale, ctx),))

    def language_menu(self, locale: str, ctx: TurnContext) -> Outbound:
        """Return the language question, each language named in its own script."""
        t = ctx.translate(locale)
        choices = tuple(Choice(lang.code, lang.autonym) for lang in ctx.languages)
        return self._render_question(
            "language", t.gettext("Which language would you like to use?"), choices,
            multiple=False, locale=locale, ctx=ctx,
        )

    def _choose_language(self, state: ConversationState, inbound: Inbound,
                         ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        pseudo = Step("language", "", Kind.CHOICE,
                      tuple(Option(lang.code, lang.autonym) for lang in ctx.languages))
        parsed = self.parse(pseudo, inbound, t, ctx, translate_labels=False)
        if isinstance(parsed, _Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.language_menu(state.locale, ctx)))
        state.locale = parsed
        state.phase = state.resume_phase or Phase.ACTIVE
        state.resume_phase = None
        t = ctx.translate(state.locale)
        done = self._say(t.gettext("Thank you. We will use this language."), ctx, state.locale)
        if state.phase is Phase.SUBMITTED:
            return Turn(state, (done,))
        if state.phase is Phase.CHANGING:
            return Turn(state, (done, self._ask_section(state, ctx)))
        if state.phase is Phase.PAUSED:
            state.phase = Phase.ACTIVE
        return Turn(state, (done, self.ask(self._current(state), state, ctx)))

    # ---- parsing the resident's answer -----------------------------------------------

    def _command(self, text: str, t: Translator) -> str | None:
        folded = _fold(text)
        if not folded:
            return None
        for command, words in Commands.WORDS.items():
            if folded in {_fold(w) for w in words} | {_fold(t.gettext(words[0]))}:
                return command
        return None

    def options(self, step: Step, ctx: TurnContext) -> tuple[Option, ...]:
        """Return the options `step` offers on this channel."""
        return tuple(o for o in step.options if ctx.can_reply_later or not o.reply_channel_only)

    def parse(self, step: Step, inbound: Inbound, t: Translator, ctx: TurnContext,
              translate_labels: bool = True) -> Any:
        """Turn the resident's message into an answer for `step`, or an `_Invalid`."""
        if step.kind is Kind.TEXT:
            return self._parse_text(step, inbound, t)
        offered = self.options(step, ctx)
        labels = {
            o.id: _fold(t.gettext(o.label) if translate_labels else o.label) for o in offered
        }
        english = {o.id: _fold(o.label) for o in offered}
        if inbound.choices:
            picked = list(dict.fromkeys(inbound.choices))
        else:
            picked = self._match_text(offered, step.kind, inbound.text, labels, english)
            if picked is None:
                return _Invalid("choice" if step.kind is Kind.CHOICE else "multi")
        if any(p not in labels for p in picked) or not picked:
            return _Invalid("choice" if step.kind is Kind.CHOICE else "multi")
        if step.kind is Kind.CHOICE:
            if len(picked) != 1:
                return _Invalid("one")
            return picked[0]
        exclusive = {o.id for o in offered if o.exclusive}
        if len(picked) > 1 and exclusive & set(picked):
            return _Invalid("exclusive")
        return [o.id for o in offered if o.id in picked]

    def _match_text(self, offered: tuple[Option, ...], kind: Kind, text: str,
                    labels: dict[str, str], english: dict[str, str]) -> list[str] | None:
        folded = _fold(text)
        if not folded:
            return None
        ids = [o.id for o in offered]
        for table in (labels, english):
            for option_id, label in table.items():
                if folded == label:
                    return [option_id]
        if folded in ids:
            return [folded]
        parts = [p for p in _SPLIT.split(folded) if p]
        if parts and all(p.isdigit() for p in parts):
            numbers = [int(p) for p in parts]
            if all(1 <= n <= len(ids) for n in numbers):
                return [ids[n - 1] for n in numbers]
            return None
        if kind is Kind.MULTI:
            pieces = [_fold(p) for p in re.split(r"[,;\n]+", text) if p.strip()]
            found: list[str] = []
            for piece in pieces:
                if piece.isdigit() and 1 <= int(piece) <= len(ids):
                    found.append(ids[int(piece) - 1])
                    continue
                match = _phrase_match(piece, labels, english)
                if match is None:
                    return None
                found.append(match)
            return found or None
        match = _phrase_match(folded, labels, english)
        return [match] if match else None

    def _parse_text(self, step: Step, inbound: Inbound, t: Translator) -> Any:
        if step.optional and ("skip" in inbound.choices or
                              _fold(inbound.text) in {"skip", _fold(t.gettext("skip"))}):
            return None
        text = inbound.text.strip()
        if inbound.choices and not text:
            return _Invalid("text")
        if not text:
            return _Invalid("empty")
        if len(text) > step.max_length:
            return _Invalid("long", step.max_length)
        return _clean(text)

    # ---- rendering -------------------------------------------------------------------

    def ask(self, step: Step, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Render the question for `step` in the resident's language."""
        t = ctx.translate(state.locale)
        prompt = step.prompt(t, state.answers) if callable(step.prompt) else \
            t.gettext(step.prompt)
        choices = tuple(Choice(o.id, t.gettext(o.label)) for o in self.options(step, ctx))
        if step.kind is Kind.TEXT and step.optional:
            choices = (Choice("skip", t.gettext("Skip this question")),)
        return self._render_question(
            step.id, prompt, choices, multiple=step.kind is Kind.MULTI,
            locale=state.locale, ctx=ctx, text_input=step.kind is Kind.TEXT,
        )

    def _render_question(self, question: str, text: str, choices: tuple[Choice, ...],
                         multiple: bool, locale: str, ctx: TurnContext,
                         text_input: bool = False) -> Outbound:
        rtl = _is_rtl(locale, ctx)
        return Outbound(
            text=text, question=question, choices=choices, multiple=multiple,
            input="text" if text_input else "choice", lang=locale,
            dir="rtl" if rtl else "ltr",
        )

    def _say(self, text: str, ctx: TurnContext, locale: str, done: bool = False) -> Outbound:
        return Outbound(text=text, lang=locale, dir="rtl" if _is_rtl(locale, ctx) else "ltr",
                        input="none" if done else "text")


def _phrase_match(typed: str, *tables: dict[str, str]) -> str | None:
    """Return the one option whose label is or contains `typed` as whole words."""
    for table in tables:
        for option_id, label in table.items():
            if typed == label:
                return option_id
    if len(typed) < 2:
        return None
    pattern = re.compile(rf"(?<!\w){re.escape(typed)}(?!\w)")
    for table in tables:
        hits = {oid for oid, label in table.items() if pattern.search(label)}
        if len(hits) == 1:
            return hits.pop()
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Drop control characters a phone or a script may send; keep the resident's words."""
    return _CONTROL.sub("", text)


def _is_rtl(locale: str, ctx: TurnContext) -> bool:
    return any(lang.code == locale and lang.rtl for lang in ctx.languages)


@dataclass(frozen=True)
class _Invalid:
    """Why an answer was not understood; rendered kindly in the resident's language."""

    reason: str
    limit: int = 0

    def message(self, t: Translator) -> str:
        if self.reason == "multi":
            return t.gettext("Sorry, I did not understand. Please choose one or more of the "
                             "options. You can type their numbers, like 1 3.")
        if self.reason == "exclusive":
            return t.gettext("Sorry, that answer cannot be combined with the others. "
                             "Please choose again.")
        if self.reason == "one":
            return t.gettext("Please choose just one of the options.")
        if self.reason == "empty":
            return t.gettext("Please type your answer in a message.")
        if self.reason == "text":
            return t.gettext("Please type your answer in your own words.")
        if self.reason == "long":
            return t.gettext("That message is too long for this question. Please keep it "
                             "under %(limit)d characters.") % {"limit": self.limit}
        return t.gettext("Sorry, I did not understand. Please choose one of the options. "
                         "You can type its number.")
