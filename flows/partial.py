"""Reports that end before review: a phone call that dropped, a message left by phone.

Part of `flows.engine.Flow` (a mixin). A channel, never the resident, asks for these with
`Inbound.command`: ``ended_early`` when a call ended before the report was sent, and
``message_only`` when the caller chose a language the phone line cannot speak and left a
recorded message instead. Nothing said is lost: once the resident has told what happened
(the `partial_needs` step), what they gave is stored as a case through the same port as a
finished report, marked in `state.notes` so the case says why it is incomplete. A caller's
number the channel passes in `Inbound.text` is kept as the case's contact details.
"""

from __future__ import annotations

from flows.answers import Commands
from flows.messages import Inbound
from flows.types import ConversationState, Kind, Phase, Turn, TurnContext

# The answer kept for a TEXT step answered by a recording (the audio is kept as evidence).
RECORDED_ANSWER = "(recorded message)"
ENDED_EARLY_NOTE = "ended_early"
INTERPRETER_NOTE = "interpreter"


class PartialReport:
    """Store what an interrupted report told us; mixed into `Flow`."""

    partial_needs = "narrative"
    contact_step = "contact_details"

    def submit_partial(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                       command: str) -> Turn:
        """Store the report so far as a case if it says what happened; else change nothing."""
        if state.phase.report_sent or (state.resume_phase or Phase.ACTIVE).report_sent:
            return Turn(state, ())
        if command == Commands.MESSAGE_ONLY:
            state.answers[self.partial_needs] = RECORDED_ANSWER
            state.answered_at[self.partial_needs] = ctx.now.isoformat()
            state.notes[INTERPRETER_NOTE] = state.locale
        elif self.partial_needs in state.answers:
            state.notes[ENDED_EARLY_NOTE] = True
        else:
            return Turn(state, ())
        state.answers = self.applicable_answers(state.answers)
        caller = inbound.text.strip()
        if caller and not state.answers.get(self.contact_step):
            state.answers[self.contact_step] = caller
            state.answered_at[self.contact_step] = ctx.now.isoformat()
        replies = self.complete(state, ctx, ctx.translate(state.locale))
        state.answers = {k: v for k, v in state.answers.items()
                         if k in self.by_id and self.by_id[k].kind is not Kind.TEXT}
        state.answered_at = {}
        state.history = []
        state.phase = Phase.SUBMITTED
        state.resume_phase = None
        state.asked = None
        return Turn(state, replies)


def case_notes(notes: dict) -> list[tuple[str, dict[str, str]]]:
    """Return the timeline entries (kind, detail) that say why a report is incomplete."""
    entries: list[tuple[str, dict[str, str]]] = []
    if notes.get(ENDED_EARLY_NOTE):
        entries.append(("call_ended_early", {
            "note": "The call ended before the report was finished. Whether it is safe to "
                    "call back is unknown."}))
    if notes.get(INTERPRETER_NOTE):
        entries.append(("interpreter_needed", {
            "language": str(notes[INTERPRETER_NOTE]),
            "note": "A recorded message in this language: an interpreter is needed."}))
    return entries
