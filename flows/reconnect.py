"""Coming back to a report from any channel: the reference, then the follow-up code.

Part of `flows.engine.Flow` (a mixin). At the first question a resident may choose "I
already have a reference number" (choice ``have_reference``) or simply type their
reference. The reference alone reveals nothing: whatever is typed, the code is asked next,
and a wrong pair gets the same words whether the reference exists or not. The check, and
the lock after too many wrong codes, happen behind `ctx.ports.follow_up`.
"""

from __future__ import annotations

from flows.answers import Commands, fold, fold_label
from flows.messages import Choice, Inbound, Outbound
from flows.types import N_, ConversationState, Phase, Turn, TurnContext

HAVE_REFERENCE = "have_reference"
REFERENCE_STEP = "follow_up_reference"
CODE_STEP = "follow_up_code"
HAVE_REFERENCE_LABEL = N_("I already have a reference number")
EXAMPLE_REFERENCE = "K7QMX-9RDT4"
CODE_DIGITS = 6
# Channels where nothing can be typed: a reference has letters, which a phone keypad cannot
# give, so a caller is not offered "I already have a reference number".
_SPOKEN = frozenset({"voice"})


class Reconnect:
    """Asking for the reference and code; mixed into `Flow`."""

    def offers_reconnect(self, step_id: str, state: ConversationState,
                         ctx: TurnContext) -> bool:
        """Return whether this question is the greeting's, where a reference may be given."""
        return (state.phase is Phase.ACTIVE and not state.answers and bool(self.diary)
                and step_id == self.essentials[0].id and ctx.channel not in _SPOKEN)

    def reconnect_choice(self, ctx: TurnContext, locale: str) -> Choice:
        """Return the greeting's extra choice: "I already have a reference number"."""
        return Choice(HAVE_REFERENCE, ctx.translate(locale).gettext(HAVE_REFERENCE_LABEL))

    def wants_reconnect(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                        offered: int) -> Turn | None:
        """Start reconnecting if the resident chose it, or typed a reference, at the greeting."""
        t = ctx.translate(state.locale)
        folded = fold(inbound.text)
        chose = HAVE_REFERENCE in inbound.choices or (not inbound.choices and folded in {
            fold_label(t.gettext(HAVE_REFERENCE_LABEL)), fold_label(HAVE_REFERENCE_LABEL),
            str(offered + 1)})
        if chose:
            return self.begin_reconnect(state, ctx)
        reference = ctx.ports.reference_in(inbound.text) if inbound.text.strip() else None
        if reference is not None and not inbound.choices:
            return self.begin_reconnect(state, ctx, reference)
        return None

    def begin_reconnect(self, state: ConversationState, ctx: TurnContext,
                        reference: str | None = None) -> Turn:
        """Ask for the reference (or, when it was typed already, the code)."""
        state.phase = Phase.RECONNECTING
        state.notes.pop("follow_up_reference", None)
        if reference is not None:
            state.notes["follow_up_reference"] = reference
            state.asked = CODE_STEP
        else:
            state.asked = REFERENCE_STEP
        return Turn(state, (self.reconnect_question(state, ctx),))

    def reconnect_question(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Return the question the reconnection waits for."""
        t = ctx.translate(state.locale)
        if state.asked == CODE_STEP:
            text = t.gettext("Please type your 6-digit follow-up code. It was given with your "
                             "reference number.")
        else:
            text = t.gettext("Please type your reference number. It looks like %(example)s.") \
                % {"example": EXAMPLE_REFERENCE}
        return self._render_question(state.asked or REFERENCE_STEP, text, (), multiple=False,
                                     locale=state.locale, ctx=ctx, text_input=True)

    def reconnect_turn(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                       command: str | None) -> Turn:
        """Take the reference or the code."""
        t = ctx.translate(state.locale)
        if command == Commands.HELP:
            help_text = self._say(self.help_text(self.essentials[0], t), ctx, state.locale)
            return Turn(state, (help_text, self.reconnect_question(state, ctx)))
        if command == Commands.BACK:
            fresh = self.start(ctx, state.locale)
            return Turn(fresh.state, fresh.replies[1:] if len(fresh.replies) > 1
                        else fresh.replies)
        if state.asked != CODE_STEP:
            reference = ctx.ports.reference_in(inbound.text)
            if reference is None:
                note = self._say(t.gettext(
                    "That is not a reference number we can read. It has 10 letters and "
                    "numbers, like %(example)s.") % {"example": EXAMPLE_REFERENCE},
                    ctx, state.locale)
                return Turn(state, (note, self.reconnect_question(state, ctx)))
            return self.begin_reconnect(state, ctx, reference)
        code = "".join(inbound.text.split())
        if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
            note = self._say(t.gettext("A follow-up code has 6 digits."), ctx, state.locale)
            return Turn(state, (note, self.reconnect_question(state, ctx)))
        reference = state.notes.pop("follow_up_reference", "")
        verdict = ctx.ports.follow_up(reference, code)
        if verdict == "ok":
            return self.welcome_back(state, ctx, reference)
        state.asked = REFERENCE_STEP
        if verdict == "locked":
            text = t.gettext("There have been too many tries. For your safety, please wait "
                             "an hour and try again, or call us on %(phone)s.") \
                % {"phone": ctx.org.phone}
        else:
            text = t.gettext("We could not match that reference number and code. Please "
                             "type your reference number again.")
        return Turn(state, (self._say(text, ctx, state.locale),
                            self.reconnect_question(state, ctx)))
