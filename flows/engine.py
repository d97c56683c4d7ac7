"""A pure conversation engine for form-like flows.

A flow is an ordered list of `Step`s. Each step says when it applies, given the answers so
far, and whether it is essential. The essential steps are asked first, up to a review and
submit; the question to ask is always the first applicable essential step that has no
answer yet, so:

* "back" removes the last answer and asks that step again;
* changing a section at review removes that section's answers and the engine asks only
  what is now missing, including steps of a branch that has just become relevant;
* nothing already answered is ever asked twice.

After submit the report is acknowledged and the optional (non-essential) steps are offered
as details (`flows.details`); the language can be changed at any point (`flows.language`).

The engine never performs I/O. Side effects (storing the report, adding a detail to it) go
through `Ports`, passed in with the `TurnContext`, and the caller persists the returned
`ConversationState`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from flows import places
from flows.answers import Commands, Invalid, match_command, offered_options, parse_answer
from flows.attachments import Attachments
from flows.details import OFFER_STEP, DetailsPhase
from flows.diary import DiaryPhase
from flows.errors import FlowDefinitionError
from flows.followup import FollowUpPhase
from flows.language import LanguageChoice, is_rtl
from flows.messages import Choice, Inbound, Outbound, Progress
from flows.partial import RECORDED_ANSWER, PartialReport
from flows.progress import progress
from flows.reconnect import Reconnect
from flows.types import (
    N_,
    Answers,
    ConversationState,
    Kind,
    Language,
    Option,
    Phase,
    Ports,
    Section,
    Step,
    Translator,
    Turn,
    TurnContext,
)

# The engine's public vocabulary, importable from here as well as from flows.types.
__all__ = [
    "N_", "OFFER_STEP", "Answers", "Commands", "ConversationState", "Flow", "Kind", "Language",
    "Option", "Phase", "Ports", "Section", "Step", "Translator", "Turn", "TurnContext",
]


class Flow(LanguageChoice, DetailsPhase, Attachments, PartialReport, Reconnect, FollowUpPhase,
           DiaryPhase):
    """A validated list of steps plus the hooks that give a flow its meaning.

    Args:
        steps: the questions, in asking order; essential ones end with the review step.
        sections: review sections, each step naming one.
        greeting: returns the opening text (before the first question).
        complete: called when the resident submits at review; returns the replies.
        help_text: returns help for the step being asked.
        review_step: id of the step that shows the summary and offers submit / change.
        assume: typical answers, used only to estimate progress before the real ones.
        diary: the questions of a diary entry (`flows.diary.diary_steps`); with them a
            resident can come back to a submitted report (`flows.followup`).

    Raises:
        FlowDefinitionError: on duplicate ids, unknown sections, choice steps without
            options, option ids too long for a Telegram button, or a review step that is
            not essential.
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
        assume: Mapping[str, Any] | None = None,
        diary: Sequence[Step] = (),
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
        self.assume = dict(assume or {})
        self.diary = tuple(diary)
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
        if not review.essential:
            raise FlowDefinitionError("the review step must be essential")
        if OFFER_STEP in self.by_id:
            raise FlowDefinitionError(f"{OFFER_STEP!r} is reserved for the details offer")
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
            if step.section not in self.sections and step.id != self.review_step:
                raise FlowDefinitionError(f"step {step.id!r} names unknown section")

    # ---- the question to ask -------------------------------------------------------

    @property
    def essentials(self) -> tuple[Step, ...]:
        """Return the essential steps, in asking order: the path every channel runs."""
        return tuple(s for s in self.steps if s.essential)

    def pending(self, answers: Answers, essential: bool = True) -> Step | None:
        """Return the first applicable essential (or optional) step without an answer."""
        for step in self.steps:
            if step.essential == essential and step.id not in answers \
                    and step.applies(answers):
                return step
        return None

    def applicable_answers(self, answers: Answers) -> dict[str, Any]:
        """Return only the answers of steps that apply, dropping abandoned branches.

        Facts a step derives from its answer (`Step.derive`, kept as ``"<step>.<name>"``)
        go with it.
        """
        kept: dict[str, Any] = {}
        for step in self.steps:
            if step.id in answers and step.applies(answers):
                kept[step.id] = answers[step.id]
                kept.update((k, v) for k, v in answers.items()
                            if k.startswith(f"{step.id}."))
        return kept

    # ---- turns -----------------------------------------------------------------------

    def start(self, ctx: TurnContext, locale: str = "en") -> Turn:
        """Open a conversation: greet the resident and ask the first question."""
        state = ConversationState(locale=locale)
        t = ctx.translate(locale)
        first = self.pending(state.answers)
        assert first is not None  # noqa: S101 - the review step is pending until submit
        state.asked = first.id
        greeting = self._say(self.greeting(ctx, t, locale), ctx, locale)
        if len(ctx.languages) > 1:
            # The language is confirmed by the resident before the first question, never
            # imposed; a guess (browser, Telegram, the first message) is offered first.
            state.phase = Phase.CHOOSING_LANGUAGE
            state.resume_phase = Phase.ACTIVE
            return Turn(state, (greeting, self.language_menu(locale, ctx)))
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
        command = inbound.command or match_command(inbound.text, t)
        if command in (Commands.ENDED_EARLY, Commands.MESSAGE_ONLY):
            return self.submit_partial(state, inbound, ctx, command)

        if command == Commands.RESTART:
            fresh = self.start(ctx, state.locale)
            note = self._say(t.gettext("Starting again. Nothing from before is kept in this "
                                       "conversation."), ctx, state.locale)
            if state.phase.report_sent or (state.resume_phase or Phase.ACTIVE).report_sent:
                note = self._say(t.gettext("Starting a new report. Your earlier report is "
                                           "safe with us."), ctx, state.locale)
            return Turn(fresh.state, (note, *fresh.replies))
        if command == Commands.LANGUAGE:
            return self._offer_languages(state, ctx)
        kept = self._kept_note(state, inbound, ctx) if command != Commands.RECORDED \
            else None
        if kept is not None:
            return kept
        if state.phase is Phase.CHOOSING_LANGUAGE:
            if command == Commands.HELP:
                help_text = self._say(self.help_text(self._help_step(state), t), ctx,
                                      state.locale)
                return Turn(state, (help_text, self.language_menu(state.locale, ctx)))
            return self._choose_language(state, inbound, ctx)
        if state.phase is Phase.SUBMITTED and self.diary and state.reference:
            return self.returning(state, inbound, ctx)
        if state.phase is Phase.SUBMITTED:
            text = self.after_submit(state, t)
            return Turn(state, (self._say(text, ctx, state.locale, done=True),))
        if state.phase in (Phase.RECONNECTING, Phase.FOLLOWING_UP):
            return self.follow_up_turn(state, inbound, ctx, command)
        if state.phase is Phase.OFFERING_DETAILS:
            return self._answer_offer(state, inbound, ctx, command)
        if command == Commands.HELP:
            step = self._current(state)
            replies = [self._say(self.help_text(step, t), ctx, state.locale)]
            return Turn(state, (*replies, self.ask(step, state, ctx)))
        if command == Commands.BACK:
            return self._back(state, ctx)

        if state.phase is Phase.PAUSED:
            state.phase = Phase.ACTIVE
            back = self._say(t.gettext("Welcome back. We will carry on where you left off."),
                             ctx, state.locale)
            return Turn(state, (back, self.ask(self._current(state), state, ctx)))
        if state.phase is Phase.CHANGING:
            return self._change_section(state, inbound, ctx)

        step = self._current(state)
        if self.offers_reconnect(step.id, state, ctx):
            reconnect = self.wants_reconnect(state, inbound, ctx,
                                             len(offered_options(step, ctx)))
            if reconnect is not None:
                return reconnect
        # Files sent with words are kept (the runner stored them) and said so; the words
        # still answer the question when they can.
        recorded = command == Commands.RECORDED and step.kind is Kind.TEXT
        files = (self._files_note(inbound, ctx, state.locale),) \
            if inbound.media and not recorded else ()
        if inbound.location is not None:
            parsed: Any = places.as_answer(inbound.location)
        elif recorded:
            parsed = RECORDED_ANSWER
        else:
            parsed = parse_answer(step, inbound, t, ctx)
            if isinstance(parsed, str) and step.check is not None:
                parsed = step.check(parsed, state.answers)
        if isinstance(parsed, Invalid):
            if files and step.kind is not Kind.TEXT:
                # A caption is rarely meant as the answer to a choice: ask again, kindly.
                return Turn(state, (*files, self.ask(step, state, ctx)))
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (*files, error, self.ask(step, state, ctx)))

        if step.id == self.review_step:
            if parsed == self.change_option:
                state.phase = Phase.CHANGING
                return Turn(state, (*files, self._ask_section(state, ctx)))
            return Turn(state, (*files, *self._submit(state, ctx, t)))

        self._record(state, step, parsed, ctx)
        if state.phase is Phase.ADDING_DETAILS:
            ctx.ports.add_detail(state, step.id)
        turn = self._after_answer(state, step, ctx)
        return Turn(turn.state, (*files, *turn.replies))

    # ---- pieces ----------------------------------------------------------------------

    def _record(self, state: ConversationState, step: Step, parsed: Any,
                ctx: TurnContext) -> None:
        """Keep the answer, when it was given, and whatever the step derives from it."""
        self._forget(state, step.id)
        state.answers[step.id] = parsed
        state.answered_at[step.id] = ctx.now.isoformat()
        state.history.append(step.id)
        if step.derive is not None:
            for name, value in step.derive(parsed, ctx, state.locale).items():
                state.answers[f"{step.id}.{name}"] = value

    def _forget(self, state: ConversationState, step_id: str) -> None:
        """Drop an answer and whatever was derived from it."""
        for key in [k for k in state.answers if k.startswith(f"{step_id}.")]:
            del state.answers[key]
        state.answers.pop(step_id, None)
        state.answered_at.pop(step_id, None)

    def _after_answer(self, state: ConversationState, step: Step, ctx: TurnContext) -> Turn:
        """Ask the next pending question, or pause when the answer asks for a pause."""
        if state.phase is Phase.ADDING_DETAILS:
            nxt = self.pending(state.answers, essential=False)
            if nxt is None:
                return self._details_done(state, ctx)
            state.asked = nxt.id
            return Turn(state, (self.ask(nxt, state, ctx),))
        pause = step.pauses.get(state.answers[step.id]) \
            if isinstance(state.answers[step.id], str) else None
        if pause:
            t = ctx.translate(state.locale)
            nxt = self.pending(state.answers)
            state.asked = nxt.id if nxt else None
            state.phase = Phase.PAUSED
            return Turn(state, (self._say(t.gettext(pause), ctx, state.locale),))
        nxt = self.pending(state.answers)
        assert nxt is not None, "the review step is always pending until submit"  # noqa: S101
        state.asked = nxt.id
        return Turn(state, (self.ask(nxt, state, ctx),))

    def _current(self, state: ConversationState) -> Step:
        essential = state.phase is not Phase.ADDING_DETAILS
        step = self.by_id.get(state.asked or "")
        if step is None or step.essential != essential or step.id in state.answers \
                or not step.applies(state.answers):
            step = self.pending(state.answers, essential)
        assert step is not None  # noqa: S101 - the review step is pending until submit
        state.asked = step.id
        return step

    def _help_step(self, state: ConversationState) -> Step:
        """Return the step help is about, even where no flow step is being asked."""
        if state.phase.report_sent or (state.resume_phase or Phase.ACTIVE).report_sent:
            return self.by_id[self.review_step]
        return self._current(state)

    def _back(self, state: ConversationState, ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        if state.phase is Phase.CHANGING:
            state.phase = Phase.ACTIVE
            return Turn(state, (self.ask(self._current(state), state, ctx),))
        while state.history:
            last = state.history.pop()
            if last in state.answers:
                self._forget(state, last)
                if state.phase is not Phase.ADDING_DETAILS:
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
        # The report now lives, sealed, on the case. For the details the conversation keeps
        # only the choices that decide which of them apply: no free text.
        state.answers = {k: v for k, v in state.answers.items()
                         if k in self.by_id and self.by_id[k].kind is not Kind.TEXT}
        state.answered_at = {}
        offer = self._after_submit_offer(state, ctx)
        return (*replies, offer) if offer is not None else replies

    def _ask_section(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        t = ctx.translate(state.locale)
        choices = tuple(Choice(sid, t.gettext(self.sections[sid].label))
                        for sid in self._changeable(state))
        return self._render_question(
            "change", t.gettext("Which part would you like to change?"), choices,
            multiple=False, locale=state.locale, ctx=ctx,
        )

    def _changeable(self, state: ConversationState) -> list[str]:
        """Return the sections holding answers, in order: what review can change."""
        present = {self.by_id[s].section for s in self.applicable_answers(state.answers)
                   if s in self.by_id}
        return [sid for sid in self.sections if sid in present]

    def _change_section(self, state: ConversationState, inbound: Inbound,
                        ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        pseudo = Step("change", "", Kind.CHOICE,
                      tuple(Option(sid, self.sections[sid].label)
                            for sid in self._changeable(state)))
        parsed = parse_answer(pseudo, inbound, t, ctx)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self._ask_section(state, ctx)))
        for step in self.steps:
            if step.section == parsed and step.id in state.answers:
                self._forget(state, step.id)
        state.history = [h for h in state.history if h in state.answers]
        state.phase = Phase.ACTIVE
        nxt = self.pending(state.answers)
        assert nxt is not None  # noqa: S101 - the review step is pending until submit
        state.asked = nxt.id
        return Turn(state, (self.ask(nxt, state, ctx),))

    # ---- rendering -------------------------------------------------------------------

    def ask(self, step: Step, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Render the question for `step` in the resident's language, with progress."""
        t = ctx.translate(state.locale)
        prompt = step.prompt(t, state.answers) if callable(step.prompt) else \
            t.gettext(step.prompt)
        choices = tuple(Choice(o.id, t.gettext(o.label)) for o in offered_options(step, ctx))
        if self.offers_reconnect(step.id, state, ctx):
            choices = (*choices, self.reconnect_choice(ctx, state.locale))
        return self._render_question(
            step.id, prompt, choices, multiple=step.kind is Kind.MULTI,
            locale=state.locale, ctx=ctx, text_input=step.kind is Kind.TEXT,
            progress=progress(step, self.steps, self.sections, state.answers, self.assume, t),
        )

    def _render_question(self, question: str, text: str, choices: tuple[Choice, ...],
                         multiple: bool, locale: str, ctx: TurnContext,
                         text_input: bool = False, progress: Progress | None = None
                         ) -> Outbound:
        return Outbound(
            text=text, question=question, choices=choices, multiple=multiple,
            input="text" if text_input else "choice", lang=locale,
            dir="rtl" if is_rtl(locale, ctx) else "ltr", progress=progress,
        )

    def _say(self, text: str, ctx: TurnContext, locale: str, done: bool = False) -> Outbound:
        return Outbound(text=text, lang=locale, dir="rtl" if is_rtl(locale, ctx) else "ltr",
                        input="none" if done else "text")
