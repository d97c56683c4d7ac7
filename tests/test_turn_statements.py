"""How many SQL statements one resident message costs, on SQLite and PostgreSQL (issue 20).

A turn is one transaction: find and lock the conversation, record the provider's message id
(which is also the duplicate check), save the conversation. Statements that only rare turns
need (the first message, a submitted case, a file, a survey answer) may add to that; an
ordinary answer must not. Counted with an engine event on every cursor execution, so
whatever the ORM or a helper issues is seen; BEGIN (SQLite's explicit `BEGIN IMMEDIATE`) is
left out, and COMMIT is a driver call on both engines, not a statement.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from bot.app import create_app
from channels.telegram import lanes
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import HEADER, SECRET, TOKEN, TelegramResident, telegram_env
from tests.channels.twilio_support import TwilioResident, twilio_services
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT

# The hot path: lock the conversation, insert the message id, update the conversation.
ORDINARY = 3


class Statements:
    """Record every statement the engine sends while `counting()` is open, from the thread
    that opened it (a request's own statements; Telegram's lanes record theirs elsewhere)."""

    def __init__(self, engine) -> None:
        self.sql: list[str] = []
        self._on = False
        self._thread = threading.get_ident()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self._on and threading.get_ident() == self._thread \
                and not statement.lstrip().upper().startswith("BEGIN"):
            self.sql.append(" ".join(statement.split()))

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.sql = []
        self._thread = threading.get_ident()
        self._on = True
        try:
            yield self.sql
        finally:
            self._on = False


@pytest.fixture
def served(db_url, tmp_path):
    # A real limit, as in production: its count is part of every turn.
    with twilio_services(tmp_path, db_url, TWILIO_RATE_LIMIT_PER_MINUTE="100",
                         REPORTBOT_WEBCHAT_MESSAGES_PER_MINUTE="100") as services:
        yield create_app(services=services), services


def _texts(transcript) -> list[str]:
    return [m if isinstance(m, str) else m[0] for m, _ in transcript]


# Tables a turn's own bookkeeping touches; the rest is the case's (details, consents).
TURN_TABLES = ("conversations", "inbound_messages", "rate_counts", "satisfaction_surveys",
               "outbox_messages", "telegram_chats")


_ON_TURN_TABLES = re.compile(r"\b(FROM|INTO|UPDATE) ({})\b".format("|".join(TURN_TABLES)))


def _own(sql: list[str]) -> int:
    """Count the statements on the turn's own tables, not the case's."""
    return sum(1 for s in sql if _ON_TURN_TABLES.search(s))


def _chat_url(client) -> str:
    """Open a web chat session; return the URL its messages are posted to."""
    token = client.post("/api/chat/sessions", json={}).json["session"]
    return f"/api/chat/sessions/{token}/messages"


def _webchat_counts(client, statements: Statements, texts: list[str]
                    ) -> list[tuple[int, int]]:
    url = _chat_url(client)
    counts = []
    for text in texts:
        with statements.counting() as sql:
            response = client.post(url, json={"text": text, "client_id": uuid.uuid4().hex})
        assert response.status_code == 200, response.json
        counts.append((len(sql), _own(sql)))
    return counts


def _sms_counts(client, statements: Statements, texts: list[str]) -> list[tuple[int, int]]:
    resident = TwilioResident(client)
    resident.start()
    counts = []
    for text in texts:
        with statements.counting() as sql:
            assert resident.says(text)
        counts.append((len(sql), _own(sql)))
    return counts


def _report(counts: list[tuple[int, int]], texts: list[str]) -> str:
    return ", ".join(f"{t[:12]!r}={c}/{o}" for t, (c, o) in zip(texts, counts, strict=True))


def _check(counts: list[tuple[int, int]], texts: list[str]) -> None:
    """Essentials cost 3 statements in all; after the submission the case's own writes
    (a detail, a consent) come on top of the turn's 3."""
    submit = texts.index("submit")
    before, after = counts[:submit], counts[submit + 1:]
    assert max(total for total, _ in before) <= ORDINARY, _report(counts, texts)
    assert max(own for _, own in after) <= ORDINARY, _report(counts, texts)


def test_a_reasked_question_costs_three_statements(served):
    app, services = served
    statements = Statements(services.db.engine)
    url = _chat_url(client := app.test_client())
    client.post(url, json={"text": "no"})
    for _ in range(3):
        with statements.counting() as sql:
            body = client.post(url, json={"text": "banana"}).json
        assert body["messages"][-1]["question"] == "reporter_role"
        assert len(sql) <= ORDINARY, sql


def test_ordinary_answers_in_a_whole_web_chat_report(served):
    app, services = served
    statements = Statements(services.db.engine)
    texts = _texts(VICTIM_REPORT) + _texts(VICTIM_DETAILS)
    # The submission ("submit") stores the case: that turn may cost more.
    _check(_webchat_counts(app.test_client(), statements, texts), texts)


def test_ordinary_answers_in_a_whole_sms_report(served):
    app, services = served
    statements = Statements(services.db.engine)
    texts = _texts(VICTIM_REPORT) + _texts(VICTIM_DETAILS)
    # "yes" is also an opt-in word on SMS: it must not cost a transaction of its own.
    _check(_sms_counts(app.test_client(), statements, texts), texts)


# A Telegram update adds one look at the conversation before the turn (peek), the outbox
# row of its replies, and the chat memo's last message (one upsert).
TELEGRAM = ORDINARY + 3


def test_ordinary_answers_in_a_whole_telegram_report(db_url, tmp_path):
    fake = FakeBotApi(TOKEN).start()
    try:
        with twilio_services(tmp_path, db_url, **telegram_env(fake)) as services:
            statements = Statements(services.db.engine)
            client = create_app(services=services).test_client()
            resident = TelegramResident(None, fake)
            texts = _texts(VICTIM_REPORT)
            counts = []
            for text in ["/start", *texts]:
                with statements.counting() as sql:
                    response = client.post("/webhooks/telegram",
                                           json=resident.message_update(text),
                                           headers={HEADER: SECRET})
                assert response.status_code == 200
                counts.append(len(sql))
                assert lanes.settle()
            assert resident.texts()[-1]  # the replies went, after each answer
            essentials = counts[1:1 + texts.index("submit")]  # not the first, nor submit
            assert max(essentials) <= TELEGRAM, counts
    finally:
        fake.stop()


def test_a_retried_message_changes_nothing_and_costs_no_write(served):
    app, services = served
    statements = Statements(services.db.engine)
    url = _chat_url(client := app.test_client())
    first = client.post(url, json={"text": "no", "client_id": "m-1"}).json
    with statements.counting() as sql:
        again = client.post(url, json={"text": "no", "client_id": "m-1"}).json
    assert again == first
    assert not any(s.upper().startswith(("UPDATE", "DELETE")) for s in sql), sql


def test_a_retry_over_the_limit_gets_its_replies_and_is_not_counted(any_services):
    from datetime import UTC, datetime

    from bot.turns import RateLimit
    from flows.messages import Inbound
    from tests.helpers import runner_of

    runner = runner_of(any_services)
    limit = RateLimit(2, "Please wait a minute before sending more messages.")
    at = datetime(2026, 11, 23, 21, 0, 5, tzinfo=UTC)

    def says(text: str, message_id: str):
        return runner.handle(Inbound(channel="sms", sender="+447700900222", text=text,
                                     message_id=message_id, received_at=at),
                             rate_limit=limit)

    first = says("Hello", "SM1")
    says("no", "SM2")
    retried = says("Hello", "SM1")  # the window is full, but this one was handled
    assert retried.duplicate and not retried.refused
    assert retried.replies == first.replies
    refused = says("no", "SM3")
    assert refused.refused and refused.replies  # the one notice of the window
    assert says("no", "SM4").replies == ()  # told once
