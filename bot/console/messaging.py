"""Messages to the reporter from a case: a few translated templates, sent only when safe.

The text is chosen by the officer from `TEMPLATES` (extracted by Babel) and translated into
the resident's language; officers cannot type free text to a resident from here, so nothing
sensitive is written to a phone someone else may read. Sending is refused when the case has
no channel that can carry a later message, the resident opted out or cannot be reached, or
WhatsApp's 24-hour window has closed. Safe-contact answers are shown as warnings that the
officer must confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from bot import thread
from bot.console import audit
from bot.models import Case, Conversation, utcnow
from bot.outbox import enqueue
from flows.engine import N_
from flows.report import isolate

TEMPLATES: dict[str, str] = {
    "tried_to_call": N_("We tried to call you about your report %(reference)s. Please contact "
                        "us when it is safe for you: %(phone)s."),
    "action_plan_ready": N_("Your action plan for report %(reference)s is ready. Please contact "
                            "us to agree it: %(phone)s."),
    "please_contact": N_("Please contact us about your report %(reference)s when it is safe "
                         "for you: %(phone)s."),
}
TEMPLATE_NAMES = {"tried_to_call": "We tried to call you",
                  "action_plan_ready": "Your action plan is ready",
                  "please_contact": "Please contact us"}
WHATSAPP_WINDOW = timedelta(hours=24)
_CONTACT_WORDS = {"phone": "a phone call", "email": "email", "letter": "a letter"}


@dataclass
class Reachability:
    """Whether the reporter can be messaged, and what the officer must bear in mind."""

    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # No channel can carry it now, but the message can wait in the case's thread until
    # the reporter reconnects with their reference and follow-up code (issue 15).
    waits: bool = False

    @property
    def possible(self) -> bool:
        """Return whether a message may be sent at all."""
        return not self.refusals


def reachability(case: Case, conversation: Conversation | None, details: dict,
                 reply_later: frozenset[str]) -> Reachability:
    """Check the channel, opt-out, WhatsApp window and safe-contact answers.

    `reply_later` names the channels that can carry a message that is not a reply.
    """
    result = Reachability()
    if case.anonymous:
        result.refusals.append("The reporter chose to stay anonymous.")
    carried = conversation is not None and conversation.channel in reply_later
    if not carried:
        result.refusals.append(f"The report came by {case.channel}, which cannot carry a "
                               "message later.")
    # The thread can still hold it until they reconnect with reference and code.
    result.waits = bool(result.refusals) and case.erased_at is None
    if not carried:
        pass
    elif conversation.phase == "erased":
        result.refusals.append("The resident's contact details were erased (retention or "
                               "their request).")
    elif conversation.opted_out:
        result.refusals.append("The resident has opted out of messages on this channel.")
    elif conversation.unreachable:
        result.refusals.append("Messages to this resident have failed: they are unreachable.")
    elif conversation.channel == "whatsapp" and (
            conversation.last_inbound_at is None
            or utcnow() - conversation.last_inbound_at > WHATSAPP_WINDOW):
        result.refusals.append("WhatsApp only allows a message within 24 hours of the "
                               "resident's last message.")
    answers = case.answers
    method = answers.get("contact_method")
    if method in _CONTACT_WORDS:
        result.warnings.append(f"The resident asked to be contacted by "
                               f"{_CONTACT_WORDS[method]}, not a message.")
    if answers.get("leave_message") == "no":
        result.warnings.append("The resident said it is NOT safe to leave a message.")
    if details.get("safe_times"):
        result.warnings.append("Safe times to contact: " + str(details["safe_times"]))
    return result


def render(services, case: Case, template: str, locale: str) -> str:
    """Return the template's text in the resident's language."""
    t = services.catalogs(locale)
    return t.gettext(TEMPLATES[template]) % {
        "reference": isolate(case.reference, locale),
        "phone": isolate(services.org.phone, locale),
    }


def send(session: Session, services, case: Case, conversation: Conversation, template: str,
         nonce: str, actor: str) -> bool:
    """Queue the message on the resident's channel; False if this form was already sent."""
    locale = services.catalogs.negotiate(case.language) or conversation.locale or "en"
    queued = enqueue(
        session, services.vault, kind="resident_message", channel=conversation.channel,
        payload={"text": render(services, case, template, locale), "locale": locale},
        dedupe_key=f"resident_message:{case.id}:{nonce}",
        conversation_id=conversation.id, case_id=case.id,
    ) is not None
    if queued:
        # The thread keeps every message to the reporter; this one the channel carries.
        thread.add(session, services.vault, case, thread.STAFF,
                   render(services, case, template, locale), author=actor,
                   channel=conversation.channel, read=True)
        services.store.record(session, case, "message_queued", actor, template=template,
                              channel=conversation.channel)
        audit.record(session, actor, "message_queued", case, template=template)
    return queued
