"""The database tables.

Personal data lives only in the ``*_enc`` columns, sealed by `bot.crypto.Vault`; lookups by
phone number, chat id or web chat token go through ``*_index`` keyed hashes. Everything a
duty officer filters and sorts on (priority, strands, deadlines) is in plain columns because
it is not personal on its own.

A hate-related case stays high priority (policy 4.11): the model refuses a downgrade with
`PriorityDowngradeRefused`, and a CHECK constraint refuses it for any writer that bypasses
the model (a bulk UPDATE, another program).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.errors import HateFlagRemovalRefused, PriorityDowngradeRefused

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC instant on both engines (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC instants only")
        return value.astimezone(UTC) if dialect.name != "sqlite" else \
            value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current instant in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Conversation(Base):
    """One resident's conversation on one channel; its state is sealed JSON."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    sender_index: Mapped[str] = mapped_column(String(64))
    sender_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    state_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phase: Mapped[str] = mapped_column(String(20), default="new")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The sender's messages in the current rate window (bot/ratelimit.py `Tally`): kept on
    # the row a turn locks and updates anyway, so counting costs no statement.
    rate_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_count: Mapped[int | None] = mapped_column(Integer)
    rate_notified: Mapped[bool | None] = mapped_column(Boolean)


class InboundMessage(Base):
    """A provider message already handled, with the replies it got (for retries)."""

    __tablename__ = "inbound_messages"
    # Unique within the conversation: a web chat page picks its own ids, so a key shared
    # across conversations would let one session replay another's replies.
    __table_args__ = (UniqueConstraint("conversation_id", "message_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_key: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replies_enc: Mapped[bytes] = mapped_column(LargeBinary)


class Case(Base):
    """A report, as the duty officer works it."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("NOT hate_related OR priority = 'high'", name="hate_is_high"),
        CheckConstraint("priority IN ('high', 'medium', 'low')", name="priority_known"),
        # The duty queue: open cases by priority, then the earliest running deadline. A
        # partial index matches the queue query's ORDER BY exactly on both engines, so the
        # first page reads 50 index entries however many closed cases there are.
        Index("ix_cases_open_queue", "priority_rank", "next_deadline", "id",
              postgresql_where=text("status <> 'closed'"),
              sqlite_where=text("status <> 'closed'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    priority_rank: Mapped[int] = mapped_column(Integer, default=1)
    hate_related: Mapped[bool] = mapped_column(Boolean, default=False)
    strands: Mapped[list] = mapped_column(JSON, default=list)
    perceived_by: Mapped[list] = mapped_column(JSON, default=list)
    prejudice_indicators: Mapped[list] = mapped_column(JSON, default=list)
    reporter_role: Mapped[str] = mapped_column(String(20))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(16), default="en")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    counts_from: Mapped[datetime] = mapped_column(UTCDateTime)
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    first_contact_due: Mapped[datetime] = mapped_column(UTCDateTime)
    action_plan_due: Mapped[datetime] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_plan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_types: Mapped[list] = mapped_column(JSON, default=list)
    location_type: Mapped[str | None] = mapped_column(String(20))
    immediate_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    repair_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    preserve_evidence: Mapped[str | None] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    details_enc: Mapped[bytes] = mapped_column(LargeBinary)
    assignee: Mapped[str | None] = mapped_column(String(120), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id",
                                                                   use_alter=True), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Added by the staff console (migration 0002_console).
    vulnerable_victim: Mapped[bool] = mapped_column(Boolean, default=False)
    vulnerable_perpetrator: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_repair_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    closure_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Added by migration 0004_i13: the rule that set the deadlines ("working_time"; cases
    # stored before it say "close_of_day" and keep their deadlines), and when each answer
    # was given ({step id: ISO instant}), including details added after the acknowledgement.
    deadline_rule: Mapped[str | None] = mapped_column(String(20))
    answer_times: Mapped[dict | None] = mapped_column(JSON)
    # Added by the console's second pass (migration i16_console). The area is a name from
    # the organisation file, not an address; the perpetrator profile is sealed JSON; the
    # working hours to first contact are kept so monitoring can take a median in SQL.
    area: Mapped[str | None] = mapped_column(String(60), index=True)
    perpetrator_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    first_contact_hours: Mapped[float | None] = mapped_column(Float)
    # Set when the personal fields were erased (retention or a subject's request, issue 19).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A diary entry on a closed case opens a new case linked to the old one (issue 15).
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    events: Mapped[list[CaseEvent]] = relationship(back_populates="case",
                                                   order_by="CaseEvent.id")
    consents: Mapped[list[Consent]] = relationship(back_populates="case",
                                                   order_by="Consent.id")

    PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}

    @validates("priority")
    def _check_priority(self, _key: str, value: str) -> str:
        if value not in self.PRIORITY_RANK:
            raise ValueError(f"unknown priority {value!r}")
        if self.hate_related and value != "high":
            raise PriorityDowngradeRefused(self.reference, value)
        self.priority_rank = self.PRIORITY_RANK[value]
        return value

    @validates("hate_related")
    def _check_hate_flag(self, _key: str, value: bool) -> bool:
        if self.hate_related and not value:
            raise HateFlagRemovalRefused(self.reference)
        if value:
            # Hate-related is always high priority (policy 4.2); set it here so no caller
            # can forget.
            self.priority = "high"
        return bool(value)

    def refresh_next_deadline(self) -> None:
        """Point `next_deadline` at the earliest clock still running (4.3, 4.4)."""
        if self.status == "closed":
            self.next_deadline = None
        elif self.first_contact_at is None:
            self.next_deadline = self.first_contact_due
        elif self.action_plan_at is None:
            self.next_deadline = self.action_plan_due
        else:
            self.next_deadline = None

    def mark_hate_related(self, strands: list[str], perceived_by: list[str]) -> None:
        """Flag the case as hate-related, adding strands and who perceives it (2.1)."""
        self.hate_related = True
        self.priority = "high"
        self.strands = sorted(set(self.strands or []) | set(strands))
        self.perceived_by = sorted(set(self.perceived_by or []) | set(perceived_by))


class CaseEvent(Base):
    """One entry of a case's timeline; `detail` never holds report content."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class Consent(Base):
    """Consent to share, per recipient, with the wording version shown (policy 8.x)."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("case_id", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wording_version: Mapped[str] = mapped_column(String(30))
    # For consent given to a member of staff (phone, in person, post): to whom, and how
    # ("verbal" or "written"); a chat answer has neither ("conversation").
    given_to: Mapped[str | None] = mapped_column(String(120))
    method: Mapped[str | None] = mapped_column(String(20))

    case: Mapped[Case] = relationship(back_populates="consents")


class Evidence(Base):
    """A file the resident sent, sealed, with its SHA-256 and when it arrived."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for a file a member of staff uploaded with a report taken in person or by post.
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"),
                                                        index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    data_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    source_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="stored")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


API_SCOPES = ("queue", "cases", "cases:sensitive")


class ApiToken(Base):
    """A bearer token for the duty queue API; only its SHA-256 is stored.

    `scopes` is a space-separated subset of `API_SCOPES` (migration i14_security gave
    tokens made before scopes existed "queue cases").
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200), default="queue cases")
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> frozenset[str]:
        """Return the token's scopes as a set."""
        return frozenset((self.scopes or "").split())


class OutboxMessage(Base):
    """A message to send later (not in reply to an inbound one), delivered by the worker.

    `dedupe_key` makes enqueueing idempotent; the worker leases rows (`next_attempt_at`
    moves a lease ahead, bot/leases.py), sends, and marks them sent, so a crash between
    commit and send loses nothing and sends nothing twice. `channel` is the target kind.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_provider_ref", "provider_ref"),
        # Rows delivered in order per kind and case look for an earlier unsent row
        # (bot/outbox.py `Policy.in_order`); only unsent rows are indexed.
        Index("ix_outbox_unsent_by_case", "channel", "kind", "case_id", "id",
              postgresql_where=text("status <> 'sent'"), sqlite_where=text("status <> 'sent'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"),
                                                        index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # The provider's id of the message sent (a Twilio sid), to match its status callbacks,
    # and the latest delivery status they reported ("delivered", "undelivered", …).
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    delivery_status: Mapped[str | None] = mapped_column(String(20))


STAFF_ROLES = ("duty_officer", "case_manager", "manager", "analyst", "admin")


class StaffUser(Base):
    """A member of staff who signs in to the console; only an argon2 hash is stored.

    `session_nonce` is part of the login session id: changing it signs the user out
    everywhere. After an admin resets a password, `must_change_password` holds the user on
    the change-password page until they choose their own, and the temporary password stops
    working at `temp_password_expires_at`. Failed sign-ins are counted in `LoginThrottle`.
    """

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('duty_officer', 'case_manager', 'manager', 'analyst', "
                        "'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_nonce: Mapped[str] = mapped_column(String(32))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    temp_password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed console sign-ins per account name, client address or trusted browser.

    Keyed by a blind index, so neither names nor addresses are stored. Kept in the database
    so that the limits hold across workers and restarts, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("kind", "key_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key_index: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditLog(Base):
    """Who did what, when: append-only, and `detail` never holds personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CaseNote(Base):
    """A note an officer wrote on a case; its text may be personal, so it is sealed."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="note")
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)


class TelegramChat(Base):
    """Telegram bookkeeping for one private chat: its last message and a keyboard's ticks.

    Keyed by the chat's blind index. `selected_enc` holds the ticked option ids of the
    multi-select keyboard in message `keyboard_message_id`; `last_update_id` makes a
    redelivered button press change nothing.
    """

    __tablename__ = "telegram_chats"

    chat_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_unanswered: Mapped[bool] = mapped_column(Boolean, default=False)
    keyboard_message_id: Mapped[int | None] = mapped_column(BigInteger)
    keyboard_step: Mapped[str | None] = mapped_column(String(64))
    selected_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxPart(Base):
    """One part of a multi-part outbox message already sent; a retry resumes after it."""

    __tablename__ = "outbox_parts"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TelegramCursor(Base):
    """The next `getUpdates` offset per bot, so a restarted `telegram poll` resumes."""

    __tablename__ = "telegram_cursors"

    bot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateCount(Base):
    """How many times one key (a sender, a session, an address) was counted in one window.

    `kind` names the limit (e.g. "sms", "webchat_session", "webchat_address"); `key_index`
    is a blind index, never the plain value. Kept in the database so limits hold across
    workers and on the embedded SQLite (bot/ratelimit.py).
    """

    __tablename__ = "rate_counts"
    __table_args__ = (UniqueConstraint("kind", "key_index", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key_index: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)


class SatisfactionSurvey(Base):
    """The two questions a resident is asked after their case closes (policy 13.1).

    One per case. `status` is "asked" until both answers are in ("answered"), the resident
    turned to something else ("declined"), or the survey lapsed ("expired"); no reply is
    fine. `misunderstood` counts replies that were not an answer, so the resident is
    re-asked once and then left alone.
    """

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
                        name="score_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="asked")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    report_again: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)


class ProfileCount(Base):
    """How many victims or perpetrators of one year gave one profile answer (policy 13.4).

    The answers themselves stay sealed on their cases; this table holds only yearly
    totals with no link to any case, so monitoring can add them up in SQL. It is kept in
    step with the cases in the same transaction as every change (bot/profiles.py).
    """

    __tablename__ = "profile_counts"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    hate_related: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    subject: Mapped[str] = mapped_column(String(20), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
class SubjectIdentifier(Base):
    """A keyed hash of a phone number or email address a report gave for contact.

    Lets a subject access or erasure request find the cases that mention the resident's
    number or address without decrypting every case (bot/subjects.py). `role` says whose
    it is: the reporter's own contact details, or those of the victim a witness named.
    """

    __tablename__ = "subject_identifiers"
    __table_args__ = (Index("ix_subject_identifiers_lookup", "kind", "value_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(10), default="reporter")
    value_index: Mapped[str] = mapped_column(String(64))


class SubjectRequest(Base):
    """A subject access or erasure request handled, kept as the register of requests.

    `note_enc` is the staff member's explanation (it may name the requester, so it is
    sealed); `detail` holds codes and counts only.
    """

    __tablename__ = "subject_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    identifier_kind: Mapped[str] = mapped_column(String(20))
    ground: Mapped[str | None] = mapped_column(String(40))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class DiaryEntry(Base):
    """Something that happened after the report, added by the resident (policy 4.3 diary).

    The plain columns are what staff filter and count on; the resident's words, when and
    where are sealed in `details_enc`.
    """

    __tablename__ = "diary_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20))
    strands: Mapped[list] = mapped_column(JSON, default=list)
    incident_types: Mapped[list] = mapped_column(JSON, default=list)
    location_type: Mapped[str | None] = mapped_column(String(20))
    details_enc: Mapped[bytes] = mapped_column(LargeBinary)


class CaseMessage(Base):
    """One message of a case's thread between the resident and staff; the text is sealed.

    `sender` is "staff" or "resident". `read_at` is when the other side read it: the
    resident on reconnecting (or the channel carried it), staff on the case page.
    """

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str] = mapped_column(String(10))
    author: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str | None] = mapped_column(String(20))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUpCode(Base):
    """A case's six-digit follow-up code, stored only as an argon2 hash."""

    __tablename__ = "follow_up_codes"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUpAttempt(Base):
    """Wrong follow-up codes typed for one reference, keyed by the reference's blind index.

    Keyed by what was typed, not by a case, so an unknown reference is counted (and
    locked) exactly like a real one and reveals nothing.
    """

    __tablename__ = "follow_up_attempts"

    reference_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
