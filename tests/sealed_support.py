"""Shared by the backup, rotation and retention tests: a realistic spread of sealed data,
and checks that walk every sealed column of the live schema (never a hand-made list)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from sqlalchemy import MetaData, Table, select

from bot import sealed
from bot.console import casework
from bot.crypto import Vault
from bot.db import Database
from bot.models import Case, Conversation, RateCount, SubjectIdentifier, TelegramChat, utcnow
from bot.outbox import enqueue
from bot.services import Services
from bot.subjects import identifiers_of
from flows.messages import Media
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, Resident

PHOTO = b"\x89PNG\r\n\x1a\n" + b"fictional photo bytes " * 40


def victim_report(services: Services, channel: str = "sms", sender: str | None = None,
                  narrative: str | None = None, contact: str | None = None,
                  perpetrator: str | None = None, name: str | None = None) -> str:
    """Make the victim's report through the real runner, with every optional detail and a
    photo at the evidence question; return the reference."""
    transcript = [*VICTIM_REPORT, *VICTIM_DETAILS]
    replace = {"narrative": narrative, "contact_details": contact,
               "perpetrator_description": perpetrator, "reporter_name": name}
    if contact is not None and "@" in contact:
        # An email address is asked for (and checked) when the resident chose email.
        at = next(i for i, (_said, asked) in enumerate(transcript) if asked == "contact_method")
        transcript[at + 1] = ("email", "contact_details")
    for i, (_said, asked) in enumerate(transcript[:-1]):
        if replace.get(asked) is not None:
            transcript[i + 1] = (replace[asked], transcript[i + 1][1])
    resident = Resident(services, channel=channel, sender=sender)
    essentials = len(VICTIM_REPORT)
    resident.follow(transcript[:essentials])
    match = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", resident.said)
    assert match, resident.said
    evidence = next(i for i, (_said, asked) in enumerate(transcript) if asked == "evidence")
    resident.follow(transcript[essentials:evidence + 1])
    # The evidence question: send a photo with the answer.
    resident.says(transcript[evidence + 1][0], media=(Media("image/png", data=PHOTO),))
    resident.follow(transcript[evidence + 2:])
    return match.group(0)


def populate(services: Services, reports: int = 4) -> list[str]:
    """Reports on SMS, WhatsApp, Telegram and the web chat, with a note, a closure, a queued
    message to the resident, Telegram keyboard ticks and a rate counter."""
    channels = ["sms", "whatsapp", "telegram", "webchat"]
    references = []
    for i in range(reports):
        channel = channels[i % len(channels)]
        sender = {"sms": f"+4477009{i:05d}", "whatsapp": f"+4477008{i:05d}",
                  "telegram": str(700000 + i)}.get(channel, f"webchat-{uuid.uuid4().hex}")
        references.append(victim_report(services, channel, sender,
                                        contact=f"07700 9{i:05d}"))
    vault = services.vault
    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == references[0]))
        casework.add_note(session, services, case, "tester", "Spoke to the resident.")
        casework.close(session, services, case, "tester", "resolved", "Sorted out.", True)
        conversation = session.get(Conversation, case.conversation_id)
        enqueue(session, vault, kind="resident_message", channel=conversation.channel,
                payload={"text": "Please contact us.", "locale": "en"},
                dedupe_key=f"test:{uuid.uuid4().hex}", conversation_id=conversation.id,
                case_id=case.id)
        for conv in session.scalars(select(Conversation)):
            if conv.channel == "telegram":
                session.add(TelegramChat(chat_index=conv.sender_index, last_unanswered=False,
                                         selected_enc=vault.seal_json(["verbal_abuse"])))
            if conv.channel == "sms":
                session.add(RateCount(kind="sms", key_index=conv.sender_index,
                                       window_start=utcnow().replace(second=0, microsecond=0),
                                       count=1))
    return references


def sealed_values(db: Database) -> Iterator[tuple[str, str, bytes]]:
    """Yield (table, column, token) for every non-empty sealed value in the live schema."""
    with db.engine.connect() as conn:
        tables = sealed.live_sealed_tables(conn)
        metadata = MetaData()
        for info in tables:
            table = Table(info.name, metadata, autoload_with=conn)
            for row in conn.execute(select(*[table.c[c] for c in info.sealed])):
                for column, token in zip(info.sealed, row, strict=True):
                    if token is not None:
                        yield info.name, column, bytes(token)


def assert_all_readable_with(db: Database, vault: Vault) -> int:
    """Check that `vault` opens every sealed value and matches every blind index."""
    count = 0
    for table, column, token in sealed_values(db):
        vault.open(token)  # raises InvalidToken if not
        count += 1
        assert vault.key_position(token) == 0, (table, column)
    with db.read() as session:
        conversations = session.scalars(select(Conversation)).all()
        by_index = {}
        for conv in conversations:
            if conv.sender_enc is None:
                continue
            sender = vault.open_text(conv.sender_enc)
            assert conv.sender_index == vault.index(conv.channel, sender), conv.id
            by_index[conv.sender_index] = conv
        for chat in session.scalars(select(TelegramChat)):
            assert chat.chat_index in by_index, "a Telegram chat row lost its conversation"
        for rate in session.scalars(select(RateCount)):
            assert rate.key_index in by_index
        for case in session.scalars(select(Case)):
            wanted = {(k, r, vault.index(f"subject:{k}", v))
                      for k, r, v in identifiers_of(vault.open_json(case.details_enc) or {})}
            stored = {(s.kind, s.role, s.value_index) for s in session.scalars(
                select(SubjectIdentifier).where(SubjectIdentifier.case_id == case.id))}
            assert stored == wanted, case.reference
    return count
