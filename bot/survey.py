"""Ask residents how we did once their case is closed (policy 13.1), only where it is safe.

A survey is offered when a case closes, and only if the resident named themselves, asked
to be contacted on the channel they used (or by text on SMS), did not say that a message
would be unsafe, and that channel can still reach them. The first question goes through
the outbox like any staff message, in the resident's language, during working hours; the
answers come back as ordinary messages, which the conversation runner hands to `answer`
before the report flow. Not answering is fine: an unanswered survey lapses after
`OPEN_FOR` after it was sent, and the answers are counted in monitoring.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Case, Conversation, OutboxMessage, SatisfactionSurvey, utcnow
from bot.outbox import enqueue
from flows import survey as questions
from flows.messages import Inbound, Outbound

OPEN_FOR = timedelta(days=14)
# Where the first question can go later (a web chat or a terminal cannot carry it).
REACHABLE = frozenset({"sms", "whatsapp", "telegram"})
# A conversation in one of these phases is not in the middle of a new report, so a number
# it sends can be a survey answer.
AT_REST = frozenset({"submitted", "closed", "expired"})
# Outcomes after which asking "how did we do" would be wrong.
NOT_ASKED_AFTER = frozenset({"malicious_vexatious"})


def eligible(case: Case, conversation: Conversation | None) -> bool:
    """Return whether the resident allowed contact on their channel and it is safe."""
    if conversation is None or case.anonymous or case.outcome in NOT_ASKED_AFTER:
        return False
    if conversation.channel not in REACHABLE or conversation.opted_out \
            or conversation.unreachable or conversation.sender_enc is None:
        return False
    answers = case.answers or {}
    method = answers.get("contact_method")
    if not (method == "this_chat" or (method == "sms" and conversation.channel == "sms")):
        return False
    # "Is it safe to leave a message?" — a survey is a message nobody asked for.
    return answers.get("leave_message") == "yes"


def offer(session: Session, services, case: Case, now: datetime | None = None) -> bool:
    """Queue the first question if the resident may be asked; return whether it was."""
    conversation = session.get(Conversation, case.conversation_id) \
        if case.conversation_id else None
    if not eligible(case, conversation):
        return False
    if session.scalar(select(SatisfactionSurvey.id).where(
            SatisfactionSurvey.case_id == case.id)) is not None:
        return False
    now = now or utcnow()
    locale = services.catalogs.negotiate(case.language) or conversation.locale or "en"
    t = services.catalogs(locale)
    # Not in the middle of the night: from the next working period if the office is shut.
    send_at = services.calendar.counts_from(now)
    session.add(SatisfactionSurvey(case_id=case.id, conversation_id=conversation.id,
                                   locale=locale, status="asked", asked_at=send_at,
                                   misunderstood=0))
    return enqueue(
        session, services.vault, kind="satisfaction_survey", channel=conversation.channel,
        payload={"text": questions.question(questions.SATISFACTION.id, t, case.reference,
                                            locale), "locale": locale},
        dedupe_key=_key(case.id), conversation_id=conversation.id,
        case_id=case.id, not_before=send_at,
    ) is not None


def _key(case_id: int) -> str:
    return f"satisfaction_survey:{case_id}"


def answer(session: Session, services, conversation: Conversation, inbound: Inbound,
           now: datetime) -> tuple[Outbound, ...] | None:
    """Take the message as a survey answer if one is open; None leaves it to the flow."""
    # Without a case, at rest, on a channel a survey can reach, none was ever asked here
    # (`offer`): most turns are answered without looking.
    if conversation.phase not in AT_REST or conversation.case_id is None \
            or conversation.channel not in REACHABLE:
        return None
    survey = session.scalar(
        select(SatisfactionSurvey)
        .where(SatisfactionSurvey.conversation_id == conversation.id,
               SatisfactionSurvey.status == "asked")
        .order_by(SatisfactionSurvey.id.desc()).limit(1))
    if survey is None:
        return None
    # Only once the question has really gone (the outbox says when), and not for ever.
    sent_at = session.scalar(select(OutboxMessage.sent_at).where(
        OutboxMessage.dedupe_key == _key(survey.case_id), OutboxMessage.status == "sent"))
    if sent_at is None:
        return None
    if now - sent_at > OPEN_FOR:
        survey.status = "expired"
        return None
    t = services.catalogs(survey.locale)
    stage = questions.SATISFACTION.id if survey.satisfaction is None \
        else questions.REPORT_AGAIN.id
    reply = questions.answer(stage, survey.misunderstood, inbound, t, survey.locale)
    if not reply.mine:
        # They turned to something else (a new report, a command): leave them be.
        survey.status = "declined"
        return None
    if reply.value is None:
        survey.misunderstood += 1
    elif stage == questions.SATISFACTION.id:
        survey.satisfaction = int(reply.value)
        survey.answered_at = now
        survey.misunderstood = 0
    else:
        survey.report_again = reply.value
        survey.answered_at = now
        survey.status = "answered"
    rtl = any(lang.code == survey.locale and lang.rtl for lang in services.catalogs.languages)
    return (Outbound(text=reply.text, lang=survey.locale, dir="rtl" if rtl else "ltr",
                     input="none" if reply.finished else "text"),)
