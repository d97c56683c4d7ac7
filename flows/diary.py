"""Diary entries: a short flow for each new incident after the report (policy 4.3).

Part of `flows.engine.Flow` (a mixin). In their own words first, then when, where ("the same
place as before" is one tap), whether it happened for the same reason as before or another
(and then which), what kind of incident, and any evidence. The answers live in the
conversation only until the entry is stored, sealed, on the case through
`ctx.ports.add_diary`; then the resident is back at the follow-up menu.

The questions reuse the report's own options (`diary_steps` takes the report's steps), so
they read and are translated exactly as in the report.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.acknowledgement import isolate
from flows.answers import Commands, Invalid, offered_options, parse_answer
from flows.messages import Choice, Inbound, Outbound
from flows.types import N_, ConversationState, Kind, Option, Step, Turn, TurnContext

SAME_PLACE = Option("same_place", N_("The same place as before"))
SAME_REASON = Option("same", N_("Yes, the same reason"))
OTHER_REASON = Option("other", N_("For another reason"))
NOT_SURE = Option("not_sure", N_("I'm not sure"))
DIARY_KEY = "diary"


def diary_steps(report: Mapping[str, Step]) -> tuple[Step, ...]:
    """Return the diary questions, built from the report flow's steps (by id)."""
    return (
        Step("diary_narrative", N_("What has happened? Please tell us in your own words."),
             Kind.TEXT, max_length=4000),
        Step("diary_when", report["incident_when"].prompt, Kind.CHOICE,
             report["incident_when"].options),
        Step("diary_where", report["location_type"].prompt, Kind.CHOICE,
             (SAME_PLACE, *report["location_type"].options)),
        Step("diary_reason", N_("Do you think it happened for the same reason as before?"),
             Kind.CHOICE, (SAME_REASON, OTHER_REASON, NOT_SURE)),
        Step("diary_strands", report["strands"].prompt, Kind.MULTI, report["strands"].options,
             applies=lambda a: a.get("diary_reason") == OTHER_REASON.id),
        Step("diary_types", report["incident_types"].prompt, Kind.MULTI,
             report["incident_types"].options),
        Step("diary_evidence", report["evidence"].prompt, Kind.MULTI,
             report["evidence"].options),
    )


def diary_entry(answers: Mapping[str, object]) -> dict:
    """Return the entry the case store keeps, from the diary answers."""
    where = answers.get("diary_where")
    return {
        "narrative": answers.get("diary_narrative"),
        "when": answers.get("diary_when"),
        "same_place": where == SAME_PLACE.id,
        "location_type": None if where == SAME_PLACE.id else where,
        "reason": answers.get("diary_reason"),
        "strands": list(answers.get("diary_strands") or []),
        "incident_types": list(answers.get("diary_types") or []),
        "evidence": list(answers.get("diary_evidence") or []),
    }


class DiaryPhase:
    """Asking one diary entry; mixed into `Flow`."""

    def begin_diary(self, state: ConversationState, ctx: TurnContext,
                    narrative: str | None = None) -> Turn:
        """Start a diary entry; words already typed are its narrative."""
        state.notes[DIARY_KEY] = {}
        replies: tuple[Outbound, ...] = ()
        if narrative:
            state.notes[DIARY_KEY]["diary_narrative"] = narrative[:4000]
            t = ctx.translate(state.locale)
            replies = (self._say(t.gettext("We will add this to your report as something new "
                                           "that has happened."), ctx, state.locale),)
        step = self._diary_pending(state)
        state.asked = step.id
        return Turn(state, (*replies, self.diary_question(step, state, ctx)))

    def _diary_pending(self, state: ConversationState) -> Step | None:
        answers = state.notes.get(DIARY_KEY) or {}
        for step in self.diary:
            if step.id not in answers and step.applies(answers):
                return step
        return None

    def diary_question(self, step: Step, state: ConversationState, ctx: TurnContext
                       ) -> Outbound:
        """Render one diary question in the resident's language."""
        t = ctx.translate(state.locale)
        prompt = step.prompt(t, state.notes.get(DIARY_KEY) or {}) if callable(step.prompt) \
            else t.gettext(step.prompt)
        choices = tuple(Choice(o.id, t.gettext(o.label)) for o in offered_options(step, ctx))
        return self._render_question(step.id, prompt, choices,
                                     multiple=step.kind is Kind.MULTI, locale=state.locale,
                                     ctx=ctx, text_input=step.kind is Kind.TEXT)

    def diary_turn(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                   command: str | None) -> Turn:
        """Take one diary answer; store the entry after the last one."""
        t = ctx.translate(state.locale)
        step = self._diary_pending(state)
        if step is None or command == Commands.BACK:
            state.notes.pop(DIARY_KEY, None)
            return self.show_menu(state, ctx)
        if command == Commands.HELP:
            help_text = self._say(self.help_text(step, t), ctx, state.locale)
            return Turn(state, (help_text, self.diary_question(step, state, ctx)))
        parsed = parse_answer(step, inbound, t, ctx)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.diary_question(step, state, ctx)))
        answers = dict(state.notes.get(DIARY_KEY) or {})
        answers[step.id] = parsed
        state.notes[DIARY_KEY] = answers
        nxt = self._diary_pending(state)
        if nxt is not None:
            state.asked = nxt.id
            return Turn(state, (self.diary_question(nxt, state, ctx),))
        entry = diary_entry(answers)
        state.notes.pop(DIARY_KEY, None)
        previous = state.reference
        reference = ctx.ports.add_diary(state, entry)
        state.reference = reference
        if reference != previous:
            text = t.gettext("Your earlier report is closed, so we have opened a new report "
                             "linked to it. Your new reference is %(reference)s. Please keep "
                             "it.")
        else:
            text = t.gettext("Thank you. We have added this to your report %(reference)s, "
                             "and the officer will be told.")
        replies = [self._say(text % {"reference": isolate(reference, state.locale)}, ctx,
                             state.locale)]
        if "photos" in entry["evidence"] or "messages" in entry["evidence"]:
            replies.append(self.files_how(state, ctx))
        menu = self.show_menu(state, ctx)
        return Turn(menu.state, (*replies, *menu.replies))
