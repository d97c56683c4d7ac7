"""Following up a report: the menu a returning resident gets, status and messages.

Part of `flows.engine.Flow` (a mixin). A resident who writes again after their report (on
the same phone, chat or web chat session) or who reconnects from anywhere with reference
and follow-up code (`flows.reconnect`) is shown, first, any messages from the officer
waiting for them, in order, then a menu: add something that has happened since (a diary
entry, `flows.diary`), send photos or files, read and answer messages, how the report is
going, a separate new report, and, while the optional details are unanswered, add them.
Everything that touches the case goes through `ctx.ports`.
"""

from __future__ import annotations

from flows.acknowledgement import format_deadline, isolate
from flows.answers import Commands, Invalid, parse_answer
from flows.diary import DIARY_KEY
from flows.language import looks_like_words
from flows.messages import Choice, Inbound, Outbound
from flows.reconnect import CODE_STEP, REFERENCE_STEP
from flows.types import N_, ConversationState, Kind, Option, Phase, Step, Turn, TurnContext

MENU_STEP = "follow_up_menu"
REPLY_STEP = "follow_up_reply"
ADD_INCIDENT = Option("add_incident", N_("Tell us about something new that has happened"))
SEND_FILES = Option("send_files", N_("Send photos or files"))
MESSAGES = Option("messages", N_("Read and answer our messages"))
STATUS = Option("status", N_("How is my report going?"))
NEW_REPORT = Option("new_report", N_("Make a separate new report"))
ADD_DETAILS = Option("add_details", N_("Add the details"))
BACK_TO_MENU = Option("menu", N_("Back to the menu"))
# How many of the latest thread messages "read messages" shows.
THREAD_SHOWN = 10

STAGES = {
    "received": N_("Your report has been received. An officer will look at it soon."),
    "looking": N_("An officer is looking at your report."),
    "contacted": N_("An officer has been in touch about your report."),
    "plan": N_("An action plan has been agreed for your report."),
    "closed": N_("Your report is closed."),
}
# Outcomes in plain words for the resident; one that speaks about other people (a
# complaint found malicious) is not said.
_OUTCOMES = {
    "resolved": N_("It was resolved."),
    "no_further_action": N_("It was fully looked into, and no further action was needed."),
    "enforcement": N_("Action was taken against the person responsible."),
    "referred": N_("It was passed to another organisation that can help."),
    "withdrawn": N_("It was closed because we were asked to stop."),
}


class FollowUpPhase:
    """The follow-up menu and what it leads to; mixed into `Flow`."""

    def returning(self, state: ConversationState, inbound: Inbound, ctx: TurnContext) -> Turn:
        """Welcome back a resident who writes again after their report."""
        words = inbound.text.strip() if not inbound.choices and not inbound.media else ""
        if words and looks_like_words(words):
            # They are telling us something new: keep their words as a diary entry.
            turn = self.welcome_back(state, ctx, state.reference or "", menu=False)
            diary = self.begin_diary(turn.state, ctx, narrative=words)
            return Turn(diary.state, (*turn.replies, *diary.replies))
        return self.welcome_back(state, ctx, state.reference or "")

    def welcome_back(self, state: ConversationState, ctx: TurnContext, reference: str,
                     menu: bool = True) -> Turn:
        """Follow the case: say welcome, show the officer's waiting messages, then the menu."""
        t = ctx.translate(state.locale)
        state.phase = Phase.FOLLOWING_UP
        state.reference = reference
        state.answers, state.answered_at, state.history = {}, {}, []
        replies = [self._say(t.gettext("Welcome back."), ctx, state.locale)]
        replies += self._thread(state, ctx, unread_only=True)
        if not menu:
            return Turn(state, tuple(replies))
        shown = self.show_menu(state, ctx)
        return Turn(shown.state, (*replies, *shown.replies))

    def show_menu(self, state: ConversationState, ctx: TurnContext) -> Turn:
        """Ask what the resident would like to do about their report."""
        state.phase = Phase.FOLLOWING_UP
        state.asked = MENU_STEP
        return Turn(state, (self._menu_question(state, ctx),))

    def _menu_options(self, state: ConversationState, ctx: TurnContext) -> tuple[Option, ...]:
        options = [ADD_INCIDENT, SEND_FILES, MESSAGES, STATUS, NEW_REPORT]
        if self.details_pending(ctx.ports.report_answers(state.reference or "")):
            options.append(ADD_DETAILS)
        return tuple(options)

    def _menu_question(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        t = ctx.translate(state.locale)
        text = t.gettext("What would you like to do about your report %(reference)s?") \
            % {"reference": isolate(state.reference or "", state.locale)}
        choices = tuple(Choice(o.id, t.gettext(o.label))
                        for o in self._menu_options(state, ctx))
        return self._render_question(MENU_STEP, text, choices, multiple=False,
                                     locale=state.locale, ctx=ctx)

    def follow_up_again(self, state: ConversationState, ctx: TurnContext
                        ) -> tuple[Outbound, ...]:
        """Return what a reconnecting or following-up conversation waits for, asked again."""
        if state.phase is Phase.RECONNECTING:
            return (self.reconnect_question(state, ctx),)
        if state.asked == REPLY_STEP:
            return (self._reply_question(state, ctx),)
        step = next((s for s in self.diary if s.id == state.asked), None)
        if step is not None and DIARY_KEY in state.notes:
            return (self.diary_question(step, state, ctx),)
        return (self._menu_question(state, ctx),)

    def follow_up_turn(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                       command: str | None) -> Turn:
        """Take the resident's message while reconnecting or following up."""
        if state.phase is Phase.RECONNECTING or state.asked in (REFERENCE_STEP, CODE_STEP):
            return self.reconnect_turn(state, inbound, ctx, command)
        if DIARY_KEY in state.notes:
            return self.diary_turn(state, inbound, ctx, command)
        if state.asked == REPLY_STEP:
            return self._answer_reply(state, inbound, ctx, command)
        return self._answer_menu(state, inbound, ctx, command)

    def _answer_menu(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                     command: str | None) -> Turn:
        t = ctx.translate(state.locale)
        if command in (Commands.HELP, Commands.BACK):
            help_text = self._say(self.help_text(self.essentials[0], t), ctx, state.locale)
            return Turn(state, (help_text, self._menu_question(state, ctx)))
        pseudo = Step(MENU_STEP, "", Kind.CHOICE, self._menu_options(state, ctx))
        parsed = parse_answer(pseudo, inbound, t, ctx)
        if isinstance(parsed, Invalid):
            words = inbound.text.strip()
            if words and not inbound.choices and looks_like_words(words):
                return self.begin_diary(state, ctx, narrative=words)
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self._menu_question(state, ctx)))
        if parsed == ADD_INCIDENT.id:
            return self.begin_diary(state, ctx)
        if parsed == SEND_FILES.id:
            return Turn(state, (self.files_how(state, ctx), self._menu_question(state, ctx)))
        if parsed == STATUS.id:
            return Turn(state, (self._status(state, ctx), self._menu_question(state, ctx)))
        if parsed == MESSAGES.id:
            shown = self._thread(state, ctx, unread_only=False)
            if not shown:
                shown = [self._say(t.gettext("There are no messages from us yet."), ctx,
                                   state.locale)]
            state.asked = REPLY_STEP
            return Turn(state, (*shown, self._reply_question(state, ctx)))
        if parsed == ADD_DETAILS.id:
            state.answers = dict(ctx.ports.report_answers(state.reference or ""))
            return self.begin_details(state, ctx)
        fresh = self.start(ctx, state.locale)
        note = self._say(t.gettext("Starting a new report. Your earlier report is safe with "
                                   "us."), ctx, state.locale)
        return Turn(fresh.state, (note, *fresh.replies))

    def files_how(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Say how to send photos or files on this channel."""
        t = ctx.translate(state.locale)
        if ctx.channel == "webchat":
            text = t.gettext("Use the button \u201cAdd a photo or file\u201d under the messages. "
                             "On a phone it can also take a photo.")
        else:
            text = t.gettext("Send your photos or files here, as you would in a message. We "
                             "will add them to your report.")
        return self._say(text, ctx, state.locale)

    def _status(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        t = ctx.translate(state.locale)
        status = ctx.ports.case_status(state.reference or "")
        lines = [t.gettext(STAGES.get(status.stage, STAGES["received"]))]
        if status.stage == "closed" and status.outcome in _OUTCOMES:
            lines.append(t.gettext(_OUTCOMES[status.outcome]))
        return self._say(" ".join(lines), ctx, state.locale)

    def _thread(self, state: ConversationState, ctx: TurnContext, unread_only: bool
                ) -> list[Outbound]:
        t = ctx.translate(state.locale)
        items = ctx.ports.read_thread(state.reference or "", unread_only)[-THREAD_SHOWN:]
        shown = []
        for item in items:
            when = format_deadline(item.at, ctx.org.timezone, state.locale, t)
            text = t.gettext("Message from us, %(when)s:") if item.sender == "staff" \
                else t.gettext("You wrote, %(when)s:")
            shown.append(self._say(f"{text % {'when': when}}\n{item.text}", ctx,
                                   state.locale))
        return shown

    def _reply_question(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        t = ctx.translate(state.locale)
        return self._render_question(
            REPLY_STEP, t.gettext("Type your reply, or go back to the menu."),
            (Choice(BACK_TO_MENU.id, t.gettext(BACK_TO_MENU.label)),), multiple=False,
            locale=state.locale, ctx=ctx, text_input=True)

    def _answer_reply(self, state: ConversationState, inbound: Inbound, ctx: TurnContext,
                      command: str | None) -> Turn:
        t = ctx.translate(state.locale)
        step = Step(REPLY_STEP, "", Kind.TEXT, (BACK_TO_MENU,), max_length=2000)
        parsed = Invalid("empty") if command else parse_answer(step, inbound, t, ctx)
        if command or parsed == BACK_TO_MENU.id:
            return self.show_menu(state, ctx)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self._reply_question(state, ctx)))
        ctx.ports.reply(state.reference or "", parsed)
        thanks = self._say(t.gettext("Thank you. We have added your message to your report, "
                                     "and the officer will see it."), ctx, state.locale)
        shown = self.show_menu(state, ctx)
        return Turn(shown.state, (thanks, *shown.replies))
