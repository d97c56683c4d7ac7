"""The flow's follow-up ports, bound to one turn: reconnect, status, thread and diary.

Mixed into the runner's store ports (bot/runner.py), so they share the turn's session and
conversation. Once a reference and code match, the conversation follows that case
(`Conversation.case_id`); every later call works on that case only, whatever the
conversation state says, so nothing here can reach a case the resident has not proved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import diary, followup, reference, thread
from bot.models import Case
from flows.types import CaseStatus, ConversationState, ThreadItem


class FollowUpPorts:
    """Follow-up side effects; expects `services`, `session`, `conversation` and `now`."""

    def _followed(self) -> Case | None:
        case_id = self.conversation.case_id
        return self.session.get(Case, case_id) if case_id is not None else None

    def reference_in(self, text: str) -> str | None:
        """Return the well-formed case reference `text` is, normalised, or None."""
        return reference.normalise(text)

    def follow_up(self, typed_reference: str, code: str) -> str:
        """Check reference and code; on a match this conversation follows that case."""
        verdict, case = followup.verify(self.session, self.services, typed_reference, code,
                                        self.now, self.conversation.channel)
        if case is not None:
            self.conversation.case_id = case.id
        return verdict.value

    def report_answers(self, _reference: str) -> Mapping[str, Any]:
        """Return the followed case's answers, typed ones as None (only their presence counts)."""
        case = self._followed()
        if case is None or case.erased_at is not None:
            return {}
        details = self.services.store.details(case)
        return {**{k: None for k in details}, **(case.answers or {})}

    def case_status(self, _reference: str) -> CaseStatus:
        """Return where the followed case is now, as codes."""
        case = self._followed()
        if case is None:
            return CaseStatus("received")
        if case.status == "closed":
            return CaseStatus("closed", case.outcome)
        if case.action_plan_at is not None:
            return CaseStatus("plan")
        if case.first_contact_at is not None:
            return CaseStatus("contacted")
        if case.assignee is not None or case.status != "new":
            return CaseStatus("looking")
        return CaseStatus("received")

    def read_thread(self, _reference: str, unread_only: bool) -> list[ThreadItem]:
        """Return the followed case's thread, marking the officer's messages read."""
        case = self._followed()
        if case is None:
            return []
        return [ThreadItem(*item) for item in thread.for_resident(
            self.session, self.services.vault, case, unread_only, self.now)]

    def reply(self, _reference: str, text: str) -> None:
        """Add the resident's message to the followed case's thread."""
        case = self._followed()
        if case is not None:
            thread.resident_reply(self.session, self.services, case, text,
                                  self.conversation.channel, self.now)

    def add_diary(self, state: ConversationState, entry: Mapping[str, Any]) -> str:
        """Store the diary entry; return the reference of the case it went to."""
        case = self._followed()
        if case is None:
            return state.reference or ""
        stored = diary.add(self.session, self.services, case, entry,
                           channel=self.conversation.channel, now=self.now,
                           conversation=self.conversation)
        self.conversation.case_id = stored.id
        return stored.reference
