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

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from flows.answers import Commands, Invalid, match_command, offered_options, parse_answer
from flows.errors import FlowDefinitionError
from flows.messages import Choice, Inbound, Outbound
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
    "N_", "Answers", "Commands", "ConversationState", "Flow", "Kind", "Language", "Option",
    "Phase", "Ports", "Section", "Step", "Translator", "Turn", "TurnContext",
]


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
            if command == Commands.HELP:
                help_text = self._say(self.help_text(self._current(state), t), ctx,
                                      state.locale)
                return Turn(state, (help_text, self.language_menu(state.locale, ctx)))
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
        parsed = parse_answer(step, inbound, t, ctx)
        if isinstance(parsed, Invalid):
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
        turn = self._after_answer(state, step, ctx, prefix)
        if step.kind is Kind.TEXT and isinstance(parsed, str):
            return self._maybe_offer_language(turn, parsed, ctx)
        return turn

    def _maybe_offer_language(self, turn: Turn, text: str, ctx: TurnContext) -> Turn:
        """Offer the language a resident seems to be writing in, once, without imposing it."""
        state = turn.state
        # Only while the conversation is in the landlord's default language: once someone
        # has chosen another language, English names and addresses in their answers must
        # not pull them back.
        default = ctx.languages[0].code if ctx.languages else state.locale
        if (ctx.detect is None or state.notes.get("language_offered")
                or state.phase is not Phase.ACTIVE or state.locale != default):
            return turn
        guess = ctx.detect(text)
        if guess is None or guess == state.locale:
            return turn
        state.notes["language_offered"] = True
        state.notes["language_guess"] = guess
        state.resume_phase = Phase.ACTIVE
        state.phase = Phase.CHOOSING_LANGUAGE
        t = ctx.translate(guess)
        offer = self._say(t.gettext("It looks like you may prefer another language. You can "
                                    "choose one here."), ctx, guess)
        menu = self.language_menu(guess, ctx, first=guess)
        return Turn(state, (*turn.replies[:-1], offer, menu))

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
        assert nxt is not None, "the review step is always pending until submit"  # noqa: S101
        state.asked = nxt.id
        return Turn(state, (*prefix, self.ask(nxt, state, ctx)))

    def _current(self, state: ConversationState) -> Step:
        step = self.by_id.get(state.asked or "")
        if step is None or step.id in state.answers or not step.applies(state.answers):
            step = self.pending(state.answers)
        assert step is not None  # noqa: S101 - the review step is pending until submit
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
        parsed = parse_answer(pseudo, inbound, t, ctx)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self._ask_section(state, ctx)))
        for step in self.steps:
            if step.section == parsed:
                state.answers.pop(step.id, None)
                state.answered_at.pop(step.id, None)
        state.history = [h for h in state.history if h in state.answers]
        state.phase = Phase.ACTIVE
        nxt = self.pending(state.answers)
        assert nxt is not None  # noqa: S101 - the review step is pending until submit
        state.asked = nxt.id
        return Turn(state, (self.ask(nxt, state, ctx),))

    def _offer_languages(self, state: ConversationState, ctx: TurnContext) -> Turn:
        if state.phase is not Phase.CHOOSING_LANGUAGE:
            state.resume_phase = state.phase
        state.phase = Phase.CHOOSING_LANGUAGE
        return Turn(state, (self.language_menu(state.locale, ctx),))

    def language_menu(self, locale: str, ctx: TurnContext, first: str | None = None) -> Outbound:
        """Return the language question, each language named in its own script."""
        t = ctx.translate(locale)
        ordered = _languages_first(ctx, first or locale)
        choices = tuple(Choice(lang.code, lang.autonym) for lang in ordered)
        return self._render_question(
            "language", t.gettext("Which language would you like to use?"), choices,
            multiple=False, locale=locale, ctx=ctx,
        )

    def _choose_language(self, state: ConversationState, inbound: Inbound,
                         ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        ordered = _languages_first(ctx, state.notes.get("language_guess") or state.locale)
        pseudo = Step("language", "", Kind.CHOICE,
                      tuple(Option(lang.code, lang.autonym) for lang in ordered))
        parsed = parse_answer(pseudo, inbound, t, ctx, translate_labels=False)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.language_menu(state.locale, ctx)))
        state.locale = parsed
        state.notes.pop("language_guess", None)
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

    # ---- rendering -------------------------------------------------------------------

    def ask(self, step: Step, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Render the question for `step` in the resident's language."""
        t = ctx.translate(state.locale)
        prompt = step.prompt(t, state.answers) if callable(step.prompt) else \
            t.gettext(step.prompt)
        choices = tuple(Choice(o.id, t.gettext(o.label)) for o in offered_options(step, ctx))
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


def _languages_first(ctx: TurnContext, code: str) -> list[Language]:
    """Return the enabled languages with `code` first, the rest in configured order."""
    return sorted(ctx.languages, key=lambda lang: lang.code != code)


def _is_rtl(locale: str, ctx: TurnContext) -> bool:
    return any(lang.code == locale and lang.rtl for lang in ctx.languages)


